/**
 * What makes two runs the same run. A run's numbers are decided by its
 * experiment's settings and its seed; names, notes and verbosity change
 * nothing. The keys of an ablation grid's results and the check before
 * resuming a run folder both start from {@link runSettings}, so a new
 * setting counts in both or in neither.
 */
import type { ExperimentConfig } from './types';

/**
 * The experiment as it runs with `seed`: the one place a run's seed is set.
 * It seeds the initial weights (`model.seed`) and shuffling and dropout
 * (`train.seed`) alike.
 */
export function withSeed(experiment: ExperimentConfig, seed: number): ExperimentConfig {
  return { ...experiment, model: { ...experiment.model, seed }, train: { ...experiment.train, seed } };
}

/**
 * The settings that decide a run's numbers, seed left out: everything but
 * the id, the description, the reference numbers and the verbosity. (The
 * seeds read 0 and verbose 0 rather than being left out: results files key
 * their runs by a hash of this, so its form must not change.)
 */
export function runSettings(experiment: ExperimentConfig): Omit<ExperimentConfig, 'id' | 'description' | 'reference'> {
  const { id: _id, description: _description, reference: _reference, ...rest } = experiment;
  return { ...rest, model: { ...rest.model, seed: 0 }, train: { ...rest.train, seed: 0, verbose: 0 } };
}

/**
 * What resuming a run folder compares: the run's settings and its seed,
 * but not the number of epochs, since asking for more continues the run.
 */
export function resumeSettings(experiment: ExperimentConfig): Record<string, unknown> {
  const settings = runSettings(experiment);
  return { ...settings, model: { ...settings.model, seed: experiment.model.seed }, train: { ...settings.train, seed: experiment.train.seed, epochs: undefined } };
}

/** JSON with object keys sorted (and undefined fields left out), so equal values give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, field]) => field !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, field]) => `${JSON.stringify(key)}:${canonicalJson(field)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
