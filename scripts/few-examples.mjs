// `npm run few-examples`: what augmentation is for. The S1-base network
// trained on only the first N MNIST training images, with and without data
// augmentation, several seeds each, tested on the full test set; the same in
// Keras 3 (.venv, scripts/keras/few_examples.py) for a side-by-side column.
//
//   MNIST_LAB_DATA=../shared/datasets npm run few-examples -- [--train-limit 1000] [--epochs 30] [--seeds 1,2,3] [--no-keras] [--out results/few-examples.json]
//
// Train accuracy is measured on the un-augmented training images after the
// last epoch, so the gap (train - test) compares like with like.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, renameSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { values } = parseArgs({
  options: {
    'train-limit': { type: 'string', default: '1000' },
    epochs: { type: 'string', default: '30' },
    seeds: { type: 'string', default: '1,2,3' },
    'no-keras': { type: 'boolean', default: false },
    out: { type: 'string', default: 'results/few-examples.json' },
  },
});
const trainLimit = Number(values['train-limit']);
const epochs = Number(values.epochs);
const seeds = values.seeds.split(',').map(Number);
const AUGMENT = { rotationRange: 10, widthShiftRange: 0.1, heightShiftRange: 0.1, zoomRange: 0.1 };

const lab = require(path.join(root, 'dist', 'index.js'));
await lab.initBackend();
const { tf } = lab;
const [[trainImages, trainLabels], [testImages, testLabels]] = await lab.loadData('mnist');
const [x, y] = lab.subset(trainImages, trainLabels, trainLimit);
const images = lab.toTensor(lab.scaleImages(x));
const labels = lab.toTensor(y, 'int32');
const testX = lab.toTensor(lab.scaleImages(testImages));
const testY = lab.toTensor(testLabels, 'int32');
const rows = [];
for (const augment of [false, true]) {
  for (const seed of seeds) {
    const model = lab.createMlp({ ...lab.getPreset('S1-base').model, seed });
    const started = performance.now();
    await lab.fit(model, images, labels, { epochs, batchSize: 32, seed, verbose: 0, validationSplit: 0, augment: augment ? AUGMENT : undefined });
    const seconds = (performance.now() - started) / 1000;
    const train = lab.evaluate(model, images, labels);
    const test = lab.evaluate(model, testX, testY);
    const row = { engine: 'mnist-lab', augment, seed, trainAcc: train.acc, testAcc: test.acc, testLoss: test.loss, gap: train.acc - test.acc, seconds };
    console.error(JSON.stringify(row));
    rows.push(row);
    model.optimizer?.dispose();
    model.dispose();
  }
}
tf.dispose([images, labels, testX, testY]);

const python = path.join(root, '.venv', 'bin', 'python');
if (!values['no-keras'] && existsSync(python)) {
  const keras = spawnSync(python, [path.join(root, 'scripts', 'keras', 'few_examples.py'), '--train-limit', String(trainLimit), '--epochs', String(epochs), '--seeds', values.seeds,
    '--rotation-range', String(AUGMENT.rotationRange), '--width-shift-range', String(AUGMENT.widthShiftRange), '--height-shift-range', String(AUGMENT.heightShiftRange), '--zoom-range', String(AUGMENT.zoomRange)],
    { encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
  if (keras.status !== 0) console.error(`few-examples: the Keras column failed: ${keras.stderr.trim().split('\n').slice(-3).join(' / ')}`);
  else for (const line of keras.stdout.trim().split('\n')) rows.push(JSON.parse(line));
}

const stats = (list) => {
  const mean = list.reduce((s, v) => s + v, 0) / list.length;
  const sd = list.length > 1 ? Math.sqrt(list.reduce((s, v) => s + (v - mean) ** 2, 0) / (list.length - 1)) : 0;
  return `${(mean * 100).toFixed(2)} ± ${(sd * 100).toFixed(2)}`;
};
const lines = [
  `| augmentation | engine | test accuracy % (mean ± sd, ${seeds.length} seeds) | train accuracy % | gap (train − test), points |`,
  '|---|---|---|---|---|',
];
for (const augment of [false, true]) {
  for (const engine of ['mnist-lab', 'keras']) {
    const group = rows.filter((row) => row.augment === augment && row.engine === engine);
    if (group.length === 0) continue;
    lines.push(`| ${augment ? 'rotation 10°, shifts 0.1, zoom 0.1' : 'none'} | ${engine === 'keras' ? 'Keras 3' : 'mnist-lab'} | ${stats(group.map((r) => r.testAcc))} | ${stats(group.map((r) => r.trainAcc))} | ${stats(group.map((r) => r.gap))} |`);
  }
}
console.log(`S1-base on the first ${trainLimit} MNIST training images, ${epochs} epochs, batch 32, tested on all 10,000 test images:\n`);
console.log(lines.join('\n'));
const out = path.resolve(root, values.out);
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(`${out}.tmp`, JSON.stringify({ trainLimit, epochs, seeds, augment: AUGMENT, rows }, null, 2) + '\n');
renameSync(`${out}.tmp`, out);
