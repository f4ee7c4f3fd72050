/**
 * mnist-lab's public API: what the notebooks, the `mnist-lab` command and
 * scripts import (`import * as lab from 'mnist-lab'`). Everything a learner
 * or a teacher calls is listed here by name, grouped as a Keras user would
 * look for it; anything not listed is the lab's own machinery and may change.
 *
 * The reference pages (`npm run docs`, then `docs/api/index.html`) are
 * generated from this list and the doc comments of each name.
 *
 * @packageDocumentation
 */
import { assertBuildIsFresh } from './util/build';

assertBuildIsFresh(__dirname);

import { fixRunningTslabKernel } from './util/kernel-status';

// ---------------------------------------------------------------- backend
/** TensorFlow.js as the lab loaded it (native backend when available). */
export { tf, initBackend, backendInfo, BACKEND_NAMES } from './backend';
export type { BackendName, BackendInfo, BackendOptions } from './backend';

// ---------------------------------------------------------------- errors
export { MnistLabError, ConfigError, DataFormatError, ChecksumError, DatasetNotFoundError, DownloadError } from './errors';
export { ImageError, UnreadableImageError, UnsupportedImageError, EmptyImageError } from './predict/errors';
export { ParamsFormatError, ParamsMismatchError } from './params/errors';
export { DataLocationError } from './data/location';
export type { ExplicitDataLocation } from './data/location';
export { RunFolderLockedError } from './runs/run-lock';
export type { LockHolder } from './runs/run-lock';
export { RunMismatchError } from './runs/run-folder';
export { FileSystemError } from './util/fs-errors';

// ---------------------------------------------------------------- data (keras.datasets, numpy-style helpers)
export { loadData, loadDataset, locateDataset } from './data/load';
export type { ImageArray, LabelArray, Split, Dataset, DataSource, KerasData, LoadDataOptions } from './data/load';
export type { DownloadOptions } from './data/download';
export { DATASETS, DATASET_NAMES, NUM_CLASSES, FILE_ROLES, getDatasetSpec } from './data/registry';
export type { DatasetName, DatasetSpec, DatasetFile, FileRole } from './data/registry';
export { scaleImages, flattenImages, toCategorical, validationSplit, sliceRows, subset, takeIndices, toTensor } from './data/preprocess';
export type { NumericArray } from './data/preprocess';
export { describeArray, classAverageImages } from './data/describe';
export { validateDatasetSource, isFolderSource, describeSource, DEFAULT_FOLDER_TEST_SPLIT } from './data/source';
export type { DatasetSource, ImageFolderSource } from './data/source';
export { loadImageFolder, ImageFolderError, BadImagesError, DEFAULT_IMAGE_FOLDER_OPTIONS } from './data/image-folder';
export { exportDataset, EXPORT_LAYOUTS } from './data/export';
export type { ExportLayout, ExportOptions } from './data/export';
export { encodeJpeg, readImageBytes, PREPROCESS_MODES } from './data/image-decode';
export type { PreprocessMode } from './data/image-decode';
export type { ImageFolderOptions, ImageFolderDataset, BadImage } from './data/image-folder';
export { photoOfDigit } from './data/synthetic-photo';
export type { PhotoOptions, PhotoParameters } from './data/synthetic-photo';
export { checkDataset, formatDatasetCheck } from './data/check';
export type { DatasetCheck, FileCheck } from './data/check';
export { addToCache } from './data/cache';
export type { AddedDataset, AddToCacheOptions } from './data/cache';
export { DATA_ENV } from './data/location';

// ---------------------------------------------------------------- model (keras.Sequential of Dense layers)
export { createMlp } from './model/mlp';
export { createCnn } from './model/cnn';
export { createModel, architectureLabel, parameterCount } from './model/factory';
export { DEFAULT_MLP, DEFAULT_CNN, ACTIVATIONS, OPTIMIZERS, LOSSES, PADDINGS, OPTIMIZER_DEFAULTS, isCnnConfig } from './model/config';
export type { MlpConfig, CnnConfig, ModelConfig, Padding, Activation, OptimizerName, LossName, OptimizerOptions } from './model/config';
export { validateMlpConfig, validateCnnConfig, validateModelConfig } from './model/validate';
export { createOptimizer, KerasRMSprop, KerasAdam, KerasSGD, KerasMomentumSGD } from './model/optimizers';
export type { Slot, NamedTensor } from './model/optimizers';
export { summary, printSummary, summarizeModel } from './model/summary';
export type { ModelSummary, SummaryRow } from './model/summary';

// ---------------------------------------------------------------- training and evaluation (model.fit, model.evaluate)
export { fit } from './train/fit';
export type { FitOptions, FitCallbacks, TrainingProgress } from './train/fit';
export { DEFAULT_TRAIN } from './train/types';
export type { TrainConfig, TrainingHistory, HistoryRecord, EvaluateResult } from './train/types';
export { augmentImages, augmentationVariants, validateAugment, DEFAULT_AUGMENT, NO_AUGMENT } from './train/augment';
export type { AugmentConfig, AugmentPosition } from './train/augment';
export type { EpochLogs, ProgressSink } from './train/progress';
export { evaluate, DEFAULT_EVALUATE } from './train/evaluation';
export type { EvaluateOptions, ImagesInput, LabelsInput } from './train/evaluation';
export { predict, argmax, confusionMatrix, perClassAccuracy, mostConfidentMistakes, formatConfusionMatrix, DEFAULT_PREDICT } from './evaluate/metrics';
export type { PredictOptions, Mistake } from './evaluate/metrics';
export { overfittingReport, VAL_LOSS_RISE_OVERFITTING, VAL_LOSS_RISE_NOISE, ACCURACY_GAP_OVERFITTING } from './evaluate/overfitting';
export type { OverfittingReport, FitVerdict } from './evaluate/overfitting';

// ---------------------------------------------------------------- experiments and run folders
export { PRESETS, PRESET_IDS, getPreset } from './experiments/presets';
export { runExperiment, medianEpochSeconds } from './experiments/run';
export type { RunExperimentOptions } from './experiments/run';
export type { ExperimentConfig, ReferenceResult, RunResult } from './runs/types';
export { withSeed } from './runs/identity';
export { validateExperiment } from './runs/validate';
export { readRun, loadCheckpoint, disposeWithOptimizer, RUN_FILES } from './runs/folder';
export type { RunRecord, RunState, CheckpointKind } from './runs/folder';
export { evaluateRun, formatRunEvaluation, DEFAULT_EVALUATE_RUN_OPTIONS } from './evaluate/run';
export type { RunEvaluation, EvaluateRunOptions } from './evaluate/run';

// ---------------------------------------------------------------- ablations (grids of experiments over seeds)
export { gridPreset, expandGrid, validateGridSpec, loadGridSpec, DEFAULT_GRID_SPEC, GRID_PRESETS, GRID_MODES, FACTOR_NAMES, FACTOR_LABELS, TUTORIAL001_IDS } from './experiments/grid';
export type { GridSpec, GridRun, GridFactors, GridMode, FactorName, GridPresetName } from './experiments/grid';
export { planAblation, runAblation, DEFAULT_ABLATION_OPTIONS } from './experiments/ablate';
export type { AblationOptions, AblationOutcome, AblationPaths, DryRunPlan } from './experiments/ablate';
export type { CostModel, FlopPerExample } from './experiments/cost';
export type { Engine, ResultRow } from './experiments/results';
export type { RunFunction, RunOptions } from './experiments/protocol';
export type { Shard } from './experiments/shard';
export type { RunnerSummary, RunnerProgress } from './experiments/runner';
export { estimateRunSeconds, costModelFor, flopPerExample } from './experiments/cost';
export { summarizeResults, chartRows, ablationTableRows, formatMarkdown, formatCsv, formatHtml, writeReport } from './experiments/report';
export type { AblationReport, ConfigurationSummary, Stats, Difference, ReportOptions, ReportFiles } from './experiments/report';

// ---------------------------------------------------------------- your own images, parameters as text
export { predictImage, predictImageFile, topClasses, DEFAULT_PREDICT_IMAGE_OPTIONS } from './predict';
export type { ClassProbability, PredictImageOptions } from './predict';
export { preprocessImage, preprocessImageFile, inputRows, MNIST_IMAGE_SIZE } from './predict/image';
export type { RgbaImage } from './predict/image';
export { exportParams, importParams, readParamsFile } from './params';
export type { ParamsFile, ParamsLayer, ParamsTensor, NestedNumbers, ExportParamsResult, ImportParamsOptions } from './params';

// ---------------------------------------------------------------- figures (build a figure, then show or save it)
export { pixelGrid, gallery, trainingCurves, confusionMatrixFigure, ablationChart, firstLayerWeights, modelTable, pixelHistogram } from './viz/figures';
export { convFilters, featureMaps, DEFAULT_CONV_FILTERS, DEFAULT_FEATURE_MAPS } from './viz/conv-figures';
export type { ConvFiltersOptions, FeatureMapsOptions } from './viz/conv-figures';
export { DEFAULT_PIXEL_GRID, DEFAULT_GALLERY, DEFAULT_TRAINING_CURVES, DEFAULT_FIRST_LAYER_WEIGHTS, DEFAULT_PIXEL_HISTOGRAM } from './viz/figures';
export type {
  PixelGridOptions, GalleryOptions, TrainingCurvesOptions, NamedHistory, AblationRow, FirstLayerWeightsOptions, PixelHistogramOptions, ImageSource, KernelSource, ModelLayerRow,
} from './viz/figures';
export type {
  Figure, FigureKind, ProbabilityRow, LayerActivation, ParallelAxis, ProbabilitiesFigure, ActivationsFigure, ParallelCoordinatesFigure, PixelGridFigure, ImageGridFigure, LineChartFigure, HeatmapFigure, BarChartFigure, TableFigure, Bar, ImageTile, ChartPanel, LineSeries, ChartMarker, ShadedGap,
} from './viz/figure';
export { show, notebookBundle, PLOTLY_MIME, DEFAULT_SHOW } from './viz/notebook';
export type { ShowOptions, NotebookDisplay, MimeBundle } from './viz/notebook';
export { saveFigure, FIGURE_FORMATS, DEFAULT_SAVE_FIGURE } from './viz/save';
export type { FigureFormat, SaveFigureOptions } from './viz/save';
export type { PngOptions } from './viz/png';
export { renderSvg } from './viz/svg';
export { renderHtml } from './viz/html';
export type { HtmlOptions } from './viz/html';
export { renderTerminal, renderProbabilitiesTerminal } from './viz/terminal';
export type { TerminalOptions } from './viz/terminal';
export { createLivePlot, plotInBrowser } from './viz/live';
export type { LivePlot, LivePlotOptions, LiveEpochLogs, LivePlotResult } from './viz/live';
export { showTable, makeTable, tableToText, tableToHtml, TABLE_MARKER } from './viz/table';
export type { TableRow, NamedTable } from './viz/table';

// ---------------------------------------------------------------- notebooks: quick mode and the seed
export { notebookSettings, describeSettings, forNotebook, notebookRunsDir, quickMode, byMode, QUICK_ENV, SEED_ENV, REUSE_RUNS_ENV, QUICK_LIMITS, DEFAULT_NOTEBOOK_SEED } from './notebook';
export type { NotebookSettings } from './notebook';

// ---------------------------------------------------------------- about the lab, formatting
export { labInfo, formatLabInfo } from './info';
export type { LabInfo } from './info';
export { PROJECT_ROOT } from './util/fs';
export { formatDuration, formatMetric, formatShape, percent, DEFAULT_PERCENT } from './util/format';
export type { PercentOptions } from './util/format';

// ---------------------------------------------------------------- the command line
/** The `mnist-lab` command as a function: `runCommandLine(process.argv)`; bin/mnist-lab.js calls it. */
export { main as runCommandLine } from './cli/main';
/** How the command line prints an error (one line for the lab's own errors). */
export { formatError as formatCommandError } from './cli/errors';

// ---------------------------------------------------------------- inside the network, drawing pad, notebook kernel
export { activationsFigure, layerOutputs, outputProbabilities, confidentMistakes, DEFAULT_ACTIVATIONS, DEFAULT_PROBABILITIES, DEFAULT_CONFIDENT_MISTAKES } from './evaluate/inside';
export type { DigitSource, ActivationsOptions, ProbabilitiesOptions, ConfidentMistakesOptions } from './evaluate/inside';
export { weightsOverEpochs, DEFAULT_WEIGHTS_OVER_EPOCHS } from './viz/inside';
export type { WeightsOverEpochsOptions } from './viz/inside';
export { saveWeightSnapshot, readWeightSnapshots, SNAPSHOT_UNITS, SNAPSHOT_DIR, SNAPSHOT_INDEX } from './runs/snapshots';
export { TrainingInterruptedError, watchKernelInterrupt } from './train/interrupt';
export { recordFirstLayerWeights, firstLayerKernel } from './train/snapshots';
export type { WeightSnapshot } from './train/snapshots';
export type { InterruptWatch } from './train/interrupt';
export { drawingPad, drawingPadPage, drawingPadHtml, saveDrawingPad, padModelSpec, resetNotebookPad, DEFAULT_DRAWING_PAD } from './pad';
export type { DrawingPadOptions, HtmlDisplay } from './pad';
export { PAD_PICTURE_SIZE } from './pad/spec';
export type { PadModelSpec, PadSpec, PadWeightSpec, PadSaveRequest, PadSaveResponse } from './pad/spec';
export { serveDrawingPad, saveDrawing, classFolderName, PAD_SAVE_ROUTE } from './pad/serve';
export type { DrawingPadServer, DrawingPadServerOptions } from './pad/serve';
export { ablationParallelCoordinates, DEFAULT_PARALLEL_COORDINATES } from './experiments/parallel';
export type { ParallelCoordinatesOptions, AblationRunPoint } from './experiments/parallel';
export { describeExperiment } from './experiments/describe';
export { GridProgressTable, notebookGridProgress } from './experiments/progress-table';
export type { GridTableRow, GridRunState, HtmlSink } from './experiments/progress-table';
export { fixTslabKernelStatus } from './util/kernel-status';

// Inside a tslab kernel started without bin/tslab-kernel.js, fix its status from now on.
fixRunningTslabKernel();
