/**
 * Inside the network: builders for figures that show what a trained MLP
 * does with a digit (every layer's activations, the output probabilities),
 * what it gets wrong with confidence, how its first-layer weights form over
 * the epochs, and an ablation grid at a glance (parallel coordinates).
 * Builders only compute; the renderers draw.
 */
import type { NdArray } from 'ndarray';
import { tf } from '../backend';
import { ConfigError } from '../errors';
import { predict, outputClasses, mostConfidentMistakes, type ImagesInput } from '../evaluate/metrics';
import type { FitCallbacks } from '../train/fit';
import { firstLayerKernel, type WeightSnapshot } from '../train/snapshots';
import type { AblationReport } from '../experiments/report';
import { FACTOR_LABELS, FACTOR_NAMES } from '../experiments/grid';
import type { ActivationsFigure, ImageGridFigure, ImageTile, LayerActivation, ParallelAxis, ParallelCoordinatesFigure, ProbabilitiesFigure, ProbabilityRow } from './figure';
import { firstLayerWeights, imageRows, type ImageSource, type KernelSource } from './figures';

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

/**
 * Record the first-layer weights while `fit` trains: the initial weights,
 * then after every epoch. Pass `recorder.callbacks` to `fit`, then draw
 * `weightsOverEpochs(recorder.snapshots)`.
 */
export function recordFirstLayerWeights(model: tf.LayersModel, options: { units?: number } = {}): { snapshots: WeightSnapshot[]; callbacks: FitCallbacks } {
  const units = options.units ?? 16;
  const snapshots: WeightSnapshot[] = [];
  const take = (epoch: number) => snapshots.push({ epoch, ...firstLayerKernel(model, units) });
  return {
    snapshots,
    callbacks: {
      onTrainBegin: () => {
        if (snapshots.length === 0) take(0);
      },
      onEpochEnd: (epoch) => {
        take(epoch + 1);
      },
    },
  };
}

export interface WeightsOverEpochsOptions {
  /** Which hidden units (columns of the figure). */
  units: number[];
  /** Which snapshots by epoch; default up to `maxEpochs` spread over the run, first and last included. */
  epochs?: number[];
  maxEpochs: number;
  title: string;
}

export const DEFAULT_WEIGHTS_OVER_EPOCHS: Omit<WeightsOverEpochsOptions, 'epochs'> = {
  units: [0, 1, 2, 3, 4, 5],
  maxEpochs: 6,
  title: 'First-layer weights forming over the epochs',
};

/** Up to `count` items spread evenly over a list, first and last included. */
function spread<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  return Array.from({ length: count }, (_, i) => items[Math.round((i * (items.length - 1)) / (count - 1))]);
}

/**
 * Small multiples: one row per epoch, one column per hidden unit, each tile
 * that unit's 784 weights as a 28x28 image. All tiles share one scale
 * (weights divided by the largest |weight| of the figure), so growing
 * contrast is the weights growing.
 */
export function weightsOverEpochs(snapshots: readonly WeightSnapshot[], options: Partial<WeightsOverEpochsOptions> = {}): ImageGridFigure {
  const settings = { ...DEFAULT_WEIGHTS_OVER_EPOCHS, ...options };
  if (snapshots.length === 0) throw new ConfigError('snapshots', 'no weight snapshots', 'recordFirstLayerWeights(model).snapshots, or readWeightSnapshots(runDir) of a run trained with snapshots');
  const chosen = settings.epochs
    ? settings.epochs.map((epoch) => {
        const found = snapshots.find((snapshot) => snapshot.epoch === epoch);
        if (!found) throw new ConfigError('epochs', `there is no snapshot after epoch ${epoch}`, snapshots.map((snapshot) => snapshot.epoch).join(', '));
        return found;
      })
    : spread([...snapshots].sort((a, b) => a.epoch - b.epoch), settings.maxEpochs);
  const available = chosen[0].shape[1];
  const units = settings.units.filter((unit) => unit < available);
  if (units.length === 0) throw new ConfigError('units', `the snapshots hold units 0-${available - 1}`, `unit numbers below ${available}`);
  const grids = chosen.map((snapshot) => firstLayerWeights({ data: snapshot.data, shape: snapshot.shape }, { units: available, scaling: 'shared' }));
  // One scale over every epoch shown, so later (larger) weights look stronger.
  const limits = chosen.map((snapshot) => snapshot.data.reduce((max, value) => Math.max(max, Math.abs(value)), 0));
  const limit = Math.max(...limits) || 1;
  const tiles: ImageTile[] = [];
  grids.forEach((grid, row) => {
    const rescale = limits[row] / limit;
    for (const unit of units) {
      tiles.push({
        pixels: grid.tiles[unit].pixels.map((line) => line.map((value) => value * rescale)),
        caption: `epoch ${chosen[row].epoch}`,
        detail: `unit ${unit}`,
        mark: 'none',
      });
    }
  });
  return {
    kind: 'imageGrid',
    title: settings.title,
    subtitle: `rows: after epochs ${chosen.map((snapshot) => snapshot.epoch).join(', ')} (0 = random start); pixels = weight / ${limit.toFixed(3)} (largest |weight| shown)`,
    tiles,
    columns: units.length,
    colorScale: 'diverging',
    minValue: -1,
    maxValue: 1,
  };
}

/** A kernel in any accepted form, for re-export convenience in notebooks. */
export type { KernelSource };

export interface ParallelCoordinatesOptions {
  title: string;
  /** Factor axes to draw even when every run has the same setting (default: only factors that vary). */
  alwaysShow: readonly string[];
}

export const DEFAULT_PARALLEL_COORDINATES: ParallelCoordinatesOptions = { title: 'Every run of the grid: settings → test accuracy and overfitting gap', alwaysShow: [] };

/** Sort category values numerically when they are numbers ('64' < '128' < '512'; '256-128' by its first layer). */
function sortCategories(values: string[]): string[] {
  const numeric = (value: string) => Number(value.split('-')[0]);
  return [...new Set(values)].sort((a, b) => (Number.isFinite(numeric(a)) && Number.isFinite(numeric(b)) ? numeric(a) - numeric(b) || a.localeCompare(b) : a.localeCompare(b)));
}

/**
 * Figure: an ablation grid at a glance, one line per run, as TensorBoard's
 * HParams view draws it: an axis per factor that varies in the grid, then
 * test accuracy and the overfitting gap; lines coloured by test accuracy.
 */
export function ablationParallelCoordinates(report: Pick<AblationReport, 'runs'>, options: Partial<ParallelCoordinatesOptions> = {}): ParallelCoordinatesFigure {
  const settings = { ...DEFAULT_PARALLEL_COORDINATES, ...options };
  const runs = report.runs;
  if (runs.length === 0) throw new ConfigError('report', 'has no runs to draw', 'a report of a grid with finished runs');
  const axes: ParallelAxis[] = [];
  for (const factor of FACTOR_NAMES) {
    const values = runs.map((run) => String(run.settings[factor]));
    const categories = sortCategories(values);
    if (categories.length < 2 && !settings.alwaysShow.includes(factor)) continue;
    axes.push({ label: FACTOR_LABELS[factor], values: values.map((value) => categories.indexOf(value)), categories, format: 'number' });
  }
  axes.push({ label: 'test accuracy', values: runs.map((run) => run.testAcc), categories: null, format: 'percent' });
  axes.push({ label: 'overfitting gap', values: runs.map((run) => run.overfitGap), categories: null, format: 'percent' });
  return {
    kind: 'parallelCoordinates',
    title: settings.title,
    axes,
    lineNames: runs.map((run) => `${run.label} seed ${run.seed}`),
    colorAxis: axes.length - 2,
  };
}
