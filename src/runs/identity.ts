/**
 * What makes two runs the same run. A run's numbers are decided by its
 * experiment's settings and its seed; names, notes and verbosity change
 * nothing. Resuming a run folder and the keys of an ablation grid's results
 * both ask this one question, so a new setting counts in both or in neither.
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
 * seeds read 0 and verbose 0 rather than being absent, which keeps the keys
 * of results files written before this function existed.)
 */
export function runSettings(experiment: ExperimentConfig): unknown {
  const { id: _id, description: _description, reference: _reference, ...rest } = experiment;
  return { ...rest, model: { ...rest.model, seed: 0 }, train: { ...rest.train, seed: 0, verbose: 0 } };
}

/** True when two experiments give the same numbers: same settings and same seed. */
export function sameRun(a: ExperimentConfig, b: ExperimentConfig): boolean {
  return canonicalJson(runSettings(a)) === canonicalJson(runSettings(b)) && a.model.seed === b.model.seed && a.train.seed === b.train.seed;
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
