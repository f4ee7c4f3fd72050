/**
 * A small MLP trained in-test on a real MNIST subset, for the evaluation,
 * parameter and prediction tests (built with plain tfjs, so these tests do
 * not depend on src/model or src/train), and the photo test's model (the
 * lab's own seeded createMlp + fit, shared with bench/photo-breakdown.ts).
 */
import { createMlp, fit, initBackend, loadData, scaleImages, subset, toCategorical, toTensor, tf } from '../../src';
import type { ImageArray, LabelArray, TrainingHistory } from '../../src';
import type { ExperimentConfig } from '../../src/runs/types';
import { DEFAULT_MLP } from '../../src/model/config';
import { DEFAULT_TRAIN } from '../../src/train/types';
import { saveCheckpoint, writeRunConfig, type RunState } from '../../src/runs/folder';
import { buildProgram } from '../../src/cli/main';

export interface TinyMnist {
  trainImages: ImageArray;
  trainLabels: LabelArray;
  testImages: ImageArray;
  testLabels: LabelArray;
}

/** The first `trainCount` training and `testCount` test examples of real MNIST. */
export async function loadTinyMnist(dataDir: string, trainCount = 2000, testCount = 500): Promise<TinyMnist> {
  const [[trainImages, trainLabels], [testImages, testLabels]] = await loadData('mnist', { dataDir });
  const [trainSubsetImages, trainSubsetLabels] = subset(trainImages, trainLabels, trainCount);
  const [testSubsetImages, testSubsetLabels] = subset(testImages, testLabels, testCount);
  return { trainImages: trainSubsetImages, trainLabels: trainSubsetLabels, testImages: testSubsetImages, testLabels: testSubsetLabels };
}

/** Flatten - Dense(hiddenUnits, relu) - Dense(10, softmax), compiled as the tutorials do. */
export function buildMlp(hiddenUnits = 64, seed = 1): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.flatten({ inputShape: [28, 28] }));
  model.add(tf.layers.dense({ units: hiddenUnits, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }));
  model.add(tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }));
  model.compile({ optimizer: tf.train.adam(0.001), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

/** Train `buildMlp()` on the subset for a couple of epochs (a few seconds even on the cpu backend). */
export async function trainTinyMlp(data: TinyMnist, epochs = 3, hiddenUnits = 64): Promise<tf.Sequential> {
  await initBackend({ quiet: true });
  const model = buildMlp(hiddenUnits);
  const images = toTensor(scaleImages(data.trainImages));
  const labels = toTensor(toCategorical(data.trainLabels));
  await model.fit(images, labels, { epochs, batchSize: 32, shuffle: true, verbose: 0 });
  images.dispose();
  labels.dispose();
  return model;
}

/** Examples the photo test's model is trained on (the first ones of MNIST's training set). */
export const PHOTO_MODEL_TRAIN_COUNT = 20000;

/**
 * The photo test's model: 784-256-10 with adam, 5 epochs at batch 32, seed 1,
 * through the lab's seeded `fit`, so every run measures the same model
 * (test/photo-predict.test.ts and bench/photo-breakdown.ts).
 */
export async function trainPhotoModel(data: TinyMnist): Promise<tf.Sequential> {
  await initBackend({ quiet: true });
  const model = createMlp({ ...DEFAULT_MLP, hiddenUnits: [256], optimizer: 'adam', seed: 1 });
  const images = toTensor(scaleImages(data.trainImages));
  const labels = toTensor(toCategorical(data.trainLabels));
  await fit(model, images, labels, { epochs: 5, batchSize: 32, seed: 1, verbose: 0, validationSplit: 0 });
  images.dispose();
  labels.dispose();
  return model;
}

/**
 * A run folder in the training engineer's format (config.json, checkpoints
 * best/last with state), holding a tiny model trained here with a
 * validation split, so evaluate/predict/params can be tested on a real run.
 */
export async function writeTinyRun(runDir: string, data: TinyMnist, epochs = 2): Promise<tf.Sequential> {
  await initBackend({ quiet: true });
  const model = buildMlp(64);
  const images = toTensor(scaleImages(data.trainImages));
  const labels = toTensor(toCategorical(data.trainLabels));
  const fitted = await model.fit(images, labels, { epochs, batchSize: 32, validationSplit: 0.2, verbose: 0 });
  images.dispose();
  labels.dispose();
  const series = (key: string) => (fitted.history[key] as number[]).map(Number);
  const history: TrainingHistory = {
    epoch: fitted.epoch,
    history: { loss: series('loss'), acc: series('acc'), val_loss: series('val_loss'), val_acc: series('val_acc'), seconds: fitted.epoch.map(() => 1) },
  };
  const config: ExperimentConfig = {
    id: 'tiny',
    description: 'test fixture: 784-64-10 trained on a subset',
    dataset: 'mnist',
    scaleInputs: true,
    model: { ...DEFAULT_MLP, hiddenUnits: [64], optimizer: 'adam' },
    train: { ...DEFAULT_TRAIN, epochs, validationSplit: 0.2, verbose: 0 },
    restoreBestWeights: false,
    validateOnTest: false,
    trainLimit: data.trainLabels.shape[0],
    testLimit: data.testLabels.shape[0],
  };
  const state: RunState = {
    epochsCompleted: epochs,
    epochs,
    history,
    bestValLoss: Math.min(...history.history.val_loss!),
    bestEpoch: history.history.val_loss!.indexOf(Math.min(...history.history.val_loss!)),
    random: { seed: 1, scheme: 'derived-per-epoch' },
    backend: tf.getBackend(),
    updatedAt: new Date().toISOString(),
  };
  await writeRunConfig(runDir, config);
  await saveCheckpoint(runDir, 'best', model, state);
  await saveCheckpoint(runDir, 'last', model, state);
  return model;
}

/** Run a CLI command in-process and return what it printed with console.log. */
export async function runCli(args: string[]): Promise<string> {
  const printed: string[] = [];
  const original = console.log;
  console.log = (...values: unknown[]) => void printed.push(values.map(String).join(' '));
  try {
    await buildProgram().exitOverride().parseAsync(['node', 'mnist-lab', ...args]);
  } finally {
    console.log = original;
  }
  return printed.join('\n');
}
