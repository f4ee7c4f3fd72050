/**
 * Convolutional networks (issue 16): configs and summary() against Keras 3,
 * the graph step's TensorFlow gradients against tfjs autodiff, the eager
 * fallback, a short real training, checkpoints that resume bit-identically
 * and no leaked tensors.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import {
  tf, initBackend, createCnn, createModel, fit, summary, summarizeModel, getPreset, runExperiment, readRun, loadCheckpoint, loadData, scaleImages,
  evaluate, mostConfidentMistakes, predict, confusionMatrix, argmax, predictImage, overfittingReport, exportParams, importParams, convFilters, featureMaps, renderSvg,
  DEFAULT_CNN, ConfigError, type CnnConfig,
  parameterCount, expandGrid, summarizeResults, formatMarkdown, formatCsv,
} from '../src';
import { labelIndices } from '../src/evaluate/metrics';
import { gridSpecFromFlags } from '../src/cli/flags';
import { runGrid } from '../src/experiments/runner';
import { readResults } from '../src/experiments/results';
import { createGraphTrainer } from '../src/train/graph-step';
import { dropoutMaskShapes } from '../src/train/layer-plan';
import { deriveSeed, SeededRandom } from '../src/util/random';
import { assertSameTraining, disposeModel, graphMask, needGraph, planOf } from './helpers/reference-step';
import { REAL_DATA_DIR, tempDir } from './helpers/fixtures';

const real = { skip: REAL_DATA_DIR ? false : 'MNIST_LAB_DATA is not set' };

/**
 * Parameter counts and output shapes of the same models built once in Keras
 * 3.15 (.venv, scripts/keras/keras_common.py build_cnn) and copied here.
 */
const KERAS_MODELS: { name: string; change: Partial<CnnConfig>; total: number; shapes: string[]; params: number[] }[] = [
  {
    name: 'keras.io convnet',
    change: {},
    total: 34826,
    shapes: ['(None, 26, 26, 32)', '(None, 13, 13, 32)', '(None, 11, 11, 64)', '(None, 5, 5, 64)', '(None, 1600)', '(None, 1600)', '(None, 10)'],
    params: [320, 0, 18496, 0, 0, 0, 16010],
  },
  { name: 'filters [16, 32]', change: { filters: [16, 32] }, total: 12810, shapes: ['(None, 26, 26, 16)', '(None, 13, 13, 16)', '(None, 11, 11, 32)', '(None, 5, 5, 32)', '(None, 800)', '(None, 800)', '(None, 10)'], params: [160, 0, 4640, 0, 0, 0, 8010] },
  {
    name: '5x5 same padding, Dense 128',
    change: { kernelSize: 5, padding: 'same', denseUnits: [128] },
    total: 454922,
    shapes: ['(None, 28, 28, 32)', '(None, 14, 14, 32)', '(None, 14, 14, 64)', '(None, 7, 7, 64)', '(None, 3136)', '(None, 3136)', '(None, 128)', '(None, 128)', '(None, 10)'],
    params: [832, 0, 51264, 0, 0, 0, 401536, 0, 1290],
  },
  { name: 'strides 2, no pooling', change: { strides: 2, poolSize: 0, filters: [8, 16, 32] }, total: 7178, shapes: ['(None, 13, 13, 8)', '(None, 6, 6, 16)', '(None, 2, 2, 32)', '(None, 128)', '(None, 128)', '(None, 10)'], params: [80, 1168, 4640, 0, 0, 1290] },
  { name: 'one sigmoid block, no dropout', change: { filters: [6], activation: 'sigmoid', dropoutRate: 0 }, total: 10210, shapes: ['(None, 26, 26, 6)', '(None, 13, 13, 6)', '(None, 1014)', '(None, 10)'], params: [60, 0, 0, 10150] },
];

describe('CNN configs and summary()', () => {
  for (const { name, change, total, shapes, params } of KERAS_MODELS) {
    test(`${name}: output shapes and parameter counts equal Keras 3's`, async () => {
      await initBackend();
      const model = createCnn({ ...DEFAULT_CNN, ...change });
      const info = summarizeModel(model);
      assert.equal(info.totalParams, total);
      assert.deepEqual(info.rows.map((row) => row.outputShape), shapes);
      assert.deepEqual(info.rows.map((row) => row.params), params);
      disposeModel(model);
    });
  }

  test("summary() reads like Keras's: layer names, types, shapes, totals", async () => {
    await initBackend();
    const model = createModel({ ...DEFAULT_CNN });
    const text = summary(model);
    assert.match(text, /conv2d \(Conv2D\)\s+\(None, 26, 26, 32\)\s+320/);
    assert.match(text, /max_pooling2d_1 \(MaxPooling2D\)\s+\(None, 5, 5, 64\)\s+0/);
    assert.match(text, /dense \(Dense\)\s+\(None, 10\)\s+16,010/);
    assert.match(text, /Total params: 34,826/);
    disposeModel(model);
  });

  test('bad configs fail with the field and a fix before any tensor exists', async () => {
    await initBackend();
    const fails = (change: Partial<CnnConfig>, pattern: RegExp) => assert.throws(() => createCnn({ ...DEFAULT_CNN, ...change } as CnnConfig), (error: unknown) => error instanceof ConfigError && pattern.test(error.message));
    fails({ filters: [] }, /filters: must be a non-empty list/);
    fails({ filters: [32, 0] }, /filters\[1\]: must be a positive integer/);
    fails({ inputShape: [28, 28] }, /inputShape: must be \[height, width, channels\]/);
    fails({ padding: 'full' as 'same' }, /padding: unknown value "full".*valid, same/);
    fails({ filters: [8, 8, 8, 8] }, /Conv2D layer 4 gets a 1x1 input, smaller than its 3x3 kernel/);
    fails({ inputShape: [14, 14, 1], filters: [4, 4], poolSize: 3 }, /poolSize: MaxPooling2D after Conv2D layer 2 gets a 2x2 input, smaller than its 3x3 window/);
    fails({ kernelSize: 30 }, /Conv2D layer 1 gets a 28x28 input, smaller than its 30x30 kernel/);
    fails({ dropoutRate: 1 }, /dropoutRate: must be a number in \[0, 1\)/);
  });
});

/** Random images and labels for the gradient checks. */
function synthetic(count: number, seed: number): { images: tf.Tensor; labels: tf.Tensor2D } {
  const random = new SeededRandom(seed);
  const images = tf.tensor3d(Float32Array.from({ length: count * 64 }, () => random.next()), [count, 8, 8]);
  const labels = tf.tidy(() => tf.oneHot(tf.tensor1d(Int32Array.from({ length: count }, (_, row) => row % 3), 'int32'), 3).toFloat() as tf.Tensor2D);
  return { images, labels };
}

/**
 * The slow, obvious step: tfjs autodiff of an independently written forward
 * pass (tf.conv2d, tf.maxPool, matMul), then the model's Keras optimizer.
 */
function referenceStep(model: tf.LayersModel, config: CnnConfig, images: tf.Tensor, labels: tf.Tensor2D, masks: tf.Tensor[]): void {
  const variables = planOf(model).variables;
  tf.tidy(() => {
    const { grads } = tf.variableGrads(() => {
      let x: tf.Tensor = tf.reshape(images, [images.shape[0], ...config.inputShape]);
      let weight = 0;
      let mask = 0;
      const act = (value: tf.Tensor, activation: string) => (activation === 'relu' ? tf.relu(value) : activation === 'tanh' ? tf.tanh(value) : activation === 'sigmoid' ? tf.sigmoid(value) : value);
      for (const layer of model.layers) {
        const kind = layer.getClassName();
        if (kind === 'Conv2D') {
          x = act(tf.add(tf.conv2d(x as tf.Tensor4D, variables[weight++] as tf.Tensor4D, config.strides, config.padding), variables[weight++]), config.activation);
        } else if (kind === 'MaxPooling2D') {
          x = tf.maxPool(x as tf.Tensor4D, config.poolSize, config.poolSize, 'valid');
        } else if (kind === 'Flatten') {
          x = tf.reshape(x, [x.shape[0], -1]);
        } else if (kind === 'Dropout') {
          x = tf.mul(x, masks[mask++]);
        } else {
          const linear = tf.add(tf.matMul(x as tf.Tensor2D, variables[weight++] as tf.Tensor2D), variables[weight++]);
          x = layer === model.layers[model.layers.length - 1] ? linear : act(linear, config.activation);
        }
      }
      return tf.losses.softmaxCrossEntropy(labels, x as tf.Tensor2D) as tf.Scalar;
    }, variables);
    model.optimizer.applyGradients(variables.map((variable) => ({ name: variable.name, tensor: grads[variable.name] })));
  });
}

/** Small networks on 8x8 images that still exercise every layer kind and option. */
const TINY_CNNS: [string, CnnConfig][] = [
  ['relu, valid, pooling, dropout after Flatten and Dense, adam', { ...DEFAULT_CNN, inputShape: [8, 8, 1], filters: [3, 4], kernelSize: 3, denseUnits: [5], poolSize: 2, padding: 'same', dropoutRate: 0.3, numClasses: 3, seed: 3 }],
  ['tanh, strides 2, same padding, no pooling, rmsprop', { ...DEFAULT_CNN, inputShape: [8, 8, 1], filters: [2, 3], kernelSize: 3, strides: 2, padding: 'same', poolSize: 0, activation: 'tanh', dropoutRate: 0, numClasses: 3, optimizer: 'rmsprop', seed: 4 }],
  ['sigmoid, valid padding, sgd with momentum', { ...DEFAULT_CNN, inputShape: [8, 8, 1], filters: [4], kernelSize: 3, activation: 'sigmoid', dropoutRate: 0.5, numClasses: 3, optimizer: 'sgd', optimizerOptions: { learningRate: 0.1, momentum: 0.9 }, seed: 5 }],
];

describe('graph step for CNNs: TensorFlow gradients (TF_AddGradients)', () => {
  for (const [title, config] of TINY_CNNS) {
    test(`${title}: weights and optimizer state after 3 steps over 2 epochs match tfjs autodiff`, async (t) => {
      if (!(await needGraph(t))) return;
      const tensorsBefore = tf.memory().numTensors;
      const seed = 11;
      const { images, labels } = synthetic(7, 2);
      const fast = createCnn(config);
      const slow = createCnn(config);
      const plan = planOf(fast);
      const dropouts = dropoutMaskShapes(plan.layers);
      const trainer = createGraphTrainer(plan, fast.optimizer, { images, labels }, seed);
      try {
        const batches = [[Int32Array.of(3, 0, 6, 1, 5), Int32Array.of(2, 4)], [Int32Array.of(6, 5, 4, 3, 2)]];
        for (const [epoch, steps] of batches.entries()) {
          await trainer.beginEpoch(epoch);
          for (const [step, rows] of steps.entries()) {
            const { lossSum } = trainer.step(rows, step);
            assert.ok(Number.isFinite(lossSum) && lossSum > 0);
            const indices = tf.tensor1d(rows, 'int32');
            const batchImages = tf.gather(images, indices);
            const batchLabels = tf.gather(labels, indices) as tf.Tensor2D;
            const masks = dropouts.map(({ rate, units }, mask) => graphMask(rate, [deriveSeed(seed, 'dropout', epoch, mask), step], [rows.length, units]));
            referenceStep(slow, config, batchImages, batchLabels, masks);
            tf.dispose([indices, batchImages, batchLabels, ...masks]);
          }
          await trainer.endEpoch();
        }
      } finally {
        trainer.dispose();
      }
      await assertSameTraining(fast, slow, 3);
      disposeModel(fast);
      disposeModel(slow);
      tf.dispose([images, labels]);
      assert.equal(tf.memory().numTensors, tensorsBefore, 'every tensor was released');
    });
  }

  test('without dropout, fit gives the same history with the graph step and the eager (tfjs autodiff) step', async (t) => {
    if (!(await needGraph(t))) return;
    const random = new SeededRandom(8);
    const images = tf.tensor3d(Float32Array.from({ length: 300 * 64 }, () => random.next()), [300, 8, 8]);
    const labels = tf.tensor1d(Int32Array.from({ length: 300 }, (_, row) => (row * 7) % 3), 'int32');
    const run = async (engine: string) => {
      process.env.MNIST_LAB_TRAIN_STEP = engine;
      try {
        const model = createCnn({ ...TINY_CNNS[0][1], dropoutRate: 0 });
        const atEpochEnd: number[] = [];
        const history = await fit(model, images, labels, { epochs: 3, batchSize: 32, validationSplit: 0.2, verbose: 0, seed: 4, callbacks: { onEpochEnd: () => void atEpochEnd.push(tf.memory().numTensors) } });
        // The optimizer's state appears with the first step; after that nothing accumulates.
        assert.deepEqual(atEpochEnd, [atEpochEnd[0], atEpochEnd[0], atEpochEnd[0]], `${engine} step leaves no tensors behind`);
        disposeModel(model);
        return [...history.history.loss, ...(history.history.val_loss ?? [])];
      } finally {
        delete process.env.MNIST_LAB_TRAIN_STEP;
      }
    };
    const graph = await run('graph');
    const generic = await run('generic');
    graph.forEach((value, index) => assert.ok(Math.abs(value - generic[index]) < 1e-4, `entry ${index}: graph ${value} vs eager ${generic[index]}`));
    tf.dispose([images, labels]);
  });
});

describe('CNN training on real data', real, () => {
  test('a short convnet training on 3000 MNIST digits learns well above chance, with no leaked tensors', async () => {
    await initBackend();
    const [[trainImages, trainLabels], [testImages, testLabels]] = await loadData('mnist', { dataDir: REAL_DATA_DIR });
    const tensorsBefore = tf.memory().numTensors;
    const model = createCnn({ ...DEFAULT_CNN, seed: 1 });
    const history = await fit(model, scaleImages(trainImages.hi(3000)), trainLabels.hi(3000), { epochs: 2, batchSize: 64, validationSplit: 0.1, verbose: 0, seed: 1 });
    const test = evaluate(model, scaleImages(testImages.hi(1000)), testLabels.hi(1000));
    assert.ok(test.acc > 0.8, `test accuracy ${test.acc} after 2 short epochs`);
    assert.ok((history.history.val_acc ?? [])[1] > 0.8);

    // Evaluation, prediction, figures and parameters work on the CNN as on an MLP.
    const testSet = scaleImages(testImages.hi(500));
    const evaluation = evaluate(model, testSet, testLabels.hi(500));
    const probabilities = predict(model, testSet);
    const matrix = confusionMatrix(labelIndices(testLabels.hi(500)), argmax(probabilities));
    assert.equal(matrix.flat().reduce((sum, count) => sum + count, 0), 500);
    assert.ok(matrix.reduce((sum, row, label) => sum + row[label], 0) / 500 > 0.8, 'the diagonal holds most of the test digits');
    assert.equal(mostConfidentMistakes(probabilities, testLabels.hi(500), 5).length, 5);
    assert.ok(['still-improving', 'good-fit', 'starting-to-overfit', 'overfitting'].includes(overfittingReport(history, { loss: evaluation.loss, acc: evaluation.acc }).kind));
    const digit = Float32Array.from({ length: 784 }, (_, pixel) => testSet.get(0, Math.floor(pixel / 28), pixel % 28));
    assert.equal(predictImage(model, digit, { topK: 1 })[0].label, testLabels.get(0), 'the first test digit is recognised');
    const filters = convFilters(model);
    assert.equal(filters.tiles.length, 32);
    assert.deepEqual([filters.tiles[0].pixels.length, filters.tiles[0].pixels[0].length], [3, 3]);
    const maps = featureMaps(model, testSet, { index: 0, maps: 8 });
    assert.equal(maps.tiles.length, 8);
    assert.deepEqual([maps.tiles[0].pixels.length, maps.tiles[0].pixels[0].length], [26, 26]);
    assert.ok(maps.maxValue > 0, 'some filter fires on the digit');
    const pooled = featureMaps(model, testSet, { layer: 'max_pooling2d_1' });
    assert.deepEqual([pooled.tiles.length, pooled.tiles[0].pixels.length], [32, 5]);
    assert.match(renderSvg(maps), /<svg/);
    assert.throws(() => featureMaps(model, testSet, { layer: 'dense' }), /dense gives shape \(None, 10\), not a stack of 2-D maps/);
    const paramsDir = tempDir();
    await exportParams(model, paramsDir);
    const copy = createCnn({ ...DEFAULT_CNN, seed: 2 });
    await importParams(copy, paramsDir, { source: 'csv' });
    copy.getWeights().forEach((weight, index) => assert.deepEqual(weight.dataSync(), model.getWeights()[index].dataSync()));
    disposeModel(copy);
    disposeModel(model);
    assert.equal(tf.memory().numTensors, tensorsBefore, 'every tensor was released');
  });

  test('a CNN run stopped after 2 epochs resumes from its checkpoint and ends bit-identical to an uninterrupted run', async () => {
    const experiment = { ...getPreset('convnet'), trainLimit: 1200, testLimit: 500, train: { ...getPreset('convnet').train, epochs: 4, verbose: 0 as const } };
    const interrupted = path.join(tempDir(), 'interrupted');
    await assert.rejects(
      runExperiment(experiment, {
        runDir: interrupted,
        dataDir: REAL_DATA_DIR,
        seed: 3,
        onEpoch: (epoch) => {
          if (epoch === 1) throw new Error('stopped after epoch 2');
        },
      }),
      /stopped after epoch 2/,
    );
    assert.equal((await readRun(interrupted)).state?.epochsCompleted, 2);
    const resumed = await runExperiment(experiment, { runDir: interrupted, dataDir: REAL_DATA_DIR, seed: 3 });
    const straight = await runExperiment(experiment, { runDir: path.join(tempDir(), 'straight'), dataDir: REAL_DATA_DIR, seed: 3 });
    assert.deepEqual(resumed.history.history.loss, straight.history.history.loss);
    assert.deepEqual(resumed.history.history.val_loss, straight.history.history.val_loss);
    assert.equal(resumed.test.acc, straight.test.acc);
    assert.equal(resumed.test.loss, straight.test.loss);
    // The checkpoint is a standard Conv2D model that loads with its optimizer.
    const model = await loadCheckpoint(interrupted, 'last');
    assert.deepEqual(model.layers.map((layer) => layer.getClassName()), ['Conv2D', 'MaxPooling2D', 'Conv2D', 'MaxPooling2D', 'Flatten', 'Dropout', 'Dense']);
    assert.equal(((await model.optimizer.getWeights()).length - 1) / 2, 6, 'adam slots for every weight');
    disposeModel(model);
  });
});

describe('ablations across architectures', () => {
  test('parameterCount() equals the built model\'s count (and so Keras\'s) for CNNs and MLPs', async () => {
    await initBackend();
    for (const config of [...KERAS_MODELS.map(({ change }) => ({ ...DEFAULT_CNN, ...change })), getPreset('S1-base').model, getPreset('S0').model, { ...getPreset('S0').model, hiddenUnits: [] }]) {
      const model = createModel(config);
      assert.equal(parameterCount(config), summarizeModel(model).totalParams, JSON.stringify(config));
      disposeModel(model);
    }
    assert.equal(parameterCount(DEFAULT_CNN), 34826);
  });

  test('an architecture factor puts MLP widths and CNN filters in one grid, and bad values say what is allowed', () => {
    const runs = expandGrid(gridSpecFromFlags({ baseline: 'S1-base', architecture: 'mlp:128,mlp:,cnn:16-32', seeds: '2', epochs: '1' }));
    assert.deepEqual([...new Set(runs.map((run) => run.label))], ['S1-base', 'arch=mlp:128', 'arch=mlp:', 'arch=cnn:16-32']);
    const cnn = runs.find((run) => run.label === 'arch=cnn:16-32')!.experiment.model as CnnConfig;
    // The baseline's training (rmsprop, dropout 0.2) with the convnet's layers and the asked filters.
    assert.deepEqual([cnn.architecture, cnn.filters, cnn.optimizer, cnn.dropoutRate, cnn.inputShape], ['cnn', [16, 32], 'rmsprop', 0.2, [28, 28, 1]]);
    assert.deepEqual((runs.find((run) => run.label === 'arch=mlp:')!.experiment.model as { hiddenUnits: number[] }).hiddenUnits, []);
    const widths = expandGrid(gridSpecFromFlags({ baseline: 'convnet', filters: '8,16-32', seeds: '1' }));
    assert.deepEqual(widths.map((run) => (run.experiment.model as CnnConfig).filters), [[32, 64], [8, 8], [16, 32]]);
    assert.throws(() => gridSpecFromFlags({ architecture: 'rnn:32' }), (error: unknown) => error instanceof ConfigError && /factors.architecture.0.*'mlp:512-512'/.test(error.message));
    assert.throws(() => expandGrid(gridSpecFromFlags({ baseline: 'S1-base', filters: '16' })), /factors.filters: applies to CNN baselines/);
  });

  test('a real grid over architectures reports accuracy beside parameter count and epoch time', real, async () => {
    await initBackend({ quiet: true });
    const out = tempDir();
    const runs = expandGrid(gridSpecFromFlags({ baseline: 'S1-base', architecture: 'mlp:32,cnn:8-16', seeds: '1', epochs: '3', limit: '600' }));
    const before = tf.memory().numTensors;
    const result = await runGrid(runs, { resultsFile: path.join(out, 'r.jsonl'), runsDir: path.join(out, 'runs'), gridName: 'arch', workers: 0, dataDir: REAL_DATA_DIR, runModule: path.join(__dirname, '..', 'src', 'experiments', 'run.ts') });
    assert.equal(result.completed, 3, JSON.stringify(result.failed));
    assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
    const report = summarizeResults(readResults([path.join(out, 'r.jsonl')]).rows);
    assert.deepEqual(report.configurations.map((item) => [item.architecture, item.params]), [['mlp 512-512', 669706], ['mlp 32', 25450], ['cnn 8-16', 5258]]);
    for (const item of report.configurations) {
      assert.ok(item.testAcc.mean > 0.25, `${item.label} learned something: ${item.testAcc.mean}`);
      assert.ok(item.epochSeconds.mean > 0);
    }
    assert.match(formatMarkdown(report), /\| arch=cnn:8-16 \| cnn 8-16 \| 5,258 \| 1 \|/);
    assert.match(formatCsv(report).split('\n')[0], /^label,architecture,params,/);
  });
});
