/**
 * One training per run folder, with real `mnist-lab train` processes on real
 * data: a second training on a busy folder refuses at once naming the holder;
 * killing the pid `npx mnist-lab` shows stops the trainer; a resumed folder is
 * checked against what is asked; leftovers of killed writes are cleaned up.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync, cpSync } from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT, LOCK_FILE, type LockHolder } from '../src';
import { REAL_DATA_DIR, REAL_DATA_SKIP, tempDir } from './helpers/fixtures';

const real = { skip: REAL_DATA_DIR ? false : REAL_DATA_SKIP };
const BIN = path.join(PROJECT_ROOT, 'bin', 'mnist-lab.js');
const env = { ...process.env, MNIST_LAB_QUIET: '1', TF_CPP_MIN_LOG_LEVEL: '2', MNIST_LAB_DATA: REAL_DATA_DIR };

function cli(args: string[], options: { cwd?: string } = {}) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: options.cwd ?? PROJECT_ROOT, env, encoding: 'utf8' });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 120_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function readLock(runDir: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(path.join(runDir, LOCK_FILE), 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

function epochsDone(runDir: string): number {
  try {
    return (JSON.parse(readFileSync(path.join(runDir, 'checkpoints', 'last', 'state.json'), 'utf8')) as { epochsCompleted: number }).epochsCompleted;
  } catch {
    return 0;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));

/** The pid of a process that has already exited (for stale locks and temp names). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('two trainings on one run folder', real, () => {
  test('the second refuses at once naming the first; the folder keeps the first run whole', async () => {
    const runDir = path.join(tempDir(), 'X');
    const first = spawn(process.execPath, [BIN, 'train', '--no-scale', '--epochs', '4', '--out', runDir, '--quiet'], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let firstErr = '';
    first.stderr!.on('data', (chunk: Buffer) => (firstErr += chunk.toString()));
    const holder = await waitFor('the first training to lock the folder', () => readLock(runDir));
    assert.equal(holder.pid, first.pid, 'the lock names the trainer');
    const started = Date.now();
    const second = cli(['train', '--epochs', '2', '--out', runDir, '--quiet']);
    const refusedAfter = Date.now() - started;
    assert.equal(second.status, 1, second.stderr);
    assert.match(second.stderr, new RegExp(`${runDir.replace(/[/.]/g, '\\$&')} is in use by another training: pid ${first.pid} on `));
    assert.match(second.stderr, new RegExp(`stop it \\(kill ${first.pid}\\)`));
    assert.doesNotMatch(second.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(first.exitCode, null, `the first is still training when the second has given up (after ${refusedAfter} ms)`);
    await exited(first);
    assert.equal(first.exitCode, 0, firstErr);
    const config = JSON.parse(readFileSync(path.join(runDir, 'config.json'), 'utf8')) as { scaleInputs: boolean; train: { epochs: number } };
    const metrics = JSON.parse(readFileSync(path.join(runDir, 'metrics.json'), 'utf8')) as { config: { scaleInputs: boolean }; history: { epoch: number[] } };
    assert.equal(config.scaleInputs, false, "config.json is the first run's");
    assert.equal(config.train.epochs, 4);
    assert.equal(metrics.history.epoch.length, 4);
    assert.equal(existsSync(path.join(runDir, LOCK_FILE)), false, 'the lock is released at the end');

    // Run the second again now: the folder holds another run, so it refuses instead of "resuming after epoch 4/2".
    const again = cli(['train', '--epochs', '2', '--out', runDir, '--quiet']);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /holds a run with different settings \(scaleInputs: saved false, asked true\), so it cannot be resumed/);
    assert.match(again.stderr, /--no-resume/);
    const fewer = cli(['train', '--no-scale', '--epochs', '2', '--out', runDir, '--quiet']);
    assert.equal(fewer.status, 1);
    assert.match(fewer.stderr, /already holds 4 trained epochs, more than the 2 asked for \(ask for --epochs 4 or more to continue it\)/);
  });

  test('a lock left by a killed training is taken over, and leftovers of its writes are removed', async () => {
    const runDir = path.join(tempDir(), 'stale');
    const args = (epochs: number) => ['train', '--preset', 'S1-h128', '--limit', '3000', '--epochs', String(epochs), '--seed', '3', '--out', runDir];
    const ran = cli([...args(1), '--quiet']);
    assert.equal(ran.status, 0, ran.stderr);
    assert.equal(epochsDone(runDir), 1);
    const dead = deadPid();
    const lock: LockHolder = { pid: dead, host: (await import('node:os')).hostname(), processStart: '1', since: new Date().toISOString(), command: 'mnist-lab train (killed)', token: 'feedfacefeedface' };
    writeFileSync(path.join(runDir, LOCK_FILE), JSON.stringify(lock));
    const checkpoints = path.join(runDir, 'checkpoints');
    const staleDir = path.join(checkpoints, `.last.${dead}.0badc0de.tmp`);
    mkdirSync(staleDir);
    writeFileSync(path.join(staleDir, 'weights.bin'), Buffer.alloc(1 << 20));
    writeFileSync(path.join(runDir, `.history.json.${dead}.cafebabe.tmp`), '');
    cpSync(path.join(checkpoints, 'last'), path.join(checkpoints, 'best.previous'), { recursive: true });
    // A temp of a process that is still running (this test) is not ours to remove.
    const live = path.join(runDir, `.notes.json.${process.pid}.12345678.tmp`);
    writeFileSync(live, '');

    const resumed = spawnSync(process.execPath, [BIN, ...args(2)], { cwd: PROJECT_ROOT, env: { ...env, MNIST_LAB_QUIET: '0' }, encoding: 'utf8' });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`taking over the lock of pid ${dead}, which has stopped`));
    assert.match(resumed.stderr, /removed 3 leftover temporary file\(s\) of an interrupted write \(\d+\.\d MB\)/);
    assert.match(resumed.stderr, /resuming .* after epoch 1\/2/);
    assert.deepEqual(readdirSync(checkpoints).sort(), ['best', 'last']);
    assert.ok(existsSync(live), "a live process's temp file is kept");
    assert.equal(existsSync(path.join(runDir, LOCK_FILE)), false);
  });

  test('an improving epoch writes one checkpoint: best and last share its files (hard links)', () => {
    const runDir = path.join(tempDir(), 'linked');
    const ran = cli(['train', '--preset', 'S1-h128', '--limit', '3000', '--epochs', '1', '--out', runDir, '--quiet']);
    assert.equal(ran.status, 0, ran.stderr);
    const inode = (which: string) => statSync(path.join(runDir, 'checkpoints', which, 'weights.bin')).ino;
    assert.equal(inode('best'), inode('last'));
  });
});

describe('killing what the user sees stops the training', real, () => {
  const trainArgs = (runDir: string) => ['train', '--preset', 'S1-h128', '--limit', '5000', '--epochs', '60', '--seed', '4', '--out', runDir, '--quiet'];

  test('kill -9 of the `npx mnist-lab` pid stops the trainer (no orphan), and the same command resumes', async () => {
    const runDir = path.join(tempDir(), 'npx');
    const npx = spawn('npx', ['mnist-lab', ...trainArgs(runDir)], { cwd: PROJECT_ROOT, env, stdio: 'ignore' });
    const holder = await waitFor('the trainer to lock the folder', () => readLock(runDir));
    assert.notEqual(holder.pid, npx.pid, 'npx runs the trainer as a separate process');
    await waitFor('a first epoch', () => epochsDone(runDir) >= 1);
    npx.kill('SIGKILL');
    await exited(npx);
    await waitFor(`the trainer (pid ${holder.pid}) to stop`, () => !alive(holder.pid), 10_000);
    assert.equal(existsSync(path.join(runDir, 'metrics.json')), false, 'it was stopped, not finished');
    assert.equal(existsSync(path.join(runDir, LOCK_FILE)), false, 'it stopped through its handler and released the lock');
    const done = epochsDone(runDir);
    const again = spawnSync(process.execPath, [BIN, ...trainArgs(runDir).filter((arg) => arg !== '--quiet'), '--epochs', String(done + 1)], { cwd: PROJECT_ROOT, env: { ...env, MNIST_LAB_QUIET: '0' }, encoding: 'utf8' });
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, new RegExp(`resuming .* after epoch ${done}/${done + 1}`));
  });

  test('kill (SIGTERM) of the trainer: a message, exit code 143, the lock released', async () => {
    const runDir = path.join(tempDir(), 'term');
    const child = spawn(process.execPath, [BIN, ...trainArgs(runDir)], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor('a first epoch', () => epochsDone(runDir) >= 1);
    child.kill('SIGTERM');
    await exited(child);
    assert.equal(child.exitCode, 143);
    assert.match(stderr, /stopped \(SIGTERM\); the last completed epoch is saved in .*term\. Run the same command again to resume\./);
    assert.equal(existsSync(path.join(runDir, LOCK_FILE)), false);
  });
});

describe('flags that do not fit the data leave nothing behind', real, () => {
  test('--limit larger than the data set names the flag and the size, not an internal subset', () => {
    const runDir = path.join(tempDir(), 'limit');
    const result = cli(['train', '--limit', '1e9', '--epochs', '1', '--out', runDir]);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /--limit\)?: asks for 1000000000 training examples but mnist has 60000/);
    assert.doesNotMatch(result.stderr, /subset/);
    assert.equal(existsSync(runDir), false, 'no run folder');
  });

  test('a --validation-split that leaves no training examples leaves no config-only run folder', () => {
    const runDir = path.join(tempDir(), 'split');
    const result = cli(['train', '--limit', '10', '--validation-split', '0.95', '--epochs', '1', '--out', runDir]);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /--validation-split\)?: 0\.95 of 10 training examples leaves 0 for training and 10 for validation/);
    assert.equal(existsSync(runDir), false, 'no run folder');
  });
});
