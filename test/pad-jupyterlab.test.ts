/**
 * The drawing pad inside JupyterLab (test/helpers/jupyterlab.ts): a
 * notebook trains a small MLP on real MNIST and shows `drawingPad(model)`;
 * a "1" and a "7" drawn on the cell output with pointer events are read as
 * such, probabilities summing to 1, with the network off for the page.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { REAL_DATA_DIR, REAL_DATA_SKIP } from './helpers/fixtures';
import { jupyterLabSkipReason, openNotebook, startJupyterLab, writeNotebook, type JupyterLab } from './helpers/jupyterlab';
import { DIGIT_STROKES, clearPad, drawStrokes, waitForPad } from './helpers/pad';

const skip = !REAL_DATA_DIR ? REAL_DATA_SKIP : jupyterLabSkipReason();

describe('drawing pad in JupyterLab', { skip }, () => {
  let lab: JupyterLab;
  let page: Page;
  const external: string[] = [];

  before(async () => {
    lab = await startJupyterLab({ env: { MNIST_LAB_DATA: REAL_DATA_DIR! } });
    const file = writeNotebook(lab.rootDir, 'pad.ipynb', [
      'import * as lab from "mnist-lab";',
      [
        'const [[trainImages, trainLabels]] = await lab.loadData("mnist");',
        'const [x, y] = lab.subset(trainImages, trainLabels, 6000);',
        'const model = lab.createMlp({ ...lab.DEFAULT_MLP, hiddenUnits: [64], optimizer: "adam", seed: 1 });',
        'await lab.fit(model, lab.scaleImages(x), y, { epochs: 4, batchSize: 32, verbose: 0 });',
      ].join('\n'),
      'lab.drawingPad(model, { title: "Pad in JupyterLab" });',
    ]);
    const notebook = await openNotebook(lab, file);
    page = notebook.page;
    // The pad must not fetch anything: only JupyterLab's own server is reachable.
    await page.context().route('**/*', (route) => {
      if (new URL(route.request().url()).hostname === '127.0.0.1') return route.continue();
      external.push(route.request().url());
      return route.abort();
    });
    for (const index of [0, 1, 2]) await notebook.runCell(index, { timeoutMs: 300_000 });
    await waitForPad(page);
  });
  after(async () => {
    await lab?.stop();
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
