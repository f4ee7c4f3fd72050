/**
 * Small helpers the notebooks share: quick mode, numpy-like descriptions of
 * arrays, and results tables that show as HTML in JupyterLab and are picked up
 * by `npm run export` (which writes them as Markdown, CSV and JSON).
 *
 * Papermill cannot inject parameters into tslab notebooks, so everything a run
 * can vary comes from the environment.
 */
import ndarray from 'ndarray';
import type { NdArray } from 'ndarray';
import { ConfigError } from './errors';
import { flattenImages } from './data/preprocess';
import { NUM_CLASSES } from './data/registry';
import type { BarChartFigure } from './viz/figure';
import type { ExperimentConfig } from './experiments/types';

/** Env variable that switches the notebooks (and their tests) to quick mode. */
export const QUICK_ENV = 'MNIST_LAB_QUICK';
/** Env variable that overrides the notebooks' seed. */
export const SEED_ENV = 'MNIST_LAB_SEED';
/** Env variable (set by `npm run export` in full mode) that lets notebooks reuse finished runs instead of retraining. */
export const REUSE_RUNS_ENV = 'MNIST_LAB_REUSE_RUNS';
/** Marker class of the HTML that {@link showTable} emits; the exporter looks for it. */
export const TABLE_MARKER = 'mnist-lab-table';

export interface NotebookSettings {
  /** True when env `MNIST_LAB_QUICK=1`: small subsets and few epochs, for tests and a first pass. */
  quick: boolean;
  /** Training examples an experiment may use; undefined = all of them (full mode). */
  trainLimit?: number;
  /** Test examples an experiment may use; undefined = all of them. */
  testLimit?: number;
  /** Most epochs an experiment may run; undefined = as many as it asks for. */
  maxEpochs?: number;
  /** Seed for initialisers, dropout and shuffling (env `MNIST_LAB_SEED`). */
  seed: number;
  /**
   * Pick up a finished run in its run folder instead of training it again
   * (env `MNIST_LAB_REUSE_RUNS=1`, which `npm run export` sets in full mode);
   * false: a learner's re-run trains afresh. Pass as `runExperiment`'s `resume`.
   */
  reuseRuns: boolean;
}

/** Limits of quick mode: enough data that accuracy visibly rises, little enough to run in seconds. */
export const QUICK_LIMITS = { trainLimit: 2000, testLimit: 1000, maxEpochs: 2 } as const;
export const DEFAULT_NOTEBOOK_SEED = 42;

/** True when the notebooks run in quick mode (env `MNIST_LAB_QUICK=1`). */
export function quickMode(): boolean {
  const value = process.env[QUICK_ENV];
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

/** The settings a notebook runs with, read from the environment. */
export function notebookSettings(): NotebookSettings {
  const rawSeed = process.env[SEED_ENV];
  const seed = rawSeed === undefined || rawSeed === '' ? DEFAULT_NOTEBOOK_SEED : Number(rawSeed);
  if (!Number.isInteger(seed)) throw new ConfigError(SEED_ENV, `must be an integer, got '${rawSeed}'`);
  const reuse = process.env[REUSE_RUNS_ENV];
  const reuseRuns = reuse !== undefined && reuse !== '' && reuse !== '0' && reuse.toLowerCase() !== 'false';
  return quickMode() ? { quick: true, ...QUICK_LIMITS, seed, reuseRuns } : { quick: false, seed, reuseRuns };
}

/** One line that says which mode a notebook runs in, for the versions cell. */
export function describeSettings(settings: NotebookSettings = notebookSettings()): string {
  if (!settings.quick) return `full mode (the real experiments), seed ${settings.seed}; set ${QUICK_ENV}=1 for a quick first pass`;
  return (
    `quick mode (${QUICK_ENV}=1): at most ${settings.trainLimit} training and ${settings.testLimit} test examples, ` +
    `${settings.maxEpochs} epochs; seed ${settings.seed}. Numbers will be far from the tutorials'.`
  );
}

/** Pick a value by mode: `byMode({ full: 100, quick: 2 })`. */
export function byMode<T>(values: { full: T; quick: T }): T {
  return quickMode() ? values.quick : values.full;
}

/**
 * An experiment as the current mode runs it: unchanged in full mode; in quick
 * mode, on a subset with few epochs. The seed comes from the settings.
 */
export function forNotebook(experiment: ExperimentConfig, settings: NotebookSettings = notebookSettings()): ExperimentConfig {
  const seeded: ExperimentConfig = {
    ...experiment,
    model: { ...experiment.model, seed: settings.seed },
    train: { ...experiment.train, seed: settings.seed },
  };
  if (!settings.quick) return seeded;
  const cap = (current: number | undefined, limit: number | undefined) =>
    limit === undefined ? current : Math.min(current ?? limit, limit);
  return {
    ...seeded,
    trainLimit: cap(experiment.trainLimit, settings.trainLimit),
    testLimit: cap(experiment.testLimit, settings.testLimit),
    train: { ...seeded.train, epochs: cap(experiment.train.epochs, settings.maxEpochs) ?? experiment.train.epochs },
  };
}

/** numpy-style one-liner: `uint8 [60000, 28, 28], min 0, max 255`. */
export function describeArray(array: NdArray<Uint8Array> | NdArray<Float32Array>): string {
  // flattenImages copies a view (a subset) into row order, so only its own elements are scanned.
  const values = flattenImages<Uint8Array | Float32Array>(array).data;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (values[i] < min) min = values[i];
    if (values[i] > max) max = values[i];
  }
  const range = values.length === 0 ? 'empty' : `min ${formatNumber(min)}, max ${formatNumber(max)}`;
  return `${dtypeName(array)} ${formatShape(array.shape)}, ${range}`;
}

/** A shape as Python prints a list: `[60000, 28, 28]`. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** numpy's dtype name (ndarray calls a Node Buffer 'buffer'; its elements are uint8). */
function dtypeName(array: NdArray<Uint8Array> | NdArray<Float32Array>): string {
  if (array.data instanceof Float32Array) return 'float32';
  return 'uint8';
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toPrecision(4);
}

/** A results table: one object per row, same keys in every row. */
export type TableRow = Record<string, string | number | boolean | null>;

/** A named table as the exporter stores it. */
export interface NamedTable {
  /** File-name-safe name, unique within a notebook (e.g. 'ablation-results'). */
  name: string;
  /** Column order. */
  columns: string[];
  rows: TableRow[];
}

const TABLE_NAME = /^[a-z0-9][a-z0-9-]*$/;

/** Build a {@link NamedTable}; columns default to the keys of the first row that have a value somewhere. */
export function makeTable(name: string, rows: readonly TableRow[], columns?: readonly string[]): NamedTable {
  if (!TABLE_NAME.test(name)) {
    throw new ConfigError('table name', `'${name}' cannot be a file name`, 'lower-case letters, digits and dashes, e.g. "ablation-results"');
  }
  // Without explicit columns, a column nobody has a value for (a single run's spread, a reference
  // that does not apply) is left out rather than shown empty.
  const isEmpty = (value: TableRow[string] | undefined) => value === null || value === undefined || value === '';
  const order = columns ? [...columns] : Object.keys(rows[0] ?? {}).filter((column) => rows.length === 0 || rows.some((row) => !isEmpty(row[column])));
  return { name, columns: order, rows: rows.map((row) => ({ ...row })) };
}

const escapeHtml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function cellText(value: TableRow[string] | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toFixed(4);
  return String(value);
}

/** The table as plain text (aligned columns), for consoles and text outputs. */
export function tableToText(table: NamedTable): string {
  const cells = [table.columns, ...table.rows.map((row) => table.columns.map((column) => cellText(row[column])))];
  const widths = table.columns.map((_, index) => Math.max(...cells.map((line) => line[index].length)));
  return cells.map((line) => line.map((cell, index) => cell.padEnd(widths[index])).join('  ').trimEnd()).join('\n');
}

/**
 * The table as HTML, with the data embedded as JSON so `npm run export` can
 * write exact numbers (the HTML shows rounded ones).
 */
export function tableToHtml(table: NamedTable): string {
  const head = table.columns.map((column) => `<th>${escapeHtml(column)}</th>`).join('');
  const body = table.rows
    .map((row) => `<tr>${table.columns.map((column) => `<td>${escapeHtml(cellText(row[column]))}</td>`).join('')}</tr>`)
    .join('\n');
  // `<` is escaped so no value can close the script element early.
  const json = JSON.stringify(table).replace(/</g, '\\u003c');
  return (
    `<div class="${TABLE_MARKER}" data-name="${escapeHtml(table.name)}">` +
    `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>` +
    `<script type="application/json" class="${TABLE_MARKER}-data">${json}</script></div>`
  );
}

/** The tslab display object when running inside a tslab kernel, else undefined. */
export function tslabDisplay(): { html(content: string): void; text(content: string): void } | undefined {
  // The kernel has loaded tslab's Jupyter module; anywhere else (CLI, tests)
  // requiring tslab would only pull in its TypeScript compiler for nothing.
  const inKernel = Object.keys(require.cache).some((file) => /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(file));
  if (!inKernel) return undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('tslab') as typeof import('tslab')).display;
}

/**
 * Show a results table: an HTML table in a notebook (which the exporter
 * collects), aligned text elsewhere. Returns nothing, so tslab does not echo
 * the rows a second time.
 */
export function showTable(name: string, rows: readonly TableRow[], columns?: readonly string[]): void {
  const table = makeTable(name, rows, columns);
  const display = tslabDisplay();
  if (display) display.html(tableToHtml(table));
  else console.log(tableToText(table));
}

/**
 * The mean image of each class, `[numClasses, rows, columns]` float32 on the
 * images' own scale: what a "typical" 0, 1, ... looks like to a pixel counter.
 */
export function classAverageImages(images: NdArray<Uint8Array> | NdArray<Float32Array>, labels: NdArray<Uint8Array>, numClasses = NUM_CLASSES): NdArray<Float32Array> {
  const count = images.shape[0];
  if (labels.shape[0] !== count) {
    throw new ConfigError('labels', `${labels.shape[0]} labels for ${count} images`, 'one label per image');
  }
  const pixels = images.size / Math.max(count, 1);
  const values = flattenImages<Uint8Array | Float32Array>(images).data;
  const sums = new Float64Array(numClasses * pixels);
  const perClass = new Array<number>(numClasses).fill(0);
  for (let example = 0; example < count; example++) {
    const label = labels.get(example);
    if (label >= numClasses) throw new ConfigError('labels', `label ${label} at index ${example} is not below numClasses`, `0-${numClasses - 1}`);
    perClass[label]++;
    const offset = label * pixels;
    const start = example * pixels;
    for (let pixel = 0; pixel < pixels; pixel++) sums[offset + pixel] += values[start + pixel];
  }
  const means = new Float32Array(sums.length);
  for (let index = 0; index < sums.length; index++) means[index] = sums[index] / Math.max(perClass[Math.floor(index / pixels)], 1);
  return ndarray(means, [numClasses, ...images.shape.slice(1)]);
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
