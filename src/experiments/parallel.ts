/**
 * An ablation grid at a glance: one line per run across the factors that
 * vary and the results (test accuracy, overfitting gap), as TensorBoard's
 * HParams view draws it. In the report HTML and notebook 05.
 */
import { ConfigError } from '../errors';
import type { ParallelAxis, ParallelCoordinatesFigure } from '../viz/figure';
import { OPTIMIZER_DEFAULTS, isCnnConfig } from '../model/config';
import type { RunResult } from '../runs/types';
import { FACTOR_LABELS, FACTOR_NAMES, type FactorName } from './grid';

/** One finished run of the grid, for the one-line-per-run parallel-coordinates view. */
export interface AblationRunPoint {
  label: string;
  seed: number;
  /** The run's settings of every ablation factor (hidden units joined by '-', e.g. '512' or '256-128'). */
  settings: Record<FactorName, string | number>;
  testAcc: number;
  /** Final train accuracy minus test accuracy. */
  overfitGap: number;
}

/** The factor settings a run actually used, read from its config (so preset grids get them too). */
export function runSettings(config: RunResult['config']): Record<FactorName, string | number> {
  const model = config.model;
  const cnn = isCnnConfig(model);
  return {
    architecture: cnn ? 'cnn' : 'mlp',
    filters: cnn ? model.filters.join('-') : '-',
    hiddenUnits: (cnn ? model.denseUnits : model.hiddenUnits).join('-'),
    dropoutRate: model.dropoutRate,
    batchSize: config.train.batchSize,
    optimizer: model.optimizer,
    activation: model.activation,
    scaleInputs: config.scaleInputs ? 'yes' : 'no',
    learningRate: model.optimizerOptions.learningRate ?? OPTIMIZER_DEFAULTS[model.optimizer].learningRate,
    augment: config.train.augment !== undefined && (config.train.augment.rotationRange > 0 || config.train.augment.widthShiftRange > 0 || config.train.augment.heightShiftRange > 0 || config.train.augment.zoomRange > 0) ? 'yes' : 'no',
  };
}


/** Options of `ablationParallelCoordinates`. */
export interface ParallelCoordinatesOptions {
  title: string;
  /** Factor axes to draw even when every run has the same setting (default: only factors that vary). */
  alwaysShow: readonly string[];
}

/** The defaults of {@link ParallelCoordinatesOptions}. */
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
export function ablationParallelCoordinates(report: { runs: readonly AblationRunPoint[] }, options: Partial<ParallelCoordinatesOptions> = {}): ParallelCoordinatesFigure {
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
