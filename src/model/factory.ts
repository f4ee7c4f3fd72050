/**
 * `createModel(config)`: one factory for every architecture the lab builds,
 * so experiments, the CLI and notebooks take either kind of config.
 */
import type { tf } from '../backend';
import { cnnLayers, createCnn } from './cnn';
import { isCnnConfig, type ModelConfig } from './config';
import { convOutputSize } from './validate';
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

/**
 * Trainable parameters of the network a config describes, without building
 * it (what Keras's summary() totals): for reports and grids of many configs.
 */
export function parameterCount(config: ModelConfig): number {
  if (!isCnnConfig(config)) {
    const widths = [config.inputShape.reduce((product, size) => product * size, 1), ...config.hiddenUnits, config.numClasses];
    return widths.slice(1).reduce((sum, units, index) => sum + widths[index] * units + units, 0);
  }
  let [height, width, channels] = config.inputShape;
  let units = 0;
  let total = 0;
  for (const layer of cnnLayers(config)) {
    if (layer.type === 'Conv2D') {
      total += layer.kernelSize * layer.kernelSize * channels * layer.filters + layer.filters;
      height = convOutputSize(height, layer.kernelSize, layer.strides, layer.padding);
      width = convOutputSize(width, layer.kernelSize, layer.strides, layer.padding);
      channels = layer.filters;
    } else if (layer.type === 'MaxPooling2D') {
      height = convOutputSize(height, layer.poolSize, layer.strides, layer.padding);
      width = convOutputSize(width, layer.poolSize, layer.strides, layer.padding);
    } else if (layer.type === 'Flatten') {
      units = height * width * channels;
    } else if (layer.type === 'Dense') {
      total += units * layer.units + layer.units;
      units = layer.units;
    }
  }
  return total;
}
