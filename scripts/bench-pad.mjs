// `npm run bench:pad [-- --seconds 3]`: how fast the drawing pad answers in
// headless Chromium. For two networks (seed 004's 784-128-10 and seed 001's
// 784-512-512-10) it writes the standalone pad page, opens it from disk,
// draws continuously (a pointer move every 8 ms, faster than any screen
// refreshes) and reports the page size, the updates per second the learner
// sees (each update = preprocessing + network + redraw, at most one per
// animation frame) and the time one update takes. Never part of `npm test`.
import * as path from 'node:path';
import * as os from 'node:os';
import { mkdtempSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { require as tsxRequire } from 'tsx/cjs/api';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { seconds: { type: 'string', default: '3' }, json: { type: 'boolean', default: false } } });
const seconds = Number(values.seconds);
const lab = tsxRequire(path.join(root, 'src', 'index.ts'), import.meta.url);
// Browser and file helpers are internal to the lab, not part of its public API.
const png = tsxRequire(path.join(root, 'src', 'viz', 'png.ts'), import.meta.url);
await lab.initBackend({ quiet: true });

const networks = [
  { name: 'S4 784-128-10', config: { ...lab.DEFAULT_MLP, hiddenUnits: [128], optimizer: 'adam' } },
  { name: 'S1 784-512-512-10', config: { ...lab.DEFAULT_MLP, hiddenUnits: [512, 512], dropoutRate: 0.2 } },
];
const dir = mkdtempSync(path.join(os.tmpdir(), 'mnist-lab-bench-pad-'));
const browser = await chromium.launch({ executablePath: png.findChromium(), headless: true, args: [...png.CHROMIUM_ARGS] });
const results = [];
try {
  for (const network of networks) {
    // Timing does not depend on what the weights learned, so the network is used as initialised.
    const model = lab.createMlp(network.config);
    const file = path.join(dir, 'pad.html');
    const bytes = await lab.saveDrawingPad(model, file);
    model.dispose();
    const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    await page.goto(pathToFileURL(file).href);
    await page.waitForSelector('[data-mnist-lab="drawing-pad"][data-ready="true"]', { timeout: 60_000 });
    const measured = await page.evaluate(async (durationMs) => {
      const root = document.querySelector('[data-mnist-lab="drawing-pad"]');
      const canvas = root.querySelector('canvas.mlp-draw');
      const rect = canvas.getBoundingClientRect();
      const times = [];
      new MutationObserver(() => times.push(Number(root.getAttribute('data-update-ms')))).observe(root, { attributeFilter: ['data-update-ms'] });
      const fire = (type, t) =>
        canvas.dispatchEvent(new PointerEvent(type, { bubbles: true, pointerId: 1, pointerType: 'pen', clientX: rect.left + rect.width * (0.3 + 0.4 * Math.abs(Math.sin(t * 3))), clientY: rect.top + rect.height * (0.2 + 0.6 * ((t * 0.7) % 1)), buttons: 1 }));
      const before = Number(root.getAttribute('data-updates'));
      const started = performance.now();
      fire('pointerdown', 0);
      await new Promise((resolve) => {
        const timer = setInterval(() => {
          const t = (performance.now() - started) / 1000;
          fire('pointermove', t);
          if (performance.now() - started >= durationMs) {
            clearInterval(timer);
            resolve();
          }
        }, 8);
      });
      fire('pointerup', 1);
      const elapsed = performance.now() - started;
      await new Promise((resolve) => setTimeout(resolve, 100));
      return { updates: Number(root.getAttribute('data-updates')) - before, elapsed, times };
    }, seconds * 1000);
    await page.close();
    const sorted = measured.times.slice().sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    results.push({
      network: network.name,
      pageMB: +(bytes / 1e6).toFixed(2),
      updatesPerSecond: +((measured.updates * 1000) / measured.elapsed).toFixed(1),
      medianUpdateMs: +median.toFixed(2),
      p95UpdateMs: +sorted[Math.floor(sorted.length * 0.95)].toFixed(2),
      updates: measured.updates,
    });
  }
} finally {
  await browser.close();
}
if (values.json) console.log(JSON.stringify(results, null, 2));
else {
  console.log(`drawing pad in headless Chromium (${png.findChromium()}), ${seconds} s of continuous drawing per network:`);
  console.log('network              page MB  updates/s  median ms/update  p95 ms');
  for (const row of results) console.log(`${row.network.padEnd(20)} ${String(row.pageMB).padStart(7)}  ${String(row.updatesPerSecond).padStart(9)}  ${String(row.medianUpdateMs).padStart(16)}  ${String(row.p95UpdateMs).padStart(6)}`);
}
