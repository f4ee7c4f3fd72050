/**
 * `createMlp(config)`: the Keras `Sequential([Flatten, Dense, Dropout, ...,
 * Dense(softmax)])` of the tutorials, built and compiled from a typed config.
 */
import { ensureBackendSync, tf } from '../backend';
import { deriveSeed } from '../util/random';
import { validateMlpConfig } from './validate';
import { createOptimizer } from './optimizers';
import type { LossName, MlpConfig } from './config';

/** tfjs's name for a Keras loss (tfjs compiles with camelCase identifiers). */
const TFJS_LOSS_NAMES: Record<LossName, string> = {
  categorical_crossentropy: 'categoricalCrossentropy',
  sparse_categorical_crossentropy: 'sparseCategoricalCrossentropy',
};

/**
 * Keras's layer names (`dense`, `dense_1`, ...) per model. tfjs would number
 * layers across the whole process, which makes summaries of the second model
 * in a notebook read differently from the first.
 */
export function layerNamer(): (base: string) => string {
  const counts = new Map<string, number>();
  return (base) => {
    const count = counts.get(base) ?? 0;
    counts.set(base, count + 1);
    return count === 0 ? base : `${base}_${count}`;
  };
}

/**
 * Build and compile the network. Kernels are Glorot-uniform and biases zero,
 * as in Keras; each Dense layer's initialiser gets its own seed derived from
 * `config.seed`, so two layers of the same shape do not start identical.
 */
export function createMlp(config: MlpConfig): tf.Sequential {
  validateMlpConfig(config);
  ensureBackendSync();
  const name = layerNamer();
  const model = tf.sequential({ name: 'sequential' });
  model.add(tf.layers.flatten({ inputShape: config.inputShape, name: name('flatten') }));
  const dense = (units: number, activation: string, index: number): tf.layers.Layer =>
    tf.layers.dense({
      units,
      activation: activation as 'relu',
      kernelInitializer: tf.initializers.glorotUniform({ seed: deriveSeed(config.seed, 'kernel', index) }),
      biasInitializer: 'zeros',
      name: name('dense'),
    });
  config.hiddenUnits.forEach((units, index) => {
    model.add(dense(units, config.activation, index));
    // Training draws its own masks (see train/fit.ts); the layer marks where
    // dropout sits so the saved model and summary match Keras's.
    if (config.dropoutRate > 0) model.add(tf.layers.dropout({ rate: config.dropoutRate, name: name('dropout') }));
  });
  model.add(dense(config.numClasses, 'softmax', config.hiddenUnits.length));
  compileMlp(model, config);
  return model;
}

/** Compile (or re-compile after loading) with the config's Keras optimizer, loss and accuracy. */
export function compileMlp(model: tf.LayersModel, config: Pick<MlpConfig, 'optimizer' | 'optimizerOptions' | 'loss'>): void {
  model.compile({
    optimizer: createOptimizer(config.optimizer, config.optimizerOptions),
    loss: TFJS_LOSS_NAMES[config.loss],
    metrics: ['accuracy'],
  });
}
