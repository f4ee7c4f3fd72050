/**
 * `runExperiment(experiment, options)`: one row of the reference table (or
 * one ablation cell) from data to test accuracy. The CLI, the ablation
 * runner, the reproduction script and the notebooks all call this.
 */
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import { backendInfo, initBackend, tf } from '../backend';
import { ConfigError, MnistLabError } from '../errors';
import type { LoadDataOptions } from '../data/load';
import { isFolderSource, loadSourceData } from '../data/source';
import { scaleImages, subset, toTensor, type NumericArray } from '../data/preprocess';
import { createModel } from '../model/factory';
import { fit, type TrainingProgress } from '../train/fit';
import { evaluate } from '../train/evaluation';
import type { EpochLogs, ProgressSink } from '../train/progress';
import { checkpointDir, disposeWithOptimizer, loadCheckpoint, readCheckpointState, saveEpoch, writeRunConfig, RUN_FILES, type RunState } from '../runs/folder';
import { withSeed } from '../runs/identity';
import { validateExperiment } from '../runs/validate';
import { saveWeightSnapshot, SNAPSHOT_DIR } from '../runs/snapshots';
import { writeJsonAtomic } from '../util/fs';
import { lockRunFolder } from '../runs/run-lock';
import { checkResumable, cleanStaleTemps } from '../runs/run-folder';
import type { ExperimentConfig, RunResult } from '../runs/types';

/** How `runExperiment` runs: its seed, its run folder, where the data is, how it reports. */
export interface RunExperimentOptions {
  /** Seed of this repeat; overrides model.seed and train.seed (default: the experiment's model.seed). */
  seed?: number;
  /** Run folder for config, history, checkpoints and metrics; omit to keep nothing on disk. */
  runDir?: string;
  /** Data folder (default env MNIST_LAB_DATA, then the usual places). */
  dataDir?: string;
  /** Keras verbosity (default: the experiment's train.verbose). */
  verbose?: 0 | 1 | 2;
  /**
   * Continue from the run folder's last checkpoint when there is one
   * (default). `false` starts afresh and replaces the old checkpoints.
   */
  resume?: boolean;
  /** Called after every epoch (after its checkpoint is written), e.g. for a live plot. */
  onEpoch?: (epoch: number, logs: EpochLogs) => void;
  /** Where the progress display goes (default: notebook display inside tslab, else stdout). */
  progressSink?: ProgressSink;
  /** Extra options for the data loader. */
  dataOptions?: LoadDataOptions;
}

/** Median of `seconds`, leaving out the first epoch (graph warm-up) when there are others. */
export function medianEpochSeconds(seconds: readonly number[]): number {
  const timed = seconds.length > 1 ? seconds.slice(1) : [...seconds];
  if (timed.length === 0) return 0;
  const sorted = [...timed].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function imagesTensor(images: NumericArray, scale: boolean): Promise<tf.Tensor> {
  return toTensor(scale ? scaleImages(images) : images, 'float32');
}

/** Load the previous run from `runDir` when it can be resumed; null to start afresh. */
async function resumable(runDir: string, experiment: ExperimentConfig): Promise<{ model: tf.LayersModel; state: RunState } | null> {
  const state = await readCheckpointState(runDir, 'last');
  if (state === null) return null;
  await checkResumable(runDir, experiment, state);
  return { model: await loadCheckpoint(runDir, 'last'), state };
}

/** Check the sizes the experiment asks for against the data, before anything is written. */
function checkAgainstData(experiment: ExperimentConfig, trainCount: number, testCount: number): void {
  const { trainLimit, testLimit, train } = experiment;
  const name = experiment.dataset;
  if (trainLimit !== undefined && trainLimit > trainCount) {
    throw new ConfigError('trainLimit (--limit)', `asks for ${trainLimit} training examples but ${name} has ${trainCount}`, `1 to ${trainCount}, or leave it out to use them all`);
  }
  if (testLimit !== undefined && testLimit > testCount) {
    throw new ConfigError('testLimit', `asks for ${testLimit} test examples but ${name} has ${testCount}`, `1 to ${testCount}`);
  }
  const count = trainLimit ?? trainCount;
  if (!experiment.validateOnTest && train.validationSplit > 0) {
    const kept = Math.floor(count * (1 - train.validationSplit));
    if (kept < 1 || kept >= count) {
      throw new ConfigError(
        'validationSplit (--validation-split)',
        `${train.validationSplit} of ${count} training examples leaves ${kept} for training and ${count - kept} for validation`,
        'a fraction that keeps both parts non-empty, e.g. 0.2, or 0 for no validation',
      );
    }
  }
}

/**
 * Train and test one experiment. With a run folder, every epoch leaves a
 * checkpoint and a killed run continues where it stopped when called again.
 */
export async function runExperiment(experimentIn: ExperimentConfig, options: RunExperimentOptions = {}): Promise<RunResult> {
  const seed = options.seed ?? experimentIn.model.seed;
  const experiment = withSeed(experimentIn, seed);
  validateExperiment(experiment);
  const verbose = options.verbose ?? experiment.train.verbose;
  const started = performance.now();
  const runDir = options.runDir === undefined ? undefined : path.resolve(options.runDir);
  // One training per run folder: a second one refuses here, before any data is loaded or file written.
  const lock = runDir === undefined ? null : await lockRunFolder(runDir);
  try {
    if (lock !== null && runDir !== undefined) {
      if (lock.tookOver !== null && verbose > 0) {
        process.stderr.write(`mnist-lab: ${runDir}: taking over the lock of pid ${lock.tookOver.pid}, which has stopped\n`);
      }
      const cleaned = await cleanStaleTemps(runDir);
      if (cleaned.removed.length > 0 && verbose > 0) {
        process.stderr.write(`mnist-lab: removed ${cleaned.removed.length} leftover temporary file(s) of an interrupted write (${(cleaned.bytes / 1e6).toFixed(1)} MB) from ${runDir}\n`);
      }
    }
    return await runLocked(experiment, seed, verbose, started, await initBackend(), runDir, options);
  } finally {
    await lock?.release();
  }
}

async function runLocked(
  experiment: ExperimentConfig,
  seed: number,
  verbose: 0 | 1 | 2,
  started: number,
  backend: Awaited<ReturnType<typeof initBackend>>,
  runDir: string | undefined,
  options: RunExperimentOptions,
): Promise<RunResult> {
  const dataset = await loadSourceData(experiment.dataset, { ...options.dataOptions, dataDir: options.dataDir ?? options.dataOptions?.dataDir });
  if (isFolderSource(experiment.dataset)) {
    // The network's output layer has one unit per class of the folder; config.json records the classes.
    experiment.classNames = dataset.classNames;
    experiment.model = { ...experiment.model, numClasses: dataset.classNames.length };
    validateExperiment(experiment);
  }
  checkAgainstData(experiment, dataset.train.images.shape[0], dataset.test.images.shape[0]);
  const [trainImagesRaw, trainLabelsRaw] = subset(dataset.train.images, dataset.train.labels, experiment.trainLimit ?? dataset.train.images.shape[0]);
  const [testImagesRaw, testLabelsRaw] = subset(dataset.test.images, dataset.test.labels, experiment.testLimit ?? dataset.test.images.shape[0]);

  let model: tf.LayersModel | null = null;
  const tensors: tf.Tensor[] = [];
  try {
    let state: RunState | null = null;
    if (runDir !== undefined) {
      if (options.resume !== false) {
        const previous = await resumable(runDir, experiment);
        if (previous !== null) ({ model, state } = previous);
      } else {
        await fs.rm(path.join(runDir, RUN_FILES.checkpoints), { recursive: true, force: true });
        for (const file of [RUN_FILES.metrics, RUN_FILES.state, RUN_FILES.history]) await fs.rm(path.join(runDir, file), { force: true });
        await fs.rm(path.join(runDir, SNAPSHOT_DIR), { recursive: true, force: true });
      }
      await writeRunConfig(runDir, experiment);
    }
    if (model === null) {
      model = createModel(experiment.model);
      if (experiment.initFrom !== undefined) await initWeightsFrom(model, experiment.initFrom);
      // The random start, for the weights-over-epochs figure.
      if (runDir !== undefined) await saveWeightSnapshot(runDir, model, 0);
    }
    const trainedModel = model;
    if (verbose > 0 && state !== null && state.epochsCompleted > 0) {
      process.stderr.write(`mnist-lab: resuming ${runDir} after epoch ${state.epochsCompleted}/${experiment.train.epochs}\n`);
    }

    const trainImages = await imagesTensor(trainImagesRaw, experiment.scaleInputs);
    const testImages = await imagesTensor(testImagesRaw, experiment.scaleInputs);
    const trainLabels = toTensor(trainLabelsRaw, 'int32');
    const testLabels = toTensor(testLabelsRaw, 'int32');
    tensors.push(trainImages, testImages, trainLabels, testLabels);

    // fit's own record of the best epoch, across a resume too.
    const end: { progress: TrainingProgress | null } = { progress: null };
    const history = await fit(trainedModel, trainImages, trainLabels, {
      ...experiment.train,
      verbose,
      validationSplit: experiment.validateOnTest ? 0 : experiment.train.validationSplit,
      validationData: experiment.validateOnTest ? [testImages, testLabels] : undefined,
      initialEpoch: state?.epochsCompleted ?? 0,
      previousHistory: state?.history,
      // Without a run folder the best weights are kept in memory; with one, the best checkpoint is the copy.
      restoreBestWeights: experiment.restoreBestWeights && runDir === undefined,
      progressSink: options.progressSink,
      callbacks: {
        onEpochEnd: async (epoch, logs, progress) => {
          if (runDir !== undefined) {
            const epochState: RunState = {
              epochsCompleted: epoch + 1,
              epochs: experiment.train.epochs,
              history: progress.history,
              bestValLoss: progress.bestValLoss,
              bestEpoch: progress.bestEpoch,
              random: { seed, scheme: 'derived-per-epoch' },
              backend: backend.name,
              updatedAt: new Date().toISOString(),
            };
            await saveEpoch(runDir, trainedModel, epochState, progress.improved);
          }
          options.onEpoch?.(epoch, logs);
        },
        onTrainEnd: (progress) => {
          end.progress = progress;
        },
      },
    });
    const { bestEpoch, bestValLoss } = end.progress ?? { bestEpoch: null, bestValLoss: null };

    if (experiment.restoreBestWeights && runDir !== undefined && bestEpoch !== null && bestEpoch !== history.epoch.length - 1) {
      if ((await checkpointDir(runDir, 'best')) !== undefined) {
        const bestModel = await loadCheckpoint(runDir, 'best');
        trainedModel.setWeights(bestModel.getWeights());
        disposeWithOptimizer(bestModel);
      }
    }
    const test = evaluate(trainedModel, testImages, testLabels);
    const finalTrainAcc = history.history.acc[history.history.acc.length - 1] ?? 0;
    const result: RunResult = {
      id: experiment.id,
      seed,
      config: experiment,
      history,
      test,
      finalTrainAcc,
      bestEpoch,
      bestValLoss,
      bestValAcc: bestEpoch !== null ? (history.history.val_acc?.[bestEpoch] ?? null) : null,
      overfitGap: finalTrainAcc - test.acc,
      epochSeconds: medianEpochSeconds(history.history.seconds),
      totalSeconds: (performance.now() - started) / 1000,
      backend: backendInfo()?.name ?? backend.name,
      runDir: runDir === undefined ? null : path.resolve(runDir),
      finishedAt: new Date().toISOString(),
    };
    if (runDir !== undefined) await writeJsonAtomic(path.join(runDir, RUN_FILES.metrics), result);
    return result;
  } finally {
    tf.dispose(tensors);
    if (model !== null) {
      model.optimizer?.dispose();
      model.dispose();
    }
  }
}

/**
 * Fine-tuning: copy the weights of a trained run (its best checkpoint, else
 * its last) into a fresh model of the same shape. The optimizer starts afresh.
 */
async function initWeightsFrom(model: tf.LayersModel, runDir: string): Promise<void> {
  const which = (await checkpointDir(runDir, 'best')) !== undefined ? 'best' : 'last';
  const source = await loadCheckpoint(runDir, which);
  try {
    const from = source.getWeights();
    const to = model.getWeights();
    const shapes = (weights: tf.Tensor[]) => weights.map((weight) => `[${weight.shape.join(', ')}]`).join(' ');
    if (from.length !== to.length || from.some((weight, index) => weight.shape.join() !== to[index].shape.join())) {
      throw new MnistLabError(
        `--init-from ${runDir}: its network has weights ${shapes(from)} but this one has ${shapes(to)}. ` +
          'Fine-tune with the same --hidden sizes (and the same number of classes) as that run.',
      );
    }
    model.setWeights(from);
  } finally {
    source.optimizer?.dispose();
    source.dispose();
  }
}
