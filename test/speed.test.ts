/**
 * The fast training step (src/train/step.ts) must be the same training as
 * the slow, obvious one: tfjs autodiff plus the Keras optimizers of
 * src/model/optimizers.ts. And `fit` must not leak tensors per batch. No
 * test here measures time (the benchmark does: `npm run bench`).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend, createMlp, fit, DEFAULT_MLP, type MlpConfig } from '../src';
import { createTrainStep } from '../src/train/step';
import { graphStepUnavailable, TRAIN_STEP_ENGINES } from '../src/train/graph-step';
import { SeededRandom } from '../src/util/random';
import { assertSameTraining, disposeModel, STEP_ACTIVATIONS, STEP_OPTIMIZERS, referenceStep, planOf, syntheticBatch, TINY } from './helpers/reference-step';

describe('the fast training step matches autodiff + the Keras optimizers', () => {
  for (const path of ['native fused kernels where available', 'generic ops']) {
    for (const [title, change] of STEP_OPTIMIZERS) {
      for (const activation of STEP_ACTIVATIONS) {
        test(`${path}: ${title}, ${activation}: weights and optimizer state after 3 steps over 2 epochs`, async () => {
          await initBackend();
          const config: MlpConfig = { ...TINY, ...change, activation };
          const tensorsBefore = tf.memory().numTensors;
          const fast = createMlp(config);
          const slow = createMlp(config);
          const random = new SeededRandom(3);
          // Steps split over two "epochs", so state must survive finish() and a new step object.
          for (const stepsInEpoch of [2, 1]) {
            const trainStep = await createTrainStep(planOf(fast), fast.optimizer, path !== 'generic ops');
            for (let step = 0; step < stepsInEpoch; step++) {
              const { images, labels } = syntheticBatch(step + 10 * stepsInEpoch, 5, 16, 3);
              const masks = config.hiddenUnits.map((units) => tf.tensor2d(random.dropoutMask(5 * units, config.dropoutRate), [5, units]));
              const { lossSum, correct } = trainStep.run(images, labels, masks);
              assert.ok(Number.isFinite(lossSum.dataSync()[0]) && lossSum.dataSync()[0] > 0, 'summed loss is positive');
              assert.ok(correct.dataSync()[0] >= 0 && correct.dataSync()[0] <= 5);
              referenceStep(slow, images, labels, masks);
              tf.dispose([images, labels, lossSum, correct, ...masks]);
            }
            await trainStep.finish();
          }
          await assertSameTraining(fast, slow, 3);
          disposeModel(fast);
          disposeModel(slow);
          assert.equal(tf.memory().numTensors, tensorsBefore, 'every tensor of the steps was released');
        });
      }
    }
  }

  test('a layer stack it cannot differentiate by hand is refused with a ConfigError', async () => {
    await initBackend();
    const model = createMlp(TINY);
    // A layer whose weights the hand-written backward pass knows nothing about.
    const extra = tf.sequential({ layers: [tf.layers.dense({ inputShape: [16], units: 4, activation: 'relu' }), tf.layers.batchNormalization(), tf.layers.dense({ units: 3, activation: 'softmax' })] });
    assert.throws(() => planOf(extra), /found a BatchNormalization layer/);
    const sigmoidOutput = tf.sequential({ layers: [tf.layers.dense({ inputShape: [16], units: 3, activation: 'sigmoid' })] });
    assert.throws(() => planOf(sigmoidOutput), /last layer must be a Dense layer with softmax/);
    disposeModel(model);
    extra.dispose();
    sigmoidOutput.dispose();
  });
});

describe('fit does not leak tensors', () => {
  for (const engine of TRAIN_STEP_ENGINES) {
    test(`${engine} step: tf.memory().numTensors is the same at the end of every epoch and back to the start after disposal`, async (t) => {
      await initBackend();
      if (engine !== 'generic' && tf.getBackend() !== 'tensorflow') return t.skip(`the ${engine} step needs the native backend`);
      if (engine === 'graph' && graphStepUnavailable(null) !== null && process.env.CI !== 'true') return t.skip(graphStepUnavailable(null) ?? '');
      process.env.MNIST_LAB_TRAIN_STEP = engine;
      t.after(() => void delete process.env.MNIST_LAB_TRAIN_STEP);
      const count = 600;
      const random = new SeededRandom(11);
      const images = tf.tensor3d(Float32Array.from({ length: count * 784 }, () => random.next()), [count, 28, 28]);
      const labels = tf.tensor1d(Int32Array.from({ length: count }, (_, index) => index % 10), 'int32');
      const before = tf.memory().numTensors;
      const model = createMlp({ ...DEFAULT_MLP, hiddenUnits: [32, 32], dropoutRate: 0.2, seed: 3 });
      const atEpochEnd: number[] = [];
      const history = await fit(model, images, labels, {
        epochs: 3,
        batchSize: 128,
        validationSplit: 0.2,
        verbose: 0,
        callbacks: { onEpochEnd: () => void atEpochEnd.push(tf.memory().numTensors) },
      });
      assert.equal(history.history.loss.length, 3);
      assert.ok(history.history.loss.every(Number.isFinite));
      assert.equal(new Set(atEpochEnd).size, 1, `live tensors at epoch ends: ${atEpochEnd.join(', ')}`);
      disposeModel(model);
      assert.equal(tf.memory().numTensors, before);
      tf.dispose([images, labels]);
    });
  }

  test('the fused and the generic step give the same history (state carried across epochs)', async (t) => {
    await initBackend();
    if (tf.getBackend() !== 'tensorflow') return t.skip('the fused step needs the native backend');
    const count = 400;
    const random = new SeededRandom(5);
    const images = tf.tensor3d(Float32Array.from({ length: count * 784 }, () => random.next()), [count, 28, 28]);
    const labels = tf.tensor1d(Int32Array.from({ length: count }, (_, index) => (index * 7) % 10), 'int32');
    const run = async (engine: 'fused' | 'generic'): Promise<number[]> => {
      process.env.MNIST_LAB_TRAIN_STEP = engine;
      const model = createMlp({ ...DEFAULT_MLP, hiddenUnits: [24], dropoutRate: 0.2, seed: 9 });
      const history = await fit(model, images, labels, { epochs: 3, batchSize: 64, validationSplit: 0.25, verbose: 0, seed: 4 });
      disposeModel(model);
      return [...history.history.loss, ...(history.history.val_loss ?? [])];
    };
    try {
      const fused = await run('fused');
      const generic = await run('generic');
      assert.equal(fused.length, 6);
      fused.forEach((value, index) => assert.ok(Math.abs(value - generic[index]) < 1e-4, `entry ${index}: ${value} vs ${generic[index]}`));
    } finally {
      delete process.env.MNIST_LAB_TRAIN_STEP;
      tf.dispose([images, labels]);
    }
  });
});
