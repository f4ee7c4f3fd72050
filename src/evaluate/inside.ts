/**
 * Inside the network: what a trained MLP does with a digit (every layer's
 * activations, the output probabilities) and what it gets wrong with
 * confidence. Builders only compute figure descriptions; src/viz draws them.
 */
import type { NdArray } from 'ndarray';
import { tf } from '../backend';
import { ConfigError } from '../errors';
import { predict, mostConfidentMistakes } from './metrics';
import { outputClasses, type ImagesInput } from '../train/evaluation';
import type { ActivationsFigure, LayerActivation, ProbabilitiesFigure, ProbabilityRow } from '../viz/figure';
import { imageRows, type ImageSource } from '../viz/figures';

/** One image as the model gets it: a `[28, 28]` array, item `index` of a stack, or 784 values (what `preprocessImage` returns). */
export type DigitSource = ImageSource | Float32Array;

function digitRows(image: DigitSource, index: number): number[][] {
  if (image instanceof Float32Array) {
    const side = Math.round(Math.sqrt(image.length));
    if (side * side !== image.length) throw new ConfigError('image', `${image.length} values are not a square image`, '784 values (28x28)');
    return Array.from({ length: side }, (_, row) => Array.from(image.subarray(row * side, (row + 1) * side)));
  }
  return imageRows(image, index);
}

function classNamesFor(count: number, names?: readonly string[]): string[] {
  if (names && names.length !== count) throw new ConfigError('classNames', `${names.length} names for ${count} classes`, `${count} names`);
  return names ? [...names] : Array.from({ length: count }, (_, label) => String(label));
}

/** The largest pixel of an image set, so 0-255 and 0-1 images both draw white at their top. */
function maxPixelOf(rows: number[][][]): number {
  return Math.max(1e-6, ...rows.map((image) => Math.max(...image.flat()))) > 1 ? 255 : 1;
}

function activationName(layer: tf.layers.Layer): string {
  const config = layer.getConfig() as { activation?: string };
  return config.activation ?? 'linear';
}

export interface ActivationsOptions {
  /** Which image of an `[N, 28, 28]` stack. */
  index: number;
  /** Divide 0-255 pixels by 255 before the model sees them (as training did; false for "no /255" models). */
  scaleInputs: boolean;
  /** Hidden-layer cells per row. */
  columns: number;
  classNames?: readonly string[];
  title?: string;
}

export const DEFAULT_ACTIVATIONS: ActivationsOptions = { index: 0, scaleInputs: true, columns: 32 };

/** The input as the model gets it: pixels scaled like training when they are raw bytes. */
function modelInput(rows: number[][], scaleInputs: boolean): number[][] {
  const raw = Math.max(...rows.flat()) > 1;
  return raw && scaleInputs ? rows.map((row) => row.map((value) => value / 255)) : rows;
}

/** Output of every Dense layer (hidden and output) for one input, as plain arrays. */
export function layerOutputs(model: tf.LayersModel, input: number[][]): Array<{ layer: tf.layers.Layer; values: number[] }> {
  const dense = model.layers.filter((layer) => layer.getClassName() === 'Dense');
  if (dense.length === 0) throw new ConfigError('model', 'has no Dense layer to look inside', 'a model built by createMlp');
  // A model sharing the trained layers; it owns no weights of its own, so there is nothing to dispose.
  const inside = tf.model({ inputs: model.inputs, outputs: dense.map((layer) => layer.output as tf.SymbolicTensor) });
  const shape = model.inputs[0].shape.slice(1) as number[];
  const values = tf.tidy(() => {
    const outputs = inside.predict(tf.tensor(input.flat(), [1, ...shape]));
    return (Array.isArray(outputs) ? outputs : [outputs]).map((output) => Array.from(output.dataSync()));
  });
  return dense.map((layer, i) => ({ layer, values: values[i] }));
}

/**
 * Figure: what every layer does with one digit. The input as the network
 * gets it, each hidden layer's units (brighter = more active; a ReLU unit
 * at 0 is silent), and the output probabilities.
 */
export function activationsFigure(model: tf.LayersModel, image: DigitSource, options: Partial<ActivationsOptions> = {}): ActivationsFigure {
  const settings = { ...DEFAULT_ACTIVATIONS, ...options };
  const input = modelInput(digitRows(image, settings.index), settings.scaleInputs);
  const outputs = layerOutputs(model, input);
  const layers: LayerActivation[] = outputs.map(({ layer, values }, position) => ({
    name: layer.name,
    role: position === outputs.length - 1 ? 'output' : 'hidden',
    activation: activationName(layer),
    values,
    columns: Math.min(settings.columns, values.length),
  }));
  const probabilities = layers[layers.length - 1].values;
  const classNames = classNamesFor(probabilities.length, settings.classNames);
  const predicted = probabilities.indexOf(Math.max(...probabilities));
  return {
    kind: 'activations',
    title: settings.title ?? `Inside the network: image ${image instanceof Float32Array ? '(your picture)' : settings.index} is read as ${classNames[predicted]}`,
    input,
    maxPixel: maxPixelOf([input]),
    layers,
    classNames,
  };
}

export interface ProbabilitiesOptions {
  /** Which images of the stack; default the first `count`. */
  indices?: number[];
  count: number;
  /** True labels, aligned with the whole stack (marks the right class and wrong answers). */
  labels?: NdArray | ArrayLike<number>;
  classNames?: readonly string[];
  title?: string;
}

export const DEFAULT_PROBABILITIES: Omit<ProbabilitiesOptions, 'indices' | 'labels' | 'classNames' | 'title'> = { count: 5 };

function labelAt(labels: NdArray | ArrayLike<number>, index: number): number {
  return 'shape' in labels && 'get' in labels ? (labels as NdArray).get(index) : (labels as ArrayLike<number>)[index];
}

/** Rows of a stack (ndarray `[N, 28, 28]`, already scaled as the model expects) as a tensor batch. */
function pick(images: NdArray, indices: readonly number[]): { rows: number[][][]; tensor: tf.Tensor } {
  const rows = indices.map((index) => imageRows(images, index));
  return { rows, tensor: tf.tensor3d(rows) };
}

/**
 * Figure: the output probabilities beside each image, the chosen class
 * coloured (red when wrong), the true class outlined in green. Pass images
 * the way the model takes them (scaled like training).
 */
export function outputProbabilities(model: tf.LayersModel, images: NdArray, options: Partial<ProbabilitiesOptions> = {}): ProbabilitiesFigure {
  const settings = { ...DEFAULT_PROBABILITIES, ...options };
  const indices = settings.indices ?? Array.from({ length: Math.min(settings.count, images.shape[0]) }, (_, i) => i);
  if (indices.length === 0) throw new ConfigError('indices', 'no images to show', `indices within 0-${images.shape[0] - 1}`);
  const { rows, tensor } = pick(images, indices);
  let probabilities: Float32Array;
  try {
    probabilities = predict(model, tensor);
  } finally {
    tensor.dispose();
  }
  const numClasses = outputClasses(model);
  const classNames = classNamesFor(numClasses, settings.classNames);
  const figureRows: ProbabilityRow[] = indices.map((index, position) => {
    const row = Array.from(probabilities.subarray(position * numClasses, (position + 1) * numClasses));
    const label = settings.labels ? labelAt(settings.labels, index) : null;
    return { pixels: rows[position], caption: `#${index}${label === null ? '' : `: label ${classNames[label]}`}`, probabilities: row, label, predicted: row.indexOf(Math.max(...row)) };
  });
  const wrong = figureRows.filter((row) => row.label !== null && row.label !== row.predicted).length;
  return {
    kind: 'probabilities',
    title: settings.title ?? 'Output probabilities',
    subtitle: settings.labels ? `${wrong} of ${figureRows.length} wrong; the true class is outlined in green` : 'the tallest bar is the answer',
    rows: figureRows,
    classNames,
    maxPixel: maxPixelOf(rows),
  };
}

export interface ConfidentMistakesOptions {
  /** How many mistakes to show. */
  count: number;
  classNames?: readonly string[];
  title?: string;
}

export const DEFAULT_CONFIDENT_MISTAKES: Omit<ConfidentMistakesOptions, 'classNames' | 'title'> = { count: 8 };

/**
 * Figure: the wrong answers the network was surest of, with all ten
 * probabilities: often mislabelled or truly ambiguous digits.
 */
export function confidentMistakes(model: tf.LayersModel, images: ImagesInput & NdArray, labels: NdArray | ArrayLike<number>, options: Partial<ConfidentMistakesOptions> = {}): ProbabilitiesFigure {
  const settings = { ...DEFAULT_CONFIDENT_MISTAKES, ...options };
  const numClasses = outputClasses(model);
  const probabilities = predict(model, images);
  const labelList = Array.from({ length: images.shape[0] }, (_, index) => labelAt(labels, index));
  const mistakes = mostConfidentMistakes(probabilities, Int32Array.from(labelList), settings.count, numClasses);
  if (mistakes.length === 0) throw new ConfigError('images', `the model gets all ${images.shape[0]} images right: no mistakes to show`, 'more (or harder) images');
  const classNames = classNamesFor(numClasses, settings.classNames);
  const rows: ProbabilityRow[] = mistakes.map((mistake) => ({
    pixels: imageRows(images, mistake.index),
    caption: `#${mistake.index}: label ${classNames[mistake.trueLabel]}`,
    probabilities: Array.from(probabilities.subarray(mistake.index * numClasses, (mistake.index + 1) * numClasses)),
    label: mistake.trueLabel,
    predicted: mistake.predictedLabel,
  }));
  const wrongTotal = labelList.filter((label, index) => {
    const row = probabilities.subarray(index * numClasses, (index + 1) * numClasses);
    return row.indexOf(Math.max(...row)) !== label;
  }).length;
  return {
    kind: 'probabilities',
    title: settings.title ?? 'Most confident mistakes',
    subtitle: `${wrongTotal} of ${images.shape[0]} images wrong; the surest ${rows.length} shown (red: the answer, green outline: the label)`,
    rows,
    classNames,
    maxPixel: maxPixelOf(rows.map((row) => row.pixels)),
  };
}
