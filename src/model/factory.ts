/**
 * `createModel(config)`: one factory for every architecture the lab builds,
 * so experiments, the CLI and notebooks take either kind of config.
 */
import type { tf } from '../backend';
import { createCnn, isCnnConfig, type ModelConfig } from './cnn';
import { createMlp } from './mlp';

/** Build and compile an MLP (`MlpConfig`) or a convolutional network (`CnnConfig`). */
export function createModel(config: ModelConfig): tf.Sequential {
  return isCnnConfig(config) ? createCnn(config) : createMlp(config);
}

/** A short name of the architecture: `mlp 512-512` or `cnn 32-64`, for tables and legends. */
export function architectureLabel(config: ModelConfig): string {
  if (isCnnConfig(config)) return `cnn ${config.filters.join('-')}${config.denseUnits.length > 0 ? ` + ${config.denseUnits.join('-')}` : ''}`;
  return `mlp ${config.hiddenUnits.length > 0 ? config.hiddenUnits.join('-') : 'linear'}`;
}
