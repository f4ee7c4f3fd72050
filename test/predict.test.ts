import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import {
  tf,
  predict,
  scaleImages,
  preprocessImageFile,
  predictImageFile,
  topClasses,
  EmptyImageError,
  UnreadableImageError,
  UnsupportedImageError,
  ImageError,
} from '../src';
import { REAL_DATA_DIR, tempDir } from './helpers/fixtures';
import { loadTinyMnist, runCli, trainTinyMlp, writeTinyRun, type TinyMnist } from './helpers/tiny-model';

const real = { skip: REAL_DATA_DIR ? false : 'MNIST_LAB_DATA is not set' };

interface Canvas {
  width: number;
  height: number;
  /** RGBA bytes. */
  data: Uint8Array;
}

/** A canvas filled with one gray level (opaque) or fully transparent. */
function canvas(width: number, height: number, gray: number, alpha = 255): Canvas {
  const data = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) data.set([gray, gray, gray, alpha], p * 4);
  return { width, height, data };
}

/** Draw a 28x28 MNIST digit `zoom` times larger at (left, top): dark on light (ink = 255 - value) or as is, or as opaque black on transparency. */
function drawDigit(target: Canvas, pixels: ArrayLike<number>, left: number, top: number, zoom: number, style: 'dark-on-light' | 'light-on-dark' | 'alpha'): void {
  for (let y = 0; y < 28 * zoom; y++) {
    for (let x = 0; x < 28 * zoom; x++) {
      const value = pixels[Math.floor(y / zoom) * 28 + Math.floor(x / zoom)];
      const offset = ((top + y) * target.width + left + x) * 4;
      if (style === 'alpha') target.data.set([0, 0, 0, value], offset);
      else {
        const gray = style === 'dark-on-light' ? 255 - value : value;
        target.data.set([gray, gray, gray, 255], offset);
      }
    }
  }
}

async function writePng(file: string, image: Canvas): Promise<string> {
  const png = new PNG({ width: image.width, height: image.height });
  png.data = Buffer.from(image.data);
  await fs.writeFile(file, PNG.sync.write(png));
  return file;
}

async function writeJpeg(file: string, image: Canvas, quality = 90): Promise<string> {
  await fs.writeFile(file, jpeg.encode({ width: image.width, height: image.height, data: Buffer.from(image.data) }, quality).data);
  return file;
}

function centreOfMass(pixels: ArrayLike<number>): [number, number] {
  let mass = 0;
  let row = 0;
  let column = 0;
  for (let p = 0; p < 784; p++) {
    mass += pixels[p];
    row += pixels[p] * Math.floor(p / 28);
    column += pixels[p] * (p % 28);
  }
  return [row / mass, column / mass];
}

function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const mean = (values: ArrayLike<number>) => Array.from(values).reduce((s, v) => s + v, 0) / values.length;
  const meanA = mean(a);
  const meanB = mean(b);
  let covariance = 0;
  let varianceA = 0;
  let varianceB = 0;
  for (let i = 0; i < a.length; i++) {
    covariance += (a[i] - meanA) * (b[i] - meanB);
    varianceA += (a[i] - meanA) ** 2;
    varianceB += (b[i] - meanB) ** 2;
  }
  return covariance / Math.sqrt(varianceA * varianceB);
}

describe('MNIST-style preprocessing of drawn digits, and prediction', real, () => {
  let data: TinyMnist;
  let model: tf.Sequential;
  /** Test indices the model classifies correctly and confidently, one per class where possible. */
  let chosen: number[];
  const dir = tempDir('mnist-lab-predict-');
  const digit = (index: number) => Array.from({ length: 784 }, (_, p) => data.testImages.get(index, Math.floor(p / 28), p % 28));

  before(async () => {
    data = await loadTinyMnist(REAL_DATA_DIR as string);
    model = await trainTinyMlp(data);
    const probabilities = predict(model, scaleImages(data.testImages));
    const seen = new Set<number>();
    chosen = [];
    for (let index = 0; index < data.testLabels.shape[0] && chosen.length < 4; index++) {
      const label = data.testLabels.get(index);
      if (!seen.has(label) && probabilities[index * 10 + label] > 0.9) {
        seen.add(label);
        chosen.push(index);
      }
    }
  });
  after(() => model?.dispose());

  test('a digit drawn 4x larger, dark on white, in a corner comes back centred and close to the original', async () => {
    for (const index of chosen) {
      const image = canvas(200, 170, 255);
      drawDigit(image, digit(index), 6, 9, 4, 'dark-on-light');
      for (const [format, file] of [
        ['png', await writePng(path.join(dir, `digit-${index}.png`), image)],
        ['jpeg', await writeJpeg(path.join(dir, `digit-${index}.jpg`), image)],
      ] as const) {
        const recovered = await preprocessImageFile(file);
        assert.equal(recovered.length, 784);
        assert.ok(recovered.every((value) => value >= 0 && value <= 1));
        const original = digit(index).map((value) => value / 255);
        const similarity = correlation(recovered, original);
        const [row, column] = centreOfMass(recovered);
        // Lossless PNG comes back nearly pixel for pixel; JPEG artefacts can move the centre of mass by a pixel.
        const minimum = format === 'png' ? 0.99 : 0.93;
        assert.ok(similarity > minimum, `${format} test digit ${index}: correlation with the original ${similarity.toFixed(3)}`);
        assert.ok(Math.abs(row - 14) < 1 && Math.abs(column - 14) < 1, `${format} centre of mass (${row.toFixed(2)}, ${column.toFixed(2)})`);
      }
    }
  });

  test('the model trained on MNIST predicts the drawn digits correctly (top-3, probabilities sorted)', async () => {
    const before = tf.memory().numTensors;
    for (const index of chosen) {
      const image = canvas(150, 220, 240);
      drawDigit(image, digit(index), 30, 100, 4, 'dark-on-light');
      const top = await predictImageFile(model, await writePng(path.join(dir, `predict-${index}.png`), image));
      assert.equal(top.length, 3);
      assert.equal(top[0].label, data.testLabels.get(index), `test digit ${index}: predicted ${JSON.stringify(top)}`);
      assert.ok(top[0].probability >= top[1].probability && top[1].probability >= top[2].probability);
      assert.equal(new Set(top.map((entry) => entry.label)).size, 3);
    }
    assert.equal(tf.memory().numTensors, before);
  });

  test('light on dark is not inverted, and black ink on a transparent background works too', async () => {
    const index = chosen[0];
    const reference = await preprocessImageFile(await writePng(path.join(dir, 'reference.png'), (() => {
      const image = canvas(120, 120, 255);
      drawDigit(image, digit(index), 10, 10, 3, 'dark-on-light');
      return image;
    })()));
    const dark = canvas(120, 120, 0);
    drawDigit(dark, digit(index), 10, 10, 3, 'light-on-dark');
    const transparent = canvas(120, 120, 0, 0);
    drawDigit(transparent, digit(index), 10, 10, 3, 'alpha');
    for (const [name, image] of [['light-on-dark', dark], ['transparent', transparent]] as const) {
      const pixels = await preprocessImageFile(await writePng(path.join(dir, `${name}.png`), image));
      const largestDifference = Math.max(...pixels.map((value, p) => Math.abs(value - reference[p])));
      assert.ok(largestDifference < 0.02, `${name}: largest difference from the dark-on-white version ${largestDifference}`);
    }
  });
});

describe('images that cannot be used', () => {
  const dir = tempDir('mnist-lab-bad-images-');

  test('a blank picture (even with JPEG noise) is an EmptyImageError that says what to do', async () => {
    const white = await writePng(path.join(dir, 'white.png'), canvas(64, 48, 255));
    await assert.rejects(preprocessImageFile(white), (error: Error) => {
      assert.ok(error instanceof EmptyImageError && error instanceof ImageError);
      assert.match(error.message, /white\.png looks blank: the darkest and lightest pixels differ by only 0 of 255 levels.*Draw the digit/);
      return true;
    });
    const faint = canvas(64, 48, 200);
    for (let p = 0; p < 64 * 48; p += 7) faint.data.fill(200 - (p % 13), p * 4, p * 4 + 3);
    await assert.rejects(preprocessImageFile(await writeJpeg(path.join(dir, 'faint.jpg'), faint)), EmptyImageError);
  });

  test('garbage, truncated and missing files are named errors', async () => {
    const garbage = path.join(dir, 'notes.png');
    await fs.writeFile(garbage, 'this is not a picture');
    await assert.rejects(preprocessImageFile(garbage), (error: Error) => {
      assert.ok(error instanceof UnsupportedImageError);
      assert.match(error.message, /notes\.png is not a PNG or JPEG image \(it starts with bytes 74 68 69 73/);
      return true;
    });
    const image = canvas(40, 40, 255);
    image.data.fill(0, 0, 40 * 20 * 4);
    const whole = await fs.readFile(await writePng(path.join(dir, 'whole.png'), image));
    const truncated = path.join(dir, 'truncated.png');
    await fs.writeFile(truncated, whole.subarray(0, whole.length / 2));
    await assert.rejects(preprocessImageFile(truncated), /Cannot read the image .*truncated\.png: it starts like a PNG but does not decode/);
    const brokenJpeg = path.join(dir, 'broken.jpg');
    await fs.writeFile(brokenJpeg, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0, 1, 2, 3]));
    await assert.rejects(preprocessImageFile(brokenJpeg), UnreadableImageError);
    await assert.rejects(preprocessImageFile(path.join(dir, 'missing.png')), /Cannot read the image .*missing\.png: there is no such file/);
    await assert.rejects(preprocessImageFile(dir), /it is a folder/);
  });

  test('topClasses sorts by probability and breaks ties by label', () => {
    assert.deepEqual(topClasses([0.1, 0.3, 0.3, 0.05, 0.25], 3), [
      { label: 1, probability: 0.3 },
      { label: 2, probability: 0.3 },
      { label: 4, probability: 0.25 },
    ]);
  });
});

describe('`mnist-lab predict` with a run folder', real, () => {
  test('prints the same top-3 as predictImageFile, as JSON; a blank picture is an error', async () => {
    const data = await loadTinyMnist(REAL_DATA_DIR as string);
    const runDir = path.join(tempDir(), 'run');
    const model = await writeTinyRun(runDir, data);
    const probabilities = predict(model, scaleImages(data.testImages));
    let index = 0;
    while (probabilities[index * 10 + data.testLabels.get(index)] < 0.9) index++;
    const image = canvas(90, 90, 255);
    drawDigit(image, Array.from({ length: 784 }, (_, p) => data.testImages.get(index, Math.floor(p / 28), p % 28)), 2, 2, 3, 'dark-on-light');
    const file = await writePng(path.join(tempDir(), 'digit.png'), image);
    const printed = JSON.parse(await runCli(['predict', file, '--model', runDir, '--json'])) as { which: string; top: { label: number; probability: number }[] };
    const expected = await predictImageFile(model, file);
    assert.equal(printed.which, 'best');
    assert.deepEqual(printed.top.map((entry) => entry.label), expected.map((entry) => entry.label));
    assert.ok(Math.abs(printed.top[0].probability - expected[0].probability) < 1e-6);
    assert.equal(printed.top[0].label, data.testLabels.get(index));
    assert.match(await runCli(['predict', file, '--model', runDir, '--top', '2']), new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ${data.testLabels.get(index)} \\(\\d+\\.\\d%\\)\\n(\\s+\\d \\s*\\d+\\.\\d{2}%\\n?){2}$`));
    const blank = await writePng(path.join(tempDir(), 'blank.png'), canvas(30, 30, 128));
    await assert.rejects(runCli(['predict', blank, '--model', runDir]), EmptyImageError);
    model.dispose();
  });
});
