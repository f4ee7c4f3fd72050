/**
 * Config checks that run before any tensor exists, so a typo in a notebook
 * cell fails with the field's name and what it may be, not deep inside tfjs.
 */
import { ConfigError } from '../errors';
import { ACTIVATIONS, LOSSES, OPTIMIZERS, type CnnConfig, type MlpConfig, type ModelConfig, type OptimizerOptions } from './config';

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
  validateSharedFields(config);
  return config;
}

/** Fields MLP and CNN configs share: activation, dropout, classes, optimizer, loss, seed. */
function validateSharedFields(config: MlpConfig | CnnConfig): void {
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
}

const PADDING_VALUES = ['valid', 'same'] as const;

/** Keras's output length of a convolution or pooling window along one axis. */
export function convOutputSize(size: number, window: number, strides: number, padding: 'valid' | 'same'): number {
  return padding === 'same' ? Math.ceil(size / strides) : Math.floor((size - window) / strides) + 1;
}

/** Throw a ConfigError naming the first bad field of a CNN config; returns the config unchanged. */
export function validateCnnConfig(config: CnnConfig): CnnConfig {
  if (config === null || typeof config !== 'object') throw new ConfigError('config', 'must be an object', 'a CnnConfig, e.g. {...DEFAULT_CNN}');
  if (config.architecture !== 'cnn') throw new ConfigError('architecture', `must be 'cnn' for a CnnConfig, got ${JSON.stringify(config.architecture)}`, "start from {...DEFAULT_CNN}");
  const shape = config.inputShape;
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every(isPositiveInteger)) {
    throw new ConfigError('inputShape', `must be [height, width, channels] of positive integers, got ${JSON.stringify(shape)}`, 'e.g. [28, 28, 1]');
  }
  const positiveList = (field: 'filters' | 'denseUnits', allowEmpty: boolean, example: string) => {
    const list = config[field];
    if (!Array.isArray(list) || (!allowEmpty && list.length === 0)) throw new ConfigError(field, `must be a ${allowEmpty ? '' : 'non-empty '}list of positive integers, got ${JSON.stringify(list)}`, example);
    list.forEach((value, index) => {
      if (!isPositiveInteger(value)) throw new ConfigError(`${field}[${index}]`, `must be a positive integer, got ${JSON.stringify(value)}`, 'whole numbers >= 1');
    });
  };
  positiveList('filters', false, 'e.g. [32, 64]: one Conv2D layer per entry');
  positiveList('denseUnits', true, 'e.g. [] or [128]');
  for (const field of ['kernelSize', 'strides'] as const) {
    if (!isPositiveInteger(config[field])) throw new ConfigError(field, `must be a positive integer, got ${JSON.stringify(config[field])}`, field === 'kernelSize' ? 'e.g. 3 (a 3x3 kernel)' : '1 (Keras default) or 2');
  }
  oneOf('padding', config.padding, PADDING_VALUES);
  if (typeof config.poolSize !== 'number' || !Number.isInteger(config.poolSize) || config.poolSize < 0) {
    throw new ConfigError('poolSize', `must be a non-negative integer, got ${JSON.stringify(config.poolSize)}`, '2 (MaxPooling2D 2x2 after each Conv2D) or 0 (no pooling)');
  }
  // Walk the image size through the blocks, so a kernel larger than what is left fails here.
  let [height, width] = shape;
  config.filters.forEach((_, index) => {
    if (config.padding === 'valid' && (height < config.kernelSize || width < config.kernelSize)) {
      throw new ConfigError('filters', `Conv2D layer ${index + 1} gets a ${height}x${width} input, smaller than its ${config.kernelSize}x${config.kernelSize} kernel`, "fewer Conv2D layers, a smaller kernelSize or poolSize, or padding 'same'");
    }
    [height, width] = [convOutputSize(height, config.kernelSize, config.strides, config.padding), convOutputSize(width, config.kernelSize, config.strides, config.padding)];
    if (config.poolSize > 0) {
      if (height < config.poolSize || width < config.poolSize) {
        throw new ConfigError('poolSize', `MaxPooling2D after Conv2D layer ${index + 1} gets a ${height}x${width} input, smaller than its ${config.poolSize}x${config.poolSize} window`, 'fewer Conv2D layers or a smaller poolSize');
      }
      [height, width] = [convOutputSize(height, config.poolSize, config.poolSize, 'valid'), convOutputSize(width, config.poolSize, config.poolSize, 'valid')];
    }
  });
  validateSharedFields(config);
  return config;
}

/** Validate either kind of model config. */
export function validateModelConfig(config: ModelConfig): ModelConfig {
  if (config !== null && typeof config === 'object' && (config as { architecture?: string }).architecture === 'cnn') return validateCnnConfig(config as CnnConfig);
  if (config !== null && typeof config === 'object' && 'architecture' in config && config.architecture !== undefined && config.architecture !== 'mlp') {
    throw new ConfigError('architecture', `unknown value ${JSON.stringify(config.architecture)}`, "'mlp' (or leave it out) or 'cnn'");
  }
  return validateMlpConfig(config as MlpConfig);
}
