/**
 * The slow, obvious training step (tfjs autodiff + the Keras optimizers of
 * src/model/optimizers.ts) that the fast steps are checked against, and
 * small helpers around it. Used by speed.test.ts, graph.test.ts, cnn.test.ts and augment.test.ts.
 */
import assert from 'node:assert/strict';
import { tf, initBackend, DEFAULT_MLP, type MlpConfig } from '../../src';
import { fusedOps, GraphBuilder, GraphSession, graphBinding } from '../../src/train/graph';
import { graphStepUnavailable } from '../../src/train/graph-step';
import { planLayers, type LayerPlan } from '../../src/train/layer-plan';
import { SeededRandom } from '../../src/util/random';

/** Skip (or, under CI=true, fail) a test that needs the graph step when it cannot run here. */
export async function needGraph(t: { skip(message: string): void }): Promise<boolean> {
  await initBackend();
  const unavailable = graphStepUnavailable(null);
  if (unavailable === null) return true;
  assert.notEqual(process.env.CI, 'true', `CI must have the graph step: ${unavailable}`);
  t.skip(unavailable);
  return false;
}

/** The same for our own kernel (native/fused_ops.cc), which CI's set-up must build. */
export async function needFusedOps(t: { skip(message: string): void }): Promise<boolean> {
  if (!(await needGraph(t))) return false;
  const ops = fusedOps();
  if (ops.available) return true;
  assert.notEqual(process.env.CI, 'true', `CI must build the fused ops: ${ops.reason}`);
  t.skip(ops.reason);
  return false;
}

/** The optimizers every fast step is checked with (Keras optimizers of createMlp). */
export const STEP_OPTIMIZERS: [string, Partial<MlpConfig>][] = [
  ['rmsprop', { optimizer: 'rmsprop' }],
  ['adam', { optimizer: 'adam' }],
  ['sgd', { optimizer: 'sgd', optimizerOptions: { learningRate: 0.1 } }],
  ['sgd with momentum', { optimizer: 'sgd', optimizerOptions: { learningRate: 0.1, momentum: 0.9 } }],
];

/** The hidden activations every fast step is checked with. */
export const STEP_ACTIVATIONS: MlpConfig['activation'][] = ['relu', 'tanh', 'sigmoid', 'linear'];

/** A network small enough to check every weight: 16 inputs as 4x4 images, two hidden layers, 3 classes. */
export const TINY: MlpConfig = { ...DEFAULT_MLP, inputShape: [4, 4], hiddenUnits: [8, 6], dropoutRate: 0.25, numClasses: 3, seed: 7 };

/** The plan `fit` itself derives from a createMlp model. */
export const planOf = (model: tf.LayersModel): LayerPlan => planLayers(model);

export function syntheticBatch(seed: number, count: number, features: number, classes: number): { images: tf.Tensor; labels: tf.Tensor2D } {
  const random = new SeededRandom(seed);
  const images = Float32Array.from({ length: count * features }, () => random.next());
  const labels = new Float32Array(count * classes);
  for (let row = 0; row < count; row++) labels[row * classes + (row % classes)] = 1;
  return { images: tf.tensor3d(images, [count, 4, features / 4]), labels: tf.tensor2d(labels, [count, classes]) };
}

/** One step the slow way: autodiff of the masked forward pass, then the model's Keras optimizer. */
export function referenceStep(model: tf.LayersModel, images: tf.Tensor, labels: tf.Tensor2D, masks: tf.Tensor[]): void {
  const { layers, variables } = planOf(model);
  tf.tidy(() => {
    const { grads } = tf.variableGrads(() => {
      let x = tf.reshape(images, [images.shape[0], -1]) as tf.Tensor2D;
      for (const layer of layers) {
        const linear = tf.add(tf.matMul(x, layer.kernel as tf.Tensor2D), layer.bias as tf.Tensor) as tf.Tensor2D;
        const activation = layer.activation;
        x = activation === 'relu' ? tf.relu(linear) : activation === 'tanh' ? tf.tanh(linear) : activation === 'sigmoid' ? tf.sigmoid(linear) : linear;
        for (const dropout of layer.dropouts) x = tf.mul(x, masks[dropout.index]);
      }
      return tf.losses.softmaxCrossEntropy(labels, x) as tf.Scalar;
    }, variables);
    model.optimizer.applyGradients(variables.map((variable) => ({ name: variable.name, tensor: grads[variable.name] })));
  });
}

export function maxDifference(a: tf.Tensor[], b: tf.Tensor[]): number {
  return Math.max(...a.map((tensor, index) => tf.tidy(() => tf.max(tf.abs(tf.sub(tensor, b[index]))).dataSync()[0])));
}

export async function optimizerState(model: tf.LayersModel): Promise<{ iterations: number; slots: tf.Tensor[] }> {
  const [iterations, ...slots] = await model.optimizer.getWeights();
  const count = (await iterations.tensor.data())[0];
  iterations.tensor.dispose();
  return { iterations: count, slots: slots.map((slot) => slot.tensor) };
}

export function disposeModel(model: tf.LayersModel): void {
  model.optimizer?.dispose();
  model.dispose();
}


/** Weights and optimizer state (slots, iteration count) of the fast-trained model equal the reference's. */
export async function assertSameTraining(fast: tf.LayersModel, slow: tf.LayersModel, iterations: number): Promise<void> {
  const weightDifference = maxDifference(planOf(fast).variables, planOf(slow).variables);
  assert.ok(weightDifference < 2e-5, `weights differ by ${weightDifference}`);
  const fastState = await optimizerState(fast);
  const slowState = await optimizerState(slow);
  assert.equal(fastState.iterations, iterations);
  assert.equal(slowState.iterations, iterations);
  assert.equal(fastState.slots.length, slowState.slots.length);
  if (fastState.slots.length > 0) {
    const slotDifference = maxDifference(fastState.slots, slowState.slots);
    assert.ok(slotDifference < 2e-5, `optimizer state differs by ${slotDifference}`);
  }
}

/**
 * The dropout mask the training graph draws for (seed pair, shape), drawn
 * again by the same builder method in a graph of its own.
 */
export function graphMask(rate: number, seedPair: [number, number], [rows, units]: [number, number], ownKernel?: boolean, pieces?: number[]): tf.Tensor2D {
  const g = new GraphBuilder(graphBinding().module!);
  const seed = g.placeholder('int32', [2]);
  const sizes = pieces ?? [rows];
  const pieceRows = g.placeholder('int32', [sizes.length]);
  const masks = g.dropoutMaskPieces(pieceRows, sizes.length, g.constant(rows, 'int32'), units, seed, rate, ownKernel);
  const session = new GraphSession(graphBinding().module!, g);
  try {
    // Int32 seeds as in the graph (the uint32 seed wraps the same way).
    const values = session.run(
      [
        [seed, { dtype: 'int32', shape: [2], data: Int32Array.from(seedPair) }],
        [pieceRows, { dtype: 'int32', shape: [sizes.length], data: Int32Array.from(sizes) }],
      ],
      masks,
    );
    const data = new Float32Array(rows * units);
    let offset = 0;
    for (const value of values) {
      data.set(value.data as Float32Array, offset);
      offset += value.data.length;
    }
    assert.equal(offset, rows * units, 'the pieces hold the whole mask');
    return tf.tensor2d(data, [rows, units]);
  } finally {
    session.close();
  }
}
