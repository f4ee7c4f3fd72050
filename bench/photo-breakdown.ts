/**
 * Where `predict` loses accuracy on photo-like digits: the photo test's
 * model (test/helpers/tiny-model.ts, trained on MNIST's first 20,000
 * examples) read on the first N test digits, clean and as photos
 * (src/data/synthetic-photo.ts, seeds 1000 + i as in the test), broken down
 * by what each photo drew: placement size, the digit's amount of ink, ink
 * darkness, shadow. Per group it compares accuracy on the same digits, and
 * the 28x28 the network sees for the photo against the clean digit (mean
 * absolute difference, total ink, full-ink pixels, ink box), which is what
 * to look at when a group loses points.
 *
 *   MNIST_LAB_DATA=/path/to/mnist npx tsx bench/photo-breakdown.ts 1000 [--variants]
 *
 * `--variants` also reads the photos again with JPEG quality 100 and without
 * specks, to price those two apart. Not part of `npm test`.
 */
import { parseArgs } from 'node:util';
import { predict, preprocessImage, tf } from '../src';
import { decodeImage } from '../src/data/image-decode';
import { REAL_DATA_DIR } from '../test/helpers/fixtures';
import { loadTinyMnist, trainPhotoModel, PHOTO_MODEL_TRAIN_COUNT } from '../test/helpers/tiny-model';
import { photoOfDigit, type PhotoOptions, type PhotoParameters } from '../test/helpers/photo';

const { values: flags, positionals } = parseArgs({ allowPositionals: true, options: { variants: { type: 'boolean', default: false } } });
const count = Number(positionals[0] ?? 1000);
if (!Number.isInteger(count) || count < 1 || count > 10000) throw new RangeError(`N must be a whole number of test digits from 1 to 10000, got ${positionals[0]}`);

async function main(): Promise<void> {
  if (!REAL_DATA_DIR) throw new Error('set MNIST_LAB_DATA to the folder holding the MNIST IDX files');
  const data = await loadTinyMnist(REAL_DATA_DIR, PHOTO_MODEL_TRAIN_COUNT, count);
  const model = await trainPhotoModel(data);
  const labels = Array.from({ length: count }, (_, i) => data.testLabels.get(i));
  const digits = Array.from({ length: count }, (_, i) => Float32Array.from({ length: 784 }, (_, p) => data.testImages.get(i, Math.floor(p / 28), p % 28)));

  /** Index of the highest of each row of 10 probabilities. */
  function guesses(inputs: Float32Array): number[] {
    const stack = tf.tensor3d(inputs, [count, 28, 28]);
    const probabilities = predict(model, stack);
    stack.dispose();
    return Array.from({ length: count }, (_, i) => {
      const row = Array.from(probabilities.subarray(i * 10, i * 10 + 10));
      return row.indexOf(Math.max(...row));
    });
  }

  /** The photos of every test digit as the network sees them, and what each photo drew. */
  function photoInputs(options: PhotoOptions = {}): { inputs: Float32Array; drawn: PhotoParameters[] } {
    const inputs = new Float32Array(count * 784);
    const drawn: PhotoParameters[] = [];
    for (let i = 0; i < count; i++) {
      const parameters = {} as PhotoParameters;
      const bytes = photoOfDigit(digits[i], 1000 + i, options, parameters);
      inputs.set(preprocessImage(decodeImage(bytes, `photo-${i}.jpg`), `photo-${i}.jpg`), i * 784);
      drawn.push(parameters);
    }
    return { inputs, drawn };
  }

  const cleanInputs = new Float32Array(count * 784);
  digits.forEach((digit, i) => cleanInputs.set(digit.map((value) => value / 255), i * 784));
  const clean = guesses(cleanInputs);
  const started = performance.now();
  const { inputs, drawn } = photoInputs();
  const preprocessSeconds = (performance.now() - started) / 1000;
  const photos = guesses(inputs);

  /** Shape statistics of one 28x28 input: total ink, pixels at 0.9 or more, ink box height. */
  function shape(values: Float32Array, offset: number): { ink: number; full: number; boxHeight: number } {
    let ink = 0;
    let full = 0;
    let top = 28;
    let bottom = -1;
    for (let p = 0; p < 784; p++) {
      const value = values[offset + p];
      ink += value;
      if (value >= 0.9) full++;
      if (value >= 0.2) {
        top = Math.min(top, Math.floor(p / 28));
        bottom = Math.max(bottom, Math.floor(p / 28));
      }
    }
    return { ink, full, boxHeight: Math.max(0, bottom - top + 1) };
  }

  const percent = (part: number, whole: number) => (whole ? (100 * part) / whole : NaN);
  const cleanInk = digits.map((digit) => digit.reduce((sum, value) => sum + value, 0));
  const inkQuartiles = [0.25, 0.5, 0.75].map((q) => cleanInk.slice().sort((a, b) => a - b)[Math.floor(q * (count - 1))]);

  interface Group {
    name: string;
    members: number[];
  }
  const groupBy = (name: string, edges: number[], value: (i: number) => number, label: (low: number, high: number) => string): Group[] =>
    edges.slice(0, -1).map((low, k) => ({
      name: `${name} ${label(low, edges[k + 1])}`,
      members: Array.from({ length: count }, (_, i) => i).filter((i) => value(i) >= low && (value(i) < edges[k + 1] || (k === edges.length - 2 && value(i) <= edges[k + 1]))),
    }));
  const groups: Group[] = [
    { name: 'all', members: Array.from({ length: count }, (_, i) => i) },
    ...groupBy('scale', [1.8, 2.6, 3.4, 4.2, 5], (i) => drawn[i].scale, (low, high) => `${low.toFixed(1)}-${high.toFixed(1)}`),
    ...groupBy('digit ink', [-Infinity, ...inkQuartiles, Infinity], (i) => cleanInk[i], (low) => (low === -Infinity ? 'Q1 (thin)' : low === inkQuartiles[0] ? 'Q2' : low === inkQuartiles[1] ? 'Q3' : 'Q4 (bold)')),
    ...groupBy('ink dark', [0.7, 0.8, 0.9], (i) => drawn[i].ink, (low, high) => `${low.toFixed(1)}-${high.toFixed(1)}`),
    ...groupBy('shadow', [0.1, 0.175, 0.25], (i) => drawn[i].shadowDepth, (low, high) => `${low.toFixed(3)}-${high.toFixed(3)}`),
  ];

  console.log(`Photo breakdown: ${count} MNIST test digits, model trained on ${PHOTO_MODEL_TRAIN_COUNT} (preprocessing ${(preprocessSeconds * 1000 / count).toFixed(1)} ms/photo)`);
  console.log('group                 n   clean%  photo%   gap  |  MAD    ink clean/photo  full clean/photo  box h clean/photo');
  for (const group of groups) {
    const n = group.members.length;
    const cleanRight = group.members.filter((i) => clean[i] === labels[i]).length;
    const photoRight = group.members.filter((i) => photos[i] === labels[i]).length;
    let difference = 0;
    const sums = { cleanInk: 0, photoInk: 0, cleanFull: 0, photoFull: 0, cleanBox: 0, photoBox: 0 };
    for (const i of group.members) {
      for (let p = 0; p < 784; p++) difference += Math.abs(inputs[i * 784 + p] - cleanInputs[i * 784 + p]);
      const a = shape(cleanInputs, i * 784);
      const b = shape(inputs, i * 784);
      sums.cleanInk += a.ink;
      sums.photoInk += b.ink;
      sums.cleanFull += a.full;
      sums.photoFull += b.full;
      sums.cleanBox += a.boxHeight;
      sums.photoBox += b.boxHeight;
    }
    const mean = (value: number) => (value / Math.max(n, 1)).toFixed(1).padStart(5);
    console.log(
      `${group.name.padEnd(19)} ${String(n).padStart(4)}  ${percent(cleanRight, n).toFixed(1).padStart(6)}  ${percent(photoRight, n).toFixed(1).padStart(6)}  ${(percent(cleanRight - photoRight, n)).toFixed(1).padStart(4)}  | ${(difference / Math.max(n, 1) / 784).toFixed(3)}  ${mean(sums.cleanInk)}/${mean(sums.photoInk)}      ${mean(sums.cleanFull)}/${mean(sums.photoFull)}       ${mean(sums.cleanBox)}/${mean(sums.photoBox)}`,
    );
  }

  if (flags.variants) {
    const accuracyOf = (options: PhotoOptions) => {
      const predicted = guesses(photoInputs(options).inputs);
      return percent(predicted.filter((guess, i) => guess === labels[i]).length, count);
    };
    const base = percent(photos.filter((guess, i) => guess === labels[i]).length, count);
    console.log(`variants: JPEG 70 + specks ${base.toFixed(1)}%  JPEG 100 ${accuracyOf({ quality: 100 }).toFixed(1)}%  no specks ${accuracyOf({ specks: 0 }).toFixed(1)}%`);
  }
  model.dispose();
}

void main();
