// `node scripts/make-screenshots.mjs [outDir]`: the README's figures as PNG
// (pixel grid of training image 0, a gallery with predictions, training
// curves, one digit inside the network, the most confident mistakes, and the
// drawing pad with a 7 drawn on it), made with the lab's own API from a
// small, quick training run.
// Needs MNIST (env MNIST_LAB_DATA or the usual places) and Chromium.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { require as tsxRequire } from 'tsx/cjs/api';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.resolve(process.argv[2] ?? path.join(root, 'docs', 'images'));
// Run from the sources, so screenshots never come from a stale dist/.
const lab = tsxRequire(path.join(root, 'src', 'index.ts'), import.meta.url);
// Browser and file helpers are internal to the lab, not part of its public API.
const png = tsxRequire(path.join(root, 'src', 'viz', 'png.ts'), import.meta.url);
const files = tsxRequire(path.join(root, 'src', 'util', 'fs.ts'), import.meta.url);

// Small enough to train in seconds on any backend; the point is the picture, not the accuracy.
const trainCount = 3000;
const epochs = 8;
const galleryCount = 20;

await lab.initBackend();
const [[trainImages, trainLabels], [testImages, testLabels]] = await lab.loadData('mnist');
const [someImages, someLabels] = lab.subset(trainImages, trainLabels, trainCount);
const model = lab.createMlp({ ...lab.DEFAULT_MLP, hiddenUnits: [128], optimizer: 'adam', loss: 'sparse_categorical_crossentropy' });
const history = await lab.fit(model, lab.scaleImages(someImages), someLabels, { epochs, batchSize: 32, validationSplit: 0.2, verbose: 0 });
const [galleryImages] = lab.subset(testImages, testLabels, galleryCount);
const predictions = lab.tf.tidy(() => {
  const input = lab.toTensor(lab.scaleImages(galleryImages));
  return Array.from(model.predict(input).argMax(-1).dataSync());
});
const scaledTest = lab.scaleImages(lab.subset(testImages, testLabels, 2000)[0]);
const inside = lab.activationsFigure(model, scaledTest, { index: 0 });
const mistakes = lab.confidentMistakes(model, scaledTest, lab.subset(testImages, testLabels, 2000)[1], { count: 4 });
const padFile = path.join(outDir, '.drawing-pad.tmp.html');
await lab.saveDrawingPad(model, padFile, { title: 'Draw a digit: 784-128-10 trained on 3000 images' });
lab.disposeWithOptimizer(model);

// The pad, with a 7 drawn by pointer events as a learner's pen would.
{
  const browser = await chromium.launch({ executablePath: png.findChromium(), headless: true, args: [...png.CHROMIUM_ARGS] });
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 }, deviceScaleFactor: 1 });
    await page.goto(pathToFileURL(padFile).href);
    await page.waitForSelector('[data-mnist-lab="drawing-pad"][data-ready="true"]', { timeout: 60_000 });
    await page.evaluate(() => {
      const canvas = document.querySelector('[data-mnist-lab="drawing-pad"] canvas.mlp-draw');
      const rect = canvas.getBoundingClientRect();
      const points = [[0.25, 0.2], [0.75, 0.2], [0.45, 0.85]];
      const fire = (type, [x, y]) => canvas.dispatchEvent(new PointerEvent(type, { bubbles: true, pointerId: 1, pointerType: 'pen', clientX: rect.left + x * rect.width, clientY: rect.top + y * rect.height, buttons: 1 }));
      fire('pointerdown', points[0]);
      for (let i = 1; i < points.length; i++) for (let step = 1; step <= 12; step++) fire('pointermove', points[i - 1].map((start, axis) => start + (step / 12) * (points[i][axis] - start)));
      fire('pointerup', points[points.length - 1]);
    });
    await page.waitForFunction(() => document.querySelector('[data-mnist-lab="drawing-pad"]').getAttribute('data-prediction') !== '');
    const file = path.join(outDir, 'drawing-pad.png');
    await files.writeFileAtomic(file, await page.locator('[data-mnist-lab="drawing-pad"]').screenshot({ type: 'png' }));
    console.log(file);
  } finally {
    await browser.close();
    await import('node:fs').then((fs) => fs.promises.rm(padFile, { force: true }));
  }
}

const session = await png.openBrowser();
try {
  const figures = {
    'pixel-grid.png': lab.pixelGrid(trainImages, { index: 0, title: 'Training image 0 (label 5): every pixel value' }),
    'gallery-predictions.png': lab.gallery(testImages, testLabels, { count: galleryCount, predictions, title: `First ${galleryCount} test digits: label and prediction (MLP, ${trainCount} training images)` }),
    'training-curves.png': lab.trainingCurves([{ name: 'mlp', history }], { title: `Training curves (784-128-10, ${trainCount} images, validation split 0.2)` }),
    'inside-activations.png': inside,
    'confident-mistakes.png': mistakes,
  };
  for (const [name, figure] of Object.entries(figures)) {
    const file = path.join(outDir, name);
    await files.writeFileAtomic(file, await session.png(figure, { scale: 1 }));
    console.log(file);
  }
} finally {
  await session.close();
}
