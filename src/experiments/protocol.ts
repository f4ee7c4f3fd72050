/**
 * What the runner and its workers say to each other, and how a worker finds
 * the function that trains one run (the training engineer's runExperiment, or
 * a stand-in module in tests).
 */
import * as path from 'node:path';
import type { GridRun } from './grid';
import type { ExperimentConfig, RunResult } from '../runs/types';
import type { RunExperimentOptions } from './run';

/** Options the runner passes to the training function of one run: the subset of runExperiment's that a worker can carry. */
export type RunOptions = Pick<RunExperimentOptions, 'seed' | 'runDir' | 'dataDir' | 'verbose' | 'resume' | 'onEpoch'>;

/** The shape of `runExperiment` in src/experiments/run.ts. */
export type RunFunction = (experiment: ExperimentConfig, options: RunOptions) => Promise<RunResult>;

export type WorkerRequest =
  | { type: 'run'; run: GridRun; runDir: string; dataDir?: string }
  | { type: 'stop' };

export type WorkerReply =
  | { type: 'ready'; pid: number }
  | { type: 'epoch'; key: string; epoch: number; logs: object }
  | { type: 'done'; key: string; result: RunResult }
  | { type: 'failed'; key: string; message: string };

/**
 * Load `runExperiment` from a module: by default ./run (the training
 * engineer's), or the file named by `modulePath` or env MNIST_LAB_RUN_MODULE
 * (tests use a stand-in).
 */
export function loadRunFunction(modulePath?: string): RunFunction {
  const chosen = modulePath ?? process.env.MNIST_LAB_RUN_MODULE;
  const target = chosen ? path.resolve(chosen) : path.join(__dirname, 'run');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loaded = require(target) as { runExperiment?: RunFunction };
  if (typeof loaded.runExperiment !== 'function') {
    throw new Error(`${target} does not export runExperiment(experiment, options); the runner needs it to train a run.`);
  }
  return loaded.runExperiment;
}
