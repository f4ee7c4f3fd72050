/**
 * The drawing pad in `npm run export` pages: a notebook trains a small MLP on
 * real MNIST and shows two pads; the exported HTML, opened from disk in
 * headless Chromium with the network off, loads TensorFlow.js once from the
 * export's assets/ and both pads read a drawn "1" and "7". The Markdown export
 * and the executed notebook say where to draw instead of dumping the scripts.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import {
  PROJECT_ROOT,
} from '../src';
import { CHROMIUM_ARGS, findChromium } from '../src/viz/png';
import { REAL_DATA_DIR, tempDir } from './helpers/fixtures';
import { makeNotebookFolder, writeNotebook } from './helpers/jupyterlab';
import { DIGIT_STROKES, drawStrokes, offlineContext, waitForPad } from './helpers/pad';

const PYTHON = path.join(PROJECT_ROOT, '.venv', 'bin', 'python');
const chromiumPath = findChromium();
const skip = !existsSync(PYTHON) ? 'the project .venv is missing (npm run setup)' : !REAL_DATA_DIR ? 'MNIST_LAB_DATA is not set' : !chromiumPath && process.env.CI !== 'true' ? 'Chromium is not installed' : false;

describe('drawing pad in an exported notebook page', { skip }, () => {
  const out = path.join(tempDir('mnist-lab-pad-export-'), 'export');
  let notebookDir = '';
  let browser: Browser;
  let status: number | null = null;
  let log = '';

  before(async () => {
    notebookDir = makeNotebookFolder();
    const notebook = writeNotebook(notebookDir, 'pad-export.ipynb', [
      'import * as lab from "mnist-lab";',
      [
        'const [[trainImages, trainLabels]] = await lab.loadData("mnist");',
        'const [x, y] = lab.subset(trainImages, trainLabels, 6000);',
        'const model = lab.createMlp({ ...lab.DEFAULT_MLP, hiddenUnits: [64], optimizer: "adam", seed: 1 });',
        'await lab.fit(model, lab.scaleImages(x), y, { epochs: 4, batchSize: 32, verbose: 0 });',
      ].join('\n'),
      'lab.drawingPad(model, { title: "First pad" });',
      'lab.drawingPad(model, { title: "Second pad", showActivations: false });',
    ]);
    const result = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'export.mjs'), '--no-build', '--out', out, notebook], { encoding: 'utf8', env: { ...process.env, MNIST_LAB_QUIET: '1' } });
    status = result.status;
    log = result.stdout + result.stderr;
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: [...CHROMIUM_ARGS] });
  });
  after(async () => {
    await browser?.close();
    if (notebookDir) rmSync(notebookDir, { recursive: true, force: true });
  });

  test('the exported page, opened from disk offline, has two working pads and TensorFlow.js once', async () => {
    assert.equal(status, 0, log);
    const file = path.join(out, 'pad-export.html');
    const html = readFileSync(file, 'utf8');
    assert.equal((html.match(/<script src="assets\/tfjs\.min\.js"><\/script>/g) ?? []).length, 1, 'TensorFlow.js is loaded once per page, from the export');
    assert.equal((html.match(/<script src="assets\/drawing-pad\.js"><\/script>/g) ?? []).length, 1, 'the pad code is loaded once per page, from the export');
    assert.doesNotMatch(html, /TensorFlow\.js \(browser build\) from node_modules/, 'TensorFlow.js is not inlined into the page');
    assert.match(readFileSync(path.join(out, 'assets', 'tfjs.min.js'), 'utf8').slice(0, 200), /TensorFlow\.js|Copyright/);
    // Two pads of a 784-64-10 network: the float16 weights twice, no megabytes of script.
    console.log(`# exported notebook page with two pads: ${(Buffer.byteLength(html) / 1e6).toFixed(2)} MB`);
    assert.ok(Buffer.byteLength(html) < 600_000, `the page takes ${(Buffer.byteLength(html) / 1e6).toFixed(2)} MB`);
    const attempts: string[] = [];
    const context = await offlineContext(browser, attempts);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(pathToFileURL(file).href);
    await waitForPad(page);
    await page.waitForFunction(() => document.querySelectorAll('[data-mnist-lab="drawing-pad"][data-ready="true"]').length === 2);
    const one = await drawStrokes(page, DIGIT_STROKES['1'], { index: 0 });
    const seven = await drawStrokes(page, DIGIT_STROKES['7'], { index: 1 });
    assert.equal(one.prediction, '1');
    assert.equal(seven.prediction, '7');
    for (const answer of [one, seven]) assert.ok(Math.abs(answer.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-4);
    assert.equal(await page.locator('text=Hidden layer').count(), 1, 'the second pad was asked to hide its activations');
    assert.deepEqual(attempts, []);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('the Markdown export and the executed notebook point to the HTML instead of carrying the scripts', () => {
    const markdown = readFileSync(path.join(out, 'pad-export.md'), 'utf8');
    assert.match(markdown, /Drawing pad: open the HTML export/);
    assert.ok(markdown.length < 100_000, `${markdown.length} characters`);
    const executed = readFileSync(path.join(out, 'notebooks', 'pad-export.ipynb'), 'utf8');
    assert.match(executed, /Drawing pad: open \[pad-export\.html\]\(\.\.\/pad-export\.html\)/);
    assert.doesNotMatch(executed, /TensorFlow\.js \(browser build\)/);
    assert.ok(executed.length < 100_000, `the executed notebook has ${executed.length} characters`);
  });
});
