/** The check of an {@link ExperimentConfig} at the boundary (runExperiment), with its model and training parts. */
import { z } from 'zod';
import { isCnnConfig, type ModelConfig } from '../model/config';
import { CNN_CONFIG_RULES, CNN_CONFIG_SCHEMA, MLP_CONFIG_RULES, MLP_CONFIG_SCHEMA, validateModelConfig } from '../model/validate';
import { TRAIN_CONFIG_RULES, TRAIN_CONFIG_SCHEMA } from '../train/validate';
import { parseConfig, type FieldRules } from '../util/schema';
import type { ExperimentConfig, ReferenceResult } from './types';

const REFERENCE_SCHEMA: z.ZodType<ReferenceResult> = z
  .object({
    source: z.string(),
    testAcc: z.number(),
    trainAcc: z.number().optional(),
    valAcc: z.number().optional(),
    valLoss: z.number().optional(),
    note: z.string().optional(),
  })
  .strict();

/** What an {@link ExperimentConfig} with the given kind of network may hold. */
const experimentSchema = (model: z.ZodType<ModelConfig>): z.ZodType<ExperimentConfig> =>
  z.object({
    id: z.string().min(1),
    description: z.string(),
    // A name or a folder; validateDatasetSource (data/source.ts) checks which, with its own message.
    dataset: z.union([z.string().min(1), z.object({ folder: z.string().min(1) }).passthrough()]),
    initFrom: z.string().min(1).optional(),
    classNames: z.array(z.string()).optional(),
    scaleInputs: z.boolean(),
    model,
    train: TRAIN_CONFIG_SCHEMA,
    restoreBestWeights: z.boolean(),
    validateOnTest: z.boolean(),
    trainLimit: z.number().int().positive().optional(),
    testLimit: z.number().int().positive().optional(),
    reference: REFERENCE_SCHEMA.optional(),
  })
  .strict() as z.ZodType<ExperimentConfig>;

const EXPERIMENT_FIELDS: readonly (keyof ExperimentConfig)[] = [
  'id', 'description', 'dataset', 'initFrom', 'classNames', 'scaleInputs', 'model', 'train', 'restoreBestWeights', 'validateOnTest', 'trainLimit', 'testLimit', 'reference',
];

const prefixed = (prefix: string, rules: FieldRules): FieldRules => Object.fromEntries(Object.entries(rules).map(([key, rule]) => [`${prefix}.${key}`, rule]));

const experimentRules = (modelRules: FieldRules): FieldRules => ({
  '*': { problem: 'is not an ExperimentConfig field', allowed: EXPERIMENT_FIELDS.join(', ') },
  id: { problem: 'must be a non-empty name', allowed: "e.g. 'S1-base'" },
  trainLimit: { problem: 'must be a positive integer', allowed: 'leave it out to use every example' },
  testLimit: { problem: 'must be a positive integer', allowed: 'leave it out to use every example' },
  ...prefixed('model', modelRules),
  ...prefixed('train', TRAIN_CONFIG_RULES),
});

const MLP_EXPERIMENT = { schema: experimentSchema(MLP_CONFIG_SCHEMA), rules: experimentRules(MLP_CONFIG_RULES) };
const CNN_EXPERIMENT = { schema: experimentSchema(CNN_CONFIG_SCHEMA), rules: experimentRules(CNN_CONFIG_RULES) };

/** Throw a ConfigError naming the first bad field (e.g. `model.dropoutRate`); returns the experiment unchanged. */
export function validateExperiment(experiment: ExperimentConfig): ExperimentConfig {
  const model: unknown = (experiment as { model?: unknown } | null)?.model;
  const kind = model !== null && typeof model === 'object' && isCnnConfig(model as ModelConfig) ? CNN_EXPERIMENT : MLP_EXPERIMENT;
  parseConfig(kind.schema, experiment, kind.rules, 'experiment');
  // What a schema cannot say: a CNN's layers must fit the image.
  validateModelConfig(experiment.model);
  return experiment;
}
