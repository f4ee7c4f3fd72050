/**
 * Prototype of the fastest S1-base training step on tfjs-node, against the
 * step src/train/fit.ts runs today. Each variant trains the same network on
 * the same real batches; the script prints milliseconds per step (median of
 * rounds, variants interleaved so machine load hits them alike) and the loss
 * after the run, so a faster variant that learns differently shows up.
 *
 *   MNIST_LAB_DATA=... MNIST_LAB_BACKEND=tensorflow node --import tsx bench/prototypes/fast-step.ts [steps] [rounds]
 *
 * Variants:
 *   current   gather + JS dropout masks + tf.variableGrads + KerasRMSprop (src/train today)
 *   rawopt    same gradients; TensorFlow's fused ResourceApplyRMSProp on resource variables
 *   manual    rawopt + hand-written backward pass (SoftmaxCrossEntropyWithLogits, ReluGrad)
 */
import { tf } from '../../src';
import { KerasRMSprop } from '../../src/model';
import { SeededRandom } from '../../src/train';
import { BENCH_NETWORKS, loadBenchData, median } from '../common';
import type { MlpConfig } from '../../src';

type Attr = { name: string; type: number; value: unknown };
interface RawBackend {
  binding: { TF_ATTR_STRING: number; TF_ATTR_TYPE: number; TF_ATTR_SHAPE: number; TF_ATTR_BOOL: number; TF_FLOAT: number };
  executeSingleOutput(name: string, attrs: Attr[], inputs: tf.Tensor[]): tf.Tensor;
  executeMultipleOutputs(name: string, attrs: Attr[], inputs: tf.Tensor[], count: number): tf.Tensor[];
}

let resourceCounter = 0;
class RawOps {
  readonly raw = tf.backend() as unknown as RawBackend;
  private readonly b = this.raw.binding;
  private readonly floatT: Attr[] = [{ name: 'T', type: this.b.TF_ATTR_TYPE, value: this.b.TF_FLOAT }];
  private readonly floatDtype: Attr[] = [{ name: 'dtype', type: this.b.TF_ATTR_TYPE, value: this.b.TF_FLOAT }];
  private readonly applyAttrs: Attr[] = [...this.floatT, { name: 'use_locking', type: this.b.TF_ATTR_BOOL, value: false }];

  resource(initial: tf.Tensor): tf.Tensor {
    const handle = this.raw.executeSingleOutput(
      'VarHandleOp',
      [
        { name: 'container', type: this.b.TF_ATTR_STRING, value: '' },
        { name: 'shared_name', type: this.b.TF_ATTR_STRING, value: `mnist_lab_proto_${process.pid}_${resourceCounter++}` },
        ...this.floatDtype,
        { name: 'shape', type: this.b.TF_ATTR_SHAPE, value: initial.shape },
      ],
      [],
    );
    this.raw.executeMultipleOutputs('AssignVariableOp', this.floatDtype, [handle, initial], 0);
    return handle;
  }
  read(handle: tf.Tensor): tf.Tensor {
    return this.raw.executeSingleOutput('ReadVariableOp', this.floatDtype, [handle]);
  }
  destroy(handle: tf.Tensor): void {
    this.raw.executeMultipleOutputs('DestroyResourceOp', [{ name: 'ignore_lookup_error', type: this.b.TF_ATTR_BOOL, value: true }], [handle], 0);
    handle.dispose();
  }
  applyRmsprop(weight: tf.Tensor, meanSquare: tf.Tensor, moment: tf.Tensor, constants: tf.Scalar[], gradient: tf.Tensor): void {
    this.raw.executeMultipleOutputs('ResourceApplyRMSProp', this.applyAttrs, [weight, meanSquare, moment, ...constants, gradient], 0);
  }
  /** Per-example loss and d(loss_i)/d(logits) = softmax - labels, in one kernel. */
  softmaxCrossEntropy(logits: tf.Tensor, labels: tf.Tensor): [tf.Tensor, tf.Tensor] {
    const [loss, backprop] = this.raw.executeMultipleOutputs('SoftmaxCrossEntropyWithLogits', this.floatT, [logits, labels], 2);
    return [loss, backprop];
  }
  reluGrad(gradient: tf.Tensor, activation: tf.Tensor): tf.Tensor {
    return this.raw.executeSingleOutput('ReluGrad', this.floatT, [gradient, activation]);
  }
}

interface Network {
  weights: tf.Tensor[]; // W1 b1 W2 b2 W3 b3, initial values
}

function initialWeights(hiddenUnits: number[], seed: number): Network {
  const sizes = [784, ...hiddenUnits, 10];
  const weights: tf.Tensor[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    weights.push(tf.initializers.glorotUniform({ seed: seed + i }).apply([sizes[i], sizes[i + 1]]));
    weights.push(tf.zeros([sizes[i + 1]]));
  }
  return { weights };
}

interface Batch {
  images: tf.Tensor2D;
  labels: tf.Tensor2D;
  masks: tf.Tensor2D[];
}

interface Variant {
  name: string;
  /** One training step; returns per-batch loss sum and correct count as kept scalars. */
  step(batch: Batch): void;
  /** Mean loss of the steps since the last call (reads back once). */
  readLoss(): number;
  dispose(): void;
}

function forwardFused(weights: tf.Tensor[], images: tf.Tensor2D, masks: tf.Tensor2D[]): tf.Tensor2D {
  let x = images;
  const layers = weights.length / 2;
  for (let layer = 0; layer < layers; layer++) {
    const last = layer === layers - 1;
    x = tf.fused.matMul({ a: x, b: weights[2 * layer] as tf.Tensor2D, bias: weights[2 * layer + 1], activation: last ? 'linear' : 'relu' });
    if (!last) x = tf.mul(x, masks[layer]);
  }
  return x;
}

function correctCount(logits: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Scalar {
  return tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(oneHot, 1)), 'float32'));
}

class Running {
  loss = tf.variable(tf.scalar(0), false);
  correct = tf.variable(tf.scalar(0), false);
  steps = 0;
  add(loss: tf.Scalar, correct: tf.Scalar): void {
    this.loss.assign(tf.add(this.loss, loss));
    this.correct.assign(tf.add(this.correct, correct));
    this.steps++;
  }
  read(): number {
    const value = this.loss.dataSync()[0] / Math.max(this.steps, 1);
    tf.tidy(() => this.loss.assign(tf.scalar(0)));
    this.steps = 0;
    return value;
  }
  dispose(): void {
    tf.dispose([this.loss, this.correct]);
  }
}

function currentVariant(network: Network): Variant {
  const variables = network.weights.map((weight) => tf.variable(weight.clone()));
  const optimizer = new KerasRMSprop(0.001, 0.9, 0, 1e-7);
  const running = new Running();
  return {
    name: 'current',
    step(batch) {
      tf.tidy(() => {
        const kept: { correct?: tf.Scalar } = {};
        const { value, grads } = tf.variableGrads(() => {
          const logits = forwardFused(variables, batch.images, batch.masks);
          kept.correct = tf.keep(correctCount(logits, batch.labels));
          return tf.losses.softmaxCrossEntropy(batch.labels, logits) as tf.Scalar;
        }, variables);
        optimizer.applyGradients(variables.map((variable) => ({ name: variable.name, tensor: grads[variable.name] })));
        running.add(value, kept.correct as tf.Scalar);
        kept.correct?.dispose();
      });
    },
    readLoss: () => running.read(),
    dispose() {
      tf.dispose(variables);
      optimizer.dispose();
      running.dispose();
    },
  };
}

function rawVariant(network: Network, manual: boolean): Variant {
  const ops = new RawOps();
  const weights = network.weights.map((weight) => ops.resource(weight));
  const meanSquares = network.weights.map((weight) => tf.tidy(() => ops.resource(tf.zerosLike(weight))));
  const moments = network.weights.map((weight) => tf.tidy(() => ops.resource(tf.zerosLike(weight))));
  const constants = [0.001, 0.9, 0, 1e-7].map((value) => tf.scalar(value));
  const running = new Running();
  const layers = weights.length / 2;
  const autodiffGrads = (batch: Batch): tf.Tensor[] => {
    const values = weights.map((handle) => ops.read(handle));
    const { value, grads } = tf.valueAndGrads((...params: tf.Tensor[]) => {
      const logits = forwardFused(params, batch.images, batch.masks);
      running.correct.assign(tf.add(running.correct, correctCount(logits, batch.labels)));
      return tf.losses.softmaxCrossEntropy(batch.labels, logits) as tf.Scalar;
    })(values);
    running.loss.assign(tf.add(running.loss, value));
    running.steps++;
    return grads;
  };
  const manualGrads = (batch: Batch): tf.Tensor[] => {
    const params = weights.map((handle) => ops.read(handle));
    const inputs: tf.Tensor2D[] = [batch.images]; // input of each Dense layer (after dropout)
    const activations: tf.Tensor2D[] = []; // relu outputs (before dropout)
    let x = batch.images;
    for (let layer = 0; layer < layers; layer++) {
      const last = layer === layers - 1;
      x = tf.fused.matMul({ a: x, b: params[2 * layer] as tf.Tensor2D, bias: params[2 * layer + 1], activation: last ? 'linear' : 'relu' });
      if (!last) {
        activations.push(x);
        x = tf.mul(x, batch.masks[layer]);
        inputs.push(x);
      }
    }
    const [losses, backprop] = ops.softmaxCrossEntropy(x, batch.labels);
    const size = batch.images.shape[0];
    running.loss.assign(tf.add(running.loss, tf.mean(losses)));
    running.correct.assign(tf.add(running.correct, correctCount(x, batch.labels)));
    running.steps++;
    const grads: tf.Tensor[] = new Array(weights.length);
    let delta = tf.mul(backprop, tf.scalar(1 / size)) as tf.Tensor2D;
    for (let layer = layers - 1; layer >= 0; layer--) {
      grads[2 * layer] = tf.matMul(inputs[layer], delta, true, false);
      grads[2 * layer + 1] = tf.sum(delta, 0);
      if (layer > 0) {
        const upstream = tf.mul(tf.matMul(delta, params[2 * layer] as tf.Tensor2D, false, true), batch.masks[layer - 1]);
        delta = ops.reluGrad(upstream, activations[layer - 1]) as tf.Tensor2D;
      }
    }
    return grads;
  };
  return {
    name: manual ? 'manual' : 'rawopt',
    step(batch) {
      // Gradients in a tidy of their own, so the weight reads are released
      // before the in-place update (no copy-on-write of the weights).
      const grads = tf.tidy(() => (manual ? manualGrads(batch) : autodiffGrads(batch)));
      grads.forEach((gradient, index) => ops.applyRmsprop(weights[index], meanSquares[index], moments[index], constants, gradient));
      tf.dispose(grads);
    },
    readLoss: () => running.read(),
    dispose() {
      [...weights, ...meanSquares, ...moments].forEach((handle) => ops.destroy(handle));
      tf.dispose(constants);
      running.dispose();
    },
  };
}

async function main(): Promise<void> {
  const steps = Number(process.argv[2] ?? 100);
  const rounds = Number(process.argv[3] ?? 3);
  const network = BENCH_NETWORKS['S1-base'];
  const data = await loadBenchData(network);
  const { hiddenUnits, dropoutRate } = network.model as MlpConfig;
  console.log(`backend ${data.backend.name}; ${steps} steps per round, ${rounds} rounds`);
  const initial = initialWeights(hiddenUnits, 42);
  const variants = [currentVariant(initial), rawVariant(initial, false), rawVariant(initial, true)];
  const timings = new Map<string, number[]>(variants.map((variant) => [variant.name, []]));
  const losses = new Map<string, number[]>(variants.map((variant) => [variant.name, []]));
  const batchSize = network.batchSize;
  const count = data.trainImages.shape[0];
  for (let round = 0; round < rounds; round++) {
    for (const variant of variants) {
      // Same batches and masks for every variant in a round.
      const order = new SeededRandom(round).permutation(count);
      const random = new SeededRandom(1000 + round);
      const orderTensor = tf.tensor1d(order, 'int32');
      const started = performance.now();
      for (let step = 0; step < steps; step++) {
        tf.tidy(() => {
          const indices = tf.slice(orderTensor, step * batchSize, batchSize);
          const batch: Batch = {
            images: tf.gather(data.trainImages, indices),
            labels: tf.gather(data.trainLabels, indices),
            masks: hiddenUnits.map((units) => tf.tensor2d(random.dropoutMask(batchSize * units, dropoutRate), [batchSize, units])),
          };
          variant.step(batch);
        });
      }
      const loss = variant.readLoss(); // the one sync, as at an epoch end
      timings.get(variant.name)?.push((performance.now() - started) / steps);
      losses.get(variant.name)?.push(loss);
      orderTensor.dispose();
    }
  }
  for (const variant of variants) {
    const times = timings.get(variant.name) ?? [];
    console.log(
      `${variant.name.padEnd(8)} ${median(times).toFixed(2)} ms/step (rounds ${times.map((t) => t.toFixed(2)).join(' ')}); ` +
        `mean loss per round ${(losses.get(variant.name) ?? []).map((l) => l.toFixed(4)).join(' ')}`,
    );
  }
  const before = tf.memory().numTensors;
  variants.forEach((variant) => variant.dispose());
  tf.dispose(initial.weights);
  console.log(`tensors: ${before} before disposing variants, ${tf.memory().numTensors} after`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
