/**
 * Builders: from the lab's data (ndarray images, Keras-style histories,
 * confusion matrices, ablation summaries, a tfjs model) to a {@link Figure}.
 * Builders only compute; drawing is the renderers' job.
 */
import type { NdArray } from 'ndarray';
import type * as tfTypes from '@tensorflow/tfjs';
import { ConfigError } from '../errors';
import { flattenImages } from '../data/preprocess';
import { formatKerasShape } from '../util/format';
import type { TrainingHistory } from '../train/types';
import {
  RUN_COLORS,
  type BarChartFigure,
  type ChartPanel,
  type HeatmapFigure,
  type ImageGridFigure,
  type ImageTile,
  type LineChartFigure,
  type LineSeries,
  type PixelGridFigure,
  type TableFigure,
} from './figure';

/** An image (or a stack of images) in any form the lab hands around. */
export type ImageSource = NdArray | number[][];

/** Rows of one image: a `[rows, columns]` array, or item `index` of an `[N, rows, columns]` stack. */
export function imageRows(images: ImageSource, index = 0): number[][] {
  if (Array.isArray(images)) return images.map((row) => Array.from(row));
  const shape = images.shape;
  if (shape.length === 2) {
    return Array.from({ length: shape[0] }, (_, row) => Array.from({ length: shape[1] }, (_, column) => images.get(row, column)));
  }
  if (shape.length === 3) {
    if (!Number.isInteger(index) || index < 0 || index >= shape[0]) {
      throw new ConfigError('index', `image ${index} does not exist in a stack of ${shape[0]}`, `0-${shape[0] - 1}`);
    }
    return Array.from({ length: shape[1] }, (_, row) => Array.from({ length: shape[2] }, (_, column) => images.get(index, row, column)));
  }
  if (shape.length === 1 && Math.round(Math.sqrt(shape[0])) ** 2 === shape[0]) {
    // A flattened square image (a 784-vector) is reshaped back for display.
    const side = Math.round(Math.sqrt(shape[0]));
    return Array.from({ length: side }, (_, row) => Array.from({ length: side }, (_, column) => images.get(row * side + column)));
  }
  throw new ConfigError('images', `cannot draw an array of shape [${shape.join(', ')}] as an image`, '[rows, columns], [N, rows, columns] or a flattened square [rows*columns]');
}

export interface PixelGridOptions {
  /** Which image of an `[N, rows, columns]` stack. */
  index: number;
  /** Show values divided by 255 (what the network sees after normalisation). */
  scaled: boolean;
  /** Write each pixel's value in its cell. */
  showValues: boolean;
  /** Title above the grid; default names the image. */
  title?: string;
}

export const DEFAULT_PIXEL_GRID: PixelGridOptions = { index: 0, scaled: false, showValues: true };

/** Figure 1, as `visualize_input` draws it in seed 001: shades plus the value of every pixel. */
export function pixelGrid(image: ImageSource, options: Partial<PixelGridOptions> = {}): PixelGridFigure {
  const settings = { ...DEFAULT_PIXEL_GRID, ...options };
  const raw = imageRows(image, settings.index);
  const values = settings.scaled ? raw.map((row) => row.map((value) => value / 255)) : raw;
  const maxValue = Math.max(...values.flat());
  return {
    kind: 'pixelGrid',
    title: settings.title ?? `Image ${settings.index}${settings.scaled ? ' (scaled to 0-1)' : ''}`,
    values,
    // Fractions need two decimals to be told apart, as the seed's round(x, 2) does.
    decimals: values.every((row) => row.every(Number.isInteger)) ? 0 : 2,
    textThreshold: maxValue / 2.5,
    maxValue: maxValue > 0 ? maxValue : 1,
    showValues: settings.showValues,
  };
}

export interface GalleryOptions {
  /** Which images; default the first `count`. */
  indices?: number[];
  /** How many images when `indices` is not given. */
  count: number;
  /** Tiles per row. */
  columns: number;
  /** Predicted classes, aligned with `indices` (or with the first `count`); mistakes are marked. */
  predictions?: ArrayLike<number>;
  /** Class names by label (Fashion-MNIST); default the digit itself. */
  classNames?: readonly string[];
  title?: string;
}

export const DEFAULT_GALLERY: Omit<GalleryOptions, 'indices' | 'predictions' | 'classNames' | 'title'> = { count: 20, columns: 10 };

/** Figure 2: images with their labels, and predictions with mistakes marked (seed 002's 20 test digits). */
export function gallery(images: NdArray, labels: NdArray | ArrayLike<number>, options: Partial<GalleryOptions> = {}): ImageGridFigure {
  const settings = { ...DEFAULT_GALLERY, ...options };
  const available = images.shape[0];
  const indices = settings.indices ?? Array.from({ length: Math.min(settings.count, available) }, (_, i) => i);
  if (indices.length === 0) throw new ConfigError('indices', 'the gallery needs at least one image', `indices within 0-${available - 1}`);
  const predictions = settings.predictions;
  if (predictions !== undefined && predictions.length < indices.length) {
    throw new ConfigError('predictions', `${predictions.length} predictions for ${indices.length} images; pass one prediction per shown image`);
  }
  const labelAt = (index: number): number => ('shape' in labels && 'get' in labels ? (labels as NdArray).get(index) : (labels as ArrayLike<number>)[index]);
  const name = (label: number): string => settings.classNames?.[label] ?? String(label);
  let wrong = 0;
  const tiles: ImageTile[] = indices.map((index, position) => {
    const label = labelAt(index);
    const predicted = predictions?.[position];
    const isWrong = predicted !== undefined && predicted !== label;
    if (isWrong) wrong++;
    return {
      pixels: imageRows(images, index),
      caption: `#${index}: ${name(label)}`,
      detail: predicted === undefined ? '' : `pred ${name(predicted)}`,
      mark: predicted === undefined ? 'none' : isWrong ? 'wrong' : 'correct',
    };
  });
  return {
    kind: 'imageGrid',
    title: settings.title ?? (predictions ? 'Predictions (label vs predicted)' : 'Images and labels'),
    subtitle: predictions ? `${wrong} of ${tiles.length} wrong (red frame)` : '',
    tiles,
    columns: Math.min(settings.columns, tiles.length),
    colorScale: 'gray',
    minValue: 0,
    maxValue: Math.max(1, ...tiles.map((tile) => Math.max(...tile.pixels.flat()))),
  };
}

/** A training history with the name it has on a chart. */
export interface NamedHistory {
  name: string;
  history: TrainingHistory;
}

export interface TrainingCurvesOptions {
  /** Metrics with one panel each (Keras names; validation twins are added when present). */
  metrics: Array<'loss' | 'acc'>;
  /** Shade the train/validation gap (overfitting made visible). */
  showGap: boolean;
  /** Mark the epoch with the lowest val_loss (what ModelCheckpoint keeps). */
  markBest: boolean;
  title: string;
}

export const DEFAULT_TRAINING_CURVES: TrainingCurvesOptions = { metrics: ['loss', 'acc'], showGap: true, markBest: true, title: 'Training curves' };

const METRIC_LABELS: Record<'loss' | 'acc', string> = { loss: 'loss', acc: 'accuracy' };

/** Index of the smallest finite value, or -1. */
function argMin(values: readonly number[]): number {
  let best = -1;
  values.forEach((value, index) => {
    if (Number.isFinite(value) && (best < 0 || value < values[best])) best = index;
  });
  return best;
}

/**
 * Figure 3: loss and accuracy per epoch, train (solid) vs validation
 * (dashed), the gap shaded, the best-val_loss epoch marked. Several runs
 * share the chart, one colour each. Epochs are shown 1-based, as Keras prints them.
 */
export function trainingCurves(histories: NamedHistory[] | TrainingHistory, options: Partial<TrainingCurvesOptions> = {}): LineChartFigure {
  const settings = { ...DEFAULT_TRAINING_CURVES, ...options };
  const runs: NamedHistory[] = Array.isArray(histories) ? histories : [{ name: 'run', history: histories }];
  if (runs.length === 0) throw new ConfigError('histories', 'no training history to plot', 'at least one {name, history}');
  const single = runs.length === 1;
  const panels: ChartPanel[] = settings.metrics.map((metric) => ({ title: METRIC_LABELS[metric], yLabel: METRIC_LABELS[metric], series: [], markers: [], gaps: [] }));
  runs.forEach((run, runIndex) => {
    const record = run.history.history;
    if (!Array.isArray(record.loss)) {
      throw new ConfigError(`history of '${run.name}'`, 'has no loss array; pass what fit() returns (a TrainingHistory) or a history.json of a run folder');
    }
    const epochs = (run.history.epoch ?? record.loss.map((_, i) => i)).map((epoch) => epoch + 1);
    const color = RUN_COLORS[runIndex % RUN_COLORS.length];
    const bestIndex = record.val_loss ? argMin(record.val_loss) : -1;
    settings.metrics.forEach((metric, panelIndex) => {
      const panel = panels[panelIndex];
      const train = record[metric];
      const validation = metric === 'loss' ? record.val_loss : record.val_acc;
      if (!train) return;
      const prefix = single ? '' : `${run.name} `;
      const trainSeries: LineSeries = { name: `${prefix}train ${metric}`, x: epochs, y: train, color: single ? RUN_COLORS[0] : color, dash: 'solid' };
      panel.series.push(trainSeries);
      if (validation && validation.length === train.length) {
        panel.series.push({ name: `${prefix}val_${metric}`, x: epochs, y: validation, color: single ? RUN_COLORS[1] : color, dash: 'dash' });
        if (settings.showGap) {
          panel.gaps.push({
            x: epochs,
            lower: train.map((value, i) => Math.min(value, validation[i])),
            upper: train.map((value, i) => Math.max(value, validation[i])),
            color: single ? RUN_COLORS[3] : color,
            label: `${prefix}gap (overfitting)`,
          });
        }
        if (settings.markBest && bestIndex >= 0) {
          panel.markers.push({ x: epochs[bestIndex], y: validation[bestIndex], label: `${prefix}best val_loss (epoch ${epochs[bestIndex]})`, color: single ? RUN_COLORS[3] : color });
        }
      }
    });
  });
  return { kind: 'lineChart', title: settings.title, xLabel: 'epoch', panels };
}

/** Figure 4: a confusion matrix (rows = true class, columns = predicted) with per-class accuracy. */
export function confusionMatrixFigure(matrix: number[][], classNames?: readonly string[], options: { title?: string } = {}): HeatmapFigure {
  const size = matrix.length;
  if (size === 0 || matrix.some((row) => row.length !== size)) {
    throw new ConfigError('matrix', `a confusion matrix must be square (got ${size} rows of lengths ${matrix.map((row) => row.length).join(', ')})`, 'number[][] with rows = true class');
  }
  const names = classNames ?? Array.from({ length: size }, (_, i) => String(i));
  if (names.length !== size) throw new ConfigError('classNames', `${names.length} names for a ${size}x${size} matrix`, `${size} names`);
  const total = matrix.flat().reduce((sum, value) => sum + value, 0);
  const correct = matrix.reduce((sum, row, i) => sum + row[i], 0);
  return {
    kind: 'heatmap',
    title: options.title ?? `Confusion matrix (accuracy ${total > 0 ? ((100 * correct) / total).toFixed(2) : '0'}%)`,
    rowLabels: [...names],
    columnLabels: [...names],
    rowTitle: 'true class',
    columnTitle: 'predicted class',
    values: matrix.map((row) => [...row]),
    rowSummary: {
      title: 'per-class accuracy',
      values: matrix.map((row, i) => {
        const count = row.reduce((sum, value) => sum + value, 0);
        return count > 0 ? row[i] / count : 0;
      }),
      format: 'percent',
    },
  };
}

/** One configuration of an ablation: test accuracy over seeds and the reference number. */
export interface AblationRow {
  /** Configuration id, e.g. 'S1-h128'. */
  name: string;
  /** Mean test accuracy (fraction 0-1). */
  mean: number;
  /** Standard deviation over seeds (0 for one run). */
  std: number;
  /** Runs averaged. */
  count: number;
  /** What the seed tutorial reported (fraction 0-1), or null. */
  reference: number | null;
}

/** Figure 5: test accuracy per configuration, error bars over seeds, the seeds' numbers as markers. */
export function ablationChart(table: readonly AblationRow[], options: { title?: string } = {}): BarChartFigure {
  if (table.length === 0) throw new ConfigError('rows', 'no configurations to chart', 'at least one row (chartRows(report) gives them)');
  const lows = table.flatMap((row) => [row.mean - row.std, ...(row.reference === null ? [] : [row.reference])]);
  // Start the axis just under the lowest number, so differences of tenths of a point are visible, and
  // say so on the axis; when the lowest bar is far down anyway, a cut axis only exaggerates: start at 0.
  const cut = Math.floor((Math.min(...lows) - 0.01) * 50) / 50;
  const low = cut >= 0.5 ? cut : 0;
  return {
    kind: 'barChart',
    title: options.title ?? 'Test accuracy per configuration (mean ± std over seeds)',
    yLabel: low > 0 ? `test accuracy (axis cut: starts at ${Math.round(low * 100)}%, not 0)` : 'test accuracy',
    bars: table.map((row) => ({ category: row.name, value: row.mean, error: row.std, reference: row.reference, count: row.count })),
    yRange: [low, 1],
    format: 'percent',
    valueLabel: table.every((row) => row.count <= 1) ? 'test accuracy (one run each)' : 'mean ± std over seeds',
    referenceLabel: 'seed tutorial',
    countLabel: 'runs',
  };
}

/** A 2-D kernel in any form: a tfjs tensor, nested rows, or flat data with its shape. */
export type KernelSource = tfTypes.Tensor | number[][] | { data: ArrayLike<number>; shape: [number, number] };

export interface FirstLayerWeightsOptions {
  /** How many hidden units to show (the first ones). */
  units: number;
  /** Tiles per row. */
  columns: number;
  /** Shape one unit's incoming weights are folded back into. */
  imageShape: [number, number];
  /**
   * How weights become pixel values, always divided by a largest |weight| so
   * tiles lie in [-1, 1] (-1 blue, 0 white, +1 red):
   * `shared` by the largest of the whole kernel (units compare with each other),
   * `perUnit` by the largest of that unit's own weights (each pattern at full contrast),
   * `raw` not at all (pixels are the weights; the colour scale spans ±largest).
   */
  scaling: 'shared' | 'perUnit' | 'raw';
  title: string;
}

export const DEFAULT_FIRST_LAYER_WEIGHTS: FirstLayerWeightsOptions = {
  units: 32,
  columns: 8,
  imageShape: [28, 28],
  scaling: 'shared',
  title: 'First-layer weights: what each hidden unit responds to',
};

/**
 * Figure 6: each hidden unit's 784 incoming weights folded back to 28x28.
 * Red pixels push the unit up, blue pixels push it down; the colour scale is
 * symmetric so zero is white in every tile.
 */
export function firstLayerWeights(kernel: KernelSource, options: Partial<FirstLayerWeightsOptions> = {}): ImageGridFigure {
  const settings = { ...DEFAULT_FIRST_LAYER_WEIGHTS, ...options };
  let data: ArrayLike<number>;
  let shape: number[];
  if (Array.isArray(kernel)) {
    data = kernel.flat();
    shape = [kernel.length, kernel[0]?.length ?? 0];
  } else if ('dataSync' in kernel) {
    data = kernel.dataSync();
    shape = kernel.shape;
  } else {
    data = kernel.data;
    shape = kernel.shape;
  }
  const [rows, columns] = settings.imageShape;
  if (shape.length !== 2 || shape[0] !== rows * columns) {
    throw new ConfigError('kernel', `expected the first Dense kernel, shape [${rows * columns}, units], got [${shape.join(', ')}]`, 'model.layers[1].getWeights()[0] after a Flatten');
  }
  const units = Math.min(settings.units, shape[1]);
  let limit = 0;
  for (let i = 0; i < data.length; i++) limit = Math.max(limit, Math.abs(data[i]));
  const weight = (unit: number, row: number, column: number) => data[(row * columns + column) * shape[1] + unit];
  const tiles: ImageTile[] = Array.from({ length: units }, (_, unit) => {
    let unitLimit = 0;
    for (let p = 0; p < rows * columns; p++) unitLimit = Math.max(unitLimit, Math.abs(data[p * shape[1] + unit]));
    const divisor = settings.scaling === 'raw' ? 1 : (settings.scaling === 'perUnit' ? unitLimit : limit) || 1;
    return {
      pixels: Array.from({ length: rows }, (_, row) => Array.from({ length: columns }, (_, column) => weight(unit, row, column) / divisor)),
      caption: `unit ${unit}`,
      detail: '',
      mark: 'none',
    };
  });
  const scaleText = settings.scaling === 'raw' ? 'raw weights' : settings.scaling === 'perUnit' ? "each unit / its largest |weight|" : `weights / ${limit.toPrecision(3)} (largest |weight|)`;
  return {
    kind: 'imageGrid',
    title: settings.title,
    subtitle: `first ${units} of ${shape[1]} units; red = positive, blue = negative; ${scaleText}`,
    tiles,
    columns: Math.min(settings.columns, units),
    colorScale: 'diverging',
    minValue: settings.scaling === 'raw' ? -(limit || 1) : -1,
    maxValue: settings.scaling === 'raw' ? limit || 1 : 1,
  };
}

/** One row of a model summary. */
export interface ModelLayerRow {
  name: string;
  /** Layer class, e.g. 'Dense'. */
  type: string;
  /** Output shape with null for the batch axis, as Keras prints it. */
  outputShape: Array<number | null>;
  params: number;
  /** Extra detail (activation, dropout rate), empty when none. */
  detail: string;
}

/** Layer rows of a tfjs model, in the order Keras's `model.summary()` lists them. */
export function modelLayerRows(model: tfTypes.LayersModel): ModelLayerRow[] {
  return model.layers.map((layer) => {
    const config = layer.getConfig() as { activation?: string; rate?: number };
    const shape = layer.outputShape;
    const flatShape = (Array.isArray(shape[0]) ? shape[0] : shape) as Array<number | null>;
    const detail = config.activation !== undefined ? `activation ${config.activation}` : config.rate !== undefined ? `rate ${config.rate}` : '';
    return { name: layer.name, type: layer.getClassName(), outputShape: flatShape, params: layer.countParams(), detail };
  });
}

/** Figure 7: the model as a slide-ready table (layers, output shapes, parameter counts). */
export function modelTable(model: tfTypes.LayersModel | readonly ModelLayerRow[], options: { title?: string } = {}): TableFigure {
  const rows = Array.isArray(model) ? (model as readonly ModelLayerRow[]) : modelLayerRows(model as tfTypes.LayersModel);
  const total = rows.reduce((sum, row) => sum + row.params, 0);
  const format = (count: number) => count.toLocaleString('en-US');
  return {
    kind: 'table',
    title: options.title ?? 'Model',
    columns: ['Layer (type)', 'Output shape', 'Param #', 'Notes'],
    rows: rows.map((row) => [`${row.name} (${row.type})`, formatKerasShape(row.outputShape), format(row.params), row.detail]),
    footer: [`Total params: ${format(total)}`],
  };
}

export interface PixelHistogramOptions {
  /** Number of equal-width bins over [0, maxValue]. */
  bins: number;
  /** Leave out pixels that are exactly 0 (the background), so the ink's values are visible. */
  excludeZero: boolean;
  /** Upper end of the value range (255 for raw bytes, 1 after scaling); default the largest value. */
  maxValue?: number;
  title?: string;
}

export const DEFAULT_PIXEL_HISTOGRAM: PixelHistogramOptions = { bins: 16, excludeZero: false };

/** How often each pixel value occurs, as a bar chart (draw it with `show`). */
export function pixelHistogram(images: NdArray<Uint8Array> | NdArray<Float32Array>, options: Partial<PixelHistogramOptions> = {}): BarChartFigure {
  const settings = { ...DEFAULT_PIXEL_HISTOGRAM, ...options };
  if (!Number.isInteger(settings.bins) || settings.bins < 1) throw new ConfigError('bins', `must be a positive integer, got ${settings.bins}`);
  const values = flattenImages<Uint8Array | Float32Array>(images).data;
  let maxValue = settings.maxValue ?? 0;
  if (settings.maxValue === undefined) for (let i = 0; i < values.length; i++) if (values[i] > maxValue) maxValue = values[i];
  const counts = new Array<number>(settings.bins).fill(0);
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (settings.excludeZero && value === 0) continue;
    const bin = maxValue > 0 ? Math.min(settings.bins - 1, Math.floor((value / maxValue) * settings.bins)) : 0;
    counts[bin]++;
    total++;
  }
  const width = maxValue / settings.bins;
  const edge = (value: number) => (Number.isInteger(width) || maxValue >= settings.bins ? String(Math.round(value)) : value.toFixed(2));
  return {
    kind: 'barChart',
    title: settings.title ?? `Pixel values${settings.excludeZero ? ' (background zeros left out)' : ''}: ${total.toLocaleString('en-US')} pixels`,
    yLabel: 'share of pixels',
    bars: counts.map((binCount, bin) => ({
      category: `${edge(bin * width)}-${edge((bin + 1) * width)}`,
      value: total > 0 ? binCount / total : 0,
      error: 0,
      reference: null,
      count: binCount,
    })),
    yRange: [0, Math.max(...counts) / Math.max(total, 1)],
    format: 'percent',
    valueLabel: 'share of pixels per bin',
    referenceLabel: '',
    countLabel: 'pixels',
  };
}
