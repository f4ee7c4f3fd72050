/**
 * The reference experiments (`../shared/reference/seed-experiments.md`) as
 * typed configs, each with the numbers its tutorial reported. An
 * ablation is a spread over one of these: `{...getPreset('S1-base'), ...}`.
 */
import { ConfigError } from '../errors';
import { DEFAULT_MLP, type MlpConfig } from '../model/config';
import { DEFAULT_CNN } from '../model/config';
import { DEFAULT_TRAIN, type TrainConfig } from '../train/types';
import type { ExperimentConfig } from '../runs/types';

const SEED_FILES = {
  S0: '000_069e4350b7e19522.txt',
  S1: '001_c7b75ae818378f8e.txt',
  S2: '002_8ad453a38b073dd2.txt',
  S3: '003_07f5126cb3c42c55.txt',
  S4: '004_e3efd9ebb4693348.txt',
} as const;

/** Where the convnet preset comes from (not a tutorial file: the next step tutorial 001 points to). */
const KERAS_CONVNET_SOURCE = 'keras.io/examples/vision/mnist_convnet';

/** The tutorial-001 network: Flatten-512 relu-Dropout-512 relu-Dropout-10 softmax, rmsprop, categorical CE. */
const S1_MODEL: MlpConfig = { ...DEFAULT_MLP, hiddenUnits: [512, 512], dropoutRate: 0.2 };

/** Tutorial 001's training: the tutorial it follows used these epochs; the best val_loss epoch is tested. */
const S1_TRAIN: TrainConfig = { ...DEFAULT_TRAIN, epochs: 10, batchSize: 128, validationSplit: 0.2 };

function s1Variant(
  id: string,
  description: string,
  change: { model?: Partial<MlpConfig>; train?: Partial<TrainConfig>; scaleInputs?: boolean },
  reference: Omit<ExperimentConfig['reference'] & object, 'source'>,
): ExperimentConfig {
  return {
    id,
    description,
    dataset: 'mnist',
    scaleInputs: change.scaleInputs ?? true,
    model: { ...S1_MODEL, ...change.model },
    train: { ...S1_TRAIN, ...change.train },
    restoreBestWeights: true,
    validateOnTest: false,
    reference: { source: SEED_FILES.S1, ...reference },
  };
}

const PRESET_LIST: ExperimentConfig[] = [
  {
    id: 'S0',
    description: 'MNIST 784-512 relu-10 softmax, rmsprop, 100 epochs without validation: overfits to train acc 1.0',
    dataset: 'mnist',
    scaleInputs: true,
    model: { ...DEFAULT_MLP },
    train: { ...DEFAULT_TRAIN, epochs: 100, batchSize: 128 },
    restoreBestWeights: false,
    validateOnTest: false,
    reference: { source: SEED_FILES.S0, testAcc: 0.9838, trainAcc: 1.0, note: 'final train loss 2.69e-4; the text divides by 225, a typo for 255' },
  },
  s1Variant('S1-base', 'MNIST 512-512 relu with dropout, rmsprop, validation split, best val_loss weights tested', {}, {
    testAcc: 0.9802,
    trainAcc: 0.991,
    valAcc: 0.9787,
    valLoss: 0.0898,
    note: 'train loss 0.0306',
  }),
  s1Variant('S1-h2048', 'S1-base with 2048 units in both hidden layers', { model: { hiddenUnits: [2048, 2048] } }, { testAcc: 0.977, valAcc: 0.9772, valLoss: 0.1508 }),
  s1Variant('S1-h128', 'S1-base with 128 units in both hidden layers', { model: { hiddenUnits: [128, 128] } }, { testAcc: 0.9785, valAcc: 0.9761, valLoss: 0.0903 }),
  s1Variant('S1-nodrop', 'S1-base without Dropout layers', { model: { dropoutRate: 0 } }, { testAcc: 0.9757, trainAcc: 0.9969, valAcc: 0.978, valLoss: 0.1352 }),
  s1Variant('S1-norelu', 'S1-base with linear hidden layers (no ReLU): a linear classifier in disguise', { model: { activation: 'linear' } }, {
    testAcc: 0.9145,
    trainAcc: 0.9106,
    valAcc: 0.9103,
  }),
  s1Variant('S1-noscale', 'S1-base on raw 0-255 pixels (no /255)', { scaleInputs: false }, { testAcc: 0.4902, trainAcc: 0.4807, valAcc: 0.4856 }),
  s1Variant('S1-sgd', 'S1-base with plain SGD (lr 0.01) instead of rmsprop', { model: { optimizer: 'sgd' } }, { testAcc: 0.9349, trainAcc: 0.9189, valAcc: 0.9356 }),
  s1Variant('S1-b512', 'S1-base with batch size 512', { train: { batchSize: 512 } }, { testAcc: 0.9825, trainAcc: 0.996, valAcc: 0.9801 }),
  s1Variant('S1-b32', 'S1-base with batch size 32', { train: { batchSize: 32 } }, { testAcc: 0.9774, trainAcc: 0.9885, valAcc: 0.978 }),
  {
    id: 'S2',
    description: 'MNIST 784-512 relu-10 softmax, adam, sparse categorical CE, 5 epochs',
    dataset: 'mnist',
    scaleInputs: true,
    model: { ...DEFAULT_MLP, optimizer: 'adam', loss: 'sparse_categorical_crossentropy' },
    train: { ...DEFAULT_TRAIN, epochs: 5, batchSize: 128 },
    restoreBestWeights: false,
    validateOnTest: false,
    reference: { source: SEED_FILES.S2, testAcc: 0.981, trainAcc: 0.9904, note: 'first 20 test predictions 7 2 1 0 4 1 4 9 5 9 0 6 9 0 1 5 9 7 3 4' },
  },
  {
    id: 'S3',
    description: 'Fashion-MNIST Flatten-128 relu-10 softmax, adam, sparse categorical CE, 10 epochs',
    dataset: 'fashion-mnist',
    scaleInputs: true,
    model: { ...DEFAULT_MLP, hiddenUnits: [128], optimizer: 'adam', loss: 'sparse_categorical_crossentropy' },
    train: { ...DEFAULT_TRAIN, epochs: 10, batchSize: 32 },
    restoreBestWeights: false,
    validateOnTest: false,
    reference: { source: SEED_FILES.S3, testAcc: 0.8777, trainAcc: 0.9115 },
  },
  {
    id: 'S4',
    description: 'MNIST Flatten-128 relu-10 softmax, adam, sparse CE, 5 epochs validated on the test set',
    dataset: 'mnist',
    scaleInputs: true,
    model: { ...DEFAULT_MLP, hiddenUnits: [128], optimizer: 'adam', loss: 'sparse_categorical_crossentropy' },
    train: { ...DEFAULT_TRAIN, epochs: 5, batchSize: 32 },
    restoreBestWeights: false,
    validateOnTest: true,
    reference: { source: SEED_FILES.S4, testAcc: 0.9767, trainAcc: 0.9854, valAcc: 0.9767, note: 'reported as ranges: train acc 0.9853-0.9854, val (= test) acc 0.9763-0.9770' },
  },
  {
    id: 'convnet',
    description: 'keras.io Simple MNIST convnet: Conv2D 32-MaxPool-Conv2D 64-MaxPool-Flatten-Dropout 0.5-10 softmax, adam, 15 epochs',
    dataset: 'mnist',
    scaleInputs: true,
    model: { ...DEFAULT_CNN },
    train: { ...DEFAULT_TRAIN, epochs: 15, batchSize: 128, validationSplit: 0.1 },
    restoreBestWeights: false,
    validateOnTest: false,
    reference: { source: KERAS_CONVNET_SOURCE, testAcc: 0.99, note: 'keras.io reports about 99% test accuracy (34,826 parameters)' },
  },
];

/** Every reference experiment by id, in the table's order. */
export const PRESETS: Readonly<Record<string, ExperimentConfig>> = Object.freeze(Object.fromEntries(PRESET_LIST.map((preset) => [preset.id, preset])));

/** The ids of {@link PRESETS}, in the table's order. */
export const PRESET_IDS: readonly string[] = PRESET_LIST.map((preset) => preset.id);

/** A deep copy of a preset (safe to modify), or a ConfigError listing the valid ids. */
export function getPreset(id: string): ExperimentConfig {
  const preset = PRESETS[id];
  if (preset === undefined) throw new ConfigError('preset', `unknown preset '${id}'`, PRESET_IDS.join(', '));
  return structuredClone(preset);
}
