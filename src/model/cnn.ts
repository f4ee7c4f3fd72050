/**
 * Convolutional networks: the typed config, Keras's defaults and
 * `createCnn(config)`, the Keras `Sequential([Conv2D, MaxPooling2D, ...,
 * Flatten, Dropout, Dense(softmax)])` of keras.io's "Simple MNIST convnet".
 * An ablation is a spread: `{...DEFAULT_CNN, filters: [16, 32]}`.
 */
import { ensureBackendSync, tf } from '../backend';
import { deriveSeed } from '../util/random';
import type { Activation, LossName, MlpConfig, OptimizerName, OptimizerOptions } from './config';
import { compileMlp, layerNamer } from './mlp';
import { validateCnnConfig } from './validate';

export const PADDINGS = ['valid', 'same'] as const;
/** Keras `padding`: `valid` drops the border (output shrinks by kernelSize - 1), `same` pads with zeros to keep the size (at stride 1). */
export type Padding = (typeof PADDINGS)[number];

export interface CnnConfig {
  /** Marks a convolutional network (an MlpConfig has no `architecture` or says `'mlp'`). */
  architecture: 'cnn';
  /** Shape of one input image, height x width x channels (Keras `channels_last`). */
  inputShape: number[];
  /** Filters of each Conv2D layer, in order; one convolution block per entry. */
  filters: number[];
  /** Height and width of every Conv2D kernel (Keras `kernel_size`). */
  kernelSize: number;
  /** Step of every Conv2D kernel across the image (Keras `strides`, default 1). */
  strides: number;
  /** Padding of every Conv2D layer (Keras default `valid`). */
  padding: Padding;
  /** Activation of every Conv2D and hidden Dense layer. */
  activation: Activation;
  /** MaxPooling2D window (and stride) after each Conv2D layer; 0 means no pooling layers. */
  poolSize: number;
  /** Units of hidden Dense layers after Flatten; `[]` goes straight to the softmax layer. */
  denseUnits: number[];
  /** Dropout rate after Flatten and after each hidden Dense layer; 0 means no Dropout layers. */
  dropoutRate: number;
  /** Number of output classes (softmax units). */
  numClasses: number;
  /** Optimizer by Keras name. */
  optimizer: OptimizerName;
  /** Overrides of the optimizer's Keras defaults. */
  optimizerOptions: OptimizerOptions;
  /** Loss by Keras name; sparse takes class indices, categorical takes one-hot rows. */
  loss: LossName;
  /** Seed for the weight initialisers (and, in training, dropout and shuffling). */
  seed: number;
}

/**
 * keras.io's "Simple MNIST convnet": Conv2D 32 3x3 relu, MaxPooling2D 2,
 * Conv2D 64 3x3 relu, MaxPooling2D 2, Flatten, Dropout 0.5, Dense 10
 * softmax; adam, categorical cross-entropy.
 */
export const DEFAULT_CNN: CnnConfig = {
  architecture: 'cnn',
  inputShape: [28, 28, 1],
  filters: [32, 64],
  kernelSize: 3,
  strides: 1,
  padding: 'valid',
  activation: 'relu',
  poolSize: 2,
  denseUnits: [],
  dropoutRate: 0.5,
  numClasses: 10,
  optimizer: 'adam',
  optimizerOptions: {},
  loss: 'categorical_crossentropy',
  seed: 42,
};

/** Any network the lab builds: a multilayer perceptron or a convolutional network. */
export type ModelConfig = MlpConfig | CnnConfig;

/** True for a convolutional network's config. */
export function isCnnConfig(config: ModelConfig): config is CnnConfig {
  return (config as { architecture?: string }).architecture === 'cnn';
}

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
