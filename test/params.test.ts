import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import {
  tf,
  initBackend,
  exportParams,
  importParams,
  readParamsFile,
  predict,
  scaleImages,
  ParamsFormatError,
  ParamsMismatchError,
  evaluateRun,
} from '../src';
import { shortestFloat32, PARAMS_JSON_FILE } from '../src/params/index';
import { REAL_DATA_DIR, tempDir } from './helpers/fixtures';
import { buildMlp, loadTinyMnist, runCli, trainTinyMlp, writeTinyRun, type TinyMnist } from './helpers/tiny-model';

const real = { skip: REAL_DATA_DIR ? false : 'MNIST_LAB_DATA is not set' };

test('shortestFloat32 keeps the float32 exactly with as few digits as possible', () => {
  for (const value of [0.1, -0.012345678, 1 / 3, 3.4e38, 1e-40, 0, -2.5]) {
    const short = shortestFloat32(value);
    assert.equal(Math.fround(short), Math.fround(value));
    assert.ok(String(short).replace(/^-?0\.0*|e.*$|\./g, '').length <= 9, String(short));
  }
  assert.equal(shortestFloat32(Math.fround(0.1)), 0.1);
});

describe('export and import a trained model', real, () => {
  let data: TinyMnist;
  let model: tf.Sequential;
  let dir: string;

  before(async () => {
    data = await loadTinyMnist(REAL_DATA_DIR as string, 500, 100);
    model = await trainTinyMlp(data, 1, 16);
    dir = path.join(tempDir(), 'params');
    await exportParams(model, dir);
  });
  after(() => model?.dispose());

  test('the folder holds params.json, one CSV per tensor and a README', async () => {
    const files = (await fs.readdir(dir)).sort();
    const [hidden, output] = model.layers.filter((layer) => layer.weights.length > 0).map((layer) => layer.name);
    assert.deepEqual(files, [`${hidden}.bias.csv`, `${hidden}.kernel.csv`, `${output}.bias.csv`, `${output}.kernel.csv`, 'README.txt', PARAMS_JSON_FILE].sort());
    assert.equal(files.filter((name) => name.startsWith('.')).length, 0, 'no temp files left behind');
    const params = await readParamsFile(dir);
    assert.equal(params.totalParams, 784 * 16 + 16 + 16 * 10 + 10);
    const kernel = params.layers[hidden].kernel as { shape: number[]; values: number[][] };
    assert.deepEqual(kernel.shape, [784, 16]);
    const modelKernel = model.layers[1].getWeights()[0].arraySync() as number[][];
    assert.equal(Math.fround(kernel.values[300][7]), modelKernel[300][7], 'values[input][unit] is the weight from input to unit');
    // Kernel CSV: header then one row per input, first column the input index.
    const csvLines = (await fs.readFile(path.join(dir, `${hidden}.kernel.csv`), 'utf8')).trim().split('\n');
    assert.equal(csvLines.length, 785);
    assert.equal(csvLines[0], 'input,' + Array.from({ length: 16 }, (_, unit) => `unit_${unit}`).join(','));
    assert.equal(Math.fround(Number(csvLines[301].split(',')[8])), modelKernel[300][7]);
    assert.match(await fs.readFile(path.join(dir, 'README.txt'), 'utf8'), /kernel\.values\[input\]\[unit\]/);
  });

  test('a fresh model of the same architecture predicts identically after import (JSON and CSV)', async () => {
    const images = scaleImages(data.testImages);
    const expected = predict(model, images);
    for (const source of ['json', 'csv'] as const) {
      const fresh = buildMlp(16, 99); // different initial weights and different layer names
      assert.notDeepEqual(Array.from(predict(fresh, images)), Array.from(expected));
      const before = tf.memory().numTensors;
      await importParams(fresh, dir, { source });
      assert.equal(tf.memory().numTensors, before, `import from ${source} leaks no tensors`);
      assert.deepEqual(Array.from(predict(fresh, images)), Array.from(expected), `identical predictions after import from ${source}`);
      fresh.dispose();
    }
  });

  test('a weight edited in the CSV changes the model', async () => {
    const editedDir = path.join(tempDir(), 'edited');
    await exportParams(model, editedDir);
    const output = model.layers[model.layers.length - 1].name;
    const csvFile = path.join(editedDir, `${output}.bias.csv`);
    const lines = (await fs.readFile(csvFile, 'utf8')).split('\n');
    lines[1 + 3] = '3,100'; // a huge bias for class 3 makes every prediction a 3
    await fs.writeFile(csvFile, lines.join('\n'));
    const fresh = buildMlp(16);
    await importParams(fresh, editedDir, { source: 'csv' });
    const probabilities = predict(fresh, scaleImages(data.testImages));
    for (let row = 0; row < 10; row++) assert.ok(probabilities[row * 10 + 3] > 0.99);
    fresh.dispose();
  });

  test('a different architecture is refused with the layer and both shapes', async () => {
    const wider = buildMlp(32);
    const before = wider.layers[1].getWeights()[0].dataSync().slice();
    await assert.rejects(importParams(wider, dir), (error: Error) => {
      assert.ok(error instanceof ParamsMismatchError);
      assert.match(error.message, new RegExp(`^Layer '${wider.layers[1].name}' \\(file layer '${model.layers[1].name}'\\): kernel has shape \\[784, 16\\] in the file but the model expects \\[784, 32\\]`));
      assert.match(error.message, /same architecture/);
      return true;
    });
    assert.deepEqual(wider.layers[1].getWeights()[0].dataSync(), before, 'a refused import leaves the model unchanged');
    wider.dispose();
    const deeper = tf.sequential({
      layers: [tf.layers.flatten({ inputShape: [28, 28] }), tf.layers.dense({ units: 16 }), tf.layers.dense({ units: 16 }), tf.layers.dense({ units: 10 })],
    });
    await assert.rejects(importParams(deeper, dir), /the model has 3 layers with weights but .*params\.json has 2/);
    deeper.dispose();
  });
});

describe('bad parameter folders', () => {
  test('missing, broken or foreign params.json are format errors', async () => {
    await initBackend({ quiet: true });
    const model = buildMlp(4);
    const empty = tempDir();
    await assert.rejects(importParams(model, empty), (error: Error) => error instanceof ParamsFormatError && /params\.json: cannot be read \(ENOENT\)/.test(error.message));
    await fs.writeFile(path.join(empty, PARAMS_JSON_FILE), '{"format": "mnist-lab-params", "version": 1, "layers": ');
    await assert.rejects(importParams(model, empty), /params\.json: is not valid JSON/);
    await fs.writeFile(path.join(empty, PARAMS_JSON_FILE), '{"format": "keras"}');
    await assert.rejects(importParams(model, empty), /has format "keras", not "mnist-lab-params"/);
    model.dispose();
  });

  test('a CSV cell that is not a number is reported with its row and column', async () => {
    await initBackend({ quiet: true });
    const model = buildMlp(4);
    const dir = tempDir();
    await exportParams(model, dir);
    const bias = path.join(dir, `${model.layers[1].name}.bias.csv`);
    await fs.writeFile(bias, (await fs.readFile(bias, 'utf8')).replace(/\n2,[^\n]*/, '\n2,abc'));
    await assert.rejects(importParams(model, dir, { source: 'csv' }), /bias\.csv: row 4, column 2 holds 'abc', not a number/);
    model.dispose();
  });
});

describe('`mnist-lab params export` and `params import` on a run folder', real, () => {
  test('export, edit a bias in the CSV, import as a new run: the new run predicts the edited class', async () => {
    const data = await loadTinyMnist(REAL_DATA_DIR as string, 500, 100);
    const runDir = path.join(tempDir(), 'run');
    const model = await writeTinyRun(runDir, data, 1);
    const paramsDir = path.join(tempDir(), 'params');
    const exported = JSON.parse(await runCli(['params', 'export', runDir, '--out', paramsDir, '--json'])) as { which: string; totalParams: number; files: string[] };
    assert.equal(exported.which, 'best');
    assert.equal(exported.totalParams, 784 * 64 + 64 + 64 * 10 + 10);
    assert.equal(exported.files.length, 6);

    // Unchanged parameters give an identical model.
    const sameRun = path.join(tempDir(), 'same');
    await runCli(['params', 'import', paramsDir, '--model', runDir, '--out', sameRun]);
    const original = await evaluateRun(runDir, { dataDir: REAL_DATA_DIR });
    const same = await evaluateRun(sameRun, { dataDir: REAL_DATA_DIR });
    assert.equal(same.test.loss, original.test.loss);

    const output = model.layers[model.layers.length - 1].name;
    const biasFile = path.join(paramsDir, `${output}.bias.csv`);
    await fs.writeFile(biasFile, (await fs.readFile(biasFile, 'utf8')).replace(/\n7,[^\n]*/, '\n7,100'));
    const editedRun = path.join(tempDir(), 'edited');
    assert.match(await runCli(['params', 'import', paramsDir, '--model', runDir, '--out', editedRun, '--from', 'csv']), /Try: mnist-lab evaluate/);
    const edited = await evaluateRun(editedRun, { dataDir: REAL_DATA_DIR });
    assert.deepEqual(edited.confusionMatrix.map((row) => row.reduce((a, b) => a + b, 0) - row[7]), new Array(10).fill(0), 'every example is predicted as 7');
    await assert.rejects(runCli(['params', 'import', paramsDir, '--model', runDir, '--out', runDir]), /--out: is the same folder as --model/);
    model.dispose();
  });
});
