/**
 * The notebooks: committed clean, shaped like the rest of the course, and
 * executed top to bottom in quick mode through nbclient and the tslab kernel
 * (scripts/notebooks/run.py), with their key outputs checked.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, copyFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../src';
import { REAL_DATA_DIR, tempDir } from './helpers/fixtures';

const NOTEBOOK_DIR = path.join(PROJECT_ROOT, 'notebooks');
const PYTHON = path.join(PROJECT_ROOT, '.venv', 'bin', 'python');
const EXPECTED_NOTEBOOKS = 10;

interface Cell {
  cell_type: 'code' | 'markdown' | 'raw';
  source: string | string[];
  outputs?: Output[];
  execution_count?: number | null;
  metadata: Record<string, unknown>;
}
interface Output {
  output_type: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
}
interface Notebook {
  cells: Cell[];
  metadata: { kernelspec?: { name: string } };
}

const joined = (value: string | string[] | undefined) => (Array.isArray(value) ? value.join('') : (value ?? ''));
const readNotebook = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Notebook;
const notebookFiles = () =>
  readdirSync(NOTEBOOK_DIR)
    .filter((name) => /^\d\d-.*\.ipynb$/.test(name))
    .sort();

/** Everything a notebook printed or displayed, cell by cell. */
function outputText(cell: Cell): string {
  return (cell.outputs ?? []).map((output) => joined(output.text) + Object.values(output.data ?? {}).map(joined).join('\n')).join('\n');
}

describe('committed notebooks', () => {
  test(`there are ${EXPECTED_NOTEBOOKS} numbered notebooks on the tslab kernel`, () => {
    const files = notebookFiles();
    assert.equal(files.length, EXPECTED_NOTEBOOKS, `found: ${files.join(', ')}`);
    for (const file of files) assert.equal(readNotebook(path.join(NOTEBOOK_DIR, file)).metadata.kernelspec?.name, 'tslab', file);
  });

  test('have no outputs, execution counts or UI metadata (run `npm run nb:clean`)', () => {
    for (const file of notebookFiles()) {
      readNotebook(path.join(NOTEBOOK_DIR, file)).cells.forEach((cell, index) => {
        assert.deepEqual(cell.outputs ?? [], [], `${file} cell ${index} has outputs`);
        assert.equal(cell.execution_count ?? null, null, `${file} cell ${index} has an execution count`);
        assert.deepEqual(Object.keys(cell.metadata).filter((key) => key !== 'tags'), [], `${file} cell ${index} has metadata`);
      });
    }
  });

  test('follow the course shape: title, imports cell, versions cell, sections, summary, exercises', () => {
    for (const file of notebookFiles()) {
      const cells = readNotebook(path.join(NOTEBOOK_DIR, file)).cells;
      const markdown = cells.filter((cell) => cell.cell_type === 'markdown').map((cell) => joined(cell.source));
      const code = cells.filter((cell) => cell.cell_type === 'code').map((cell) => joined(cell.source));
      assert.match(joined(cells[0].source), /^# \d+\. /, `${file}: the first cell is the title`);
      assert.match(joined(cells[0].source), /In this notebook you will/, `${file}: the title says what the learner will do`);
      assert.match(code[0], /import \* as lab from "mnist-lab";/, `${file}: the first code cell holds the imports`);
      assert.match(code[1], /labInfo\(\)/, `${file}: the second code cell prints versions`);
      assert.match(code[1], /notebookSettings\(\)/, `${file}: the second code cell reads the mode and seed`);
      assert.ok(markdown.filter((text) => /^## /m.test(text)).length >= 4, `${file}: has ## sections`);
      assert.match(markdown.at(-1) ?? '', /## Summary[\s\S]*## Exercises/, `${file}: ends with a summary and exercises`);
      for (const source of code) {
        assert.doesNotMatch(source, /from ["']\.\.?\//, `${file}: imports the package by name, not a relative path`);
        assert.ok(source.split('\n').length <= 16, `${file}: code cell too long (keep cells short):\n${source}`);
      }
    }
  });

  test('clean.py --check fails on a notebook with outputs and passes once it is cleaned', () => {
    const dir = tempDir();
    const file = path.join(dir, 'dirty.ipynb');
    copyFileSync(path.join(NOTEBOOK_DIR, notebookFiles()[0]), file);
    const notebook = readNotebook(file);
    const codeCell = notebook.cells.find((cell) => cell.cell_type === 'code')!;
    codeCell.outputs = [{ output_type: 'stream', text: 'hello\n' }];
    codeCell.execution_count = 3;
    codeCell.metadata = { scrolled: true, tags: ['keep'] };
    writeFileSync(file, JSON.stringify(notebook));
    const clean = (...args: string[]) => spawnSync('python3', [path.join(PROJECT_ROOT, 'scripts', 'notebooks', 'clean.py'), ...args, file], { encoding: 'utf8' });
    const check = clean('--check');
    assert.equal(check.status, 1);
    assert.match(check.stderr, /not clean.*dirty\.ipynb.*npm run nb:clean/);
    assert.equal(clean().status, 0);
    assert.equal(clean('--check').status, 0);
    const cleaned = readNotebook(file).cells.find((cell) => cell.cell_type === 'code')!;
    assert.deepEqual(cleaned.outputs, []);
    assert.equal(cleaned.execution_count, null);
    assert.deepEqual(cleaned.metadata, { tags: ['keep'] });
  });
});

const canRun = !existsSync(PYTHON)
  ? 'the project .venv is missing (npm run setup)'
  : !REAL_DATA_DIR
    ? 'MNIST_LAB_DATA is not set'
    : false;

describe('notebooks run top to bottom in quick mode (nbclient + tslab)', { skip: canRun }, () => {
  const out = tempDir('mnist-lab-notebooks-');
  let status: number | null = null;
  let log = '';
  const executed = new Map<string, Notebook>();

  before(() => {
    // As a learner types it from the repository root (`MNIST_LAB_DATA=../shared/datasets npm run nb:run`):
    // a relative MNIST_LAB_DATA, with npm's INIT_CWD; the kernels run in notebooks/ and must still find the data.
    const typedIn = path.dirname(PROJECT_ROOT);
    const result = spawnSync(PYTHON, [path.join(PROJECT_ROOT, 'scripts', 'notebooks', 'run.py'), '--out', out], {
      encoding: 'utf8',
      cwd: PROJECT_ROOT,
      env: { ...process.env, MNIST_LAB_QUIET: '1', MNIST_LAB_DATA: path.relative(typedIn, REAL_DATA_DIR!) || '.', INIT_CWD: typedIn },
    });
    status = result.status;
    log = result.stdout + result.stderr;
    for (const file of notebookFiles()) {
      if (existsSync(path.join(out, file))) executed.set(file, readNotebook(path.join(out, file)));
    }
  });

  /** All output text of one notebook, found by a unique part of its name. */
  const outputsOf = (part: string): string => {
    const entry = [...executed.entries()].find(([name]) => name.includes(part));
    assert.ok(entry, `no executed notebook matching '${part}'; run log:\n${log}`);
    return entry[1].cells.map(outputText).join('\n');
  };

  test('every notebook ran without a cell error', () => {
    assert.equal(status, 0, `run.py failed:\n${log}`);
    const summary = JSON.parse(readFileSync(path.join(out, 'run-summary.json'), 'utf8')) as { mode: string; notebooks: { ok: boolean }[]; totalSeconds: number };
    assert.equal(summary.mode, 'quick');
    assert.equal(summary.notebooks.length, EXPECTED_NOTEBOOKS);
    assert.ok(summary.notebooks.every((entry) => entry.ok));
  });

  test('01: shapes, labels and the first image as the tutorials print them', () => {
    const text = outputsOf('01-');
    assert.match(text, /train images: uint8 \[60000, 28, 28\]/);
    assert.match(text, /test images: +uint8 \[10000, 28, 28\]/);
    assert.match(text, /first 10 training labels: 5 0 4 1 9 2 1 3 1 4/);
    assert.match(text, /0 +0 +0 +3 +18 +18 +18 +126 +136 +175 +26 +166 +255 +247 +127 +0/);
    assert.match(text, /DatasetNotFoundError: Data set 'mnist' was not found/);
    assert.match(text, /quick mode \(MNIST_LAB_QUICK=1\)/);
  });

  test('02: figures are drawn (static SVG inside each output)', () => {
    const text = outputsOf('02-');
    assert.ok((text.match(/class="mnist-lab-figure"/g) ?? []).length >= 6, 'expected at least 6 figures');
    assert.match(text, /float32 \[60000, 28, 28\], min 0, max 1\b/);
  });

  test('03: summary and hand count agree on 407,050 parameters', () => {
    const text = outputsOf('03-');
    assert.match(text, /Total params: 407,050/);
    assert.match(text, /total by hand: 407,050/);
    assert.match(text, /Total params: 669,706/, "tutorial 001's network");
    assert.match(text, /Total params: 101,770/, "tutorial 004's network");
    const untrained = /untrained: \{ loss: ([\d.]+), acc: ([\d.]+) \}/.exec(text);
    assert.ok(untrained, 'the untrained evaluation is printed');
    assert.ok(Math.abs(Number(untrained[1]) - Math.log(10)) < 0.5, `untrained loss ${untrained[1]} is near ln 10`);
  });

  test('04: trains, checkpoints the best epoch and reloads it with the same numbers', () => {
    const text = outputsOf('04-');
    assert.match(text, /Epoch 2\/2/);
    assert.match(text, /train: +uint8 \[48000, 28, 28\]/);
    assert.match(text, /validation: uint8 \[12000, 28, 28\]/);
    const best = /test metrics of the best weights: \{ loss: ([\d.]+), acc: ([\d.]+) \}/.exec(text);
    const reloaded = /reloaded best checkpoint: \{ loss: ([\d.]+), acc: ([\d.]+) \}/.exec(text);
    assert.ok(best && reloaded, 'both evaluations are printed');
    assert.equal(Number(reloaded[2]), Number(best[2]));
    assert.ok(Math.abs(Number(reloaded[1]) - Number(best[1])) < 1e-4);
    assert.match(text, /class="mnist-lab-table" data-name="overfitting-100-epochs"/);
  });

  test('05: every configuration of the tutorial 001 grid ran and is in the table and chart', () => {
    const text = outputsOf('05-');
    assert.doesNotMatch(text, /FAILED/);
    assert.match(text, /9 runs summarised/);
    for (const id of ['S1-base', 'S1-h2048', 'S1-h128', 'S1-nodrop', 'S1-norelu', 'S1-noscale', 'S1-sgd', 'S1-b512', 'S1-b32']) {
      assert.match(text, new RegExp(`<td>${id}</td>`), `${id} in the results table`);
    }
    assert.match(text, /data-figure="barChart"/);
  });

  test('06: Fashion-MNIST loads, trains and gets a confusion matrix', () => {
    const text = outputsOf('06-');
    assert.match(text, /train images: uint8 \[60000, 28, 28\]/);
    assert.match(text, /9 Ankle boot/);
    assert.match(text, /data-figure="heatmap"/);
    assert.match(text, /data-name="mnist-vs-fashion"/);
  });

  test('07: reloads, resumes, exports parameters exactly and classifies an image file', () => {
    const text = outputsOf('07-');
    assert.match(text, /resuming .*S2-interrupted after epoch 1\//);
    assert.match(text, /resumed run: 2 epochs in its history/);
    assert.match(text, /407,050 parameters in:/);
    assert.match(text, /identical predictions after import: true/);
    assert.match(text, /my-digit\.png \(a 2 from the test set\):\s+\d: [\d.]+%/);
    assert.match(text, /data-mnist-lab="drawing-pad"/, 'the drawing pad is next to predict');
  });

  test('04 shows the drawing pad after training; 05 the parallel-coordinates view of the grid', () => {
    assert.match(outputsOf('04-'), /data-mnist-lab="drawing-pad"[^]*tutorial 001's network, best checkpoint/);
    assert.match(outputsOf('04-'), /TensorFlow\.js \(browser build\) from node_modules/, 'the pad carries TensorFlow.js itself');
    const five = outputsOf('05-');
    assert.match(five, /data-figure="parallelCoordinates"/);
    assert.ok((five.match(/<polyline /g) ?? []).length >= 2, 'one line per run');
  });

  test('10: first-layer weights, weights over epochs, activations, probabilities, mistakes and the pad', () => {
    const text = outputsOf('10-');
    assert.match(text, /snapshots after epochs 0, 1, 2$/m);
    assert.match(text, /First-layer weights: what each hidden unit responds to/);
    assert.match(text, /First-layer weights forming over the epochs/);
    assert.equal((text.match(/data-figure="activations"/g) ?? []).length / 2, 2, 'two digits layer by layer (each output holds the figure twice: div and svg)');
    assert.match(text, /data-figure="probabilities"[^]*Most confident mistakes/);
    assert.match(text, /data-mnist-lab="drawing-pad"/);
    assert.match(text, /tensors still alive: 0/);
  });

  test('08: a folder of files loads (and from the cache), the MNIST run reads it, augmentation and the photo figure run', () => {
    const text = outputsOf('08-');
    assert.match(text, /images: uint8 \[200, 28, 28\], min 0, max 255 \| classes: 0 1 2 3 4 5 6 7 8 9/);
    assert.match(text, /second load from the cache: true/);
    assert.match(text, /MNIST test set: \d+\.\d% +\| +folder .* \(all 200 images\): \d+\.\d%/);
    assert.match(text, /rotation\/shift\/zoom/);
    assert.match(text, /predicted: \d \(/);
    assert.ok((text.match(/class="mnist-lab-figure"/g) ?? []).length >= 3, 'expected the gallery, the augmentation variants and the 28x28 figure');
  });

  test('09: the convnet beside the MLPs on MNIST and Fashion-MNIST, with its filters and feature maps', () => {
    const text = outputsOf('09-');
    assert.match(text, /conv2d \(Conv2D\)\s+\(None, 26, 26, 32\)\s+320/);
    assert.match(text, /Total params: 34,826/);
    assert.match(text, /\{ conv2d: 320, conv2d_1: 18496, dense: 16010 \} total 34826/);
    for (const name of ['parameters', 'mnist-mlp-vs-cnn', 'fashion-mlp-vs-cnn']) assert.match(text, new RegExp(`data-name="${name}"`), name);
    assert.match(text, /mnist convnet: test accuracy \d+\.\d\d%/);
    assert.match(text, /First-layer filters/);
    assert.match(text, /conv2d \(Conv2D\): first 16 of 32 maps, 26x26/);
    assert.match(text, /max_pooling2d_1 \(MaxPooling2D\): first 16 of 64 maps, 5x5/);
  });
});
