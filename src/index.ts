/**
 * mnist-lab's one public entry: notebooks, the CLI and tests import from here.
 */
import { assertBuildIsFresh } from './util/build';

assertBuildIsFresh(__dirname);

import { fixRunningTslabKernel } from './util/kernel-status';

export { tf, initBackend, ensureBackendSync, backendInfo, BACKEND_NAMES } from './backend';
export type { BackendName, BackendInfo, BackendOptions } from './backend';
export * from './errors';
export * from './data';
export { labInfo, formatLabInfo } from './info';
export type { LabInfo } from './info';
export { writeFileAtomic, writeJsonAtomic, PROJECT_ROOT } from './util/fs';
export {
  QUICK_ENV, SEED_ENV, REUSE_RUNS_ENV, QUICK_LIMITS, DEFAULT_NOTEBOOK_SEED,
  quickMode, notebookSettings, describeSettings, byMode, forNotebook,
} from './notebook';
export type { NotebookSettings } from './notebook';
export { formatShape, formatDuration, percent } from './util/format';
export * from './model';
export * from './train';
// Training's EpochLogs (viz's createLivePlot takes LiveEpochLogs, which accepts these).
export type { EpochLogs } from './train';
export * from './runs/folder';
export { lockRunFolder, RunFolderLockedError, LOCK_FILE, type LockHolder, type RunLock } from './runs/run-lock';
export { cleanStaleTemps, checkResumable, RunMismatchError } from './runs/run-folder';
export { FileSystemError, describeFsError } from './util/fs-errors';
export * from './experiments/presets';
export * from './experiments/run';
export type { ExperimentConfig, ReferenceResult, RunResult } from './runs/types';
export * from './evaluate';
export * from './params';
export {
  GRID_MODES, GRID_PRESETS, FACTOR_NAMES, FACTOR_LABELS, DEFAULT_GRID_SPEC, SEED001_IDS,
  gridPreset, referenceIds, validateGridSpec, loadGridSpec, gridSpecFromFlags, expandGrid, applyFactor, seedList, configKey, runKey, canonicalJson,
} from './experiments/grid';
export type { GridMode, GridFactors, FactorName, GridSpec, GridRun, GridFlags, GridPresetName } from './experiments/grid';
export { MEASURED_COST_MODELS, costModelFor, calibrateCostModel, estimateRunSeconds, multiplyAddsPerExample, exampleCounts } from './experiments/cost';
export type { CostModel } from './experiments/cost';
export { parseShard, shardTag, assignShards, selectShard } from './experiments/shard';
export type { Shard } from './experiments/shard';
export { RESULT_ROW_FORMAT, readResults, ResultsWriter } from './experiments/results';
export type { ResultRow, ReadResults, Engine } from './experiments/results';
export { runGrid, defaultWorkerCount, NATIVE_CORES_PER_WORKER, runFolderName, formatProgress } from './experiments/runner';
export type { RunnerOptions, RunnerProgress, RunnerSummary } from './experiments/runner';
export {
  DEFAULT_REPORT_OPTIONS, statsOf, welchInterval, summarizeResults, formatMarkdown, formatCsv, formatHtml, chartRows, writeReport,
} from './experiments/report';
export type { Stats, Difference, ConfigurationSummary, AblationReport, ReportOptions, ReportFiles } from './experiments/report';
export { DEFAULT_ABLATION_OPTIONS, ablationPaths, plannedRuns, planAblation, runAblation } from './experiments/ablate';
export type { AblationOptions, AblationPaths, DryRunPlan, AblationOutcome } from './experiments/ablate';
export { runKerasExperiment, kerasAvailable } from './experiments/keras';
export type { RunOptions, RunFunction } from './experiments/protocol';
export * from './predict';
export * from './viz';
export * from './pad';
export { serveDrawingPad, saveDrawing, classFolderName, PAD_SAVE_ROUTE, type DrawingPadServer, type DrawingPadServerOptions } from './pad/serve';
export {
  activationsFigure,
  layerOutputs,
  outputProbabilities,
  confidentMistakes,
  DEFAULT_ACTIVATIONS,
  DEFAULT_PROBABILITIES,
  DEFAULT_CONFIDENT_MISTAKES,
  type DigitSource,
  type ActivationsOptions,
  type ProbabilitiesOptions,
  type ConfidentMistakesOptions,
} from './evaluate/inside';
export { ablationParallelCoordinates, runSettings, DEFAULT_PARALLEL_COORDINATES, type ParallelCoordinatesOptions, type AblationRunPoint } from './experiments/parallel';
export { saveWeightSnapshot, readWeightSnapshots, SNAPSHOT_UNITS, SNAPSHOT_DIR, SNAPSHOT_INDEX } from './runs/snapshots';
export { fixTslabKernelStatus } from './util/kernel-status';
export { describeExperiment } from './experiments/describe';
export { GridProgressTable, notebookGridProgress, type GridTableRow, type GridRunState } from './experiments/progress-table';

// Inside a tslab kernel started without bin/tslab-kernel.js, fix its status from now on.
fixRunningTslabKernel();
