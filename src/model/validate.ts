/**
 * Config checks that run before any tensor exists, so a typo in a notebook
 * cell fails with the field's name and what it may be, not deep inside tfjs.
 */
import { z } from 'zod';
import { parseConfig, type FieldRule, type FieldRules } from '../util/schema';
import { ACTIVATIONS, LOSSES, OPTIMIZERS, type MlpConfig, type OptimizerOptions } from './config';

const OPTIMIZER_OPTION_KEYS: readonly (keyof OptimizerOptions)[] = ['learningRate', 'rho', 'momentum', 'beta1', 'beta2', 'epsilon'];
const MLP_FIELDS: readonly (keyof MlpConfig)[] = ['inputShape', 'hiddenUnits', 'activation', 'dropoutRate', 'numClasses', 'optimizer', 'optimizerOptions', 'loss', 'seed'];

const positive = z.number().positive();
const fraction = z.number().min(0).lt(1);

const OPTIMIZER_OPTIONS_SCHEMA: z.ZodType<OptimizerOptions> = z
  .object({ learningRate: positive.optional(), rho: fraction.optional(), momentum: fraction.optional(), beta1: fraction.optional(), beta2: fraction.optional(), epsilon: positive.optional() })
  .strict();

/** What an {@link MlpConfig} may hold. */
export const MLP_CONFIG_SCHEMA: z.ZodType<MlpConfig> = z
  .object({
    inputShape: z.array(z.number().int().positive()).min(1),
    hiddenUnits: z.array(z.number().int().positive()),
    activation: z.enum(ACTIVATIONS),
    dropoutRate: fraction,
    numClasses: z.number().int().min(2),
    optimizer: z.enum(OPTIMIZERS),
    optimizerOptions: OPTIMIZER_OPTIONS_SCHEMA,
    loss: z.enum(LOSSES),
    seed: z.number().int().nonnegative(),
  })
  .strict();

const FRACTION_OPTION: FieldRule = { problem: 'is out of range', allowed: '0 <= value < 1' };
const POSITIVE_OPTION: FieldRule = { problem: 'is out of range', allowed: 'value > 0' };

/** How each field's problem is explained. */
export const MLP_CONFIG_RULES: FieldRules = {
  '*': { problem: 'is not an MlpConfig field', allowed: MLP_FIELDS.join(', ') },
  inputShape: { problem: 'must be a non-empty list of positive integers', allowed: 'e.g. [28, 28]' },
  'inputShape[]': { problem: 'must be a positive integer', allowed: 'e.g. [28, 28]' },
  hiddenUnits: { problem: 'must be a list of layer sizes', allowed: 'e.g. [512] or [512, 512]; [] for no hidden layer' },
  'hiddenUnits[]': { problem: 'must be a positive integer', allowed: 'whole numbers >= 1' },
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

/** Throw a ConfigError naming the first bad field of an MLP config; returns the config unchanged. */
export function validateMlpConfig(config: MlpConfig): MlpConfig {
  parseConfig(MLP_CONFIG_SCHEMA, config, MLP_CONFIG_RULES);
  return config;
}
