import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  tf,
  evaluate,
  predict,
  argmax,
  confusionMatrix,
  perClassAccuracy,
  mostConfidentMistakes,
  formatConfusionMatrix,
  overfittingReport,
  scaleImages,
  toCategorical,
  toTensor,
  ConfigError,
  VAL_LOSS_RISE_OVERFITTING,
  evaluateRun,
  formatRunEvaluation,
  disposeWithOptimizer,
  getPreset,
  readRun,
  runExperiment,
} from '../src';
import { loadCheckpoint } from '../src/runs/folder';
import type { TrainingHistory, RunEvaluation } from '../src';
import * as path from 'node:path';
import { REAL_DATA_DIR, tempDir } from './helpers/fixtures';
import { loadTinyMnist, runCli, trainTinyMlp, writeTinyRun, type TinyMnist } from './helpers/tiny-model';

const real = { skip: REAL_DATA_DIR ? false : 'MNIST_LAB_DATA is not set' };

describe('evaluate and predict on a model trained on a real MNIST subset', real, () => {
  let data: TinyMnist;
  let model: tf.Sequential;

  before(async () => {
    data = await loadTinyMnist(REAL_DATA_DIR as string);
    model = await trainTinyMlp(data);
  });
  after(() => model?.dispose());

  test('loss and accuracy match tfjs model.evaluate (the reference), without leaking tensors', () => {
    const images = toTensor(scaleImages(data.testImages));
    const oneHot = toTensor(toCategorical(data.testLabels));
    const [referenceLoss, referenceAcc] = (model.evaluate(images, oneHot, { batchSize: 32 }) as tf.Scalar[]).map((scalar) => {
      const value = scalar.dataSync()[0];
      scalar.dispose();
      return value;
    });
    const before = tf.memory().numTensors;
    // Uneven batches, ndarray input and class-index labels must not change the numbers.
    const fromArrays = evaluate(model, scaleImages(data.testImages), data.testLabels, { batchSize: 7 });
    const fromTensors = evaluate(model, images, oneHot, { batchSize: 128 });
    assert.equal(tf.memory().numTensors, before);
    images.dispose();
    oneHot.dispose();

    assert.ok(Math.abs(fromArrays.loss - referenceLoss) < 1e-5 * Math.max(1, referenceLoss), `loss ${fromArrays.loss} vs tfjs ${referenceLoss}`);
    assert.ok(Math.abs(fromTensors.loss - referenceLoss) < 1e-5 * Math.max(1, referenceLoss));
    assert.ok(Math.abs(fromArrays.acc - referenceAcc) < 1e-6, `acc ${fromArrays.acc} vs tfjs ${referenceAcc}`);
    assert.equal(fromArrays.acc, fromTensors.acc);
    assert.ok(fromArrays.acc > 0.7, `a model trained on 2000 examples should beat chance by far, got ${fromArrays.acc}`);
  });

  test('predict returns the softmax rows of model.predict; argmax gives the classes', () => {
    const before = tf.memory().numTensors;
    const probabilities = predict(model, scaleImages(data.testImages), { batchSize: 64 });
    assert.equal(tf.memory().numTensors, before);
    assert.equal(probabilities.length, data.testLabels.shape[0] * 10);
    const reference = tf.tidy(() => model.predict(toTensor(scaleImages(data.testImages))) as tf.Tensor).dataSync();
    let maxDifference = 0;
    for (let i = 0; i < reference.length; i++) maxDifference = Math.max(maxDifference, Math.abs(reference[i] - probabilities[i]));
    assert.ok(maxDifference < 1e-6, `largest difference from model.predict: ${maxDifference}`);
    for (let row = 0; row < 5; row++) {
      const sum = probabilities.subarray(row * 10, row * 10 + 10).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-5);
    }
    const predicted = argmax(probabilities);
    assert.equal(predicted.length, data.testLabels.shape[0]);
    // The confusion matrix's diagonal is the accuracy evaluate reports.
    const matrix = confusionMatrix(data.testLabels.data.subarray(data.testLabels.offset, data.testLabels.offset + predicted.length), predicted);
    const diagonal = matrix.reduce((sum, row, c) => sum + row[c], 0);
    assert.equal(matrix.flat().reduce((a, b) => a + b, 0), predicted.length);
    assert.equal(diagonal / predicted.length, evaluate(model, scaleImages(data.testImages), data.testLabels).acc);
  });

  test('most confident mistakes are wrong, sorted by confidence, and name true and predicted class', () => {
    const probabilities = predict(model, scaleImages(data.testImages));
    const mistakes = mostConfidentMistakes(probabilities, data.testLabels, 5);
    assert.equal(mistakes.length, 5);
    for (const mistake of mistakes) {
      assert.notEqual(mistake.trueLabel, mistake.predictedLabel);
      assert.equal(mistake.trueLabel, data.testLabels.get(mistake.index));
      assert.equal(mistake.confidence, probabilities[mistake.index * 10 + mistake.predictedLabel]);
      assert.ok(mistake.trueLabelProbability < mistake.confidence);
    }
    for (let i = 1; i < mistakes.length; i++) assert.ok(mistakes[i - 1].confidence >= mistakes[i].confidence);
  });

  test('mismatched images and labels are named errors', () => {
    assert.throws(() => evaluate(model, scaleImages(data.testImages), [1, 2, 3]), /labels: there are 3 labels for 500 images/);
    assert.throws(() => evaluate(model, scaleImages(data.testImages), data.testLabels, { batchSize: 0 }), ConfigError);
    const wrongSize = tf.zeros([4, 10, 10]);
    assert.throws(() => predict(model, wrongSize), /images: each example has shape \[10, 10\].*takes \[28, 28\]/);
    wrongSize.dispose();
  });
});

describe('metrics on hand-made numbers', () => {
  test('evaluate gives the cross-entropy computed by hand', async () => {
    // A model whose output is a fixed softmax (zero kernel, chosen bias) makes the expected loss exact.
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 3, activation: 'softmax', kernelInitializer: 'zeros' })] });
    model.layers[0].setWeights([tf.zeros([2, 3]), tf.tensor1d([Math.log(0.7), Math.log(0.2), Math.log(0.1)])]);
    const images = tf.ones([4, 2]);
    const labels = [0, 1, 0, 2];
    const result = evaluate(model, images, labels);
    const expected = -(Math.log(0.7) + Math.log(0.2) + Math.log(0.7) + Math.log(0.1)) / 4;
    assert.ok(Math.abs(result.loss - expected) < 1e-6, `${result.loss} vs ${expected}`);
    assert.equal(result.acc, 0.5);
    images.dispose();
    model.dispose();
  });

  test('confusion matrix rows are the true class; per-class accuracy divides by row totals', () => {
    const matrix = confusionMatrix([0, 0, 1, 1, 1, 2], [0, 1, 1, 1, 0, 2], 4);
    assert.deepEqual(matrix, [
      [1, 1, 0, 0],
      [1, 2, 0, 0],
      [0, 0, 1, 0],
      [0, 0, 0, 0],
    ]);
    const accuracy = perClassAccuracy(matrix);
    assert.deepEqual(accuracy.slice(0, 3), [0.5, 2 / 3, 1]);
    assert.ok(Number.isNaN(accuracy[3]));
    const table = formatConfusionMatrix(matrix);
    assert.match(table.split('\n')[0], /true\\pred\s+0\s+1\s+2\s+3\s+total\s+acc/);
    assert.match(table.split('\n')[2], /^1\s+1\s+2\s+0\s+0\s+3\s+66\.7%$/);
    assert.throws(() => confusionMatrix([0, 1], [0]), /predictedLabels: there are 1 predictions for 2 labels/);
    assert.throws(() => confusionMatrix([0, 7], [0, 1], 4), /labels: example 1 has true label 7/);
  });

  test('argmax takes the first maximum; mistakes come from known probabilities', () => {
    const probabilities = Float32Array.from([0.5, 0.5, 0, 0.1, 0.2, 0.7, 0.9, 0.05, 0.05, 0.3, 0.6, 0.1]);
    assert.deepEqual(Array.from(argmax(probabilities, 3)), [0, 2, 0, 1]);
    const mistakes = mostConfidentMistakes(probabilities, [0, 1, 2, 1], 10, 3);
    assert.deepEqual(
      mistakes.map(({ index, trueLabel, predictedLabel }) => [index, trueLabel, predictedLabel]),
      [
        [2, 2, 0],
        [1, 1, 2],
      ],
    );
    assert.ok(Math.abs(mistakes[0].confidence - 0.9) < 1e-6);
    assert.throws(() => argmax([1, 2, 3], 2), /length 3 is not a multiple of numClasses 2/);
  });
});

describe('overfittingReport', () => {
  const history = (acc: number[], valLoss?: number[]): TrainingHistory => ({
    epoch: acc.map((_, i) => i),
    history: { loss: acc.map((a) => 1 - a), acc, seconds: acc.map(() => 1), ...(valLoss ? { val_loss: valLoss, val_acc: valLoss.map(() => 0.98) } : {}) },
  });

  test('val_loss bottoming out then rising is overfitting, with the numbers in the sentence', () => {
    const valLoss = [0.2, 0.12, 0.1, 0.105, 0.11, 0.115, 0.12, 0.13, 0.138, 0.142];
    const acc = [0.9, 0.95, 0.97, 0.98, 0.985, 0.99, 0.993, 0.995, 0.996, 0.997];
    const report = overfittingReport(history(acc, valLoss), { loss: 0.1, acc: 0.98 });
    assert.equal(report.kind, 'overfitting');
    assert.equal(report.bestEpoch, 2);
    assert.equal(report.bestValLoss, 0.1);
    assert.ok(Math.abs((report.valLossRise as number) - 0.042) < 1e-12);
    assert.ok(Math.abs((report.valLossRiseRelative as number) - 0.42) < 1e-9);
    assert.ok(Math.abs(report.accuracyGap - 0.017) < 1e-12);
    assert.equal(report.verdict, 'Overfitting: val_loss was lowest at epoch 3 and rose 42% by epoch 10, while train accuracy kept climbing to 99.7% (test 98.0%).');
  });

  test('the threshold decides: just below it with close accuracies is only the start of overfitting', () => {
    const rise = VAL_LOSS_RISE_OVERFITTING * 0.9;
    const report = overfittingReport(history([0.95, 0.97, 0.975], [0.1, 0.09, 0.09 * (1 + rise)]), { loss: 0.1, acc: 0.97 });
    assert.equal(report.kind, 'starting-to-overfit');
    assert.match(report.verdict, /^Starting to overfit: val_loss was lowest at epoch 2 and has risen 9% since/);
  });

  test('val_loss still falling at the end: still improving', () => {
    const report = overfittingReport(history([0.9, 0.93, 0.95], [0.3, 0.25, 0.2]), { loss: 0.2, acc: 0.95 });
    assert.equal(report.kind, 'still-improving');
    assert.equal(report.bestEpoch, 2);
    assert.equal(report.valLossRise, 0);
    assert.match(report.verdict, /more epochs may help/);
  });

  test('without validation data the accuracy gap decides', () => {
    const overfit = overfittingReport(history([0.99, 1.0]), { loss: 0.1, acc: 0.9838 });
    assert.equal(overfit.kind, 'overfitting');
    assert.equal(overfit.bestEpoch, null);
    assert.match(overfit.verdict, /train accuracy 100\.0% is 1\.6 points above test accuracy 98\.4%/);
    const fine = overfittingReport(history([0.9, 0.91]), { loss: 0.3, acc: 0.9145 });
    assert.equal(fine.kind, 'good-fit');
  });
});

describe('evaluateRun and `mnist-lab evaluate` on a run folder', real, () => {
  let data: TinyMnist;
  let model: tf.Sequential;
  const runDir = path.join(tempDir(), 'runs', 'tiny');

  before(async () => {
    data = await loadTinyMnist(REAL_DATA_DIR as string);
    model = await writeTinyRun(runDir, data);
  });
  after(() => model?.dispose());

  test('the run is tested on its own test subset, with the best checkpoint, and reports overfitting from its history', async () => {
    // loadCheckpoint (src/train) currently leaves a tensor behind per load; evaluateRun must add nothing to that.
    let before = tf.memory().numTensors;
    disposeWithOptimizer(await loadCheckpoint(runDir, 'best'));
    const loadLeak = tf.memory().numTensors - before;
    before = tf.memory().numTensors;
    const evaluation = await evaluateRun(runDir, { dataDir: REAL_DATA_DIR });
    assert.equal(tf.memory().numTensors - before, loadLeak);
    assert.equal(evaluation.which, 'best');
    assert.equal(evaluation.testCount, 500);
    const direct = evaluate(model, scaleImages(data.testImages), data.testLabels);
    assert.ok(Math.abs(evaluation.test.loss - direct.loss) < 1e-6);
    assert.equal(evaluation.test.acc, direct.acc);
    assert.equal(evaluation.confusionMatrix.flat().reduce((a, b) => a + b, 0), 500);
    assert.equal(evaluation.mostConfidentMistakes.length, 5);
    assert.ok(evaluation.overfitting !== null);
    assert.equal(evaluation.overfitting.epochs, 2);
    assert.match(formatRunEvaluation(evaluation), /test loss \d\.\d{4} {2}test acc \d\.\d{4}[\s\S]*true\\pred[\s\S]*Overfitting report: /);
  });

  test('metrics.json and `mnist-lab evaluate --json` give one test loss for one checkpoint, also where the softmax saturates', { timeout: 180_000 }, async () => {
    for (const id of ['S1-base', 'S1-noscale']) {
      const folder = path.join(tempDir(), 'runs', id);
      const experiment = { ...getPreset(id), trainLimit: 1200, testLimit: 400, train: { ...getPreset(id).train, epochs: 2, verbose: 0 as const } };
      const result = await runExperiment(experiment, { runDir: folder, dataDir: REAL_DATA_DIR, verbose: 0 });
      const saved = (await readRun(folder)).metrics;
      assert.ok(saved !== null);
      const printed = JSON.parse(await runCli(['evaluate', folder, '--data-dir', REAL_DATA_DIR as string, '--json'])) as RunEvaluation;
      assert.equal(printed.which, 'best');
      assert.ok(Math.abs(printed.test.loss - saved.test.loss) < 1e-6, `${id}: evaluate says ${printed.test.loss}, metrics.json ${saved.test.loss}`);
      assert.equal(printed.test.acc, saved.test.acc);
      assert.equal(result.test.loss, saved.test.loss);
      if (id === 'S1-noscale') {
        // Raw 0-255 pixels saturate the softmax, where the log of clipped probabilities (Keras's
        // epsilon 1e-7) is another number than the loss from logits: the two losses must not be mixed.
        const model = await loadCheckpoint(folder, 'best');
        const { testImages, testLabels } = await loadTinyMnist(REAL_DATA_DIR as string, 0, 400);
        const probabilities = predict(model, scaleImages(testImages, 1));
        disposeWithOptimizer(model);
        let clippedLoss = 0;
        for (let row = 0; row < 400; row++) {
          const p = probabilities[row * 10 + testLabels.get(row)];
          clippedLoss -= Math.log(Math.min(Math.max(p, 1e-7), 1 - 1e-7)) / 400;
        }
        assert.ok(Math.abs(clippedLoss - saved.test.loss) > 1e-3, `saturated: clipped ${clippedLoss} vs from logits ${saved.test.loss}`);
      }
    }
  });

  test('the CLI prints the same numbers as JSON, and refuses an unknown checkpoint name', async () => {
    const printed = JSON.parse(await runCli(['evaluate', runDir, '--which', 'last', '--mistakes', '2', '--data-dir', REAL_DATA_DIR as string, '--json'])) as RunEvaluation;
    const evaluation = await evaluateRun(runDir, { which: 'last', dataDir: REAL_DATA_DIR });
    assert.equal(printed.which, 'last');
    assert.equal(printed.test.acc, evaluation.test.acc);
    assert.deepEqual(printed.confusionMatrix, evaluation.confusionMatrix);
    assert.equal(printed.mostConfidentMistakes.length, 2);
    await assert.rejects(runCli(['evaluate', runDir, '--which', 'newest']), /--which: unknown checkpoint 'newest' \(allowed: best, last\)/);
    await assert.rejects(runCli(['evaluate', path.join(runDir, 'nope')]), /is not a run folder/);
  });
});
