/**
 * Renderers that need headless Chromium: PNG export, a chart page drawn by
 * plotly.js with the network off, and the live nodeplotlib page served by
 * our offline server. Under CI Chromium must be installed (these tests fail
 * rather than skip); elsewhere they skip with the reason.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { chromium, type Browser } from 'playwright-core';
import {
  loadData,
  pixelGrid,
  gallery,
  trainingCurves,
  confusionMatrixFigure,
  renderHtml,
  saveFigure,
  createLivePlot,
  type TrainingHistory,
} from '../src';
import { findChromium, openBrowser, CHROMIUM_ARGS, type BrowserSession } from '../src/viz/png';
import { REAL_DATA_DIR, tempDir } from './helpers/fixtures';

const chromiumPath = findChromium();
const browserSkip = chromiumPath || process.env.CI === 'true' ? false : 'Chromium is not installed (apt-get install chromium, or set MNIST_LAB_CHROMIUM); PNG and page-rendering tests skipped';
const real = { skip: browserSkip || (REAL_DATA_DIR ? false : 'MNIST_LAB_DATA is not set') };

const HISTORY: TrainingHistory = {
  epoch: [0, 1, 2, 3],
  history: { loss: [0.5, 0.3, 0.2, 0.15], acc: [0.85, 0.9, 0.93, 0.95], val_loss: [0.4, 0.3, 0.28, 0.31], val_acc: [0.88, 0.91, 0.92, 0.92], seconds: [1, 1, 1, 1] },
};

/** Decoded PNG with helpers to read pixels. */
function decode(bytes: Buffer) {
  const png = PNG.sync.read(bytes);
  const at = (x: number, y: number) => {
    const offset = (y * png.width + x) * 4;
    return [png.data[offset], png.data[offset + 1], png.data[offset + 2]] as const;
  };
  let nonWhite = 0;
  let plotBlue = 0;
  for (let offset = 0; offset < png.data.length; offset += 4) {
    const [red, green, blue] = [png.data[offset], png.data[offset + 1], png.data[offset + 2]];
    if (red < 235 || green < 235 || blue < 235) nonWhite++;
    // The train curve's colour (#1f77b4), with some tolerance for anti-aliasing.
    if (Math.abs(red - 0x1f) < 40 && Math.abs(green - 0x77) < 40 && Math.abs(blue - 0xb4) < 40) plotBlue++;
  }
  return { width: png.width, height: png.height, at, nonWhite, plotBlue, total: png.width * png.height };
}

test('Chromium is present under CI', { skip: process.env.CI === 'true' ? false : 'only enforced under CI=true' }, () => {
  assert.ok(chromiumPath, 'CI must install chromium (apt-get install chromium) so PNG export is tested');
});

describe('PNG export and rendered pages', { skip: browserSkip }, () => {
  let session: BrowserSession;
  before(async () => {
    session = await openBrowser();
  });
  after(async () => {
    await session?.close();
  });

  test('pixel grid PNG of image 0: natural and requested size, black where 0, white where 253, gray where 126', real, async () => {
    const [[trainImages]] = await loadData('mnist', { dataDir: REAL_DATA_DIR });
    const figure = pixelGrid(trainImages, { index: 0 });
    const image = decode(await session.png(figure));
    assert.equal(image.width, 28 * 28 + 32);
    // Cell (row, column) starts at (16 + 28 column, 40 + 28 row); sample a corner, away from the digits written in it.
    const cell = (row: number, column: number) => image.at(16 + 28 * column + 3, 40 + 28 * row + 3);
    assert.ok(cell(0, 0).every((channel) => channel < 10), `pixel (0,0) is 0: black, got ${cell(0, 0)}`);
    assert.ok(cell(6, 13).every((channel) => channel > 240), `pixel (6,13) is 253: white, got ${cell(6, 13)}`);
    const [gray] = cell(5, 16);
    assert.ok(Math.abs(gray - 126) < 8, `pixel (5,16) is 126: mid gray, got ${gray}`);
    const scaled = decode(await session.png(figure, { width: 400, height: 300, scale: 2 }));
    assert.deepEqual([scaled.width, scaled.height], [800, 600], 'requested size times the pixel density');
    assert.ok(scaled.nonWhite > scaled.total * 0.3, 'the grid is drawn, not a blank page');
  });

  test('training curves PNG: requested size, curves drawn', async () => {
    const file = path.join(tempDir(), 'curves.png');
    await saveFigure(trainingCurves(HISTORY), file, { png: { width: 900, height: 420 } });
    const image = decode(await fs.readFile(file));
    assert.deepEqual([image.width, image.height], [900, 420]);
    assert.ok(image.nonWhite > image.total * 0.02, `non-blank (${image.nonWhite} non-white pixels)`);
    assert.ok(image.plotBlue > 300, `the train curves are drawn (${image.plotBlue} blue pixels)`);
  });

  test('gallery PNG shows digits: a dark tile with white strokes', real, async () => {
    const [, [testImages, testLabels]] = await loadData('mnist', { dataDir: REAL_DATA_DIR });
    const image = decode(await session.png(gallery(testImages, testLabels, { count: 10 })));
    let dark = 0;
    let bright = 0;
    for (let y = 70; y < 140; y++) for (let x = 30; x < 100; x++) {
      const [red] = image.at(x, y);
      if (red < 30) dark++;
      if (red > 220) bright++;
    }
    assert.ok(dark > 2000 && bright > 200, `first tile: ${dark} dark, ${bright} bright pixels`);
  });

  test('chart HTML page renders with plotly.js while the network is off', async () => {
    for (const figure of [trainingCurves(HISTORY), confusionMatrixFigure([[50, 2], [5, 40]])]) {
      const shot = decode(await session.screenshot({ html: renderHtml(figure) }, { width: 1000, height: 560, waitFor: '[data-rendered="plotly"] .main-svg' }));
      assert.ok(shot.nonWhite > shot.total * 0.005, `${figure.kind}: screenshot not blank (${shot.nonWhite} non-white pixels)`);
      assert.ok(shot.plotBlue > 200, `${figure.kind}: plotly drew the data (${shot.plotBlue} blue pixels)`);
    }
  });
});

describe('live plot in a browser (offline nodeplotlib page)', { skip: browserSkip }, () => {
  let browser: Browser;
  before(async () => {
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: [...CHROMIUM_ARGS] });
  });
  after(async () => {
    await browser?.close();
  });

  test('streams epochs to the page, nothing is fetched from the internet, close() ends the server', async () => {
    const outFile = path.join(tempDir(), 'live.html');
    const messages: string[] = [];
    const live = await createLivePlot({ mode: 'browser', openBrowser: false, outFile, log: (line) => messages.push(line) });
    assert.equal(live.mode, 'browser');
    const url = /live training curves at (\S+)/.exec(messages.join('\n'))?.[1];
    assert.ok(url, messages.join('\n'));
    const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
    const external: string[] = [];
    await context.route('**/*', (route) => {
      const host = new URL(route.request().url()).hostname;
      if (host === 'localhost' || host === '127.0.0.1') return route.continue();
      external.push(route.request().url());
      return route.abort();
    });
    const page = await context.newPage();
    live.onEpoch(0, { loss: 0.5, acc: 0.85, val_loss: 0.4, val_acc: 0.88 });
    await page.goto(url, { waitUntil: 'load' });
    await page.waitForSelector('.main-svg', { timeout: 30_000 });
    live.onEpoch(1, { loss: 0.3, acc: 0.9, val_loss: 0.3, val_acc: 0.91 });
    live.onEpoch(2, { loss: 0.2, acc: 0.93, val_loss: 0.28, val_acc: 0.92 });
    // The page redraws with the third epoch: the x axis gets a tick "3".
    await page.waitForFunction(() => Array.from(document.querySelectorAll('.xtick text')).some((tick) => tick.textContent === '3'), undefined, { timeout: 20_000 });
    const image = decode(await page.screenshot({ type: 'png' }));
    assert.ok(image.plotBlue > 200, `the page shows the curves (${image.plotBlue} blue pixels)`);
    assert.ok(!external.some((address) => /plot\.ly|plotly/.test(address)), `plotly.js came from a CDN: ${external.join(', ')}`);
    const result = await live.close();
    assert.equal(result.file, outFile);
    assert.match(await fs.readFile(outFile, 'utf8'), /best val_loss \(epoch 3\)/);
    await assert.rejects(fetch(url), 'the server is closed after close()');
    await context.close();
  });
});
