/**
 * Run folders and checkpoints. A run folder `runs/<name>/` holds:
 *
 *   config.json          the ExperimentConfig, with the run's seed in model.seed and train.seed
 *   history.json         Keras-style history of the completed epochs
 *   state.json           progress: completed epochs, best val_loss, seeds
 *   metrics.json         the RunResult, once the run finished
 *   checkpoints/best/    weights of the lowest val_loss (Keras ModelCheckpoint save_best_only)
 *   checkpoints/last/    weights after the last completed epoch
 *   snapshots/           first-layer weights after every epoch (see snapshots.ts)
 *
 * Each checkpoint is a standard tfjs layers model (`model.json` +
 * `weights.bin`, loadable with `tf.loadLayersModel('file://…/model.json')`)
 * with the optimizer's state, plus its own `state.json`. The files are
 * written through an IO handler of our own, so saving works on the wasm and
 * cpu backends too (tfjs-node's `file://` handler exists only with the native
 * backend).
 *
 * Atomicity: a checkpoint is written into a temporary folder, then swapped in
 * with two renames (old folder aside, new folder in place). A process killed
 * between the renames leaves the previous checkpoint in the aside folder,
 * and {@link checkpointDir} finds it there.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { tf } from '../backend';
import { MnistLabError } from '../errors';
import { pathExists, writeJsonAtomic } from '../util/fs';
import { describeFsError } from '../util/fs-errors';
import { createOptimizer } from '../model/optimizers';
import type { ModelConfig } from '../model/config';
import type { ExperimentConfig, RunResult } from './types';
import type { TrainingHistory } from '../train/types';
import { saveWeightSnapshot } from './snapshots';

/** A run folder's two checkpoints: the lowest val_loss and the last epoch. */
export type CheckpointKind = 'best' | 'last';

/** Progress of a run, saved with every checkpoint (and mirrored in the run folder). */
export interface RunState {
  /** Epochs completed so far (the next epoch to run, 0-based). */
  epochsCompleted: number;
  /** Epochs the run was asked for. */
  epochs: number;
  history: TrainingHistory;
  /** Lowest val_loss so far and its 0-based epoch; null without validation. */
  bestValLoss: number | null;
  bestEpoch: number | null;
  /**
   * Random state. Shuffling and dropout streams are derived from
   * (seed, epoch), so the seed alone restores them at any epoch boundary.
   */
  random: { seed: number; scheme: 'derived-per-epoch' };
  /** The tfjs backend that wrote it. */
  backend: string;
  /** ISO time of the write. */
  updatedAt: string;
}

/** Everything a run folder holds, as read back by {@link readRun}. */
export interface RunRecord {
  runDir: string;
  config: ExperimentConfig;
  history: TrainingHistory | null;
  state: RunState | null;
  /** The finished run's result; null while it is running or after a crash. */
  metrics: RunResult | null;
  /** Which checkpoints exist. */
  checkpoints: CheckpointKind[];
}

/** The names of the files and folders in a run folder. */
export const RUN_FILES = {
  config: 'config.json',
  history: 'history.json',
  state: 'state.json',
  metrics: 'metrics.json',
  checkpoints: 'checkpoints',
  modelJson: 'model.json',
  weights: 'weights.bin',
} as const;

const ASIDE_SUFFIX = '.previous';

/** The folder of a checkpoint, recovering from a kill between the two renames of a swap. */
export async function checkpointDir(runDir: string, which: CheckpointKind): Promise<string | undefined> {
  const dir = path.join(runDir, RUN_FILES.checkpoints, which);
  if (await pathExists(path.join(dir, RUN_FILES.modelJson))) return dir;
  const aside = dir + ASIDE_SUFFIX;
  if (await pathExists(path.join(aside, RUN_FILES.modelJson))) return aside;
  return undefined;
}

async function fsyncFile(file: string): Promise<void> {
  const handle = await fs.open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Move a fully written temp folder into place as checkpoint folder `target` (two renames, see above). */
async function swapInto(temp: string, target: string): Promise<void> {
  const aside = target + ASIDE_SUFFIX;
  await fs.rm(aside, { recursive: true, force: true });
  if (await pathExists(target)) await fs.rename(target, aside);
  await fs.rename(temp, target);
  await fs.rm(aside, { recursive: true, force: true });
}

/** A full disk or a missing permission while writing a checkpoint, as a message (the temp folder is removed first). */
async function checkpointWriteFailed(error: unknown, temp: string, target: string): Promise<never> {
  await fs.rm(temp, { recursive: true, force: true }).catch(() => undefined);
  throw describeFsError(error, {
    path: (error as NodeJS.ErrnoException).path ?? target,
    operation: `write the '${path.basename(target)}' checkpoint:`,
    fix:
      (error as NodeJS.ErrnoException).code === 'ENOSPC'
        ? `Free some space on that disk (a checkpoint here takes about as much as ${path.dirname(target)}/${path.basename(target)}), then run the same command again: it resumes from the last completed epoch.`
        : undefined,
  });
}

/** Write `model` (with optimizer state) and `state` as checkpoint `which`, atomically. */
export async function saveCheckpoint(runDir: string, which: CheckpointKind, model: tf.LayersModel, state: RunState): Promise<string> {
  const root = path.join(runDir, RUN_FILES.checkpoints);
  const target = path.join(root, which);
  const temp = path.join(root, `.${which}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await fs.mkdir(root, { recursive: true });
    await fs.mkdir(temp);
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        const modelJson = {
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: [RUN_FILES.weights], weights: artifacts.weightSpecs ?? [] }],
          format: artifacts.format,
          generatedBy: artifacts.generatedBy,
          convertedBy: artifacts.convertedBy,
          ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
        };
        const weightData = artifacts.weightData;
        const bytes = weightData === undefined ? new Uint8Array(0) : new Uint8Array(Array.isArray(weightData) ? tf.io.concatenateArrayBuffers(weightData) : weightData);
        await fs.writeFile(path.join(temp, RUN_FILES.weights), bytes);
        await fs.writeFile(path.join(temp, RUN_FILES.modelJson), JSON.stringify(modelJson));
        await fs.writeFile(path.join(temp, RUN_FILES.state), JSON.stringify(state, null, 2) + '\n');
        for (const file of [RUN_FILES.weights, RUN_FILES.modelJson, RUN_FILES.state]) await fsyncFile(path.join(temp, file));
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: bytes.byteLength } };
      }),
      { includeOptimizer: true },
    );
    await swapInto(temp, target);
    return target;
  } catch (error) {
    return checkpointWriteFailed(error, temp, target);
  }
}

/**
 * Make checkpoint `to` a copy of checkpoint `from` through hard links (the
 * same files, no extra space; a plain copy where links are not possible),
 * swapped in atomically like a fresh write.
 */
async function copyCheckpoint(runDir: string, from: CheckpointKind, to: CheckpointKind): Promise<string> {
  const root = path.join(runDir, RUN_FILES.checkpoints);
  const source = path.join(root, from);
  const target = path.join(root, to);
  const temp = path.join(root, `.${to}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await fs.mkdir(temp);
    for (const file of [RUN_FILES.weights, RUN_FILES.modelJson, RUN_FILES.state]) {
      await fs.link(path.join(source, file), path.join(temp, file)).catch(async (error: NodeJS.ErrnoException) => {
        if (!['EXDEV', 'EPERM', 'ENOTSUP', 'EMLINK'].includes(error.code ?? '')) throw error;
        await fs.copyFile(path.join(source, file), path.join(temp, file));
      });
    }
    await swapInto(temp, target);
    return target;
  } catch (error) {
    return checkpointWriteFailed(error, temp, target);
  }
}

async function readJson<T>(file: string): Promise<T> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw error;
    throw new MnistLabError(`${file} is not valid JSON (${(error as Error).message}). Delete the run folder and train again.`);
  }
}

async function readJsonIfExists<T>(file: string): Promise<T | null> {
  return (await pathExists(file)) ? readJson<T>(file) : null;
}

/** The state saved with a checkpoint (consistent with its weights), or null without one. */
export async function readCheckpointState(runDir: string, which: CheckpointKind): Promise<RunState | null> {
  const dir = await checkpointDir(runDir, which);
  return dir === undefined ? null : readJsonIfExists<RunState>(path.join(dir, RUN_FILES.state));
}

/**
 * Load a checkpoint as a compiled model with its optimizer state. When the
 * run's config is there, the optimizer is the Keras-exact one of
 * `createMlp`/`createCnn` (a plain `tf.loadLayersModel` gives tfjs's own class).
 */
export async function loadCheckpoint(runDir: string, which: CheckpointKind = 'best'): Promise<tf.LayersModel> {
  const dir = await checkpointDir(runDir, which);
  if (dir === undefined) {
    const hint = which === 'best' ? 'best is written only when training has validation data; try "last".' : 'the run has not completed an epoch yet.';
    throw new MnistLabError(`No '${which}' checkpoint in ${path.resolve(runDir)}: ${hint} Train with \`mnist-lab train --out ${runDir}\` first.`);
  }
  const modelJson = await readJson<tf.io.ModelJSON>(path.join(dir, RUN_FILES.modelJson));
  const weightData = await fs.readFile(path.join(dir, RUN_FILES.weights));
  const weightSpecs = modelJson.weightsManifest.flatMap((group) => group.weights);
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: modelJson.modelTopology,
      weightSpecs,
      weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength),
      trainingConfig: modelJson.trainingConfig,
      format: modelJson.format,
      generatedBy: modelJson.generatedBy,
      convertedBy: modelJson.convertedBy,
    }),
  );
  const config = await readJsonIfExists<{ model?: ModelConfig }>(path.join(runDir, RUN_FILES.config));
  if (config?.model !== undefined && model.optimizer != null) await useKerasOptimizer(model, config.model);
  return model;
}

/**
 * Free a model loaded from a checkpoint, optimizer state included:
 * `model.dispose()` leaves an optimizer it did not create itself (as after
 * loading) alive, with one tensor per moment estimate.
 */
export function disposeWithOptimizer(model: tf.LayersModel): void {
  const optimizer = model.optimizer as tf.Optimizer | null | undefined;
  model.dispose();
  optimizer?.dispose();
}

/** Swap the optimizer tfjs deserialised for the Keras-exact one, carrying its state over. */
async function useKerasOptimizer(model: tf.LayersModel, config: ModelConfig): Promise<void> {
  const loaded = model.optimizer;
  const keras = createOptimizer(config.optimizer, config.optimizerOptions);
  if (keras.getClassName() !== loaded.getClassName()) {
    keras.dispose();
    return;
  }
  const state = await loaded.getWeights();
  await keras.setWeights(state);
  // tfjs's getWeights makes a fresh `iter` tensor that nobody else frees.
  state[0]?.tensor.dispose();
  loaded.dispose();
  model.optimizer = keras;
}

/** Write the run's config (at the start of a run): the experiment as it runs, its seed applied (withSeed). */
export async function writeRunConfig(runDir: string, config: ExperimentConfig): Promise<void> {
  await writeJsonAtomic(path.join(runDir, RUN_FILES.config), config);
}

/** The run's config.json, or null when there is none. (Folders written before the seed lived only in model/train carry a copy at the top; it is dropped.) */
async function readRunConfig(runDir: string): Promise<ExperimentConfig | null> {
  const saved = await readJsonIfExists<ExperimentConfig & { seed?: number }>(path.join(runDir, RUN_FILES.config));
  if (saved === null) return null;
  const { seed: _legacySeed, ...config } = saved;
  return config;
}

/** Save the end-of-epoch files: best (when improved), last, then history and state mirrors. */
export async function saveEpoch(runDir: string, model: tf.LayersModel, state: RunState, improved: boolean): Promise<void> {
  if (improved) {
    // best and last hold the same weights after an improving epoch: write them once and link,
    // so a swap never needs more than one extra checkpoint of free space.
    await saveCheckpoint(runDir, 'best', model, state);
    await copyCheckpoint(runDir, 'best', 'last');
  } else {
    await saveCheckpoint(runDir, 'last', model, state);
  }
  await saveWeightSnapshot(runDir, model, state.epochsCompleted);
  await writeJsonAtomic(path.join(runDir, RUN_FILES.history), state.history);
  await writeJsonAtomic(path.join(runDir, RUN_FILES.state), state);
}

/** Read a run folder: config, history, state, metrics and which checkpoints exist. */
export async function readRun(runDir: string): Promise<RunRecord> {
  const configFile = path.join(runDir, RUN_FILES.config);
  if (!(await pathExists(configFile))) {
    throw new MnistLabError(`${path.resolve(runDir)} is not a run folder (no ${RUN_FILES.config}). Pass the folder given to \`mnist-lab train --out\`.`);
  }
  const config = (await readRunConfig(runDir)) as ExperimentConfig;
  const lastState = await readCheckpointState(runDir, 'last');
  const state = lastState ?? (await readJsonIfExists<RunState>(path.join(runDir, RUN_FILES.state)));
  const history = state?.history ?? (await readJsonIfExists<TrainingHistory>(path.join(runDir, RUN_FILES.history)));
  const metrics = await readJsonIfExists<RunResult>(path.join(runDir, RUN_FILES.metrics));
  const checkpoints: CheckpointKind[] = [];
  for (const which of ['best', 'last'] as const) if ((await checkpointDir(runDir, which)) !== undefined) checkpoints.push(which);
  return { runDir: path.resolve(runDir), config, history, state, metrics, checkpoints };
}
