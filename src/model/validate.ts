/**
 * Config checks that run before any tensor exists, so a typo in a notebook
 * cell fails with the field's name and what it may be, not deep inside tfjs.
 */
import { z } from 'zod';
import { ConfigError } from '../errors';
import { parseConfig, type FieldRule, type FieldRules } from '../util/schema';
import { ACTIVATIONS, LOSSES, OPTIMIZERS, PADDINGS, type CnnConfig, type MlpConfig, type ModelConfig, type OptimizerOptions } from './config';

const OPTIMIZER_OPTION_KEYS: readonly (keyof OptimizerOptions)[] = ['learningRate', 'rho', 'momentum', 'beta1', 'beta2', 'epsilon'];
const MLP_FIELDS: readonly (keyof MlpConfig)[] = ['architecture', 'inputShape', 'hiddenUnits', 'activation', 'dropoutRate', 'numClasses', 'optimizer', 'optimizerOptions', 'loss', 'seed'];
const CNN_FIELDS: readonly (keyof CnnConfig)[] = [
  'architecture', 'inputShape', 'filters', 'kernelSize', 'strides', 'padding', 'activation', 'poolSize', 'denseUnits',
  'dropoutRate', 'numClasses', 'optimizer', 'optimizerOptions', 'loss', 'seed',
];

const positive = z.number().positive();
const fraction = z.number().min(0).lt(1);
const positiveInteger = z.number().int().positive();

const OPTIMIZER_OPTIONS_SCHEMA: z.ZodType<OptimizerOptions> = z
  .object({ learningRate: positive.optional(), rho: fraction.optional(), momentum: fraction.optional(), beta1: fraction.optional(), beta2: fraction.optional(), epsilon: positive.optional() })
  .strict();

/** The fields every network shares: activation, dropout, classes, optimizer, loss, seed. */
const SHARED_FIELDS = {
  activation: z.enum(ACTIVATIONS),
  dropoutRate: fraction,
  numClasses: z.number().int().min(2),
  optimizer: z.enum(OPTIMIZERS),
  optimizerOptions: OPTIMIZER_OPTIONS_SCHEMA,
  loss: z.enum(LOSSES),
  seed: z.number().int().nonnegative(),
};

/** What an {@link MlpConfig} may hold. */
export const MLP_CONFIG_SCHEMA: z.ZodType<MlpConfig> = z
  .object({
    architecture: z.literal('mlp').optional(),
    inputShape: z.array(positiveInteger).min(1),
    hiddenUnits: z.array(positiveInteger),
    ...SHARED_FIELDS,
  })
  .strict();

/** What a {@link CnnConfig} may hold (the layer sizes are checked against the image size after it). */
export const CNN_CONFIG_SCHEMA: z.ZodType<CnnConfig> = z
  .object({
    architecture: z.literal('cnn'),
    inputShape: z.array(positiveInteger).length(3),
    filters: z.array(positiveInteger).min(1),
    kernelSize: positiveInteger,
    strides: positiveInteger,
    padding: z.enum(PADDINGS),
    poolSize: z.number().int().nonnegative(),
    denseUnits: z.array(positiveInteger),
    ...SHARED_FIELDS,
  })
  .strict();

const FRACTION_OPTION: FieldRule = { problem: 'is out of range', allowed: '0 <= value < 1' };
const POSITIVE_OPTION: FieldRule = { problem: 'is out of range', allowed: 'value > 0' };

/** How the shared fields' problems are explained. */
const SHARED_RULES: FieldRules = {
  dropoutRate: { problem: 'must be a number in [0, 1)', allowed: '0 (no Dropout) up to, not including, 1' },
  numClasses: { problem: 'must be an integer >= 2', allowed: '10 for MNIST' },
  optimizerOptions: { problem: 'must be an object', allowed: OPTIMIZER_OPTION_KEYS.join(', ') },
  'optimizerOptions.*': { problem: 'is not an optimizer option', allowed: OPTIMIZER_OPTION_KEYS.join(', ') },
  'optimizerOptions.learningRate': POSITIVE_OPTION,
  'optimizerOptions.epsilon': POSITIVE_OPTION,
  'optimizerOptions.rho': FRACTION_OPTION,
  'optimizerOptions.momentum': FRACTION_OPTION,
  'optimizerOptions.beta1': FRACTION_OPTION,
  'optimizerOptions.beta2': FRACTION_OPTION,
  seed: { problem: 'must be a non-negative integer' },
};

/** How each field's problem is explained. */
export const MLP_CONFIG_RULES: FieldRules = {
  ...SHARED_RULES,
  '*': { problem: 'is not an MlpConfig field', allowed: MLP_FIELDS.join(', ') },
  inputShape: { problem: 'must be a non-empty list of positive integers', allowed: 'e.g. [28, 28]' },
  'inputShape[]': { problem: 'must be a positive integer', allowed: 'e.g. [28, 28]' },
  hiddenUnits: { problem: 'must be a list of layer sizes', allowed: 'e.g. [512] or [512, 512]; [] for no hidden layer' },
  'hiddenUnits[]': { problem: 'must be a positive integer', allowed: 'whole numbers >= 1' },
};

/** How each CNN field's problem is explained. */
export const CNN_CONFIG_RULES: FieldRules = {
  ...SHARED_RULES,
  '*': { problem: 'is not a CnnConfig field', allowed: CNN_FIELDS.join(', ') },
  inputShape: { problem: 'must be [height, width, channels] of positive integers', allowed: 'e.g. [28, 28, 1]' },
  'inputShape[]': { problem: 'must be a positive integer', allowed: 'e.g. [28, 28, 1]' },
  filters: { problem: 'must be a non-empty list of positive integers', allowed: 'e.g. [32, 64]: one Conv2D layer per entry' },
  'filters[]': { problem: 'must be a positive integer', allowed: 'whole numbers >= 1' },
  denseUnits: { problem: 'must be a list of positive integers', allowed: 'e.g. [] or [128]' },
  'denseUnits[]': { problem: 'must be a positive integer', allowed: 'whole numbers >= 1' },
  kernelSize: { problem: 'must be a positive integer', allowed: 'e.g. 3 (a 3x3 kernel)' },
  strides: { problem: 'must be a positive integer', allowed: '1 (Keras default) or 2' },
  poolSize: { problem: 'must be a non-negative integer', allowed: '2 (MaxPooling2D 2x2 after each Conv2D) or 0 (no pooling)' },
};

/** Throw a ConfigError naming the first bad field of an MLP config; returns the config unchanged. */
export function validateMlpConfig(config: MlpConfig): MlpConfig {
  parseConfig(MLP_CONFIG_SCHEMA, config, MLP_CONFIG_RULES);
  return config;
}

/** Keras's output length of a convolution or pooling window along one axis. */
export function convOutputSize(size: number, window: number, strides: number, padding: 'valid' | 'same'): number {
  return padding === 'same' ? Math.ceil(size / strides) : Math.floor((size - window) / strides) + 1;
}

/** Throw a ConfigError naming the first bad field of a CNN config; returns the config unchanged. */
export function validateCnnConfig(config: CnnConfig): CnnConfig {
  parseConfig(CNN_CONFIG_SCHEMA, config, CNN_CONFIG_RULES);
  // Walk the image size through the blocks, so a kernel larger than what is left fails here.
  let [height, width] = config.inputShape;
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
  return config;
}

/** Validate either kind of model config. */
export function validateModelConfig(config: ModelConfig): ModelConfig {
  if (config === null || typeof config !== 'object') throw new ConfigError('config', 'must be an object', 'an MlpConfig or CnnConfig, e.g. {...DEFAULT_MLP}');
  const architecture: unknown = (config as { architecture?: unknown }).architecture;
  if (architecture === 'cnn') return validateCnnConfig(config as CnnConfig);
  if (architecture !== undefined && architecture !== 'mlp') throw new ConfigError('architecture', `unknown value ${JSON.stringify(architecture)}`, "'mlp' (or leave it out) or 'cnn'");
  return validateMlpConfig(config as MlpConfig);
}
