/**
 * Inside-the-network figures: their content is checked against the model's
 * own numbers (weights after the documented scaling, activations recomputed
 * by hand, probabilities from predict), on a small MLP trained here on real
 * MNIST; plus weight snapshots in run folders and the parallel-coordinates
 * view of an ablation grid.
 */
import type { MlpConfig } from '../src/model/config';
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import {
  tf,
  initBackend,
  scaleImages,
  predict,
  mostConfidentMistakes,
  firstLayerWeights,
  activationsFigure,
  outputProbabilities,
  confidentMistakes,
  weightsOverEpochs,
  readWeightSnapshots,
  ablationParallelCoordinates,
  summarizeResults,
  formatHtml,
  renderSvg,
  createMlp,
  fit,
  getPreset,
  runExperiment,
  expandGrid,
  DEFAULT_MLP,
  SNAPSHOT_UNITS,
  type ResultRow,
} from '../src';
import { gridSpecFromFlags } from '../src/cli/flags';
import { recordFirstLayerWeights } from '../src/train/snapshots';
import { REAL_DATA_DIR, tempDir } from './helpers/fixtures';
import { loadTinyMnist, runCli, trainTinyMlp, type TinyMnist } from './helpers/tiny-model';
import { runExperiment as fakeRun } from './ablate-fake-run';

const real = { skip: REAL_DATA_DIR ? false : 'MNIST_LAB_DATA is not set' };

describe('inside the network', real, () => {
  let data: TinyMnist;
  let model: tf.Sequential;
  before(async () => {
    await initBackend({ quiet: true });
    data = await loadTinyMnist(REAL_DATA_DIR!, 3000, 300);
    model = await trainTinyMlp(data, 3, 64);
  });
  after(() => model?.dispose());

  test('first-layer weights: tile pixels are the kernel after the documented scaling (shared, per unit, raw)', () => {
    const kernel = model.layers[1].getWeights()[0];
    const w = kernel.arraySync() as number[][];
    const largest = Math.max(...w.flat().map(Math.abs));
    const shared = firstLayerWeights(kernel, { units: 8 });
    const perUnit = firstLayerWeights(kernel, { units: 8, scaling: 'perUnit' });
    const raw = firstLayerWeights(kernel, { units: 8, scaling: 'raw' });
    for (const unit of [0, 3, 7]) {
      const unitLargest = Math.max(...w.map((row) => Math.abs(row[unit])));
      for (let r = 0; r < 28; r++) {
        for (let c = 0; c < 28; c++) {
          const value = w[r * 28 + c][unit];
          assert.ok(Math.abs(shared.tiles[unit].pixels[r][c] - value / largest) < 1e-6);
          assert.ok(Math.abs(perUnit.tiles[unit].pixels[r][c] - value / unitLargest) < 1e-6);
          assert.equal(raw.tiles[unit].pixels[r][c], value);
        }
      }
      assert.ok(Math.abs(Math.max(...perUnit.tiles[unit].pixels.flat().map(Math.abs)) - 1) < 1e-6, 'each unit reaches full contrast');
    }
    assert.deepEqual([shared.minValue, shared.maxValue], [-1, 1]);
    assert.deepEqual([raw.minValue, raw.maxValue], [-largest, largest]);
    assert.match(shared.subtitle, /weights \/ [\d.]+ \(largest \|weight\|\)/);
  });

  test('activations of every layer for one digit equal relu(x W + b) and softmax, computed by hand', () => {
    const before = tf.memory().numTensors;
    const images = scaleImages(data.testImages);
    const figure = activationsFigure(model, images, { index: 0 });
    assert.equal(tf.memory().numTensors, before, 'no tensor leaked');
    assert.equal(figure.layers.length, 2);
    const [hidden, output] = figure.layers;
    assert.deepEqual([hidden.role, hidden.activation, hidden.values.length], ['hidden', 'relu', 64]);
    assert.deepEqual([output.role, output.activation, output.values.length], ['output', 'softmax', 10]);
    const x = figure.input.flat();
    assert.equal(x.length, 784);
    const [w1, b1] = model.layers[1].getWeights().map((tensor) => tensor.arraySync()) as [number[][], number[]];
    const expected = b1.map((bias, unit) => Math.max(0, x.reduce((sum, value, p) => sum + value * w1[p][unit], bias)));
    expected.forEach((value, unit) => assert.ok(Math.abs(hidden.values[unit] - value) < 1e-4, `unit ${unit}: ${hidden.values[unit]} vs ${value}`));
    const probabilities = predict(model, images).subarray(0, 10);
    output.values.forEach((value, index) => assert.ok(Math.abs(value - probabilities[index]) < 1e-6));
    assert.ok(Math.abs(output.values.reduce((a, b) => a + b) - 1) < 1e-5);
    // The same from raw 0-255 bytes: scaled as training did.
    const fromBytes = activationsFigure(model, data.testImages, { index: 0 });
    fromBytes.layers[1].values.forEach((value, index) => assert.ok(Math.abs(value - output.values[index]) < 1e-6));
    const svg = renderSvg(figure);
    assert.equal((svg.match(/data-unit="/g) ?? []).length, 64);
    assert.match(svg, new RegExp(`is read as ${data.testLabels.get(0)}`), 'the trained net reads test digit 0 correctly');
  });

  test('output probabilities and most confident mistakes come from predict, surest mistake first', () => {
    const images = scaleImages(data.testImages);
    const probabilities = predict(model, images);
    const figure = outputProbabilities(model, images, { indices: [3, 5], labels: data.testLabels });
    assert.equal(figure.rows.length, 2);
    figure.rows.forEach((row, position) => {
      const index = [3, 5][position];
      row.probabilities.forEach((value, c) => assert.ok(Math.abs(value - probabilities[index * 10 + c]) < 1e-6));
      assert.equal(row.label, data.testLabels.get(index));
    });
    const mistakes = confidentMistakes(model, images, data.testLabels, { count: 4 });
    const expected = mostConfidentMistakes(probabilities, Int32Array.from({ length: 300 }, (_, i) => data.testLabels.get(i)), 4);
    assert.deepEqual(mistakes.rows.map((row) => row.caption), expected.map((mistake) => `#${mistake.index}: label ${mistake.trueLabel}`));
    for (const row of mistakes.rows) assert.notEqual(row.label, row.predicted);
    const confidences = mistakes.rows.map((row) => row.probabilities[row.predicted]);
    assert.deepEqual(confidences, [...confidences].sort((a, b) => b - a));
    const svg = renderSvg(mistakes);
    assert.equal((svg.match(/data-role="true-label"/g) ?? []).length, 4);
    assert.equal((svg.match(/data-probability="/g) ?? []).length, 40);
  });

  test('weights over epochs: snapshots recorded during fit, one row per epoch on one shared scale', async () => {
    const fresh = createMlp({ ...DEFAULT_MLP, hiddenUnits: [32], seed: 3 });
    const initial = (fresh.layers[1].getWeights()[0].arraySync() as number[][]).map((row) => row.slice(0, 16));
    const recorder = recordFirstLayerWeights(fresh);
    await fit(fresh, scaleImages(data.trainImages), data.trainLabels, { epochs: 3, batchSize: 64, verbose: 0, callbacks: recorder.callbacks });
    assert.deepEqual(recorder.snapshots.map((snapshot) => snapshot.epoch), [0, 1, 2, 3]);
    assert.deepEqual(recorder.snapshots[0].shape, [784, 16]);
    assert.equal(recorder.snapshots[0].data[5 * 16 + 2], Math.fround(initial[5][2]));
    const figure = weightsOverEpochs(recorder.snapshots, { units: [0, 2] });
    assert.equal(figure.tiles.length, 8);
    assert.equal(figure.columns, 2);
    const limit = Math.max(...recorder.snapshots.flatMap((snapshot) => Array.from(snapshot.data, Math.abs)));
    const last = recorder.snapshots[3];
    assert.ok(Math.abs(figure.tiles[7].pixels[10][12] - last.data[(10 * 28 + 12) * 16 + 2] / limit) < 1e-6);
    assert.deepEqual(figure.tiles.map((tile) => tile.caption), ['epoch 0', 'epoch 0', 'epoch 1', 'epoch 1', 'epoch 2', 'epoch 2', 'epoch 3', 'epoch 3']);
    assert.notDeepEqual(figure.tiles[0].pixels, figure.tiles[6].pixels, 'the weights changed');
    assert.throws(() => weightsOverEpochs(recorder.snapshots, { epochs: [9] }), /no snapshot after epoch 9/);
    fresh.dispose();
  });

  test('a run folder keeps first-layer snapshots from the random start to the last epoch', async () => {
    const runDir = path.join(tempDir(), 'run');
    const experiment = { ...getPreset('S1-h128'), trainLimit: 600, testLimit: 100 };
    experiment.train = { ...experiment.train, epochs: 2 };
    await runExperiment(experiment, { seed: 4, runDir, verbose: 0, dataDir: REAL_DATA_DIR });
    const snapshots = await readWeightSnapshots(runDir);
    assert.deepEqual(snapshots.map((snapshot) => snapshot.epoch), [0, 1, 2]);
    assert.deepEqual(snapshots[0].shape, [784, SNAPSHOT_UNITS]);
    const figure = weightsOverEpochs(snapshots);
    assert.equal(figure.tiles.length, 3 * 6);
    // A torn snapshot file is named, with what to do.
    await fs.writeFile(path.join(runDir, 'snapshots', 'first-layer-epoch-001.f32'), 'short');
    await assert.rejects(readWeightSnapshots(runDir), /first-layer-epoch-001\.f32: a weight snapshot of the wrong size \(bytes\) \(expected 100352, got 5\)\. Delete .*snapshots/);
    assert.deepEqual(await readWeightSnapshots(tempDir()), [], 'an old run without snapshots has none');
  });

  test('mnist-lab inside: mistakes and probabilities in the terminal (80 columns), every figure to a file', async () => {
    const runDir = path.join(tempDir(), 'run');
    const experiment = { ...getPreset('S1-h128'), trainLimit: 600, testLimit: 200 };
    experiment.train = { ...experiment.train, epochs: 2 };
    await runExperiment(experiment, { seed: 5, runDir, verbose: 0, dataDir: REAL_DATA_DIR });
    const text = await runCli(['inside', runDir, '--figure', 'mistakes', '--count', '3', '--no-color']);
    assert.match(text, /^Most confident mistakes of S1-h128 \(best checkpoint\)/);
    assert.equal((text.match(/^#\d+: label \d$/gm) ?? []).length, 3);
    assert.equal((text.match(/<$/gm) ?? []).length, 3, 'one answer marked per mistake');
    assert.equal((text.match(/^.*\*\d .*$/gm) ?? []).length, 3, 'one true class marked per mistake');
    for (const line of text.split('\n')) assert.ok(line.length <= 80, `${line.length} columns: ${line}`);
    const probabilities = await runCli(['inside', runDir, '--figure', 'probabilities', '--index', '10', '--count', '2', '--no-color']);
    assert.match(probabilities, /^#10: label \d$/m);
    assert.match(probabilities, /^#11: label \d$/m);
    const dir = tempDir();
    for (const figure of ['weights', 'epochs', 'activations']) {
      await runCli(['inside', runDir, '--figure', figure, '--out', path.join(dir, `${figure}.svg`), '--count', '4']);
    }
    assert.match(await fs.readFile(path.join(dir, 'weights.svg'), 'utf8'), /data-figure="imageGrid"[^]*unit 3/);
    assert.match(await fs.readFile(path.join(dir, 'epochs.svg'), 'utf8'), /after epochs 0, 1, 2/);
    assert.match(await fs.readFile(path.join(dir, 'activations.svg'), 'utf8'), /data-figure="activations"/);
    await assert.rejects(runCli(['inside', runDir, '--figure', 'weights']), /--out: --figure weights is an image: give a file to save it to/);
    await assert.rejects(runCli(['inside', runDir, '--figure', 'brains']), /--figure: unknown figure 'brains'.*weights, epochs, activations, probabilities, mistakes/);
  });
});

describe('ablation grid at a glance', () => {
  test('parallel coordinates: one line per run, an axis per varying factor, test accuracy and gap; in the report HTML', async () => {
    const rows: ResultRow[] = [];
    for (const run of expandGrid(gridSpecFromFlags({ hidden: '128,2048', dropout: '0.5', seeds: '2' }))) {
      const result = await fakeRun(run.experiment, { seed: run.seed });
      rows.push({ format: 'mnist-lab.ablation-result/1', key: run.key, configKey: run.configKey, label: run.label, baseline: run.baseline, factors: run.factors, seed: run.seed, position: run.position, grid: 'test', engine: 'tfjs', result });
    }
    const report = summarizeResults(rows, { title: 'Test grid' });
    assert.equal(report.runs.length, rows.length);
    const figure = ablationParallelCoordinates(report);
    assert.deepEqual(figure.axes.map((axis) => axis.label), ['hidden', 'dropout', 'test accuracy', 'overfitting gap']);
    assert.deepEqual(figure.axes[0].categories, ['128-128', '512-512', '2048-2048']);
    assert.deepEqual(figure.axes[1].categories, ['0.2', '0.5']);
    rows.forEach((row, line) => {
      assert.equal(figure.axes[2].values[line], row.result.test.acc);
      assert.equal(figure.axes[3].values[line], row.result.overfitGap);
      assert.equal(figure.axes[0].categories![figure.axes[0].values[line]], (row.result.config.model as MlpConfig).hiddenUnits.join('-'));
    });
    assert.equal(figure.lineNames.length, rows.length);
    const svg = renderSvg(figure);
    assert.equal((svg.match(/<polyline /g) ?? []).length, rows.length);
    assert.match(svg, /<title>hidden=2048 seed 1: hidden: 2048-2048, dropout: 0.2, test accuracy: /);
    const html = formatHtml(report);
    assert.match(html, /Every run at a glance/);
    assert.match(html, /data-figure="parallelCoordinates"/);
  });
});
