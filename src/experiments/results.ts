/**
 * The append-only results file: one JSON line per finished run. Only the
 * runner's parent process writes it, each line with a single write call and
 * an fsync, so a kill -9 can at worst leave one torn last line, which the
 * next writer cuts off and every reader skips.
 */
import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { ConfigError } from '../errors';
import * as path from 'node:path';
import type { GridRun } from './grid';
import type { RunResult } from '../runs/types';

export const RESULT_ROW_FORMAT = 'mnist-lab.ablation-result/1';

/** Which implementation produced a run: ours, or Keras (the reproduction's cross-check). */
export type Engine = 'tfjs' | 'keras';

/** One line of a results file: the grid run's identity (without its experiment, which `result.config` holds) and its result. */
export interface ResultRow extends Pick<GridRun, 'key' | 'configKey' | 'label' | 'baseline' | 'factors' | 'seed' | 'position'> {
  format: typeof RESULT_ROW_FORMAT;
  /** Name of the grid the run belonged to. */
  grid: string;
  engine: Engine;
  result: RunResult;
}

export interface ReadResults {
  rows: ResultRow[];
  /** Lines that were not complete JSON (a torn last line after a kill), with their file. */
  skipped: Array<{ file: string; line: number }>;
  /** Rows dropped because an earlier file or line had the same key. */
  duplicates: number;
}

function parseLines(file: string, text: string, into: ReadResults, seen: Set<string>): void {
  const lines = text.split('\n');
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    let row: ResultRow;
    try {
      row = JSON.parse(line) as ResultRow;
    } catch {
      into.skipped.push({ file, line: index + 1 });
      return;
    }
    if (row.format !== RESULT_ROW_FORMAT || typeof row.key !== 'string') {
      into.skipped.push({ file, line: index + 1 });
      return;
    }
    const identity = `${row.engine ?? 'tfjs'}:${row.key}`;
    if (seen.has(identity)) {
      into.duplicates++;
      return;
    }
    seen.add(identity);
    into.rows.push(row);
  });
}

/** Read and merge results files (shards, reruns): rows deduplicated by engine + run key, first one wins. */
export function readResults(files: readonly string[]): ReadResults {
  const out: ReadResults = { rows: [], skipped: [], duplicates: 0 };
  const seen = new Set<string>();
  for (const file of files) {
    if (!existsSync(file)) continue;
    parseLines(file, readFileSync(file, 'utf8'), out, seen);
  }
  return out;
}

/**
 * The single writer of a results file. Opening it cuts off a torn last line
 * (left by a killed writer) so the next append starts on a fresh line.
 */
export class ResultsWriter {
  private readonly fd: number;
  /** Bytes removed from the end of the file when it was opened (0 = it was whole). */
  readonly repairedBytes: number;

  private readonly lockFile: string;

  constructor(readonly file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.lockFile = `${file}.lock`;
    takeLock(this.lockFile, file);
    this.fd = openSync(file, 'a+');
    const text = existsSync(file) ? readFileSync(file) : Buffer.alloc(0);
    let keep = text.length;
    if (keep > 0 && text[keep - 1] !== 0x0a) keep = text.lastIndexOf(0x0a) + 1;
    this.repairedBytes = text.length - keep;
    if (this.repairedBytes > 0) {
      ftruncateSync(this.fd, keep);
      fsyncSync(this.fd);
    }
  }

  /** Append one row as one line, durably, before returning. */
  append(row: ResultRow): void {
    const line = Buffer.from(JSON.stringify(row) + '\n');
    // One write call: the file holds the whole line or a torn tail, never an interleaving.
    const written = writeSync(this.fd, line, 0, line.length);
    if (written !== line.length) throw new Error(`short write to ${this.file}: ${written} of ${line.length} bytes`);
    fsyncSync(this.fd);
  }

  close(): void {
    closeSync(this.fd);
    rmSync(this.lockFile, { force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One writer per results file: a second runner on the same file would
 * interleave rows and run the same runs twice. A lock left by a killed
 * runner (its pid is gone) is taken over.
 */
function takeLock(lockFile: string, file: string): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(lockFile, 'utf8'));
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && processAlive(owner)) {
        throw new ConfigError(
          'results',
          `${file} is being written by another runner (pid ${owner})`,
          'wait for it to finish, or give this run its own --out folder or --shard',
        );
      }
      rmSync(lockFile, { force: true });
    }
  }
  throw new ConfigError('results', `could not lock ${file} for writing`, `remove ${lockFile} if no runner is using it`);
}
