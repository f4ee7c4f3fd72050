/**
 * Convolutional networks: `createCnn(config)` (the config and its Keras
 * defaults live in config.ts), the Keras `Sequential([Conv2D, MaxPooling2D, ...,
 * Flatten, Dropout, Dense(softmax)])` of keras.io's "Simple MNIST convnet".
 * An ablation is a spread: `{...DEFAULT_CNN, filters: [16, 32]}`.
 */
import { ensureBackendSync, tf } from '../backend';
import { deriveSeed } from '../util/random';
import type { Activation, CnnConfig, Padding } from './config';
import { compileMlp, layerNamer } from './mlp';
import { validateCnnConfig } from './validate';

/** One layer of a Sequential model, in Keras's names (`Conv2D`, `MaxPooling2D`, ...) and arguments. */
export type LayerSpec =
  | { type: 'Conv2D'; filters: number; kernelSize: number; strides: number; padding: Padding; activation: Activation }
  | { type: 'MaxPooling2D'; poolSize: number; strides: number; padding: Padding }
  | { type: 'Flatten' }
  | { type: 'Dropout'; rate: number }
  | { type: 'Dense'; units: number; activation: Activation | 'softmax' };

/** The layers a CnnConfig stands for, in order (what `createCnn` builds and the Keras scripts mirror). */
export function cnnLayers(config: CnnConfig): LayerSpec[] {
  const layers: LayerSpec[] = [];
  for (const filters of config.filters) {
    layers.push({ type: 'Conv2D', filters, kernelSize: config.kernelSize, strides: config.strides, padding: config.padding, activation: config.activation });
    if (config.poolSize > 0) layers.push({ type: 'MaxPooling2D', poolSize: config.poolSize, strides: config.poolSize, padding: 'valid' });
  }
  layers.push({ type: 'Flatten' });
  if (config.dropoutRate > 0) layers.push({ type: 'Dropout', rate: config.dropoutRate });
  for (const units of config.denseUnits) {
    layers.push({ type: 'Dense', units, activation: config.activation });
    if (config.dropoutRate > 0) layers.push({ type: 'Dropout', rate: config.dropoutRate });
  }
  layers.push({ type: 'Dense', units: config.numClasses, activation: 'softmax' });
  return layers;
}

/**
 * Build and compile the network. Kernels are Glorot-uniform and biases zero,
 * as in Keras; each weighted layer's initialiser gets its own seed derived
 * from `config.seed`.
 */
export function createCnn(config: CnnConfig): tf.Sequential {
  validateCnnConfig(config);
  ensureBackendSync();
  const name = layerNamer();
  const model = tf.sequential({ name: 'sequential' });
  let weighted = 0;
  const kernelInitializer = () => tf.initializers.glorotUniform({ seed: deriveSeed(config.seed, 'kernel', weighted++) });
  cnnLayers(config).forEach((spec, index) => {
    const first = index === 0 ? { inputShape: config.inputShape } : {};
    switch (spec.type) {
      case 'Conv2D':
        model.add(
          tf.layers.conv2d({
            ...first,
            filters: spec.filters,
            kernelSize: spec.kernelSize,
            strides: spec.strides,
            padding: spec.padding,
            activation: spec.activation,
            kernelInitializer: kernelInitializer(),
            biasInitializer: 'zeros',
            name: name('conv2d'),
          }),
        );
        break;
      case 'MaxPooling2D':
        model.add(tf.layers.maxPooling2d({ ...first, poolSize: spec.poolSize, strides: spec.strides, padding: spec.padding, name: name('max_pooling2d') }));
        break;
      case 'Flatten':
        model.add(tf.layers.flatten({ ...first, name: name('flatten') }));
        break;
      case 'Dropout':
        // As in createMlp: training draws its own masks; the layer marks where dropout sits.
        model.add(tf.layers.dropout({ ...first, rate: spec.rate, name: name('dropout') }));
        break;
      case 'Dense':
        model.add(tf.layers.dense({ ...first, units: spec.units, activation: spec.activation, kernelInitializer: kernelInitializer(), biasInitializer: 'zeros', name: name('dense') }));
        break;
    }
  });
  compileMlp(model, config);
  return model;
}
