/**
 * mnist-lab's one public entry: notebooks, the CLI and tests import from here.
 */
import { assertBuildIsFresh } from './util/build';

assertBuildIsFresh(__dirname);

export { tf, initBackend, ensureBackendSync, backendInfo, BACKEND_NAMES } from './backend';
export type { BackendName, BackendInfo, BackendOptions } from './backend';
export * from './errors';
export * from './data';
export { labInfo, formatLabInfo } from './info';
export type { LabInfo } from './info';
export { writeFileAtomic, writeJsonAtomic, PROJECT_ROOT } from './util/fs';
export {
  QUICK_ENV, SEED_ENV, QUICK_LIMITS, DEFAULT_NOTEBOOK_SEED, TABLE_MARKER,
  quickMode, notebookSettings, describeSettings, byMode, forNotebook,
  describeArray, formatShape, makeTable, tableToText, tableToHtml, showTable, tslabDisplay,
  classAverageImages, pixelHistogram, DEFAULT_PIXEL_HISTOGRAM,
} from './notebook';
export type { NotebookSettings, NamedTable, TableRow, PixelHistogramOptions } from './notebook';
export * from './model';
export * from './train';
// Training's EpochLogs (viz's createLivePlot takes LiveEpochLogs, which accepts these).
export type { EpochLogs } from './train';
export * from './train/checkpoint';
export * from './experiments/presets';
export * from './experiments/run';
export type { ExperimentConfig, ReferenceResult, RunResult } from './experiments/types';
export * from './evaluate';
export * from './params';
export * from './experiments/grid';
export * from './experiments/cost';
export * from './experiments/shard';
export * from './experiments/results';
export * from './experiments/runner';
export * from './experiments/report';
export * from './experiments/ablate';
export type { RunOptions, RunFunction } from './experiments/protocol';
export * from './predict';
export * from './viz';
