/**
 * The fast training step (src/train/step.ts) must be the same training as
 * the slow, obvious one: tfjs autodiff plus the Keras optimizers of
 * src/model/optimizers.ts. And `fit` must not leak tensors per batch. No
 * test here measures time (the benchmark does: `npm run bench`).
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { tf, initBackend, createMlp, createOptimizer, fit, DEFAULT_MLP, type MlpConfig } from '../src';
import { planForward } from '../src/train/fit';
import { createTrainStep, type StepStage } from '../src/train/step';
import { SeededRandom } from '../src/train/random';

/** The plan `fit` itself derives from a createMlp model. */
const stagesOf = (model: tf.LayersModel): StepStage[] => planForward(model).stages;

function variablesOf(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((weight) => weight.read() as tf.Variable);
}

function syntheticBatch(seed: number, count: number, features: number, classes: number): { images: tf.Tensor; labels: tf.Tensor2D } {
  const random = new SeededRandom(seed);
  const images = Float32Array.from({ length: count * features }, () => random.next());
  const labels = new Float32Array(count * classes);
  for (let row = 0; row < count; row++) labels[row * classes + (row % classes)] = 1;
  return { images: tf.tensor3d(images, [count, 4, features / 4]), labels: tf.tensor2d(labels, [count, classes]) };
}

/** One step the slow way: autodiff of the masked forward pass, then the model's Keras optimizer. */
function referenceStep(model: tf.LayersModel, images: tf.Tensor, labels: tf.Tensor2D, masks: tf.Tensor[]): void {
  const stages = stagesOf(model);
  const variables = variablesOf(model);
  tf.tidy(() => {
    const { grads } = tf.variableGrads(() => {
      let x = tf.reshape(images, [images.shape[0], -1]) as tf.Tensor2D;
      for (const stage of stages) {
        if (stage.kind === 'dropout') x = tf.mul(x, masks[stage.index]);
        if (stage.kind !== 'dense') continue;
        const linear = tf.add(tf.matMul(x, stage.kernel as tf.Tensor2D), stage.bias as tf.Tensor) as tf.Tensor2D;
        const activation = stage.isOutput ? 'linear' : stage.activation;
        x = activation === 'relu' ? tf.relu(linear) : activation === 'tanh' ? tf.tanh(linear) : activation === 'sigmoid' ? tf.sigmoid(linear) : linear;
      }
      return tf.losses.softmaxCrossEntropy(labels, x) as tf.Scalar;
    }, variables);
    model.optimizer.applyGradients(variables.map((variable) => ({ name: variable.name, tensor: grads[variable.name] })));
  });
}

function maxDifference(a: tf.Tensor[], b: tf.Tensor[]): number {
  return Math.max(...a.map((tensor, index) => tf.tidy(() => tf.max(tf.abs(tf.sub(tensor, b[index]))).dataSync()[0])));
}

async function optimizerState(model: tf.LayersModel): Promise<{ iterations: number; slots: tf.Tensor[] }> {
  const [iterations, ...slots] = await model.optimizer.getWeights();
  const count = (await iterations.tensor.data())[0];
  iterations.tensor.dispose();
  return { iterations: count, slots: slots.map((slot) => slot.tensor) };
}

const TINY: MlpConfig = { ...DEFAULT_MLP, inputShape: [4, 4], hiddenUnits: [8, 6], dropoutRate: 0.25, numClasses: 3, seed: 7 };

function disposeModel(model: tf.LayersModel): void {
  model.optimizer?.dispose();
  model.dispose();
}

describe('the fast training step matches autodiff + the Keras optimizers', () => {
  const previousSwitch = process.env.MNIST_LAB_FUSED_STEP;
  after(() => {
    if (previousSwitch === undefined) delete process.env.MNIST_LAB_FUSED_STEP;
    else process.env.MNIST_LAB_FUSED_STEP = previousSwitch;
  });
  const optimizers: [string, Partial<MlpConfig>][] = [
    ['rmsprop', { optimizer: 'rmsprop' }],
    ['adam', { optimizer: 'adam' }],
    ['sgd', { optimizer: 'sgd', optimizerOptions: { learningRate: 0.1 } }],
    ['sgd with momentum', { optimizer: 'sgd', optimizerOptions: { learningRate: 0.1, momentum: 0.9 } }],
  ];
  const activations: MlpConfig['activation'][] = ['relu', 'tanh', 'sigmoid', 'linear'];
  for (const path of ['native fused kernels where available', 'generic ops']) {
    for (const [title, change] of optimizers) {
      for (const activation of activations) {
        test(`${path}: ${title}, ${activation}: weights and optimizer state after 3 steps over 2 epochs`, async () => {
          await initBackend();
          process.env.MNIST_LAB_FUSED_STEP = path === 'generic ops' ? '0' : '1';
          const config: MlpConfig = { ...TINY, ...change, activation };
          const tensorsBefore = tf.memory().numTensors;
          const fast = createMlp(config);
          const slow = createMlp(config);
          const random = new SeededRandom(3);
          // Steps split over two "epochs", so state must survive finish() and a new step object.
          for (const stepsInEpoch of [2, 1]) {
            const trainStep = await createTrainStep(stagesOf(fast), variablesOf(fast), fast.optimizer);
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
          const weightDifference = maxDifference(variablesOf(fast), variablesOf(slow));
          assert.ok(weightDifference < 2e-5, `weights differ by ${weightDifference}`);
          const fastState = await optimizerState(fast);
          const slowState = await optimizerState(slow);
          assert.equal(fastState.iterations, 3);
          assert.equal(slowState.iterations, 3);
          assert.equal(fastState.slots.length, slowState.slots.length);
          if (fastState.slots.length > 0) {
            const slotDifference = maxDifference(fastState.slots, slowState.slots);
            assert.ok(slotDifference < 2e-5, `optimizer state differs by ${slotDifference}`);
          }
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
    const stages = stagesOf(model).filter((stage) => !(stage.kind === 'dense' && stage.isOutput === false && stage.kernel.shape[1] === 6));
    await assert.rejects(createTrainStep(stages, variablesOf(model), model.optimizer), /model: has trainable weights outside its Dense layers/);
    disposeModel(model);
  });
});

describe('fit does not leak tensors', () => {
  test('tf.memory().numTensors is the same at the end of every epoch and back to the start after disposal', async () => {
    await initBackend();
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

  test('the fused and the generic step give the same history (state carried across epochs)', async () => {
    await initBackend();
    const count = 400;
    const random = new SeededRandom(5);
    const images = tf.tensor3d(Float32Array.from({ length: count * 784 }, () => random.next()), [count, 28, 28]);
    const labels = tf.tensor1d(Int32Array.from({ length: count }, (_, index) => (index * 7) % 10), 'int32');
    const run = async (fused: '0' | '1'): Promise<number[]> => {
      process.env.MNIST_LAB_FUSED_STEP = fused;
      const model = createMlp({ ...DEFAULT_MLP, hiddenUnits: [24], dropoutRate: 0.2, seed: 9 });
      const history = await fit(model, images, labels, { epochs: 3, batchSize: 64, validationSplit: 0.25, verbose: 0, seed: 4 });
      disposeModel(model);
      return [...history.history.loss, ...(history.history.val_loss ?? [])];
    };
    try {
      const fused = await run('1');
      const generic = await run('0');
      assert.equal(fused.length, 6);
      fused.forEach((value, index) => assert.ok(Math.abs(value - generic[index]) < 1e-4, `entry ${index}: ${value} vs ${generic[index]}`));
    } finally {
      delete process.env.MNIST_LAB_FUSED_STEP;
      tf.dispose([images, labels]);
    }
  });
});
