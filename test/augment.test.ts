/**
 * Data augmentation (src/train/augment.ts): Keras-style random rotation,
 * shift and zoom, drawn per (seed, epoch, step); checked against known
 * transforms, between the graph and eager steps, and across a resume.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  tf,
  initBackend,
  createMlp,
  fit,
  DEFAULT_MLP,
  ConfigError,
  augmentImages,
  validateAugment,
  DEFAULT_AUGMENT,
  NO_AUGMENT,
} from '../src';
import { applyTransforms, augmentTransforms, transformMatrix } from '../src/train/augment';
import { createGraphTrainer } from '../src/train/graph-step';
import { disposeModel, needFusedOps, needGraph, planOf } from './helpers/reference-step';
import { GraphBuilder, GraphSession, graphBinding } from '../src/train/graph';
import { SeededRandom } from '../src/util/random';

/** A 5x7 image with distinct values: pixel (r, c) = 1 + r * 7 + c. */
function knownImage(height = 5, width = 7): number[][] {
  return Array.from({ length: height }, (_, r) => Array.from({ length: width }, (_, c) => 1 + r * width + c));
}

async function withEngine<T>(engine: string, run: () => Promise<T>): Promise<T> {
  process.env.MNIST_LAB_TRAIN_STEP = engine;
  try {
    return await run();
  } finally {
    delete process.env.MNIST_LAB_TRAIN_STEP;
  }
}

/** Digit-like synthetic data: class k is a bar at row 3 + 2k, so shifts and turns matter. */
function bars(count: number): { images: tf.Tensor3D; labels: tf.Tensor1D } {
  const data = new Float32Array(count * 784);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const label = i % 10;
    labels[i] = label;
    for (let c = 6; c < 22; c++) data[i * 784 + (3 + 2 * label) * 28 + c] = 1;
  }
  return { images: tf.tensor3d(data, [count, 28, 28]), labels: tf.tensor1d(labels, 'int32') };
}

describe('augmentation transforms', () => {
  test('a 90 degree turn of a known square image is numpy rot90 (counter-clockwise), exactly', async () => {
    await initBackend();
    const image = knownImage(5, 5);
    const turned = tf.tidy(() => applyTransforms(tf.tensor3d([image]), Float32Array.from(transformMatrix({ rotation: 90, shiftX: 0, shiftY: 0, zoom: 1 }, 5, 5))).arraySync() as number[][][]);
    // rot90: out[r][c] = in[c][w - 1 - r]
    const expected = image.map((row, r) => row.map((_, c) => image[c][4 - r]));
    turned[0].forEach((row, r) => row.forEach((value, c) => assert.ok(Math.abs(value - expected[r][c]) < 1e-4, `(${r}, ${c}): ${value} vs ${expected[r][c]}`)));
  });

  test('a whole-pixel shift moves content right and down and fills 0; zoom 2 samples every other pixel about the centre', async () => {
    await initBackend();
    const image = knownImage();
    const [shifted, zoomed] = tf.tidy(() => {
      const input = tf.tensor3d([image]);
      return [
        applyTransforms(input, Float32Array.from(transformMatrix({ rotation: 0, shiftX: 2, shiftY: 1, zoom: 1 }, 5, 7))).arraySync() as number[][][],
        applyTransforms(input, Float32Array.from(transformMatrix({ rotation: 0, shiftX: 0, shiftY: 0, zoom: 2 }, 5, 7))).arraySync() as number[][][],
      ];
    });
    for (let r = 0; r < 5; r++) {
      for (let c = 0; c < 7; c++) {
        const source = r - 1 >= 0 && c - 2 >= 0 ? image[r - 1][c - 2] : 0;
        assert.ok(Math.abs(shifted[0][r][c] - source) < 1e-4, `shift (${r}, ${c}): ${shifted[0][r][c]} vs ${source}`);
      }
    }
    // Zoom 2 (Keras: zoom out): output pixel (r, c) samples input (2r - 2, 2c - 3) about the centre (2, 3).
    assert.equal(zoomed[0][2][3], image[2][3]);
    assert.equal(zoomed[0][1][2], image[0][1]);
    assert.equal(zoomed[0][0][0], 0);
  });

  test('the same (seed, epoch, step) gives the same images; another step or seed gives others', async () => {
    await initBackend();
    const { images } = bars(8);
    const draw = (seed: number, epoch: number, step: number) => tf.tidy(() => Array.from(augmentImages(images, DEFAULT_AUGMENT, { seed, epoch, step }).dataSync()));
    assert.deepEqual(draw(7, 1, 2), draw(7, 1, 2));
    assert.notDeepEqual(draw(7, 1, 2), draw(7, 1, 3));
    assert.notDeepEqual(draw(7, 1, 2), draw(8, 1, 2));
    assert.notDeepEqual(draw(7, 1, 2), Array.from(images.dataSync()));
    // The ranges are honoured: every drawn angle within +-rotationRange etc.
    const rows = augmentTransforms({ ...NO_AUGMENT, rotationRange: 30 }, 200, 28, 28, { seed: 1, epoch: 0, step: 0 });
    for (let i = 0; i < 200; i++) assert.ok(Math.abs((Math.atan2(rows[i * 8 + 3], rows[i * 8]) * 180) / Math.PI) <= 30 + 1e-3);
    images.dispose();
  });

  test("our transform kernel (native/fused_ops.cc) gives TensorFlow's ImageProjectiveTransformV3 bit for bit", async (t) => {
    if (!(await needFusedOps(t))) return;
    const module = graphBinding().module!;
    const [count, height, width] = [37, 28, 28];
    const random = new SeededRandom(3);
    const pixels = Float32Array.from({ length: count * height * width }, () => random.next() * 255);
    // Strong settings, so that many pixels land outside the image (the fill) and between pixels (the interpolation).
    const transforms = augmentTransforms({ rotationRange: 40, widthShiftRange: 0.3, heightShiftRange: 0.3, zoomRange: 0.4 }, count, height, width, { seed: 5, epoch: 1, step: 2 });
    const run = (ownKernel: boolean): Float32Array => {
      const g = new GraphBuilder(module);
      const images = g.placeholder('float32', [-1, height, width, 1]);
      const rows = g.placeholder('float32', [-1, 8]);
      const moved = g.projectiveTransform(images, rows, g.intVector([height, width]), g.constant(0), ownKernel);
      const session = new GraphSession(module, g);
      try {
        const [out] = session.run(
          [
            [images, { dtype: 'float32', shape: [count, height, width, 1], data: pixels }],
            [rows, { dtype: 'float32', shape: [count, 8], data: transforms }],
          ],
          [moved],
        );
        assert.deepEqual(out.shape, [count, height, width, 1]);
        return out.data as Float32Array;
      } finally {
        session.close();
      }
    };
    const theirs = run(false);
    const ours = run(true);
    assert.ok(theirs.some((value) => value === 0) && theirs.some((value) => value !== 0 && !Number.isInteger(value)), 'fill and interpolated pixels');
    assert.deepEqual(ours, theirs);
  });

  test('bad settings are refused with the field, the unit and a Keras-named example', () => {
    assert.throws(() => validateAugment({ rotationRange: -5 }), (error: unknown) => error instanceof ConfigError && /augment\.rotationRange: must be degrees from 0 to 180, got -5.*rotation_range/.test(error.message));
    assert.throws(() => validateAugment({ zoomRange: 1.5 }), (error: unknown) => error instanceof ConfigError && /augment\.zoomRange: must be a fraction/.test(error.message));
    assert.throws(() => validateAugment({ rotation: 10 } as never), (error: unknown) => error instanceof ConfigError && /augment\.rotation: is not an augmentation setting/.test(error.message));
    assert.deepEqual(validateAugment({ rotationRange: 5 }), { ...NO_AUGMENT, rotationRange: 5 });
  });
});

describe('fit with augmentation', () => {
  async function train(engine: string, epochs: number, options: { initialEpochFrom?: number } = {}) {
    const { images, labels } = bars(96);
    const model = createMlp({ ...DEFAULT_MLP, hiddenUnits: [32], dropoutRate: 0, seed: 3 });
    try {
      return await withEngine(engine, async () => {
        const common = { batchSize: 16, verbose: 0 as const, seed: 5, augment: DEFAULT_AUGMENT, epochs };
        if (options.initialEpochFrom !== undefined) {
          const first = await fit(model, images, labels, { ...common, epochs: options.initialEpochFrom });
          const rest = await fit(model, images, labels, { ...common, initialEpoch: options.initialEpochFrom, previousHistory: first });
          return rest.history.loss;
        }
        return (await fit(model, images, labels, common)).history.loss;
      });
    } finally {
      disposeModel(model);
      tf.dispose([images, labels]);
    }
  }

  test('the graph step and the eager (fused) step see the same augmented batches: same history within tolerance', async (t) => {
    if (!(await needGraph(t))) return;
    const before = tf.memory().numTensors;
    const graph = await train('graph', 3);
    const eager = await train('fused', 3);
    const plain = await withEngine('graph', async () => {
      const { images, labels } = bars(96);
      const model = createMlp({ ...DEFAULT_MLP, hiddenUnits: [32], dropoutRate: 0, seed: 3 });
      const history = await fit(model, images, labels, { batchSize: 16, verbose: 0, seed: 5, epochs: 3 });
      disposeModel(model);
      tf.dispose([images, labels]);
      return history.history.loss;
    });
    graph.forEach((loss, epoch) => assert.ok(Math.abs(loss - eager[epoch]) < 1e-3, `epoch ${epoch}: graph ${loss} vs eager ${eager[epoch]}`));
    assert.ok(Math.abs(graph[2] - plain[2]) > 1e-3, 'augmentation changes training');
    assert.equal(tf.memory().numTensors, before);
  });

  test('the graph step prepares the next batch during a step: same losses as preparing each batch alone, and a wrong guess is redone', async (t) => {
    if (!(await needGraph(t))) return;
    const { images, labels } = bars(21);
    const oneHot = tf.oneHot(labels, 10).toFloat() as tf.Tensor2D;
    // Odd batch sizes: the pieces the transform is cut into differ in size, one may be empty.
    const batches = [Int32Array.of(3, 0, 6, 1, 5, 11, 20), Int32Array.of(2, 4, 9), Int32Array.of(7), Int32Array.of(8, 10, 12, 13, 14)];
    const run = async (mode: 'alone' | 'ahead' | 'wrong guess') => {
      const model = createMlp({ ...DEFAULT_MLP, hiddenUnits: [16], dropoutRate: 0, seed: 3 });
      const trainer = createGraphTrainer(planOf(model), model.optimizer, { images, labels: oneHot }, 5, { augment: DEFAULT_AUGMENT });
      try {
        await trainer.beginEpoch(0);
        return batches.map((rows, step) => {
          const next = step + 1 < batches.length ? { indices: batches[step + 1], step: step + 1 } : undefined;
          if (mode === 'alone') return trainer.step(rows, step).lossSum;
          // The guess names other rows than the next call trains on.
          if (mode === 'wrong guess' && next !== undefined) return trainer.step(rows, step, { indices: Int32Array.of(15, 16, 17), step: next.step }).lossSum;
          return trainer.step(rows, step, next).lossSum;
        });
      } finally {
        trainer.dispose();
        disposeModel(model);
      }
    };
    const alone = await run('alone');
    for (const mode of ['ahead', 'wrong guess'] as const) {
      const losses = await run(mode);
      losses.forEach((loss, step) => assert.ok(Math.abs(loss - alone[step]) < 1e-5, `${mode}, step ${step}: ${loss} vs ${alone[step]} when each batch is prepared alone`));
    }
    tf.dispose([images, labels, oneHot]);
  });

  test('a resumed run sees what the uninterrupted run saw (same losses)', async () => {
    await initBackend();
    const whole = await train('fused', 3);
    const resumed = await train('fused', 3, { initialEpochFrom: 1 });
    resumed.forEach((loss, epoch) => assert.ok(Math.abs(loss - whole[epoch]) < 1e-5, `epoch ${epoch}: resumed ${loss} vs whole ${whole[epoch]}`));
  });
});
