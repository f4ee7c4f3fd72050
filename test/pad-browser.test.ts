/**
 * The drawing pad in a real browser: a small MLP trained here on real MNIST,
 * written into a standalone page, opened from disk in headless Chromium with
 * the network off; a "1" and a "7" drawn with pointer events must be read as
 * such, and the 28x28 input the page shows must be what `preprocessImage`
 * makes of the same drawing in Node.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, PAD_PICTURE_SIZE, findChromium, saveDrawingPad, drawingPad, resetNotebookPad, decodeImage, preprocessImage, predictImage, tf } from '../src';
import { REAL_DATA_DIR, tempDir } from './helpers/fixtures';
import { loadTinyMnist, trainTinyMlp } from './helpers/tiny-model';
import { DIGIT_STROKES, clearPad, drawStrokes, offlineContext, readPad, waitForPad } from './helpers/pad';

const chromiumPath = findChromium();
const skip = chromiumPath || process.env.CI === 'true' ? (REAL_DATA_DIR ? false : 'MNIST_LAB_DATA is not set') : 'Chromium is not installed (apt-get install chromium)';

describe('drawing pad page opened from disk, network off', { skip }, () => {
  let browser: Browser;
  let model: tf.Sequential;
  let page: Page;
  let context: BrowserContext;
  const attempts: string[] = [];
  const errors: string[] = [];
  let pageBytes = 0;

  before(async () => {
    const data = await loadTinyMnist(REAL_DATA_DIR!, 6000, 10);
    model = await trainTinyMlp(data, 4, 64);
    const file = path.join(tempDir(), 'pad.html');
    pageBytes = await saveDrawingPad(model, file);
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: [...CHROMIUM_ARGS] });
    context = await offlineContext(browser, attempts);
    page = await context.newPage();
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    await waitForPad(page);
  });
  after(async () => {
    await context?.close();
    await browser?.close();
    model?.dispose();
  });

  test('the page is one self-contained file: TensorFlow.js and the weights inlined, no external address', async () => {
    const html = await fs.readFile((await page.evaluate(() => decodeURIComponent(location.pathname))), 'utf8');
    assert.equal(Buffer.byteLength(html), pageBytes);
    assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=/i, 'no script or stylesheet is loaded from elsewhere');
    assert.match(html, /TensorFlow\.js \(browser build\) from node_modules/);
    assert.equal((html.match(/TensorFlow\.js \(browser build\) from node_modules/g) ?? []).length, 1, 'TensorFlow.js is inlined once');
    console.log(`# pad page size: ${(pageBytes / 1e6).toFixed(2)} MB`);
  });

  test('an empty pad predicts nothing; a drawn "1" is read as 1 and a "7" as 7, probabilities summing to 1', async () => {
    const empty = await readPad(page);
    assert.equal(empty.prediction, '');
    assert.deepEqual(empty.probabilities, []);
    for (const digit of ['1', '7'] as const) {
      const answer = await drawStrokes(page, DIGIT_STROKES[digit]);
      assert.equal(answer.probabilities.length, 10);
      const sum = answer.probabilities.reduce((total, value) => total + value, 0);
      assert.ok(Math.abs(sum - 1) < 1e-4, `probabilities sum to ${sum}`);
      assert.equal(answer.prediction, digit, `drew a ${digit}, the pad says ${answer.prediction} (${answer.probabilities.map((p) => p.toFixed(2)).join(' ')})`);
      assert.equal(answer.prediction, String(answer.probabilities.indexOf(Math.max(...answer.probabilities))));
      await clearPad(page);
    }
    assert.deepEqual(attempts, [], 'the page tried to reach the network');
    assert.deepEqual(errors, []);
  });

  test('the 28x28 input is what preprocessImage makes of the drawing in Node, and the page agrees with predictImage', async () => {
    const answer = await drawStrokes(page, DIGIT_STROKES['7'], { pointerType: 'pen' });
    const { drawing, input } = await page.evaluate(() => {
      const root = document.querySelector('[data-mnist-lab="drawing-pad"]')!;
      const small = root.querySelector('canvas.mlp-input') as HTMLCanvasElement;
      const pixels = small.getContext('2d')!.getImageData(0, 0, 28, 28).data;
      // The picture the pad handed to preprocessImage (the drawing at PAD_PICTURE_SIZE).
      const pad = (window as unknown as { MnistLabPad: { pads: Array<{ picture(): string }> } }).MnistLabPad.pads[0];
      return { drawing: pad.picture(), input: Array.from({ length: 784 }, (_, p) => pixels[p * 4]) };
    });
    const picture = decodeImage(Buffer.from(drawing.split(',')[1], 'base64'));
    assert.deepEqual([picture.width, picture.height], [PAD_PICTURE_SIZE, PAD_PICTURE_SIZE]);
    const nodePixels = preprocessImage(picture);
    const differences = input.map((level, p) => Math.abs(level - Math.round(255 * nodePixels[p])));
    assert.ok(Math.max(...differences) <= 1, `largest difference ${Math.max(...differences)} of 255`);
    assert.ok(input.filter((level) => level > 0).length > 40, 'the input shows the stroke');
    const nodeTop = predictImage(model, nodePixels, { topK: 10 });
    for (const { label, probability } of nodeTop) assert.ok(Math.abs(answer.probabilities[label] - probability) < 1e-3, `class ${label}: page ${answer.probabilities[label]} vs Node ${probability}`);
    await clearPad(page);
  });

  test('touch strokes draw too; undo removes the last stroke and restores the previous answer', async () => {
    const seven = await drawStrokes(page, DIGIT_STROKES['7'], { pointerType: 'touch' });
    assert.equal(seven.prediction, '7');
    const scribbled = await drawStrokes(page, [[[0.1, 0.9], [0.9, 0.9], [0.9, 0.5]]], { pointerType: 'touch' });
    assert.notDeepEqual(scribbled.probabilities, seven.probabilities);
    await page.click('button:text-is("Undo")');
    await page.waitForFunction((updates) => Number(document.querySelector('[data-mnist-lab="drawing-pad"]')!.getAttribute('data-updates')) > updates, scribbled.updates);
    const undone = await readPad(page);
    assert.equal(undone.prediction, '7');
    undone.probabilities.forEach((value, index) => assert.ok(Math.abs(value - seven.probabilities[index]) < 1e-6));
    await clearPad(page);
  });

  test('hidden activations are drawn and change with the drawing', async () => {
    const layerPixels = () =>
      page.evaluate(() => {
        const canvas = document.querySelector('[data-mnist-lab="drawing-pad"] canvas.mlp-units') as HTMLCanvasElement;
        return Array.from(canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data).reduce((sum, value) => sum + value, 0);
      });
    await drawStrokes(page, DIGIT_STROKES['1']);
    const one = await layerPixels();
    await clearPad(page);
    await drawStrokes(page, DIGIT_STROKES['7']);
    const seven = await layerPixels();
    assert.notEqual(one, seven);
    assert.equal(await page.locator('text=Hidden layer').count(), 1, 'one hidden layer, one activation strip');
    await clearPad(page);
  });

  test('in a notebook, TensorFlow.js and the pad code are sent with the first pad only (until resetNotebookPad)', () => {
    const sent: string[] = [];
    const display = { html: (html: string) => void sent.push(html) };
    resetNotebookPad();
    drawingPad(model, { display });
    drawingPad(model, { display, title: 'Again' });
    resetNotebookPad();
    drawingPad(model, { display });
    const hasTf = sent.map((html) => /TensorFlow\.js \(browser build\)/.test(html));
    assert.deepEqual(hasTf, [true, false, true]);
    assert.ok(sent[1].length < 1_000_000 && sent[0].length > sent[1].length + 1_000_000, `${sent[0].length} vs ${sent[1].length} characters`);
    assert.match(sent[1], /data-mnist-lab="drawing-pad"/);
  });
});
