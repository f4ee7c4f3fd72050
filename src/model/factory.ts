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

/** A layer with weights, and what it costs: its parameters and its multiply-adds per example. */
export interface WeightedLayer {
  type: 'Conv2D' | 'Dense';
  parameters: number;
  multiplyAdds: number;
}

/**
 * The layers with weights of the network a config describes, walked
 * without building it: the one place that follows the image size through
 * convolutions and pooling, for parameter counts and the cost model.
 */
export function weightedLayers(config: ModelConfig): WeightedLayer[] {
  const dense = (inputs: number, units: number): WeightedLayer => ({ type: 'Dense', parameters: inputs * units + units, multiplyAdds: inputs * units });
  if (!isCnnConfig(config)) {
    const widths = [config.inputShape.reduce((product, size) => product * size, 1), ...config.hiddenUnits, config.numClasses];
    return widths.slice(1).map((units, index) => dense(widths[index], units));
  }
  let [height, width, channels] = config.inputShape;
  let units = 0;
  const layers: WeightedLayer[] = [];
  for (const layer of cnnLayers(config)) {
    if (layer.type === 'Conv2D') {
      height = convOutputSize(height, layer.kernelSize, layer.strides, layer.padding);
      width = convOutputSize(width, layer.kernelSize, layer.strides, layer.padding);
      const perPosition = layer.kernelSize * layer.kernelSize * channels * layer.filters;
      layers.push({ type: 'Conv2D', parameters: perPosition + layer.filters, multiplyAdds: height * width * perPosition });
      channels = layer.filters;
    } else if (layer.type === 'MaxPooling2D') {
      height = convOutputSize(height, layer.poolSize, layer.strides, layer.padding);
      width = convOutputSize(width, layer.poolSize, layer.strides, layer.padding);
    } else if (layer.type === 'Flatten') {
      units = height * width * channels;
    } else if (layer.type === 'Dense') {
      layers.push(dense(units, layer.units));
      units = layer.units;
    }
  }
  return layers;
}

/**
 * Trainable parameters of the network a config describes, without building
 * it (what Keras's summary() totals): for reports and grids of many configs.
 */
export function parameterCount(config: ModelConfig): number {
  return weightedLayers(config).reduce((sum, layer) => sum + layer.parameters, 0);
}
