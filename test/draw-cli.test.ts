/**
 * `mnist-lab draw`: the standalone page (`--export`) and the served pad that
 * saves labelled drawings into an own-data folder, driven in headless
 * Chromium like a learner would (draw, pick the label, save).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import {
  PROJECT_ROOT,
  classFolderName,
  loadCheckpoint,
  loadImageFolder,
  predictImageFile,
  serveDrawingPad,
} from '../src';
import { CHROMIUM_ARGS, findChromium } from '../src/viz/png';
import { REAL_DATA_DIR, tempDir } from './helpers/fixtures';
import { loadTinyMnist, runCli, writeTinyRun } from './helpers/tiny-model';
import { DIGIT_STROKES, drawStrokes, waitForPad } from './helpers/pad';

const chromiumPath = findChromium();
const skip = chromiumPath || process.env.CI === 'true' ? (REAL_DATA_DIR ? false : 'MNIST_LAB_DATA is not set') : 'Chromium is not installed (apt-get install chromium)';

/** Start `mnist-lab draw` as a learner would and wait for the address it prints. */
async function startDraw(args: string[]): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'mnist-lab.js'), 'draw', ...args], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`mnist-lab draw printed no address:\n${output}`)), 90_000);
    const check = () => {
      const match = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output);
      if (match && output.includes('Press Ctrl+C')) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => reject(new Error(`mnist-lab draw exited with ${code}:\n${output}`)));
  });
  return { child, url, output: () => output };
}

describe('mnist-lab draw', { skip }, () => {
  let runDir: string;
  let browser: Browser;
  before(async () => {
    runDir = path.join(tempDir(), 'run');
    const model = await writeTinyRun(runDir, await loadTinyMnist(REAL_DATA_DIR!, 6000, 10), 4);
    model.dispose();
    browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: [...CHROMIUM_ARGS] });
  });
  after(async () => {
    await browser?.close();
  });

  test('--export writes one standalone page with the run inside', async () => {
    const file = path.join(tempDir(), 'pad.html');
    const printed = await runCli(['draw', '--model', runDir, '--export', file]);
    assert.match(printed, /Wrote .*pad\.html \(\d+\.\d+ MB, works offline/);
    const html = await fs.readFile(file, 'utf8');
    assert.match(html, /data-mnist-lab="drawing-pad"/);
    assert.match(html, /"weightsBase64":"/);
    assert.doesNotMatch(html, /"saveUrl":"/, 'an exported page has no save endpoint');
  });

  test('serves the pad on 127.0.0.1; a drawn 7 saved with label 7 lands in <dir>/7/ as a PNG the network reads as 7', async () => {
    const ownData = path.join(tempDir(), 'my-digits');
    const { child, url, output } = await startDraw(['--model', runDir, '--save-to', ownData, '--no-open']);
    try {
      assert.match(output(), /Saved drawings go to .*my-digits\/<label>\//);
      const context = await browser.newContext({ viewport: { width: 1200, height: 1000 } });
      const external: string[] = [];
      await context.route('**/*', (route) => {
        if (new URL(route.request().url()).hostname === '127.0.0.1') return route.continue();
        external.push(route.request().url());
        return route.abort();
      });
      const page = await context.newPage();
      await page.goto(url);
      await waitForPad(page);
      const answer = await drawStrokes(page, DIGIT_STROKES['7']);
      assert.equal(answer.prediction, '7');
      await page.click('button.mlp-save-button');
      assert.match(await page.textContent('.mlp-saved') ?? '', /Choose the label/);
      await page.click('button.mlp-label[data-label="7"]');
      await page.click('button.mlp-save-button');
      await page.waitForSelector('[data-saved]');
      const saved = await page.getAttribute('[data-mnist-lab="drawing-pad"]', 'data-saved');
      assert.match(saved ?? '', /^7\/drawing-.*\.png$/);
      assert.match(await page.textContent('.mlp-saved') ?? '', /Saved 7\/drawing-.*\(1 drawing of 7\)/);
      assert.deepEqual(external, []);
      await context.close();

      // The own-data layout: one folder per class, PNG files, readable by predict's pipeline.
      assert.deepEqual(await fs.readdir(ownData), ['7']);
      const files = await fs.readdir(path.join(ownData, '7'));
      assert.equal(files.length, 1);
      const model = await loadCheckpoint(runDir, 'best');
      const [top] = await predictImageFile(model, path.join(ownData, '7', files[0]));
      model.dispose();
      assert.equal(top.label, 7);
      // ...and by the own-data loader: a digit folder keeps its digit as the label.
      const dataset = await loadImageFolder(ownData, { cache: false });
      assert.deepEqual(dataset.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
      assert.deepEqual(Array.from({ length: dataset.train.labels.shape[0] }, (_, i) => dataset.train.labels.get(i)), [7]);
      assert.deepEqual(dataset.train.images.shape, [1, 28, 28]);

      // Bad requests are refused with a reason and write nothing.
      const bad = await fetch(new URL('/save', url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ label: 12, png: 'data:image/png;base64,AAAA' }) });
      assert.equal(bad.status, 400);
      const notPng = await fetch(new URL('/save', url), { method: 'POST', body: JSON.stringify({ label: 3, png: 'data:image/png;base64,aGVsbG8=' }) });
      assert.equal(notPng.status, 400);
      assert.match(await notPng.text(), /the drawing/);
      assert.deepEqual(await fs.readdir(ownData), ['7']);
    } finally {
      child.kill('SIGINT');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    assert.match(output(), /Stopped\. 1 drawing saved to .*my-digits/);
  });

  test('a port in use is refused with the flag named', async () => {
    const blocker = await serveDrawingPad(await loadCheckpoint(runDir, 'best'), { port: 0 });
    const port = new URL(blocker.url).port;
    try {
      await assert.rejects(runCli(['draw', '--model', runDir, '--port', port, '--no-open']), /--port: port \d+ on 127\.0\.0\.1 is already in use.*another port, or 0/);
    } finally {
      await blocker.close();
    }
  });

  test('class folders: digits by label, other names prefixed by their label and made path-safe', () => {
    assert.equal(classFolderName(7, '7'), '7');
    assert.equal(classFolderName(0, 'T-shirt/top'), '0-T-shirt_top');
    assert.equal(classFolderName(9, 'Ankle boot'), '9-Ankle_boot');
  });
});
