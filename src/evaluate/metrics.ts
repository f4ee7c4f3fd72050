/**
 * Looking at a model's answers the Keras way: `predict` gives the softmax
 * rows of `model.predict`, and the rest (argmax, confusion matrix,
 * per-class accuracy, most confident mistakes) are plain arrays a learner
 * can print. The loss and accuracy come from `evaluate` (train/evaluation.ts).
 */
import { tf } from '../backend';
import { ConfigError } from '../errors';
import { NUM_CLASSES } from '../data/registry';
import { contiguousData } from '../data/preprocess';
import { checkInputSize, outputClasses, type ImagesInput, type LabelsInput } from '../train/evaluation';

/** Options of `predict`. */
export interface PredictOptions {
  /** Examples per forward pass (Keras `predict`'s default in {@link DEFAULT_PREDICT}); only memory and speed depend on it. */
  batchSize: number;
}

/** Keras `predict`'s defaults. */
export const DEFAULT_PREDICT: PredictOptions = { batchSize: 32 };

/** One wrong prediction, as `mostConfidentMistakes` reports it. */
export interface Mistake {
  /** Position of the example in the arrays that were predicted. */
  index: number;
  /** The label in the data set. */
  trueLabel: number;
  /** The class the model chose. */
  predictedLabel: number;
  /** Probability the model gave its (wrong) choice. */
  confidence: number;
  /** Probability the model gave the right class. */
  trueLabelProbability: number;
}

const isTensor = (value: unknown): value is tf.Tensor => value instanceof tf.Tensor;

/** Batches of images as tensors shaped for the model, created one at a time so a big test set never sits in memory twice. */
class ImageBatches {
  readonly count: number;
  private readonly rowSize: number;
  private readonly data?: Uint8Array | Float32Array;
  private readonly tensor?: tf.Tensor;

  private readonly modelInputShape: number[];

  constructor(images: ImagesInput, model: tf.LayersModel) {
    checkInputSize(model, images.shape.slice(1) as number[]);
    this.modelInputShape = modelInputShape(model);
    this.count = images.shape[0] ?? 0;
    this.rowSize = images.shape.slice(1).reduce((a, b) => a * b, 1);
    if (isTensor(images)) this.tensor = images;
    else this.data = contiguousData<Uint8Array | Float32Array>(images);
  }

  /** Rows `[start, end)` as a float32 tensor of shape `[end - start, ...modelInputShape]` (the caller disposes it). */
  batch(start: number, end: number): tf.Tensor {
    const shape = [end - start, ...this.modelInputShape];
    const tensor = this.tensor;
    if (tensor !== undefined) return tf.tidy(() => tensor.slice(start, end - start).reshape(shape).toFloat());
    const data = this.data as Uint8Array | Float32Array;
    const slice = data.subarray(start * this.rowSize, end * this.rowSize);
    return tf.tensor(slice instanceof Float32Array ? slice : Float32Array.from(slice), shape, 'float32');
  }
}

/** The model's input shape without the batch axis (throws for a model with unknown sizes). */
function modelInputShape(model: tf.LayersModel): number[] {
  const shape = model.inputs[0].shape.slice(1);
  if (shape.some((size) => size === null)) {
    throw new ConfigError('model', `its input shape [${model.inputs[0].shape.join(', ')}] has unknown sizes`, 'a model built with a fixed inputShape');
  }
  return shape as number[];
}

function checkBatchSize(batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new ConfigError('batchSize', `must be a positive integer, got ${batchSize}`);
  }
}

/** Class indices from labels given as indices or one-hot rows. */
/** Class indices of labels given as indices or one-hot rows. */
export function labelIndices(labels: LabelsInput, numClasses = NUM_CLASSES): Int32Array {
  let values: ArrayLike<number>;
  let shape: number[];
  if (isTensor(labels)) {
    values = labels.dataSync();
    shape = labels.shape;
  } else if ('shape' in labels && 'stride' in labels) {
    values = contiguousData<Uint8Array | Float32Array>(labels);
    shape = labels.shape.slice();
  } else {
    values = labels;
    shape = [labels.length];
  }
  const count = shape[0];
  const out = new Int32Array(count);
  if (shape.length === 1) {
    for (let i = 0; i < count; i++) out[i] = values[i];
  } else if (shape.length === 2) {
    if (shape[1] !== numClasses) {
      throw new ConfigError('labels', `one-hot rows have ${shape[1]} columns but there are ${numClasses} classes`, `[N] class indices or [N, ${numClasses}] one-hot rows`);
    }
    // argmax also turns label-smoothed rows into the class they stand for.
    out.set(argmax(values, numClasses));
  } else {
    throw new ConfigError('labels', `shape [${shape.join(', ')}] is neither [N] nor [N, ${numClasses}]`, `[N] class indices or [N, ${numClasses}] one-hot rows`);
  }
  for (let i = 0; i < count; i++) {
    if (!(out[i] >= 0 && out[i] < numClasses)) {
      throw new ConfigError('labels', `label ${values[i]} at index ${i} is not a class index`, `0-${numClasses - 1}`);
    }
  }
  return out;
}

/**
 * Softmax probabilities for every image, Keras `model.predict`: a
 * Float32Array of `N * numClasses` values, row i holding image i's
 * probabilities (`probabilities[i * numClasses + c]`).
 */
export function predict(model: tf.LayersModel, images: ImagesInput, options: Partial<PredictOptions> = {}): Float32Array {
  const { batchSize } = { ...DEFAULT_PREDICT, ...options };
  checkBatchSize(batchSize);
  const batches = new ImageBatches(images, model);
  const numClasses = outputClasses(model);
  const out = new Float32Array(batches.count * numClasses);
  for (let start = 0; start < batches.count; start += batchSize) {
    const end = Math.min(start + batchSize, batches.count);
    const rows = tf.tidy(() => (model.predict(batches.batch(start, end)) as tf.Tensor).dataSync() as Float32Array);
    out.set(rows, start * numClasses);
  }
  return out;
}

/** Index of the largest value in each row of `numClasses` values (the first one on ties, as NumPy's argmax). */
export function argmax(probabilities: ArrayLike<number>, numClasses = NUM_CLASSES): Int32Array {
  if (probabilities.length % numClasses !== 0) {
    throw new ConfigError('probabilities', `length ${probabilities.length} is not a multiple of numClasses ${numClasses}`);
  }
  const count = probabilities.length / numClasses;
  const out = new Int32Array(count);
  for (let row = 0; row < count; row++) {
    let best = 0;
    let bestValue = probabilities[row * numClasses];
    for (let c = 1; c < numClasses; c++) {
      const value = probabilities[row * numClasses + c];
      if (value > bestValue) {
        best = c;
        bestValue = value;
      }
    }
    out[row] = best;
  }
  return out;
}

/** Count matrix: `matrix[trueClass][predictedClass]` (rows = true class, as scikit-learn and Keras tutorials print it). */
export function confusionMatrix(trueLabels: ArrayLike<number>, predictedLabels: ArrayLike<number>, numClasses = NUM_CLASSES): number[][] {
  if (trueLabels.length !== predictedLabels.length) {
    throw new ConfigError('predictedLabels', `there are ${predictedLabels.length} predictions for ${trueLabels.length} labels`, 'one prediction per label');
  }
  const matrix = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < trueLabels.length; i++) {
    const truth = trueLabels[i];
    const guess = predictedLabels[i];
    if (!(truth >= 0 && truth < numClasses && guess >= 0 && guess < numClasses && Number.isInteger(truth) && Number.isInteger(guess))) {
      throw new ConfigError('labels', `example ${i} has true label ${truth} and prediction ${guess}`, `class indices 0-${numClasses - 1}`);
    }
    matrix[truth][guess]++;
  }
  return matrix;
}

/**
 * Accuracy within each true class: the diagonal of the confusion matrix over
 * its row sums. NaN for a class with no examples (JSON prints it as null).
 */
export function perClassAccuracy(matrix: readonly (readonly number[])[]): number[] {
  return matrix.map((row, trueClass) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total === 0 ? Number.NaN : row[trueClass] / total;
  });
}

/**
 * The `k` wrong predictions the model was surest of, most confident first:
 * usually mislabelled or truly ambiguous digits, worth looking at.
 */
export function mostConfidentMistakes(probabilities: ArrayLike<number>, labels: LabelsInput, k: number, numClasses = NUM_CLASSES): Mistake[] {
  if (!Number.isInteger(k) || k < 0) throw new ConfigError('k', `must be a non-negative integer, got ${k}`);
  const trueLabels = labelIndices(labels, numClasses);
  const predicted = argmax(probabilities, numClasses);
  if (predicted.length !== trueLabels.length) {
    throw new ConfigError('labels', `there are ${trueLabels.length} labels for ${predicted.length} rows of probabilities`, 'one label per row');
  }
  const mistakes: Mistake[] = [];
  for (let index = 0; index < predicted.length; index++) {
    if (predicted[index] === trueLabels[index]) continue;
    mistakes.push({
      index,
      trueLabel: trueLabels[index],
      predictedLabel: predicted[index],
      confidence: probabilities[index * numClasses + predicted[index]],
      trueLabelProbability: probabilities[index * numClasses + trueLabels[index]],
    });
  }
  return mistakes.sort((a, b) => b.confidence - a.confidence || a.index - b.index).slice(0, k);
}

/**
 * The confusion matrix as a text table: one row per true class, one column
 * per predicted class, row totals and per-class accuracy on the right.
 */
export function formatConfusionMatrix(matrix: readonly (readonly number[])[], classNames?: readonly string[]): string {
  const names = matrix.map((_, c) => classNames?.[c] ?? String(c));
  const accuracies = perClassAccuracy(matrix);
  const cellWidth = Math.max(4, ...matrix.flat().map((count) => String(count).length), ...names.map((name) => name.length)) + 1;
  const nameWidth = Math.max('true\\pred'.length, ...names.map((name) => name.length));
  const pad = (text: string, width: number) => text.padStart(width);
  const header = 'true\\pred'.padEnd(nameWidth) + names.map((name) => pad(name, cellWidth)).join('') + pad('total', 8) + pad('acc', 8);
  const lines = matrix.map((row, c) => {
    const total = row.reduce((a, b) => a + b, 0);
    const acc = Number.isNaN(accuracies[c]) ? '-' : `${(accuracies[c] * 100).toFixed(1)}%`;
    return names[c].padEnd(nameWidth) + row.map((count) => pad(String(count), cellWidth)).join('') + pad(String(total), 8) + pad(acc, 8);
  });
  return [header, ...lines].join('\n');
}
