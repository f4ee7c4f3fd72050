// `node scripts/make-screenshots.mjs [outDir]`: the README's figures as PNG
// (pixel grid of training image 0, a gallery with predictions, training
// curves), made with the lab's own API from a small, quick training run.
// Needs MNIST (env MNIST_LAB_DATA or the usual places) and Chromium.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { require as tsxRequire } from 'tsx/cjs/api';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.resolve(process.argv[2] ?? path.join(root, 'docs', 'images'));
// Run from the sources, so screenshots never come from a stale dist/.
const lab = tsxRequire(path.join(root, 'src', 'index.ts'), import.meta.url);

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
model.dispose();

const session = await lab.openBrowser();
try {
  const figures = {
    'pixel-grid.png': lab.pixelGrid(trainImages, { index: 0, title: 'Training image 0 (label 5): every pixel value' }),
    'gallery-predictions.png': lab.gallery(testImages, testLabels, { count: galleryCount, predictions, title: `First ${galleryCount} test digits: label and prediction (MLP, ${trainCount} training images)` }),
    'training-curves.png': lab.trainingCurves([{ name: 'mlp', history }], { title: `Training curves (784-128-10, ${trainCount} images, validation split 0.2)` }),
  };
  for (const [name, figure] of Object.entries(figures)) {
    const file = path.join(outDir, name);
    await lab.writeFileAtomic(file, await session.png(figure, { scale: 1 }));
    console.log(file);
  }
} finally {
  await session.close();
}
