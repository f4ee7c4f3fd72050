/**
 * The typed description of a multilayer perceptron. An ablation is a spread:
 * `{...DEFAULT_MLP, hiddenUnits: [256, 256]}`. Names follow Keras where Keras
 * has one.
 */

export const ACTIVATIONS = ['relu', 'linear', 'sigmoid', 'tanh'] as const;
/** A hidden layer's activation (Keras names). */
export type Activation = (typeof ACTIVATIONS)[number];

/** The optimizers `createMlp` builds, with Keras's defaults. */
export const OPTIMIZERS = ['rmsprop', 'adam', 'sgd'] as const;
/** One of {@link OPTIMIZERS}. */
export type OptimizerName = (typeof OPTIMIZERS)[number];

/** The losses `createMlp` compiles with (Keras names). */
export const LOSSES = ['categorical_crossentropy', 'sparse_categorical_crossentropy'] as const;
/** One of {@link LOSSES}. */
export type LossName = (typeof LOSSES)[number];

/** Optimizer hyper-parameters; anything left out takes Keras's default for that optimizer ({@link OPTIMIZER_DEFAULTS}). */
export interface OptimizerOptions {
  /** Step size (Keras `learning_rate`). */
  learningRate?: number;
  /** RMSprop: decay of the running average of squared gradients. */
  rho?: number;
  /** SGD: momentum (0, Keras's default, is plain SGD). */
  momentum?: number;
  /** Adam: decay of the first-moment estimate. */
  beta1?: number;
  /** Adam: decay of the second-moment estimate. */
  beta2?: number;
  /** Small constant for numerical stability. */
  epsilon?: number;
}

/** A multilayer perceptron as `createMlp` builds it: `{ ...DEFAULT_MLP, hiddenUnits: [256] }`. */
export interface MlpConfig {
  /** Optional marker; a CnnConfig says `'cnn'` (see cnn.ts). */
  architecture?: 'mlp';
  /** Shape of one input image; a Flatten layer turns it into a vector. */
  inputShape: number[];
  /** Units of each hidden Dense layer, in order; `[]` is a linear softmax classifier. */
  hiddenUnits: number[];
  /** Activation of every hidden layer. */
  activation: Activation;
  /** Dropout rate after each hidden layer; 0 means no Dropout layers. */
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

/** The Conv2D paddings (Keras names). */
export const PADDINGS = ['valid', 'same'] as const;
/** Keras `padding`: `valid` drops the border (output shrinks by kernelSize - 1), `same` pads with zeros to keep the size (at stride 1). */
export type Padding = (typeof PADDINGS)[number];

/**
 * The typed description of a convolutional network: Conv2D blocks (each
 * optionally followed by MaxPooling2D), Flatten, optional Dense layers and
 * the softmax layer. An ablation is a spread: `{...DEFAULT_CNN, filters: [16, 32]}`.
 */
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

/** The network of tutorial 000 (784-512 relu-10 softmax, rmsprop). */
export const DEFAULT_MLP: MlpConfig = {
  inputShape: [28, 28],
  hiddenUnits: [512],
  activation: 'relu',
  dropoutRate: 0,
  numClasses: 10,
  optimizer: 'rmsprop',
  optimizerOptions: {},
  loss: 'categorical_crossentropy',
  seed: 42,
};

/**
 * Keras 3's default hyper-parameters per optimizer (`keras.optimizers.*`
 * constructors). Overrides in `MlpConfig.optimizerOptions` replace single fields.
 */
export const OPTIMIZER_DEFAULTS: Record<OptimizerName, Required<OptimizerOptions>> = {
  rmsprop: { learningRate: 0.001, rho: 0.9, momentum: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
  adam: { learningRate: 0.001, rho: 0.9, momentum: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
  sgd: { learningRate: 0.01, rho: 0.9, momentum: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
};

/** The optimizer's Keras defaults with the config's overrides applied. */
export function resolveOptimizerOptions(name: OptimizerName, overrides: OptimizerOptions = {}): Required<OptimizerOptions> {
  const resolved = { ...OPTIMIZER_DEFAULTS[name] };
  for (const [key, value] of Object.entries(overrides) as [keyof OptimizerOptions, number | undefined][]) {
    if (value !== undefined) resolved[key] = value;
  }
  return resolved;
}
