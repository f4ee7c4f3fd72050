import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  tf,
  initBackend,
  createMlp,
  fit,
  evaluate,
  loadData,
  scaleImages,
  subset,
  toTensor,
  sliceRows,
  runExperiment,
  readRun,
  loadCheckpoint,
  getPreset,
  deriveSeed,
  SeededRandom,
  ProgressReporter,
  streamSink,
  ConfigError,
  DEFAULT_MLP,
  type ProgressSink,
  type TrainingHistory,
} from '../src';
import { tslabKernel } from '../src/util/tslab';
import { REAL_DATA_DIR, tempDir } from './helpers/fixtures';

const real = { skip: REAL_DATA_DIR ? false : 'MNIST_LAB_DATA is not set' };
const SMALL_MODEL = { ...DEFAULT_MLP, hiddenUnits: [64], dropoutRate: 0.2 };

function disposeModel(model: tf.LayersModel): void {
  model.optimizer?.dispose();
  model.dispose();
}

describe('training on a small real MNIST subset', real, () => {
  let images: tf.Tensor;
  let labels: tf.Tensor;
  before(async () => {
    await initBackend();
    const [[trainImages, trainLabels]] = await loadData('mnist', { dataDir: REAL_DATA_DIR });
    const [someImages, someLabels] = subset(trainImages, trainLabels, 1500);
    images = toTensor(scaleImages(someImages));
    labels = toTensor(someLabels, 'int32');
  });

  test('learns far above chance, history has Keras keys, one entry per epoch, no tensors leak', async () => {
    const model = createMlp(SMALL_MODEL);
    const start = tf.memory().numTensors;
    const perEpoch: number[] = [];
    const history = await fit(model, images, labels, {
      epochs: 3,
      batchSize: 32,
      validationSplit: 0.2,
      verbose: 0,
      callbacks: { onEpochEnd: () => void perEpoch.push(tf.memory().numTensors) },
    });
    assert.deepEqual(history.epoch, [0, 1, 2]);
    for (const key of ['loss', 'acc', 'val_loss', 'val_acc', 'seconds'] as const) assert.equal(history.history[key]?.length, 3, key);
    assert.ok(history.history.val_acc![2] > 0.75, `val_acc ${history.history.val_acc![2]}`);
    assert.ok(history.history.loss[2] < history.history.loss[0]);
    assert.ok(history.history.seconds.every((seconds) => seconds > 0));
    // The optimizer's slots appear in the first step; after that the count must stay flat.
    assert.equal(new Set(perEpoch).size, 1, `tensors per epoch: ${perEpoch}`);
    const afterFirst = tf.memory().numTensors;
    await fit(model, images, labels, { epochs: 2, batchSize: 64, verbose: 0 });
    assert.equal(tf.memory().numTensors, afterFirst, 'a second fit leaks nothing');
    disposeModel(model);
    assert.ok(tf.memory().numTensors <= start, 'model and optimizer free everything');
  });

  test('validationSplit is the LAST fraction, taken before shuffling (Keras)', async () => {
    const model = createMlp({ ...SMALL_MODEL, dropoutRate: 0 });
    const history = await fit(model, images, labels, { epochs: 1, batchSize: 50, validationSplit: 0.2, verbose: 0 });
    const splitAt = Math.floor(1500 * 0.8);
    const tail = evaluate(model, tf.slice(images, splitAt), tf.slice(labels, splitAt));
    assert.ok(Math.abs(tail.loss - history.history.val_loss![0]) < 1e-5, `${tail.loss} vs ${history.history.val_loss![0]}`);
    assert.equal(tail.acc, history.history.val_acc![0]);
    const head = evaluate(model, tf.slice(images, 0, 300), tf.slice(labels, 0, 300));
    assert.notEqual(head.loss, tail.loss);
    disposeModel(model);
  });

  test('same seed, same backend: identical history; another seed: a different one', async () => {
    const run = async (seed: number): Promise<TrainingHistory> => {
      const model = createMlp({ ...SMALL_MODEL, seed });
      const history = await fit(model, images, labels, { epochs: 2, batchSize: 32, validationSplit: 0.2, seed, verbose: 0 });
      disposeModel(model);
      return history;
    };
    const first = await run(3);
    const second = await run(3);
    assert.deepEqual(second.history.loss, first.history.loss);
    assert.deepEqual(second.history.val_loss, first.history.val_loss);
    const other = await run(4);
    assert.notDeepEqual(other.history.loss, first.history.loss);
  });

  test('one-hot labels with categorical loss give the same run as class indices', async () => {
    const run = async (targets: tf.Tensor): Promise<number[]> => {
      const model = createMlp({ ...SMALL_MODEL, seed: 5 });
      const history = await fit(model, images, targets, { epochs: 1, batchSize: 100, verbose: 0, seed: 5 });
      disposeModel(model);
      return history.history.loss;
    };
    const oneHot = tf.oneHot(tf.cast(labels, 'int32') as tf.Tensor1D, 10);
    assert.deepEqual(await run(oneHot), await run(labels));
    oneHot.dispose();
  });

  test('restoreBestWeights puts back the epoch with the lowest val_loss', async () => {
    const model = createMlp({ ...SMALL_MODEL, optimizerOptions: { learningRate: 0.05 } });
    const history = await fit(model, images, labels, { epochs: 4, batchSize: 32, validationSplit: 0.2, verbose: 0, restoreBestWeights: true });
    const tail = evaluate(model, tf.slice(images, 1200), tf.slice(labels, 1200));
    const best = Math.min(...history.history.val_loss!);
    assert.ok(Math.abs(tail.loss - best) < 1e-5, `restored ${tail.loss}, best ${best}, all ${history.history.val_loss}`);
    disposeModel(model);
  });

  test('bad inputs fail with the field named', async () => {
    const model = createMlp(SMALL_MODEL);
    await assert.rejects(fit(model, images, labels, { epochs: 0, verbose: 0 }), (error: unknown) => error instanceof ConfigError && /^epochs: must be a positive integer/.test(error.message));
    await assert.rejects(fit(model, images, tf.slice(labels, 0, 10), { epochs: 1, verbose: 0 }), /labels: there are 10 labels for 1500 images/);
    await assert.rejects(fit(model, images, labels, { validationSplit: 1, verbose: 0 }), /validationSplit: must be in \[0, 1\)/);
    disposeModel(model);
  });

  test('runExperiment: trains a preset on a subset, writes the run folder, tests the best checkpoint', async () => {
    const runDir = path.join(tempDir(), 'run');
    const experiment = { ...getPreset('S1-h128'), trainLimit: 1000, testLimit: 500 };
    experiment.train.epochs = 2;
    const epochs: number[] = [];
    const before = tf.memory().numTensors;
    const result = await runExperiment(experiment, { seed: 11, runDir, verbose: 0, dataDir: REAL_DATA_DIR, onEpoch: (epoch) => epochs.push(epoch) });
    assert.equal(tf.memory().numTensors, before, 'runExperiment frees its model and data');
    assert.deepEqual(epochs, [0, 1]);
    assert.equal(result.seed, 11);
    assert.equal(result.config.model.seed, 11);
    assert.ok(result.test.acc > 0.7, `test acc ${result.test.acc}`);
    assert.equal(result.history.epoch.length, 2);
    assert.ok(result.bestEpoch === 0 || result.bestEpoch === 1);
    assert.equal(result.overfitGap, result.finalTrainAcc - result.test.acc);
    const record = await readRun(runDir);
    assert.deepEqual(record.checkpoints, ['best', 'last']);
    assert.equal(record.metrics?.test.acc, result.test.acc);
    assert.equal(record.state?.epochsCompleted, 2);
    assert.equal(record.config.seed, 11);
    const best = await loadCheckpoint(runDir, 'best');
    const [testImagesAll, testLabelsAll] = (await loadData('mnist', { dataDir: REAL_DATA_DIR }))[1];
    const metrics = evaluate(best, scaleImages(sliceRows(testImagesAll, 0, 500)), sliceRows(testLabelsAll, 0, 500));
    assert.ok(Math.abs(metrics.acc - result.test.acc) < 1e-9, 'the tested weights are the best checkpoint');
    disposeModel(best);
    await assert.rejects(loadCheckpoint(tempDir(), 'last'), /No 'last' checkpoint in .*Train with `mnist-lab train --out/);
  });
});

describe('random streams', () => {
  test('derived seeds differ by seed, purpose and epoch', () => {
    const seeds = [deriveSeed(1, 'shuffle', 0), deriveSeed(2, 'shuffle', 0), deriveSeed(1, 'dropout', 0), deriveSeed(1, 'shuffle', 1)];
    assert.equal(new Set(seeds).size, seeds.length);
    assert.equal(deriveSeed(1, 'shuffle', 0), seeds[0]);
  });

  test('dropout masks: a new mask every step, reproducible from the seed, rate and scale as Keras', () => {
    const random = new SeededRandom(9);
    const first = random.dropoutMask(20000, 0.2);
    const second = random.dropoutMask(20000, 0.2);
    assert.notDeepEqual(first, second);
    assert.deepEqual(new SeededRandom(9).dropoutMask(20000, 0.2), first);
    const dropped = first.filter((value) => value === 0).length / first.length;
    assert.ok(Math.abs(dropped - 0.2) < 0.015, `dropped ${dropped}`);
    assert.ok(first.every((value) => value === 0 || Math.abs(value - 1 / 0.8) < 1e-6));
  });

  test('permutation is a shuffle of every index', () => {
    const order = new SeededRandom(3).permutation(1000);
    assert.deepEqual([...order].sort((a, b) => a - b), Array.from({ length: 1000 }, (_, index) => index));
    assert.notDeepEqual([...order.slice(0, 10)], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe('progress display', () => {
  const capture = (): ProgressSink & { lines: string[]; updates: string[] } => {
    const lines: string[] = [];
    const updates: string[] = [];
    return { lines, updates, update: (line) => void updates.push(line), commit: (line) => void lines.push(line) };
  };

  test('Keras-style lines: Epoch n/N, steps, bar, time, ms/step, metrics', () => {
    const sink = capture();
    const reporter = new ProgressReporter(1, sink, 0);
    reporter.epochBegin(2, 10, 375);
    assert.ok(reporter.wantsUpdate(1));
    reporter.batch(100, 375, 0.8, { loss: 0.1, acc: 0.97 }, 1);
    reporter.epochEnd(375, { loss: 0.0912, acc: 0.9721, val_loss: 0.0898, val_acc: 0.9787, seconds: 3.1 });
    assert.equal(sink.lines[0], 'Epoch 3/10');
    assert.match(sink.updates[0], /^100\/375 \[=======>\.{22}\] - ETA: 2s - loss: 0\.1000 - acc: 0\.9700$/);
    assert.equal(sink.lines[1], `375/375 [${'='.repeat(30)}] - 3s 8ms/step - loss: 0.0912 - acc: 0.9721 - val_loss: 0.0898 - val_acc: 0.9787`);
  });

  test('verbose 2 writes one line per epoch, verbose 0 nothing', () => {
    const two = capture();
    const reporter = new ProgressReporter(2, two);
    reporter.epochBegin(0, 1, 10);
    assert.equal(reporter.wantsUpdate(100), false);
    reporter.epochEnd(10, { loss: 0.5, acc: 0.8, seconds: 0.2 });
    assert.deepEqual(two.lines, ['Epoch 1/1', '10/10 - 0s 20ms/step - loss: 0.5000 - acc: 0.8000']);
    const zero = capture();
    const quiet = new ProgressReporter(0, zero);
    quiet.epochBegin(0, 1, 10);
    quiet.epochEnd(10, { loss: 0.5, acc: 0.8, seconds: 0.2 });
    assert.deepEqual(zero.lines, []);
  });

  test('without a TTY, only finished lines are written (no \\r)', () => {
    const written: string[] = [];
    const stream = { isTTY: false, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream;
    const sink = streamSink(stream);
    sink.update('half way');
    sink.commit('done');
    assert.deepEqual(written, ['done\n']);
  });

  test('inside tslab, progress goes to one display that is updated in place', () => {
    assert.equal(tslabKernel(), undefined, 'not in a notebook here');
    // A stand-in for the kernel's tslab module, as the kernel leaves it during a cell.
    const dir = path.join(tempDir(), 'node_modules', 'tslab', 'dist');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'jupyter.js'), 'exports.lastWriteDisplayData = () => {};');
    writeFileSync(
      path.join(dir, 'public.js'),
      'exports.shown = []; let next = 0; exports.newDisplay = () => { const id = next++; return { html: (html) => exports.shown.push([id, html]) }; };',
    );
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(path.join(dir, 'jupyter.js'));
    try {
      const kernel = tslabKernel();
      assert.ok(kernel !== undefined);
      const reporter = new ProgressReporter(1, undefined, 0);
      reporter.epochBegin(0, 2, 5);
      reporter.batch(2, 5, 0.1, { loss: 1, acc: 0.5 }, 1);
      reporter.epochEnd(5, { loss: 1, acc: 0.5, seconds: 0.2 });
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const shown = (require(path.join(dir, 'public.js')) as { shown: [number, string][] }).shown;
      assert.ok(shown.length >= 3);
      assert.equal(new Set(shown.map(([id]) => id)).size, 1, 'one display block');
      assert.match(shown[shown.length - 1][1], /^<pre>Epoch 1\/2\n5\/5 \[=+\] - 0s 40ms\/step - loss: 1\.0000 - acc: 0\.5000\n<\/pre>$/);
    } finally {
      delete require.cache[path.join(dir, 'jupyter.js')];
      void fs.rm(dir, { recursive: true, force: true });
    }
  });
});

