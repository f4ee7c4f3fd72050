/**
 * The drawing pad inside JupyterLab (started as `npm start` starts it): a
 * notebook trains a small MLP on real MNIST and shows `drawingPad(model)`;
 * a "1" and a "7" drawn on the cell output with pointer events are read as
 * such, probabilities summing to 1, with the network off for the page.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, findChromium } from '../src';
import { REAL_DATA_DIR } from './helpers/fixtures';
import { jupyterLabSkip, makeNotebookDir, openNotebook, removeNotebookDir, runAllCells, startJupyterLab, writeNotebook, type RunningLab } from './helpers/jupyterlab';
import { DIGIT_STROKES, clearPad, drawStrokes, waitForPad } from './helpers/pad';

const chromiumPath = findChromium();
const skip = !chromiumPath && process.env.CI !== 'true' ? 'Chromium is not installed' : !REAL_DATA_DIR ? 'MNIST_LAB_DATA is not set' : jupyterLabSkip();

describe('drawing pad in JupyterLab', { skip }, () => {
  let lab: RunningLab;
  let browser: Browser;
  let page: Page;
  let notebookDir = '';
  const external: string[] = [];

  before(async () => {
    const { relative, dir } = await makeNotebookDir();
    notebookDir = dir;
    await writeNotebook(path.join(dir, 'pad.ipynb'), [
      'import * as lab from "mnist-lab";',
      [
        'const [[trainImages, trainLabels]] = await lab.loadData("mnist");',
        'const [x, y] = lab.subset(trainImages, trainLabels, 6000);',
        'const model = lab.createMlp({ ...lab.DEFAULT_MLP, hiddenUnits: [64], optimizer: "adam", seed: 1 });',
        'await lab.fit(model, lab.scaleImages(x), y, { epochs: 4, batchSize: 32, verbose: 0 });',
      ].join('\n'),
      'lab.drawingPad(model, { title: "Pad in JupyterLab" });',
    ]);
    lab = await startJupyterLab();
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: [...CHROMIUM_ARGS] });
    page = await openNotebook(browser, lab, `${relative}/pad.ipynb`);
    // The pad must not fetch anything: only JupyterLab's own server is reachable.
    await page.context().route('**/*', (route) => {
      if (new URL(route.request().url()).hostname === '127.0.0.1') return route.continue();
      external.push(route.request().url());
      return route.abort();
    });
    await runAllCells(page);
    await waitForPad(page);
  });
  after(async () => {
    await browser?.close();
    await lab?.stop();
    await removeNotebookDir(notebookDir);
  });

  test('the cell output is a live pad: a drawn 1 reads 1, a drawn 7 reads 7, probabilities sum to 1', async () => {
    const root = page.locator('.jp-OutputArea-output [data-mnist-lab="drawing-pad"]');
    assert.equal(await root.count(), 1, 'the pad is in the cell output');
    await root.scrollIntoViewIfNeeded();
    for (const digit of ['1', '7'] as const) {
      const answer = await drawStrokes(page, DIGIT_STROKES[digit]);
      const sum = answer.probabilities.reduce((total, value) => total + value, 0);
      assert.equal(answer.probabilities.length, 10);
      assert.ok(Math.abs(sum - 1) < 1e-4, `probabilities sum to ${sum}`);
      assert.equal(answer.prediction, digit, `drew a ${digit}: ${answer.probabilities.map((p) => p.toFixed(2)).join(' ')}`);
      await clearPad(page);
    }
    assert.deepEqual(external, []);
  });
});
