/**
 * The one flag parser of the `mnist-lab` commands: commander hands flags
 * over as strings, and these turn them into numbers, choices and lists, or
 * a ConfigError that names the flag and what it accepts.
 */
import { ConfigError } from '../errors';
import type { Activation, OptimizerName } from '../model/config';
import type { CheckpointKind } from '../runs/folder';
import { PREPROCESS_MODES, type PreprocessMode } from '../predict/image';
import { gridPreset, loadGridSpec, validateGridSpec, type GridFactors, type GridSpec } from '../experiments/grid';

/** A number that passes `check`, else a ConfigError with `allowed`. */
export function parseNumber(flag: string, text: string, check: (value: number) => boolean, allowed: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || !check(value)) throw new ConfigError(flag, `'${text}' is not valid`, allowed);
  return value;
}

/** A whole number >= `min`. */
export function wholeNumber(flag: string, text: string, min: number, allowed = `a whole number >= ${min}`): number {
  return parseNumber(flag, text, (value) => Number.isInteger(value) && value >= min, allowed);
}

/** A whole number >= 1. */
export const positiveInteger = (flag: string, text: string): number => wholeNumber(flag, text, 1);

/** One of `choices`. */
export function parseChoice<T extends string>(flag: string, text: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(text)) throw new ConfigError(flag, `unknown value '${text}'`, choices.join(', '));
  return text as T;
}

/** `--which`: a checkpoint name, or undefined for the command's default. */
export function parseCheckpointKind(value: string | undefined): CheckpointKind | undefined {
  if (value === undefined || value === 'best' || value === 'last') return value;
  throw new ConfigError('--which', `unknown checkpoint '${value}'`, 'best, last');
}

/** `--mode`: how a picture becomes an MNIST-style input. */
export function parsePreprocessMode(value: string): PreprocessMode {
  if ((PREPROCESS_MODES as readonly string[]).includes(value)) return value as PreprocessMode;
  throw new ConfigError('--mode', `unknown mode '${value}'`, PREPROCESS_MODES.join(', '));
}

/** The items of a comma-separated list (none may be empty). */
function splitList(field: string, text: string): string[] {
  const items = text.split(',').map((item) => item.trim());
  if (items.some((item) => item === '')) throw new ConfigError(field, `empty value in '${text}'`, 'a comma-separated list, e.g. 128,512');
  return items;
}

/** A comma-separated list of numbers. */
function numberList(field: string, text: string): number[] {
  return splitList(field, text).map((item) => {
    const value = Number(item);
    if (!Number.isFinite(value)) throw new ConfigError(field, `'${item}' is not a number`);
    return value;
  });
}

/** A whole number (its range is the schema's to check). */
function integer(field: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value)) throw new ConfigError(field, `'${text}' is not a whole number`);
  return value;
}

/** The `mnist-lab ablate` flags, as commander hands them over (all strings). */
export interface GridFlags {
  preset?: string;
  spec?: string;
  name?: string;
  mode?: string;
  baseline?: string;
  architecture?: string;
  filters?: string;
  hidden?: string;
  dropout?: string;
  batchSize?: string;
  optimizer?: string;
  activation?: string;
  scale?: string;
  learningRate?: string;
  augment?: string;
  dataFolder?: string;
  seeds?: string;
  epochs?: string;
  dataset?: string;
  limit?: string;
}

const SCALE_WORDS: Record<string, boolean> = { on: true, off: false, true: true, false: false, yes: true, no: false };

/**
 * Turn command-line flags into a validated spec: `--preset` or `--spec` give
 * the starting point, the other flags override it.
 */
export function gridSpecFromFlags(flags: GridFlags): GridSpec {
  let base: Partial<GridSpec> = {};
  if (flags.preset !== undefined && flags.spec !== undefined) {
    throw new ConfigError('--preset', 'give either --preset or --spec, not both');
  }
  if (flags.preset !== undefined) base = gridPreset(flags.preset);
  if (flags.spec !== undefined) base = loadGridSpec(flags.spec);
  const factors: GridFactors = { ...(base.factors ?? {}) };
  if (flags.hidden !== undefined) {
    factors.hiddenUnits = splitList('--hidden', flags.hidden).map((item) =>
      item.includes('-') ? numberList('--hidden', item.replaceAll('-', ',')) : numberList('--hidden', item)[0],
    );
  }
  if (flags.architecture !== undefined) factors.architecture = splitList('--architecture', flags.architecture);
  if (flags.filters !== undefined) {
    factors.filters = splitList('--filters', flags.filters).map((item) => (item.includes('-') ? numberList('--filters', item.replaceAll('-', ',')) : numberList('--filters', item)[0]));
  }
  if (flags.dropout !== undefined) factors.dropoutRate = numberList('--dropout', flags.dropout);
  if (flags.batchSize !== undefined) factors.batchSize = numberList('--batch-size', flags.batchSize);
  if (flags.optimizer !== undefined) factors.optimizer = splitList('--optimizer', flags.optimizer) as OptimizerName[];
  if (flags.activation !== undefined) factors.activation = splitList('--activation', flags.activation) as Activation[];
  if (flags.learningRate !== undefined) factors.learningRate = numberList('--learning-rate', flags.learningRate);
  if (flags.augment !== undefined) {
    factors.augment = splitList('--augment', flags.augment).map((item) => {
      if (!(item in SCALE_WORDS)) throw new ConfigError('--augment', `'${item}' is not on or off`, 'on, off (on = rotation 10, shifts 0.1, zoom 0.1)');
      return SCALE_WORDS[item];
    });
  }
  if (flags.dataFolder !== undefined) base = { ...base, dataset: { folder: flags.dataFolder } };
  if (flags.scale !== undefined) {
    factors.scaleInputs = splitList('--scale', flags.scale).map((item) => {
      const value = SCALE_WORDS[item.toLowerCase()];
      if (value === undefined) throw new ConfigError('--scale', `'${item}' is not on or off`, 'on, off');
      return value;
    });
  }
  const spec: Record<string, unknown> = { ...base, factors };
  if (flags.name !== undefined) spec.name = flags.name;
  if (flags.mode !== undefined) spec.mode = flags.mode;
  if (flags.baseline !== undefined) spec.baseline = flags.baseline;
  if (flags.seeds !== undefined) {
    spec.seeds = flags.seeds.includes(',') ? numberList('--seeds', flags.seeds) : integer('--seeds', flags.seeds);
  }
  if (flags.epochs !== undefined) spec.epochs = integer('--epochs', flags.epochs);
  if (flags.dataset !== undefined) spec.dataset = flags.dataset;
  if (flags.limit !== undefined) spec.limit = integer('--limit', flags.limit);
  if (spec.experiments !== undefined && Object.keys(factors).length > 0) {
    throw new ConfigError('factors', `the '${String(spec.name)}' preset runs fixed experiments; factor flags (--hidden, --dropout, ...) need a baseline grid instead`, 'drop --preset, use --baseline S1-base with factor flags');
  }
  return validateGridSpec(spec);
}
