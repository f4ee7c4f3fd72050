/**
 * The notebooks' switches: quick mode and the seed, read from the
 * environment, and what they change about an experiment.
 *
 * Papermill cannot inject parameters into tslab notebooks, so everything a run
 * can vary comes from the environment.
 */
import { ConfigError } from './errors';
import type { ExperimentConfig } from './runs/types';

/** Env variable that switches the notebooks (and their tests) to quick mode. */
export const QUICK_ENV = 'MNIST_LAB_QUICK';
/** Env variable that overrides the notebooks' seed. */
export const SEED_ENV = 'MNIST_LAB_SEED';
/** Env variable (set by `npm run export` in full mode) that lets notebooks reuse finished runs instead of retraining. */
export const REUSE_RUNS_ENV = 'MNIST_LAB_REUSE_RUNS';

export interface NotebookSettings {
  /** True when env `MNIST_LAB_QUICK=1`: small subsets and few epochs, for tests and a first pass. */
  quick: boolean;
  /** Training examples an experiment may use; undefined = all of them (full mode). */
  trainLimit?: number;
  /** Test examples an experiment may use; undefined = all of them. */
  testLimit?: number;
  /** Most epochs an experiment may run; undefined = as many as it asks for. */
  maxEpochs?: number;
  /** Seed for initialisers, dropout and shuffling (env `MNIST_LAB_SEED`). */
  seed: number;
  /**
   * Pick up a finished run in its run folder instead of training it again
   * (env `MNIST_LAB_REUSE_RUNS=1`, which `npm run export` sets in full mode);
   * false: a learner's re-run trains afresh. Pass as `runExperiment`'s `resume`.
   */
  reuseRuns: boolean;
}

/** Limits of quick mode: enough data that accuracy visibly rises, little enough to run in seconds. */
export const QUICK_LIMITS = { trainLimit: 2000, testLimit: 1000, maxEpochs: 2 } as const;
export const DEFAULT_NOTEBOOK_SEED = 42;

/** True when the notebooks run in quick mode (env `MNIST_LAB_QUICK=1`). */
export function quickMode(): boolean {
  const value = process.env[QUICK_ENV];
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

/** The settings a notebook runs with, read from the environment. */
export function notebookSettings(): NotebookSettings {
  const rawSeed = process.env[SEED_ENV];
  const seed = rawSeed === undefined || rawSeed === '' ? DEFAULT_NOTEBOOK_SEED : Number(rawSeed);
  if (!Number.isInteger(seed)) throw new ConfigError(SEED_ENV, `must be an integer, got '${rawSeed}'`);
  const reuse = process.env[REUSE_RUNS_ENV];
  const reuseRuns = reuse !== undefined && reuse !== '' && reuse !== '0' && reuse.toLowerCase() !== 'false';
  return quickMode() ? { quick: true, ...QUICK_LIMITS, seed, reuseRuns } : { quick: false, seed, reuseRuns };
}

/** One line that says which mode a notebook runs in, for the versions cell. */
export function describeSettings(settings: NotebookSettings = notebookSettings()): string {
  if (!settings.quick) return `full mode (the real experiments), seed ${settings.seed}; set ${QUICK_ENV}=1 for a quick first pass`;
  return (
    `quick mode (${QUICK_ENV}=1): at most ${settings.trainLimit} training and ${settings.testLimit} test examples, ` +
    `${settings.maxEpochs} epochs; seed ${settings.seed}. Numbers will be far from the tutorials'.`
  );
}

/** Pick a value by mode: `byMode({ full: 100, quick: 2 })`. */
export function byMode<T>(values: { full: T; quick: T }): T {
  return quickMode() ? values.quick : values.full;
}

/**
 * An experiment as the current mode runs it: unchanged in full mode; in quick
 * mode, on a subset with few epochs. The seed comes from the settings.
 */
export function forNotebook(experiment: ExperimentConfig, settings: NotebookSettings = notebookSettings()): ExperimentConfig {
  const seeded: ExperimentConfig = {
    ...experiment,
    model: { ...experiment.model, seed: settings.seed },
    train: { ...experiment.train, seed: settings.seed },
  };
  if (!settings.quick) return seeded;
  const cap = (current: number | undefined, limit: number | undefined) =>
    limit === undefined ? current : Math.min(current ?? limit, limit);
  return {
    ...seeded,
    trainLimit: cap(experiment.trainLimit, settings.trainLimit),
    testLimit: cap(experiment.testLimit, settings.testLimit),
    train: { ...seeded.train, epochs: cap(experiment.train.epochs, settings.maxEpochs) ?? experiment.train.epochs },
  };
}
