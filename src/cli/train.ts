/**
 * `mnist-lab train`: a preset or flags, trained with checkpoints in a run
 * folder; running the same command again resumes it.
 */
import * as path from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../errors';
import { parseChoice, parseNumber, positiveInteger } from './flags';
import { ACTIVATIONS, LOSSES, OPTIMIZERS, DEFAULT_MLP, type Activation, type LossName, type OptimizerName } from '../model/config';
import { DEFAULT_TRAIN } from '../train/types';
import { streamSink } from '../train/progress';
import { formatMetric, percent } from '../util/format';
import { PRESET_IDS, getPreset } from '../experiments/presets';
import { runExperiment } from '../experiments/run';
import { createLivePlot } from '../viz/live';
import { stopOnSignals } from './signals';
import type { ExperimentConfig, RunResult } from '../runs/types';
import { withSeed } from '../runs/identity';
import { DATASET_NAMES, isDatasetName } from '../data/registry';
import { DEFAULT_CNN, PADDINGS, isCnnConfig, type Padding } from '../model/config';
import { validateAugment } from '../train/augment';
import { parsePreprocessMode } from './flags';

/** Flags shared by `train` and `summary` that describe the experiment. */
export interface ExperimentFlags {
  preset?: string;
  architecture?: string;
  filters?: string;
  kernelSize?: string;
  padding?: string;
  hidden?: string;
  dropout?: string;
  activation?: string;
  optimizer?: string;
  learningRate?: string;
  loss?: string;
  scale?: boolean;
  epochs?: string;
  batchSize?: string;
  validationSplit?: string;
  seed?: string;
  limit?: string;
  dataset?: string;
  dataFolder?: string;
  mode?: string;
  skipBad?: boolean;
  rotationRange?: string;
  widthShiftRange?: string;
  heightShiftRange?: string;
  zoomRange?: string;
  initFrom?: string;
}

/** Add the experiment flags to a command. */
export function addExperimentOptions(command: Command): Command {
  return command
    .option('--preset <id>', `a reference experiment: ${PRESET_IDS.join(', ')} (flags given as well override it)`)
    .option('--architecture <kind>', 'mlp (Flatten + Dense layers) or cnn (the keras.io convnet: Conv2D + MaxPooling2D blocks); default: the preset\'s, else mlp')
    .option('--filters <counts>', 'cnn: filters of each Conv2D layer, comma-separated, e.g. 32,64')
    .option('--kernel-size <n>', 'cnn: height and width of every Conv2D kernel')
    .option('--padding <kind>', `cnn: Conv2D padding, ${PADDINGS.join(' or ')}`)
    .option('--hidden <units>', 'hidden Dense layer sizes, comma-separated, e.g. 512,512 (empty string: none; for cnn, the Dense layers after Flatten)')
    .option('--dropout <rate>', 'dropout rate after each hidden layer, 0 for none')
    .option('--activation <name>', `hidden activation: ${ACTIVATIONS.join(', ')}`)
    .option('--optimizer <name>', `optimizer with Keras defaults: ${OPTIMIZERS.join(', ')}`)
    .option('--learning-rate <rate>', "override the optimizer's default learning rate")
    .option('--loss <name>', `loss: ${LOSSES.join(', ')}`)
    .option('--no-scale', 'feed raw 0-255 pixels (skip the /255 scaling)')
    .option('--epochs <n>', 'passes over the training data')
    .option('--batch-size <n>', 'examples per gradient step')
    .option('--validation-split <fraction>', 'last fraction of the training data held out for validation (Keras semantics)')
    .option('--seed <n>', 'seed for initial weights, shuffling and dropout')
    .option('--limit <n>', 'use only the first n training examples (quick runs)')
    .option('--dataset <name>', `data set: ${DATASET_NAMES.join(', ')}`)
    .option('--data-folder <dir>', 'train on a folder of your own images (one subfolder per class, or a labels.txt; train/ and test/ subfolders or 20% held out for testing)')
    .option('--mode <mode>', 'how --data-folder images become 28x28: mnist (find, crop, centre: photos) or resize (MNIST-like pictures)')
    .option('--skip-bad', 'leave out unreadable images in --data-folder (and say how many)')
    .option('--rotation-range <degrees>', 'augmentation: random turns within +-degrees (Keras rotation_range)')
    .option('--width-shift-range <fraction>', 'augmentation: random horizontal shifts within +-fraction of the width (Keras width_shift_range)')
    .option('--height-shift-range <fraction>', 'augmentation: random vertical shifts within +-fraction of the height (Keras height_shift_range)')
    .option('--zoom-range <fraction>', 'augmentation: random zoom in [1-fraction, 1+fraction] (Keras zoom_range)')
    .option('--init-from <runDir>', 'start from the weights of a trained run (fine-tuning on your own data)');
}

/**
 * The experiment the flags describe: the preset (or a custom experiment on
 * Keras's defaults with a validation split, so overfitting is visible) with
 * each given flag applied on top.
 */
export function experimentFromFlags(flags: ExperimentFlags): ExperimentConfig {
  const experiment: ExperimentConfig =
    flags.preset !== undefined
      ? getPreset(flags.preset)
      : {
          id: 'custom',
          description: 'an experiment given by command-line flags',
          dataset: 'mnist',
          scaleInputs: true,
          model: { ...DEFAULT_MLP },
          train: { ...DEFAULT_TRAIN, batchSize: 128, validationSplit: 0.2 },
          restoreBestWeights: false,
          validateOnTest: false,
        };
  if (flags.architecture !== undefined) {
    const architecture = parseChoice('--architecture', flags.architecture, ['mlp', 'cnn'] as const);
    if (architecture !== (isCnnConfig(experiment.model) ? 'cnn' : 'mlp')) {
      // Switching keeps the training fields (optimizer, loss, seed) and takes the other architecture's default layers.
      const { optimizer, optimizerOptions, loss, seed, numClasses } = experiment.model;
      experiment.model = { ...(architecture === 'cnn' ? DEFAULT_CNN : DEFAULT_MLP), optimizer, optimizerOptions, loss, seed, numClasses };
    }
  }
  const { model, train } = experiment;
  const unitList = (flag: string, text: string) => (text.trim() === '' ? [] : text.split(',').map((part) => positiveInteger(flag, part.trim())));
  if (flags.hidden !== undefined) {
    if (isCnnConfig(model)) model.denseUnits = unitList('--hidden', flags.hidden);
    else model.hiddenUnits = unitList('--hidden', flags.hidden);
  }
  if (flags.filters !== undefined || flags.kernelSize !== undefined || flags.padding !== undefined) {
    if (!isCnnConfig(model)) throw new ConfigError(flags.filters !== undefined ? '--filters' : flags.kernelSize !== undefined ? '--kernel-size' : '--padding', 'applies to convolutional networks only', '--architecture cnn or --preset convnet');
    if (flags.filters !== undefined) model.filters = unitList('--filters', flags.filters);
    if (flags.kernelSize !== undefined) model.kernelSize = positiveInteger('--kernel-size', flags.kernelSize);
    if (flags.padding !== undefined) model.padding = parseChoice<Padding>('--padding', flags.padding, PADDINGS);
  }
  if (flags.dropout !== undefined) model.dropoutRate = parseNumber('--dropout', flags.dropout, (value) => value >= 0 && value < 1, '0 <= rate < 1');
  if (flags.activation !== undefined) model.activation = parseChoice<Activation>('--activation', flags.activation, ACTIVATIONS);
  if (flags.optimizer !== undefined) {
    model.optimizer = parseChoice<OptimizerName>('--optimizer', flags.optimizer, OPTIMIZERS);
    model.optimizerOptions = {};
  }
  if (flags.learningRate !== undefined) {
    model.optimizerOptions = { ...model.optimizerOptions, learningRate: parseNumber('--learning-rate', flags.learningRate, (value) => value > 0, 'a number > 0') };
  }
  if (flags.loss !== undefined) model.loss = parseChoice<LossName>('--loss', flags.loss, LOSSES);
  if (flags.scale === false) experiment.scaleInputs = false;
  if (flags.epochs !== undefined) train.epochs = positiveInteger('--epochs', flags.epochs);
  if (flags.batchSize !== undefined) train.batchSize = positiveInteger('--batch-size', flags.batchSize);
  if (flags.validationSplit !== undefined) {
    train.validationSplit = parseNumber('--validation-split', flags.validationSplit, (value) => value >= 0 && value < 1, '0 <= fraction < 1');
    if (train.validationSplit === 0) experiment.restoreBestWeights = false;
  }
  if (flags.limit !== undefined) experiment.trainLimit = positiveInteger('--limit', flags.limit);
  if (flags.dataset !== undefined) {
    if (!isDatasetName(flags.dataset)) throw new ConfigError('--dataset', `unknown data set '${flags.dataset}'`, DATASET_NAMES.join(', '));
    experiment.dataset = flags.dataset;
  }
  if (flags.dataFolder !== undefined) {
    if (flags.dataset !== undefined) throw new ConfigError('--data-folder', 'cannot be combined with --dataset', 'one of them');
    experiment.dataset = { folder: path.resolve(flags.dataFolder), ...(flags.mode !== undefined ? { mode: parsePreprocessMode(flags.mode) } : {}), ...(flags.skipBad ? { skipBad: true } : {}) };
  } else if (flags.mode !== undefined || flags.skipBad) {
    throw new ConfigError(flags.mode !== undefined ? '--mode' : '--skip-bad', 'only applies to --data-folder', 'add --data-folder DIR');
  }
  const ranges = { rotationRange: flags.rotationRange, widthShiftRange: flags.widthShiftRange, heightShiftRange: flags.heightShiftRange, zoomRange: flags.zoomRange };
  const given = Object.entries(ranges).filter(([, text]) => text !== undefined);
  if (given.length > 0) {
    const flagName = (key: string) => `--${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
    const parsed = Object.fromEntries(given.map(([key, text]) => [key, parseNumber(flagName(key), text as string, (value) => value >= 0, 'a number >= 0')]));
    train.augment = validateAugment({ ...train.augment, ...parsed }, 'augment');
  }
  if (flags.initFrom !== undefined) experiment.initFrom = path.resolve(flags.initFrom);
  if (flags.seed === undefined) return experiment;
  return withSeed(experiment, parseNumber('--seed', flags.seed, (value) => Number.isInteger(value) && value >= 0, 'a whole number >= 0'));
}

interface TrainFlags extends ExperimentFlags {
  out?: string;
  resume: boolean;
  json?: boolean;
  quiet?: boolean;
  dataDir?: string;
}

/** A few lines a learner reads after training. */
function formatRunResult(result: RunResult): string {
  const lines = [
    `${result.id} (seed ${result.seed}, ${result.backend}): test loss ${formatMetric(result.test.loss)}, test accuracy ${percent(result.test.acc)}`,
    `final train accuracy ${percent(result.finalTrainAcc)}, gap to test ${(result.overfitGap * 100).toFixed(2)} points`,
  ];
  if (result.bestEpoch !== null && result.bestValLoss !== null) {
    lines.push(`lowest val_loss ${formatMetric(result.bestValLoss)} at epoch ${result.bestEpoch + 1}` + (result.config.restoreBestWeights ? ' (its weights were tested)' : ''));
  }
  if (result.config.reference) {
    const source = result.config.reference.source.endsWith('.txt') ? 'the tutorial' : result.config.reference.source;
    lines.push(`${source} reported test accuracy ${percent(result.config.reference.testAcc)}`);
  }
  lines.push(`${result.epochSeconds.toFixed(1)} s/epoch (median), ${result.totalSeconds.toFixed(1)} s in total`);
  if (result.runDir) lines.push(`run folder: ${result.runDir}`);
  return lines.join('\n');
}

export function registerTrain(program: Command): void {
  addExperimentOptions(program.command('train').description('train a network, MLP or CNN (a preset or flags), with checkpoints; the same command again resumes it'))
    .option('--out <dir>', 'run folder for config, history, checkpoints and metrics (default runs/<preset or custom>)')
    .option('--resume', 'continue from the run folder (the default when it holds a matching run)')
    .option('--no-resume', 'start afresh, replacing the checkpoints in the run folder')
    .option('--data-dir <dir>', 'folder with one subfolder per data set (default: env MNIST_LAB_DATA)')
    .option('--json', 'print the run result as JSON (progress goes to stderr)')
    .option('--quiet', 'no progress output')
    .option('--plot [file]', 'live training curves in the browser (nodeplotlib, offline); without a display, written to this file (default <run>/training-curves.html)')
    .action(async (flags: TrainFlags & { plot?: boolean | string }) => {
      const experiment = experimentFromFlags(flags);
      const runDir = path.resolve(flags.out ?? path.join('runs', experiment.id));
      stopOnSignals(() => `the last completed epoch is saved in ${runDir}. Run the same command again to resume.`);
      const live = flags.plot
        ? await createLivePlot({
            title: `Training curves: ${experiment.id}`,
            outFile: typeof flags.plot === 'string' ? path.resolve(flags.plot) : path.join(runDir, 'training-curves.html'),
          })
        : undefined;
      let result: RunResult;
      try {
        result = await runExperiment(experiment, {
          runDir,
          dataDir: flags.dataDir,
          resume: flags.resume,
          verbose: flags.quiet ? 0 : 1,
          progressSink: flags.json ? streamSink(process.stderr) : undefined,
          onEpoch: live ? (epoch, logs) => live.onEpoch(epoch, logs) : undefined,
        });
      } finally {
        await live?.close();
      }
      console.log(flags.json ? JSON.stringify(result, null, 2) : formatRunResult(result));
    });
}
