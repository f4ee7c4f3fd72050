/** The check of a {@link TrainConfig} at the boundary (`fit`'s options, an experiment's `train`). */
import { z } from 'zod';
import { parseConfig, type FieldRules } from '../util/schema';
import type { TrainConfig } from './types';

/** What a {@link TrainConfig} may hold. */
export const TRAIN_CONFIG_SCHEMA: z.ZodType<TrainConfig> = z
  .object({
    epochs: z.number().int().positive(),
    batchSize: z.number().int().positive(),
    shuffle: z.boolean(),
    validationSplit: z.number().min(0).lt(1),
    seed: z.number().int().nonnegative(),
    verbose: z.union([z.literal(0), z.literal(1), z.literal(2)]),
    // Its ranges are checked by validateAugment (train/augment.ts), which fit calls.
    augment: z.object({ rotationRange: z.number(), widthShiftRange: z.number(), heightShiftRange: z.number(), zoomRange: z.number() }).optional(),
  })
  .strict();

const TRAIN_FIELDS: readonly (keyof TrainConfig)[] = ['epochs', 'batchSize', 'shuffle', 'validationSplit', 'seed', 'verbose', 'augment'];

/** How each field's problem is explained. */
export const TRAIN_CONFIG_RULES: FieldRules = {
  '*': { problem: 'is not a TrainConfig field', allowed: TRAIN_FIELDS.join(', ') },
  epochs: { problem: 'must be a positive integer' },
  batchSize: { problem: 'must be a positive integer' },
  shuffle: { problem: 'must be true or false' },
  validationSplit: { problem: 'must be in [0, 1)', allowed: '0 (no validation) or e.g. 0.2' },
  seed: { problem: 'must be a non-negative integer' },
  verbose: { problem: 'must be 0, 1 or 2', allowed: '0 silent, 1 progress bar, 2 one line per epoch' },
};

/** Throw a ConfigError naming the first bad field of a training config; returns the config unchanged. */
export function validateTrainConfig(config: TrainConfig): TrainConfig {
  parseConfig(TRAIN_CONFIG_SCHEMA, config, TRAIN_CONFIG_RULES);
  return config;
}
