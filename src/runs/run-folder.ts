/**
 * Housekeeping of a run folder at the start of a training, done while its
 * lock is held (see run-lock.ts): leftovers of a killed or failed write are
 * removed, and what the folder holds is compared with what is asked before
 * anything is resumed.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { MnistLabError } from '../errors';
import type { ExperimentConfig } from './types';
import { RUN_FILES, type RunState } from './folder';
import { LOCK_FILE, holderIsAlive } from './run-lock';
import * as os from 'node:os';

/** Temp names: `.<file>.<pid>.<hex>.tmp` (atomic JSON writes), `.best.<pid>.<hex>.tmp/` (checkpoints), `run.lock.<pid>.<hex>.tmp`. */
const TEMP_NAME = /^(?:\.(.+)|run\.lock)\.(\d+)\.[0-9a-f]+\.tmp$/;
const ASIDE_SUFFIX = '.previous';

export interface CleanUpReport {
  /** Paths removed. */
  removed: string[];
  /** Bytes they took. */
  bytes: number;
}

async function sizeOf(target: string): Promise<number> {
  const stat = await fs.lstat(target).catch(() => null);
  if (stat === null) return 0;
  if (!stat.isDirectory()) return stat.size;
  let total = 0;
  for (const entry of await fs.readdir(target).catch(() => [] as string[])) total += await sizeOf(path.join(target, entry));
  return total;
}

function writerIsAlive(pid: number): boolean {
  if (pid === process.pid) return false;
  return holderIsAlive({ pid, host: os.hostname(), processStart: null, since: '', command: '', token: '' });
}

/**
 * Remove what killed or failed writes left in `runDir` and its checkpoints
 * folder: temp files and folders of processes that are gone, and the
 * `.previous` copy of a checkpoint whose swap had finished. Call it while
 * holding the folder's lock.
 */
export async function cleanStaleTemps(runDir: string): Promise<CleanUpReport> {
  const report: CleanUpReport = { removed: [], bytes: 0 };
  const remove = async (target: string) => {
    report.bytes += await sizeOf(target);
    await fs.rm(target, { recursive: true, force: true });
    report.removed.push(target);
  };
  for (const dir of [runDir, path.join(runDir, RUN_FILES.checkpoints)]) {
    const entries = await fs.readdir(dir).catch(() => [] as string[]);
    for (const name of entries) {
      const match = TEMP_NAME.exec(name);
      if (match !== null && !writerIsAlive(Number(match[2]))) await remove(path.join(dir, name));
    }
  }
  const checkpoints = path.join(runDir, RUN_FILES.checkpoints);
  for (const which of ['best', 'last']) {
    const aside = path.join(checkpoints, which + ASIDE_SUFFIX);
    if (!(await fs.stat(aside).catch(() => null))) continue;
    const complete = await fs.stat(path.join(checkpoints, which, RUN_FILES.modelJson)).catch(() => null);
    if (complete) await remove(aside);
    else {
      // Killed between the two renames of a swap: put the previous checkpoint back in its place.
      await fs.rm(path.join(checkpoints, which), { recursive: true, force: true });
      await fs.rename(aside, path.join(checkpoints, which));
    }
  }
  return report;
}

/** Fields of a config that decide its numbers (not how long it trains, not how it reports). */
export function identityOf(config: ExperimentConfig): Record<string, unknown> {
  const { dataset, scaleInputs, model, train, restoreBestWeights, validateOnTest, trainLimit, testLimit } = config;
  const { verbose: _verbose, epochs: _epochs, ...trainSettings } = train;
  return { dataset, scaleInputs, model, train: trainSettings, restoreBestWeights, validateOnTest, trainLimit, testLimit };
}

/** Dotted names and values of the leaves where two configs differ. */
export function configDifferences(saved: unknown, asked: unknown, prefix = ''): string[] {
  if (JSON.stringify(saved) === JSON.stringify(asked)) return [];
  const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
  if (!isObject(saved) || !isObject(asked)) return [`${prefix || 'config'}: saved ${JSON.stringify(saved)}, asked ${JSON.stringify(asked)}`];
  const keys = [...new Set([...Object.keys(saved), ...Object.keys(asked)])].sort();
  return keys.flatMap((key) => configDifferences(saved[key], asked[key], prefix ? `${prefix}.${key}` : key));
}

/** The run folder holds a run that cannot be continued with what was asked. */
export class RunMismatchError extends MnistLabError {
  constructor(
    readonly runDir: string,
    readonly problem: string,
  ) {
    super(`${runDir} ${problem}\nTrain into another --out folder (runDir), or pass --no-resume (resume: false) to replace what is there.`);
  }
}

/**
 * Check the folder's saved run against the experiment asked for, before
 * resuming it: the same settings (apart from the number of epochs), and no
 * more epochs done than asked. Throws {@link RunMismatchError} otherwise.
 */
export async function checkResumable(runDir: string, asked: ExperimentConfig, state: RunState): Promise<void> {
  const configFile = path.join(runDir, RUN_FILES.config);
  let saved: ExperimentConfig;
  try {
    saved = JSON.parse(await fs.readFile(configFile, 'utf8')) as ExperimentConfig;
  } catch (error) {
    const what = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'has no' : 'has an unreadable';
    throw new RunMismatchError(runDir, `holds checkpoints but ${what} ${RUN_FILES.config}, so what they were trained with is unknown.`);
  }
  const differences = configDifferences(identityOf(saved), identityOf(asked));
  if (differences.length > 0) {
    const shown = differences.slice(0, 4).join('; ') + (differences.length > 4 ? `; and ${differences.length - 4} more` : '');
    throw new RunMismatchError(runDir, `holds a run with different settings (${shown}), so it cannot be resumed.`);
  }
  if (state.epochsCompleted > asked.train.epochs) {
    throw new RunMismatchError(
      runDir,
      `already holds ${state.epochsCompleted} trained epochs, more than the ${asked.train.epochs} asked for ` +
        `(ask for --epochs ${state.epochsCompleted} or more to continue it).`,
    );
  }
}

/** Is the run folder's lock file present? (For messages and tests.) */
export async function isLocked(runDir: string): Promise<boolean> {
  return (await fs.stat(path.join(runDir, LOCK_FILE)).catch(() => null)) !== null;
}
