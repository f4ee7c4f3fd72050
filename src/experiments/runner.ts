/**
 * The ablation runner: trains the runs of a grid in worker processes, shows
 * progress with an ETA, and appends each finished run to a JSONL results file
 * (the parent is its single writer). Runs already in the file are skipped, so
 * re-running the same command after a crash or a kill -9 finishes the grid
 * without repeating or duplicating anything.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../backend';
import { writeJsonAtomic } from '../util/fs';
import { ConfigError } from '../errors';
import { costModelFor, estimateRunSeconds, type CostModel } from './cost';
import type { GridRun } from './grid';
import { loadRunFunction, type RunFunction, type WorkerReply, type WorkerRequest } from './protocol';
import { readResults, ResultsWriter, RESULT_ROW_FORMAT, type Engine, type ResultRow } from './results';
import { runKerasExperiment } from './keras';
import type { RunResult } from '../runs/types';
import { formatDuration } from '../util/format';

export interface RunnerOptions {
  /** The JSONL results file; created if missing, appended to otherwise. */
  resultsFile: string;
  /** Folder that gets one sub-folder per run (config, history, checkpoints). */
  runsDir: string;
  /** Grid name written into every row. */
  gridName: string;
  /**
   * Worker processes training in parallel; 0 trains in this process (a
   * notebook). Default: {@link defaultWorkerCount} for the backend.
   */
  workers?: number;
  /** Data folder passed to every run (default: env MNIST_LAB_DATA and the usual places). */
  dataDir?: string;
  /** Module exporting `runExperiment` for the workers; default the project's src/experiments/run. */
  runModule?: string;
  /** Training function used when `workers` is 0; default the one `runModule` exports. */
  runFunction?: RunFunction;
  /** Cost model for the ETA; default the measured constants of the active backend. */
  costModel?: CostModel;
  /** Called on every start, epoch and finish. */
  onProgress?: (progress: RunnerProgress) => void;
  /** Train with tfjs (default) or with Python Keras, the reproduction's cross-check (one run at a time). */
  engine?: Engine;
}

/** One progress event of a grid run (a run started, finished or failed). */
export interface RunnerProgress {
  /** 'start': the grid; 'run': one run begins; 'epoch': one of its epochs ended; 'done' / 'failed': it ended. */
  event: 'start' | 'run' | 'epoch' | 'done' | 'failed';
  /** Label and seed of the run the event is about (absent for 'start'). */
  run?: { label: string; seed: number; key: string };
  /** The finished run's result ('done' only). */
  result?: RunResult;
  /** Error message ('failed' only). */
  message?: string;
  /** Epochs the run has finished and has in all ('epoch' only; counted from 1, as Keras prints them). */
  epochs?: { done: number; of: number };
  /** Runs of the grid in total, including those finished by an earlier invocation. */
  total: number;
  /** Finished runs found in the results file when this invocation started. */
  skipped: number;
  /** Runs finished by this invocation. */
  completed: number;
  failed: number;
  running: number;
  workers: number;
  elapsedSeconds: number;
  /** Estimated seconds until the grid is finished (rescaled by the runs finished so far). */
  etaSeconds: number;
}

/** What a grid run did: runs completed, skipped and failed, and how long it took. */
export interface RunnerSummary {
  total: number;
  skipped: number;
  completed: number;
  failed: Array<{ key: string; label: string; seed: number; message: string }>;
  workers: number;
  seconds: number;
  /** Bytes of a torn last line cut off the results file when it was opened. */
  repairedBytes: number;
  /** Every row of the grid now in the results file (earlier and new). */
  rows: ResultRow[];
}

/**
 * Workers that make a grid finish soonest. libtensorflow already spreads one
 * training over every core, so on the native backend two trainings on two
 * cores only compete: measured on the project's 2-core machine (4 runs of
 * 16,000 examples x 2 epochs, hidden 128-1024, native backend, two trials),
 * 1 worker took 47.7 s and 47.5 s, 2 workers 68.7 s and 78.2 s. wasm and the
 * JS cpu backend use one core each, so they get one worker per core.
 */
export function defaultWorkerCount(backend: string, cores = cpus().length): number {
  if (backend === 'tensorflow') return Math.max(1, Math.floor(cores / NATIVE_CORES_PER_WORKER));
  return Math.max(1, cores);
}

/** Cores one native training keeps busy (see defaultWorkerCount for the measurement). */
const NATIVE_CORES_PER_WORKER = 2;

/** Folder name of a run: readable, and unique through the run key (and the engine, for Keras runs). */
function runFolderName(run: GridRun, engine: Engine = 'tfjs'): string {
  const readable = run.label.replace(/[^A-Za-z0-9.=_-]+/g, '_').slice(0, 60);
  return `${readable}__seed${run.seed}__${run.key}${engine === 'tfjs' ? '' : `__${engine}`}`;
}

function makeRow(run: GridRun, gridName: string, engine: Engine, result: RunResult): ResultRow {
  return {
    format: RESULT_ROW_FORMAT,
    key: run.key,
    configKey: run.configKey,
    label: run.label,
    baseline: run.baseline,
    factors: run.factors,
    seed: run.seed,
    position: run.position,
    grid: gridName,
    engine,
    result,
  };
}

/** Train every run of `runs` not yet in the results file. */
export async function runGrid(runs: readonly GridRun[], options: RunnerOptions): Promise<RunnerSummary> {
  const keys = new Set(runs.map((run) => run.key));
  if (keys.size !== runs.length) throw new ConfigError('grid', 'two runs share a run key', 'a grid from expandGrid(), which removes duplicates');
  const writer = new ResultsWriter(options.resultsFile);
  try {
    const engine = options.engine ?? 'tfjs';
    const existing = readResults([options.resultsFile]).rows.filter((row) => row.engine === engine);
    const finished = new Set(existing.map((row) => row.key));
    const pending = runs.filter((run) => !finished.has(run.key));
    const skipped = runs.length - pending.length;
    const inProcess = options.workers === 0 || engine === 'keras';
    // In-process runs use this same backend, so the ETA is planned with its cost model (not the JS cpu one).
    const backend = engine === 'keras' || pending.length === 0 ? undefined : await initBackend({ quiet: true });
    // Keras spreads one training over every core itself, and runs in its own Python process.
    const workers = inProcess ? 0 : Math.min(options.workers ?? defaultWorkerCount(backend?.name ?? 'cpu'), pending.length);
    const costModel = options.costModel ?? costModelFor(engine === 'keras' ? 'tensorflow' : (backend?.name ?? 'cpu'));
    const tracker = new ProgressTracker(runs.length, skipped, Math.max(workers, 1), costModel, options.onProgress);
    const failed: RunnerSummary['failed'] = [];
    const newRows: ResultRow[] = [];
    const record = (run: GridRun, result: RunResult) => {
      const row = makeRow(run, options.gridName, engine, result);
      writer.append(row);
      newRows.push(row);
      tracker.done(run, result);
    };
    const fail = (run: GridRun, message: string) => {
      failed.push({ key: run.key, label: run.label, seed: run.seed, message });
      tracker.failed(run, message);
    };
    tracker.start(pending);
    if (pending.length > 0) {
      if (workers === 0) await runInProcess(pending, options, tracker, record, fail);
      else await runInWorkers(pending, workers, options, tracker, record, fail);
    }
    const rowsByKey = new Map([...existing, ...newRows].map((row) => [row.key, row]));
    return {
      total: runs.length,
      skipped,
      completed: newRows.length,
      failed,
      workers,
      seconds: tracker.elapsed(),
      repairedBytes: writer.repairedBytes,
      rows: runs.map((run) => rowsByKey.get(run.key)).filter((row): row is ResultRow => row !== undefined),
    };
  } finally {
    writer.close();
  }
}

type RecordRun = (run: GridRun, result: RunResult) => void;
type Fail = (run: GridRun, message: string) => void;

async function prepareRunDir(run: GridRun, options: RunnerOptions): Promise<string> {
  const runDir = path.join(options.runsDir, runFolderName(run, options.engine));
  await writeJsonAtomic(path.join(runDir, 'grid-run.json'), run);
  return runDir;
}

async function runInProcess(pending: GridRun[], options: RunnerOptions, tracker: ProgressTracker, record: RecordRun, fail: Fail): Promise<void> {
  const runExperiment = options.runFunction ?? (options.engine === 'keras' ? runKerasExperiment : loadRunFunction(options.runModule));
  for (const run of pending) {
    tracker.started(run);
    try {
      const runDir = await prepareRunDir(run, options);
      const result = await runExperiment(run.experiment, {
        seed: run.seed,
        runDir,
        dataDir: options.dataDir,
        verbose: 0,
        resume: true,
        onEpoch: (epoch) => tracker.epoch(run, epoch),
      });
      record(run, result);
    } catch (error) {
      fail(run, error instanceof Error ? error.message : String(error));
    }
  }
}

function workerEntry(): { file: string; execArgv: string[] } {
  // Under tsx (tests, notebooks on src/) the worker is TypeScript too.
  const typescript = path.extname(__filename) === '.ts';
  return { file: path.join(__dirname, `worker${typescript ? '.ts' : '.js'}`), execArgv: typescript ? ['--import', 'tsx'] : [] };
}

function runInWorkers(pending: GridRun[], count: number, options: RunnerOptions, tracker: ProgressTracker, record: RecordRun, fail: Fail): Promise<void> {
  const queue = [...pending];
  const entry = workerEntry();
  const threads = Math.max(1, Math.floor(cpus().length / count));
  return new Promise((resolve) => {
    let alive = 0;
    const startWorker = () => {
      if (queue.length === 0) return;
      const child: ChildProcess = fork(entry.file, [], {
        execArgv: entry.execArgv,
        env: {
          ...process.env,
          MNIST_LAB_QUIET: '1',
          ...(options.runModule ? { MNIST_LAB_RUN_MODULE: path.resolve(options.runModule) } : {}),
          // Several native trainings side by side share the cores instead of each claiming all of them.
          ...(count > 1 ? { TF_NUM_INTRAOP_THREADS: String(threads), TF_NUM_INTEROP_THREADS: '1' } : {}),
        },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      alive++;
      let current: GridRun | undefined;
      const next = () => {
        current = queue.shift();
        if (current === undefined) {
          child.send({ type: 'stop' } satisfies WorkerRequest);
          return;
        }
        const run = current;
        tracker.started(run);
        prepareRunDir(run, options).then(
          (runDir) => child.send({ type: 'run', run, runDir, dataDir: options.dataDir } satisfies WorkerRequest),
          (error: Error) => {
            fail(run, error.message);
            next();
          },
        );
      };
      child.on('message', (message: WorkerReply) => {
        if (message.type === 'ready') next();
        else if (current !== undefined && message.key === current.key) {
          if (message.type === 'epoch') tracker.epoch(current, message.epoch);
          else if (message.type === 'done') {
            record(current, message.result);
            next();
          } else if (message.type === 'failed') {
            fail(current, message.message);
            next();
          }
        }
      });
      child.on('exit', (code, signal) => {
        alive--;
        if (current !== undefined) {
          fail(current, `worker process ${child.pid} exited (${signal ?? `code ${code}`}) during the run`);
          current = undefined;
          // The crash may be specific to that run; keep the others going on a fresh worker.
          startWorker();
        }
        if (alive === 0) resolve();
      });
    };
    for (let index = 0; index < count; index++) startWorker();
    if (alive === 0) resolve();
  });
}

/** Progress and ETA: cost-model estimates, rescaled by how long finished runs really took. */
class ProgressTracker {
  private readonly startTime = Date.now();
  private completed = 0;
  private failures = 0;
  private readonly estimates = new Map<string, number>();
  private readonly running = new Map<string, { epochsDone: number; epochs: number; startedAt: number }>();
  private remainingEstimate = 0;
  private estimatedDone = 0;
  private actualDone = 0;

  constructor(
    private readonly total: number,
    private readonly skipped: number,
    private readonly workers: number,
    private readonly costModel: CostModel,
    private readonly listener?: (progress: RunnerProgress) => void,
  ) {}

  elapsed(): number {
    return (Date.now() - this.startTime) / 1000;
  }

  start(pending: readonly GridRun[]): void {
    for (const run of pending) {
      const estimate = estimateRunSeconds(run.experiment, this.costModel);
      this.estimates.set(run.key, estimate);
      this.remainingEstimate += estimate;
    }
    this.emit('start');
  }

  started(run: GridRun): void {
    this.running.set(run.key, { epochsDone: 0, epochs: run.experiment.train.epochs, startedAt: Date.now() });
    this.emit('run', run, { epochs: { done: 0, of: run.experiment.train.epochs } });
  }

  epoch(run: GridRun, epoch: number): void {
    const state = this.running.get(run.key);
    if (state) state.epochsDone = Math.min(epoch + 1, state.epochs);
    this.emit('epoch', run, state ? { epochs: { done: state.epochsDone, of: state.epochs } } : {});
  }

  done(run: GridRun, result: RunResult): void {
    const state = this.running.get(run.key);
    this.finish(run);
    this.completed++;
    if (state) {
      this.estimatedDone += this.estimates.get(run.key) ?? 0;
      this.actualDone += (Date.now() - state.startedAt) / 1000;
    }
    this.emit('done', run, { result });
  }

  failed(run: GridRun, message: string): void {
    this.finish(run);
    this.failures++;
    this.emit('failed', run, { message });
  }

  private finish(run: GridRun): void {
    this.remainingEstimate -= this.estimates.get(run.key) ?? 0;
    this.running.delete(run.key);
  }

  private eta(): number {
    const scale = this.estimatedDone > 0 ? this.actualDone / this.estimatedDone : 1;
    let remaining = this.remainingEstimate;
    for (const [key, state] of this.running) remaining -= (this.estimates.get(key) ?? 0) * (state.epochsDone / Math.max(state.epochs, 1));
    return Math.max(0, (remaining * scale) / this.workers);
  }

  private emit(event: RunnerProgress['event'], run?: GridRun, extra: Pick<RunnerProgress, 'result' | 'message' | 'epochs'> = {}): void {
    this.listener?.({
      event,
      run: run ? { label: run.label, seed: run.seed, key: run.key } : undefined,
      ...extra,
      total: this.total,
      skipped: this.skipped,
      completed: this.completed,
      failed: this.failures,
      running: this.running.size,
      workers: this.workers,
      elapsedSeconds: this.elapsed(),
      etaSeconds: this.eta(),
    });
  }
}

/** One progress line for a terminal or a log. */
export function formatProgress(progress: RunnerProgress): string {
  const finished = progress.skipped + progress.completed;
  const head = `[${String(finished).padStart(String(progress.total).length)}/${progress.total}]`;
  const timing = `elapsed ${formatDuration(progress.elapsedSeconds)}, ETA ${formatDuration(progress.etaSeconds)}`;
  if (progress.event === 'start') {
    return `${head} ${progress.total - finished} to run ${progress.workers === 0 ? 'in this process' : `on ${progress.workers} worker(s)`}` + (progress.skipped ? ` (${progress.skipped} already in the results file)` : '') + `, ${timing}`;
  }
  const name = progress.run ? `${progress.run.label} seed ${progress.run.seed}` : '';
  if (progress.event === 'done' && progress.result) {
    return `${head} ${name}: test acc ${progress.result.test.acc.toFixed(4)} in ${formatDuration(progress.result.totalSeconds)}; ${timing}`;
  }
  if (progress.event === 'failed') return `${head} ${name} FAILED: ${progress.message}; ${timing}`;
  if (progress.event === 'run') return `${head} ${name}: started; ${timing}`;
  const epochs = progress.epochs ? ` epoch ${progress.epochs.done}/${progress.epochs.of}` : ' epoch';
  return `${head} ${name}:${epochs} done; ${timing}`;
}
