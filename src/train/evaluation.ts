/**
 * `evaluate(model, images, labels)`: Keras's `model.evaluate`, the one
 * evaluation of the lab. `fit` validates with it after every epoch, the
 * test numbers in a run's `metrics.json` come from it, and so do
 * `mnist-lab evaluate` and the notebooks, so one checkpoint has one test loss.
 *
 * The loss is categorical cross-entropy from the logits of the softmax
 * layer, as Keras 3 computes it on TensorFlow (its softmax keeps the logits
 * and the loss uses them). Taking the log of clipped probabilities instead
 * gives another number where the softmax saturates, e.g. on unscaled inputs.
 */
import { ensureBackendSync, tf } from '../backend';
import { ConfigError } from '../errors';
import { toTensor, type NumericArray } from '../data/preprocess';
import { forwardLogits, planLayers, type DenseLayer } from './layer-plan';
import type { EvaluateResult } from './types';

/** Images as the data layer gives them (ndarray, scaled or not) or as a tensor; the first axis is examples. */
export type ImagesInput = tf.Tensor | NumericArray;

/**
 * Labels as class indices (`[N]`: ndarray, typed array, number[] or
 * tensor) or one-hot rows (`[N, numClasses]`), the two forms Keras's sparse
 * and categorical losses take.
 */
export type LabelsInput = tf.Tensor | NumericArray | ArrayLike<number>;

/** Options of `evaluate`. */
export interface EvaluateOptions {
  /**
   * Examples per forward pass. Only memory, speed and the last float32
   * digits depend on it; `fit`'s eager validation uses the default, so a
   * checkpoint evaluated with the default gives the numbers of its history.
   * (On the graph step, a Dense stack validates inside the graph with the
   * same loss and accuracy; its numbers agree with these to float32
   * rounding, about 1e-7.)
   */
  batchSize: number;
}

/** The default of {@link EvaluateOptions}: the batch size `fit` validates with. */
export const DEFAULT_EVALUATE: EvaluateOptions = { batchSize: 2048 };

/** Images and labels on the backend as the loss wants them: float images, one-hot float labels. */
export interface PreparedData {
  images: tf.Tensor;
  labels: tf.Tensor2D;
  count: number;
}

const isTensor = (value: unknown): value is tf.Tensor => value instanceof tf.Tensor;
const isNdArray = (value: unknown): value is NumericArray => typeof value === 'object' && value !== null && 'shape' in value && 'stride' in value;

function labelsTensor(labels: LabelsInput, numClasses: number): tf.Tensor {
  if (isTensor(labels)) return labels;
  if (isNdArray(labels)) return toTensor(labels, labels.shape.length === 1 ? 'int32' : 'float32');
  for (let index = 0; index < labels.length; index++) {
    const label = labels[index];
    if (!(Number.isInteger(label) && label >= 0 && label < numClasses)) {
      throw new ConfigError('labels', `label ${label} at index ${index} is not a class index`, `0-${numClasses - 1}`);
    }
  }
  return tf.tensor1d(Int32Array.from(labels), 'int32');
}

/**
 * Labels as one-hot float rows, whatever form they came in: class indices
 * `[N]` (sparse losses) or one-hot `[N, numClasses]` (categorical).
 */
function oneHotLabels(labels: tf.Tensor, numClasses: number, count: number): tf.Tensor2D {
  if (labels.shape[0] !== count) {
    throw new ConfigError('labels', `there are ${labels.shape[0]} labels for ${count} images`, 'one label per image');
  }
  if (labels.rank === 1 || (labels.rank === 2 && labels.shape[1] === 1)) {
    return tf.tidy(() => tf.oneHot(tf.cast(tf.reshape(labels, [count]), 'int32'), numClasses).toFloat() as tf.Tensor2D);
  }
  if (labels.rank === 2 && labels.shape[1] === numClasses) return tf.cast(labels, 'float32') as tf.Tensor2D;
  throw new ConfigError('labels', `has shape [${labels.shape.join(', ')}]`, `[N] class indices or [N, ${numClasses}] one-hot rows`);
}

/** Put images and labels on the backend once; tensors made here are added to `owned` for the caller to free. */
export function prepareData(images: ImagesInput, labels: LabelsInput, numClasses: number, owned: tf.Tensor[]): PreparedData {
  const imageTensor = isTensor(images) ? images : toTensor(images, 'float32');
  if (imageTensor !== images) owned.push(imageTensor);
  const floatImages = imageTensor.dtype === 'float32' ? imageTensor : tf.cast(imageTensor, 'float32');
  if (floatImages !== imageTensor) owned.push(floatImages);
  const labelTensor = labelsTensor(labels, numClasses);
  if (labelTensor !== labels) owned.push(labelTensor);
  const oneHot = oneHotLabels(labelTensor, numClasses, floatImages.shape[0]);
  if (oneHot !== labelTensor) owned.push(oneHot);
  return { images: floatImages, labels: oneHot, count: floatImages.shape[0] };
}

/**
 * Mean loss and accuracy over prepared data, without dropout, `batchSize`
 * examples at a time so memory stays bounded.
 */
export function evaluatePrepared(layers: readonly DenseLayer[], data: PreparedData, batchSize = DEFAULT_EVALUATE.batchSize): EvaluateResult {
  if (data.count === 0) throw new ConfigError('images', 'there are no examples to evaluate', 'at least one image');
  const [lossSum, correct] = tf.tidy(() => {
    let lossTotal: tf.Tensor = tf.scalar(0);
    let correctTotal: tf.Tensor = tf.scalar(0);
    for (let start = 0; start < data.count; start += batchSize) {
      const size = Math.min(batchSize, data.count - start);
      const images = tf.slice(data.images, start, size);
      const labels = tf.slice(data.labels, start, size) as tf.Tensor2D;
      const logits = forwardLogits(layers, images, null);
      lossTotal = tf.add(lossTotal, tf.mul(tf.losses.softmaxCrossEntropy(labels, logits), size));
      correctTotal = tf.add(correctTotal, tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(labels, 1)), 'float32')));
    }
    return [lossTotal.dataSync()[0], correctTotal.dataSync()[0]];
  });
  return { loss: lossSum / data.count, acc: correct / data.count };
}

/** Number of output units (classes) of a classifier. */
export function outputClasses(model: tf.LayersModel): number {
  const shape = model.outputs[0].shape;
  const units = shape[shape.length - 1];
  if (shape.length !== 2 || units === null) {
    throw new ConfigError('model', `its output shape [${shape.join(', ')}] is not [batch, classes]`, 'a classifier ending in a Dense softmax layer');
  }
  return units;
}

/** Check that each example has as many values as the model's input. */
export function checkInputSize(model: tf.LayersModel, exampleShape: readonly number[]): void {
  const inputShape = model.inputs[0].shape.slice(1);
  const expected = inputShape.reduce<number>((product, size) => product * (size ?? 1), 1);
  const actual = exampleShape.reduce((product, size) => product * size, 1);
  if (actual !== expected) {
    throw new ConfigError(
      'images',
      `each example has shape [${exampleShape.join(', ')}] (${actual} values) but the model takes [${inputShape.join(', ')}] (${expected})`,
      'images of the size the model was built for, e.g. [N, 28, 28] or [N, 784] for MNIST',
    );
  }
}

/**
 * Keras `model.evaluate(images, labels)` for a classifier from `createMlp`:
 * mean categorical cross-entropy (from logits) and accuracy over all
 * examples. Images must be scaled as the model was trained; labels may be
 * class indices or one-hot rows.
 */
export function evaluate(model: tf.LayersModel, images: ImagesInput, labels: LabelsInput, options: Partial<EvaluateOptions> = {}): EvaluateResult {
  ensureBackendSync();
  const { batchSize } = { ...DEFAULT_EVALUATE, ...options };
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ConfigError('batchSize', `must be a positive integer, got ${batchSize}`);
  checkInputSize(model, images.shape.slice(1) as number[]);
  const { layers } = planLayers(model);
  const owned: tf.Tensor[] = [];
  try {
    return evaluatePrepared(layers, prepareData(images, labels, outputClasses(model), owned), batchSize);
  } finally {
    tf.dispose(owned);
  }
}
