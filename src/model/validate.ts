/**
 * Config checks that run before any tensor exists, so a typo in a notebook
 * cell fails with the field's name and what it may be, not deep inside tfjs.
 */
import { ConfigError } from '../errors';
import { ACTIVATIONS, LOSSES, OPTIMIZERS, type MlpConfig, type OptimizerOptions } from './config';

const OPTIMIZER_OPTION_KEYS: readonly (keyof OptimizerOptions)[] = ['learningRate', 'rho', 'momentum', 'beta1', 'beta2', 'epsilon'];

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

function oneOf(field: string, value: unknown, allowed: readonly string[]): void {
  if (typeof value !== 'string' || !allowed.includes(value)) {
    throw new ConfigError(field, `unknown value ${JSON.stringify(value)}`, allowed.join(', '));
  }
}

/** Throw a ConfigError naming the first bad field of an MLP config; returns the config unchanged. */
export function validateMlpConfig(config: MlpConfig): MlpConfig {
  if (config === null || typeof config !== 'object') throw new ConfigError('config', 'must be an object', 'an MlpConfig, e.g. {...DEFAULT_MLP}');
  if (!Array.isArray(config.inputShape) || config.inputShape.length === 0 || !config.inputShape.every(isPositiveInteger)) {
    throw new ConfigError('inputShape', `must be a non-empty list of positive integers, got ${JSON.stringify(config.inputShape)}`, 'e.g. [28, 28]');
  }
  if (!Array.isArray(config.hiddenUnits)) {
    throw new ConfigError('hiddenUnits', `must be a list of layer sizes, got ${JSON.stringify(config.hiddenUnits)}`, 'e.g. [512] or [512, 512]; [] for no hidden layer');
  }
  config.hiddenUnits.forEach((units, index) => {
    if (!isPositiveInteger(units)) {
      throw new ConfigError(`hiddenUnits[${index}]`, `must be a positive integer, got ${JSON.stringify(units)}`, 'whole numbers >= 1');
    }
  });
  oneOf('activation', config.activation, ACTIVATIONS);
  if (typeof config.dropoutRate !== 'number' || !(config.dropoutRate >= 0 && config.dropoutRate < 1)) {
    throw new ConfigError('dropoutRate', `must be a number in [0, 1), got ${JSON.stringify(config.dropoutRate)}`, '0 (no Dropout) up to, not including, 1');
  }
  if (!isPositiveInteger(config.numClasses) || config.numClasses < 2) {
    throw new ConfigError('numClasses', `must be an integer >= 2, got ${JSON.stringify(config.numClasses)}`, '10 for MNIST');
  }
  oneOf('optimizer', config.optimizer, OPTIMIZERS);
  const options = config.optimizerOptions ?? {};
  if (typeof options !== 'object') throw new ConfigError('optimizerOptions', 'must be an object', OPTIMIZER_OPTION_KEYS.join(', '));
  for (const [key, value] of Object.entries(options)) {
    if (!(OPTIMIZER_OPTION_KEYS as readonly string[]).includes(key)) {
      throw new ConfigError(`optimizerOptions.${key}`, 'is not an optimizer option', OPTIMIZER_OPTION_KEYS.join(', '));
    }
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new ConfigError(`optimizerOptions.${key}`, `must be a finite number, got ${JSON.stringify(value)}`);
    }
    const fraction = key === 'rho' || key === 'momentum' || key === 'beta1' || key === 'beta2';
    if (fraction ? !(value >= 0 && value < 1) : !(value > 0)) {
      throw new ConfigError(`optimizerOptions.${key}`, `is out of range: ${value}`, fraction ? '0 <= value < 1' : 'value > 0');
    }
  }
  oneOf('loss', config.loss, LOSSES);
  if (typeof config.seed !== 'number' || !Number.isInteger(config.seed) || config.seed < 0) {
    throw new ConfigError('seed', `must be a non-negative integer, got ${JSON.stringify(config.seed)}`);
  }
  return config;
}
