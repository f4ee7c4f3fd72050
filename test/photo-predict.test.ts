/**
 * `predict` on photo-like pictures (issue "Your own data", point 7): MNIST
 * test digits scaled up, drawn as dark ink on light textured paper with
 * specks, uneven light and a shadow, small and off-centre, saved as JPEG
 * quality 70. The same model must read them within 2 points of its
 * accuracy on the clean 28x28 digits.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tf, predict, scaleImages, decodeImage, preprocessImage, extractInk } from '../src';
import { REAL_DATA_DIR } from './helpers/fixtures';
import { loadTinyMnist, trainTinyMlp, type TinyMnist } from './helpers/tiny-model';
import { photoOfDigit } from './helpers/photo';

const real = { skip: REAL_DATA_DIR ? false : 'MNIST_LAB_DATA is not set' };
const PHOTOS = 400;

describe('predict on photo-like pictures', real, () => {
  let data: TinyMnist;
  let model: tf.Sequential;
  before(async () => {
    data = await loadTinyMnist(REAL_DATA_DIR as string, 12000, PHOTOS);
    model = await trainTinyMlp(data, 4, 128);
  });
  after(() => model?.dispose());

  const digit = (index: number) => Array.from({ length: 784 }, (_, p) => data.testImages.get(index, Math.floor(p / 28), p % 28));
  const accuracy = (probabilities: Float32Array, count: number) => {
    let correct = 0;
    for (let i = 0; i < count; i++) {
      const row = probabilities.subarray(i * 10, i * 10 + 10);
      if (row.indexOf(Math.max(...row)) === data.testLabels.get(i)) correct++;
    }
    return correct / count;
  };

  test(`accuracy on ${PHOTOS} photo-like digits (JPEG 70, speckled paper, uneven light, small and off-centre) is within 2 points of the clean digits`, async () => {
    const clean = accuracy(predict(model, scaleImages(data.testImages)), PHOTOS);
    const pixels = new Float32Array(PHOTOS * 784);
    for (let i = 0; i < PHOTOS; i++) pixels.set(preprocessImage(decodeImage(photoOfDigit(digit(i), 1000 + i), `photo-${i}.jpg`), `photo-${i}.jpg`), i * 784);
    const photos = tf.tensor3d(pixels, [PHOTOS, 28, 28]);
    const photoAccuracy = accuracy(predict(model, photos), PHOTOS);
    photos.dispose();
    console.log(`# clean 28x28: ${(clean * 100).toFixed(1)}%  photo-like: ${(photoAccuracy * 100).toFixed(1)}%`);
    assert.ok(clean > 0.9, `the model learned (clean accuracy ${clean})`);
    assert.ok(photoAccuracy >= clean - 0.02, `photo-like ${(photoAccuracy * 100).toFixed(1)}% vs clean ${(clean * 100).toFixed(1)}%`);
  });

  test('specks do not stretch the crop box: a small digit on speckled paper is cropped to its own size', () => {
    for (let i = 0; i < 10; i++) {
      const speckled = extractInk(decodeImage(photoOfDigit(digit(i), 50 + i, { specks: 300 })));
      const plain = extractInk(decodeImage(photoOfDigit(digit(i), 50 + i, { specks: 0 })));
      const slack = (size: number) => 2 + 0.1 * size;
      assert.ok(Math.abs(speckled.width - plain.width) <= slack(plain.width) && Math.abs(speckled.height - plain.height) <= slack(plain.height), `digit ${i}: ${speckled.width}x${speckled.height} with specks vs ${plain.width}x${plain.height}`);
    }
  });
});
