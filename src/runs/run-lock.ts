/**
 * One training per run folder. `lockRunFolder(runDir)` creates
 * `<runDir>/run.lock` holding who trains there (pid, host, process start
 * time, command); a second training on the same folder refuses at once and
 * names that holder. A lock whose process is gone (killed, crashed, power
 * cut) is stale and taken over by the next start on the same host.
 *
 * Hand-written rather than proper-lockfile: that library marks a lock stale
 * by an mtime it keeps touching and cannot say which process holds it; here
 * the holder is named in the message and liveness is checked by pid (with the
 * process start time from /proc, so a reused pid is not mistaken for it).
 */
import { promises as fs, readFileSync, unlinkSync, readdirSync, rmdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { MnistLabError } from '../errors';
import { describeFsError, makeDirectory } from '../util/fs-errors';

export const LOCK_FILE = 'run.lock';
/** Held for the few milliseconds a stale lock is replaced, so two starters cannot both take it over. */
const TAKEOVER_DIR = 'run.lock.takeover';
const TAKEOVER_STALE_MS = 10_000;

/** Who holds a run folder, as written in its lock file. */
export interface LockHolder {
  pid: number;
  host: string;
  /** Start time of the process (clock ticks since boot, from /proc), when the platform has it. */
  processStart: string | null;
  /** ISO time the lock was taken. */
  since: string;
  /** The command line of the holder, for the message a second starter reads. */
  command: string;
  /** Random id of this lock, so release never deletes a lock someone else took over. */
  token: string;
}

/** The run folder is in use by another training. */
export class RunFolderLockedError extends MnistLabError {
  constructor(
    readonly runDir: string,
    readonly holder: LockHolder,
    readonly sameHost: boolean,
  ) {
    const since = holder.since.replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
    super(
      `${runDir} is in use by another training: pid ${holder.pid} on ${holder.host}, since ${since}` +
        (holder.command ? ` (${holder.command})` : '') +
        '.\n' +
        (sameHost
          ? `Wait for it to finish, or stop it (kill ${holder.pid}) and run your command again; or train into another --out folder.`
          : `It runs on another machine, so it cannot be checked from here. If you are sure it has stopped, delete ${path.join(runDir, LOCK_FILE)}; otherwise choose another --out folder.`),
    );
  }
}

/** A held lock. `release()` is idempotent; the lock is also released when the process exits. */
export interface RunLock {
  readonly runDir: string;
  readonly holder: LockHolder;
  /** True when the lock took over a stale one (its process had gone). */
  readonly tookOver: LockHolder | null;
  release(): Promise<void>;
}

/** Start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat), or null off Linux. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: split after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Is the holder's process still running? Only decidable on the same host. */
export function holderIsAlive(holder: LockHolder): boolean {
  if (!isAlive(holder.pid)) return false;
  const start = processStartTime(holder.pid);
  // A different start time means the pid was reused by an unrelated process.
  return holder.processStart === null || start === null || start === holder.processStart;
}

function commandLine(): string {
  const args = process.argv.slice(1).map((arg, index) => (index === 0 ? path.basename(arg) : arg));
  const text = args.join(' ');
  return text.length > 200 ? text.slice(0, 197) + '...' : text;
}

async function readHolder(file: string): Promise<LockHolder | null> {
  try {
    const holder = JSON.parse(await fs.readFile(file, 'utf8')) as LockHolder;
    return typeof holder.pid === 'number' && typeof holder.host === 'string' ? holder : null;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw error;
    return null;
  }
}

const held = new Map<string, LockHolder & { createdFolder: boolean }>();
let exitHookInstalled = false;

/** Remove our lock files synchronously when the process exits (process.exit, end of the event loop, a handled signal). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [file, holder] of held) {
      try {
        const current = JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
        if (current.token === holder.token) unlinkSync(file);
      } catch {
        // already gone
      }
      if (holder.createdFolder) removeIfEmpty(path.dirname(file));
    }
    held.clear();
  });
}

function removeIfEmpty(dir: string): void {
  try {
    if (readdirSync(dir).length === 0) rmdirSync(dir);
  } catch {
    // not empty or gone: keep it
  }
}

/** Create the lock file with its full content in one step (write a temp, then hard-link it to the lock name). */
async function tryCreate(file: string, holder: LockHolder): Promise<boolean> {
  const temp = `${file}.${process.pid}.${holder.token}.tmp`;
  await fs.writeFile(temp, JSON.stringify(holder, null, 2) + '\n');
  try {
    await fs.link(temp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await fs.rm(temp, { force: true });
  }
}

/** Replace a stale lock, under a short-lived takeover folder so two starters cannot both do it. */
async function takeOver(runDir: string, file: string, stale: LockHolder | null, holder: LockHolder): Promise<boolean> {
  const guard = path.join(runDir, TAKEOVER_DIR);
  try {
    await fs.mkdir(guard);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const age = Date.now() - (await fs.stat(guard).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
    if (age > TAKEOVER_STALE_MS) await fs.rm(guard, { recursive: true, force: true });
    return false;
  }
  try {
    const current = await readHolder(file).catch(() => undefined);
    if (current === undefined) return tryCreate(file, holder);
    // Someone replaced it since we looked: start over.
    if (JSON.stringify(current) !== JSON.stringify(stale)) return false;
    await fs.rm(file, { force: true });
    return tryCreate(file, holder);
  } finally {
    await fs.rm(guard, { recursive: true, force: true });
  }
}

function holdLock(runDir: string, file: string, holder: LockHolder, tookOver: LockHolder | null, createdFolder: boolean): RunLock {
  held.set(file, { ...holder, createdFolder });
  installExitHook();
  return {
    runDir,
    holder,
    tookOver,
    release: async () => {
      if (!held.has(file)) return;
      held.delete(file);
      const current = await readHolder(file).catch(() => null);
      if (current?.token === holder.token) await fs.rm(file, { force: true });
      // A run that failed before writing anything leaves no empty folder behind.
      if (createdFolder) removeIfEmpty(runDir);
    },
  };
}

/**
 * Lock `runDir` for one training (creating the folder). Throws
 * {@link RunFolderLockedError} when a live process holds it; takes over a
 * lock whose process has gone.
 */
export async function lockRunFolder(runDirIn: string): Promise<RunLock> {
  const runDir = path.resolve(runDirIn);
  let createdFolder: boolean;
  try {
    createdFolder = (await makeDirectory(runDir)) !== undefined;
  } catch (error) {
    throw describeFsError(error, { path: runDir, operation: 'create the run folder', fix: 'Choose another --out folder (the runDir option).' });
  }
  const file = path.join(runDir, LOCK_FILE);
  const holder: LockHolder = {
    pid: process.pid,
    host: os.hostname(),
    processStart: processStartTime(process.pid),
    since: new Date().toISOString(),
    command: commandLine(),
    token: randomBytes(8).toString('hex'),
  };
  for (let attempt = 0; attempt < 50; attempt++) {
    let created: boolean;
    try {
      created = await tryCreate(file, holder);
    } catch (error) {
      throw describeFsError(error, { path: file, operation: 'create the lock file', fix: 'Check that the run folder is writable, or choose another --out folder.' });
    }
    if (created) return holdLock(runDir, file, holder, null, createdFolder);
    let existing: LockHolder | null;
    try {
      existing = await readHolder(file);
    } catch {
      continue; // released between our attempt and the read: try again
    }
    if (existing !== null) {
      const sameHost = existing.host === os.hostname();
      if (!sameHost || holderIsAlive(existing)) throw new RunFolderLockedError(runDir, existing, sameHost);
    } else {
      // Unreadable content: a lock being written right now, or the leftover of a crash mid-write.
      const age = Date.now() - (await fs.stat(file).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
      if (age < 2000) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
    }
    if (await takeOver(runDir, file, existing, holder)) return holdLock(runDir, file, holder, existing, createdFolder);
    await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100));
  }
  throw new MnistLabError(`Could not lock ${runDir}: its lock file ${file} keeps changing. Is another training starting there right now?`);
}
