/**
 * The inner training step of `fit`, written for speed. Two things make tfjs
 * slower than Keras per step, and this file removes both:
 *
 * - Autodiff: `tf.variableGrads` records every forward op and replays
 *   generic gradient kernels (broadcast reductions, the softmax
 *   cross-entropy's log-sum-exp chain). For a Dense/Dropout stack the backward pass is
 *   a handful of matrix products, written out here by hand. The loss is the
 *   same softmax cross-entropy from logits, averaged over the batch.
 * - The optimizer: a Keras update rule written with tfjs ops reads and
 *   writes every weight about ten times per step. On the native backend the
 *   weights live in TensorFlow resource variables for the epoch, and one
 *   fused kernel (`ResourceApplyRMSProp`, `ResourceApplyAdam`, ...) updates
 *   each in one pass, with the same math as Keras. Weights and optimizer
 *   state go back into the model and its optimizer at the end of every
 *   epoch, so validation, callbacks and checkpoints see the usual objects.
 *
 * On wasm and cpu the hand-written backward pass is used with the model's
 * own optimizer (src/model/optimizers.ts); `fused = false` uses that path on
 * the native backend too (MNIST_LAB_TRAIN_STEP=generic, for comparisons).
 * With the graph binding built, `fit` runs the same step as one TensorFlow
 * graph instead (graph-step.ts).
 */
import { tf } from '../backend';
import { fusedUpdate, type FusedUpdate } from './fused-update';
import { forwardLogits, type DenseLayer, type ForwardTrace, type LayerPlan } from './layer-plan';

/** What one step adds to the epoch's running sums. */
interface StepResult {
  /** Sum over the batch of the per-example losses. */
  lossSum: tf.Scalar;
  /** Number of examples whose arg-max matches the label. */
  correct: tf.Scalar;
}

export interface TrainStep {
  /** One gradient step on a batch (one-hot labels; one mask per dropout stage). */
  run(images: tf.Tensor, labels: tf.Tensor2D, masks: tf.Tensor[]): StepResult;
  /** Write weights and optimizer state back to the model; call once after the epoch's last step. */
  finish(): Promise<void>;
}

/** A matrix product with either operand transposed. */
type TransposedMatMul = (a: tf.Tensor2D, b: tf.Tensor2D, transposeA: boolean, transposeB: boolean) => tf.Tensor2D;

const matMulTransposed: TransposedMatMul = (a, b, transposeA, transposeB) => tf.matMul(a, b, transposeA, transposeB);

/**
 * On wasm, tfjs's matMul with a transposed operand misses the fast kernel
 * (measured: x^T h of the first layer 160 ms, vs 22 ms after an explicit
 * transpose); transposing first is the cheaper way there.
 */
const matMulExplicitTranspose: TransposedMatMul = (a, b, transposeA, transposeB) =>
  tf.matMul(transposeA ? tf.transpose(a) : a, transposeB ? tf.transpose(b) : b);

/** Softmax cross-entropy from logits: per-example losses and their gradient w.r.t. the logits. */
type SoftmaxCrossEntropy = (logits: tf.Tensor2D, labels: tf.Tensor2D) => [tf.Tensor1D, tf.Tensor2D];
/** Gradient through a hidden activation, given its output. */
type ActivationGrad = (upstream: tf.Tensor2D, output: tf.Tensor2D, activation: DenseLayer['activation']) => tf.Tensor2D;

function genericSoftmaxCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor2D): [tf.Tensor1D, tf.Tensor2D] {
  const logProbabilities = tf.logSoftmax(logits);
  const losses = tf.neg(tf.sum(tf.mul(labels, logProbabilities), 1)) as tf.Tensor1D;
  return [losses, tf.sub(tf.exp(logProbabilities), labels) as tf.Tensor2D];
}

function genericActivationGrad(upstream: tf.Tensor2D, output: tf.Tensor2D, activation: DenseLayer['activation']): tf.Tensor2D {
  switch (activation) {
    case 'relu':
      return tf.mul(upstream, tf.step(output));
    case 'sigmoid':
      return tf.mul(upstream, tf.mul(output, tf.sub(1, output)));
    case 'tanh':
      return tf.mul(upstream, tf.sub(1, tf.square(output)));
    default:
      return upstream;
  }
}

/**
 * Forward pass with the dropout masks, keeping what the backward pass needs,
 * then the backward pass. Returns gradients in the model's weight order.
 */
function forwardBackward(
  layers: readonly DenseLayer[],
  weights: readonly tf.Tensor[],
  images: tf.Tensor,
  labels: tf.Tensor2D,
  masks: readonly tf.Tensor[],
  softmaxCrossEntropy: SoftmaxCrossEntropy,
  activationGrad: ActivationGrad,
  matMul: TransposedMatMul = matMulTransposed,
): { grads: tf.Tensor[]; lossSum: tf.Scalar; correct: tf.Scalar } {
  const batchSize = images.shape[0];
  const trace: ForwardTrace = { inputs: [], outputs: [] };
  const logits = forwardLogits(layers, images, masks, weights, trace);
  const { inputs, outputs } = trace;
  let weightIndex = 0;
  const layerWeights = layers.map((layer) => {
    const kernel = weights[weightIndex++] as tf.Tensor2D;
    const bias = layer.bias !== null ? (weights[weightIndex++] as tf.Tensor1D) : null;
    return { kernel, bias };
  });
  const [losses, logitGrad] = softmaxCrossEntropy(logits, labels);
  const lossSum = tf.sum(losses) as tf.Scalar;
  const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(labels, 1)), 'float32')) as tf.Scalar;
  // The loss is the batch mean, so each example's gradient is scaled by 1/batchSize.
  let delta = tf.mul(logitGrad, tf.scalar(1 / batchSize)) as tf.Tensor2D;
  const grads: tf.Tensor[] = new Array(weights.length);
  for (let index = layers.length - 1; index >= 0; index--) {
    const layer = layers[index];
    if (index < layers.length - 1) {
      // delta is the gradient w.r.t. this layer's (masked) output.
      for (const dropout of layer.dropouts) delta = tf.mul(delta, masks[dropout.index]);
      delta = activationGrad(delta, outputs[index], layer.activation);
    }
    const kernelSlot = layerWeights.slice(0, index).reduce((count, weightsOf) => count + (weightsOf.bias !== null ? 2 : 1), 0);
    grads[kernelSlot] = matMul(inputs[index], delta, true, false);
    if (layer.bias !== null) grads[kernelSlot + 1] = tf.sum(delta, 0);
    if (index > 0) delta = matMul(delta, layerWeights[index].kernel, false, true);
  }
  return { grads, lossSum, correct };
}

/** tfjs-node's kernel backend, reached for TensorFlow ops tfjs has no wrapper for. */
interface NativeBackend {
  binding: { TF_ATTR_STRING: number; TF_ATTR_TYPE: number; TF_ATTR_SHAPE: number; TF_ATTR_BOOL: number; TF_FLOAT: number };
  executeSingleOutput(name: string, attrs: NativeAttr[], inputs: tf.Tensor[]): tf.Tensor;
  executeMultipleOutputs(name: string, attrs: NativeAttr[], inputs: tf.Tensor[], count: number): tf.Tensor[];
}
interface NativeAttr {
  name: string;
  type: number;
  value: unknown;
}

function nativeBackend(): NativeBackend | null {
  if (tf.getBackend() !== 'tensorflow') return null;
  const backend = tf.backend() as unknown as Partial<NativeBackend>;
  return typeof backend.executeMultipleOutputs === 'function' && backend.binding !== undefined ? (backend as NativeBackend) : null;
}

let resourceCounter = 0;

/** TensorFlow ops through tfjs-node's binding: resource variables, fused updates, fused gradients. */
class NativeOps {
  private readonly floatT: NativeAttr[];
  private readonly floatDtype: NativeAttr[];
  private readonly applyAttrs: NativeAttr[];

  constructor(private readonly native: NativeBackend) {
    const binding = native.binding;
    this.floatT = [{ name: 'T', type: binding.TF_ATTR_TYPE, value: binding.TF_FLOAT }];
    this.floatDtype = [{ name: 'dtype', type: binding.TF_ATTR_TYPE, value: binding.TF_FLOAT }];
    this.applyAttrs = [...this.floatT, { name: 'use_locking', type: binding.TF_ATTR_BOOL, value: false }];
  }

  createResource(initial: tf.Tensor): tf.Tensor {
    const binding = this.native.binding;
    const handle = this.native.executeSingleOutput(
      'VarHandleOp',
      [
        { name: 'container', type: binding.TF_ATTR_STRING, value: '' },
        // Unique per process: a shared name would alias another run's variable.
        { name: 'shared_name', type: binding.TF_ATTR_STRING, value: `mnist_lab_step_${process.pid}_${resourceCounter++}` },
        ...this.floatDtype,
        { name: 'shape', type: binding.TF_ATTR_SHAPE, value: initial.shape },
      ],
      [],
    );
    this.native.executeMultipleOutputs('AssignVariableOp', this.floatDtype, [handle, initial], 0);
    return handle;
  }

  read(handle: tf.Tensor): tf.Tensor {
    return this.native.executeSingleOutput('ReadVariableOp', this.floatDtype, [handle]);
  }

  destroy(handle: tf.Tensor): void {
    this.native.executeMultipleOutputs('DestroyResourceOp', [{ name: 'ignore_lookup_error', type: this.native.binding.TF_ATTR_BOOL, value: true }], [handle], 0);
    handle.dispose();
  }

  apply(op: string, inputs: tf.Tensor[], extraAttrs: NativeAttr[] = []): void {
    this.native.executeMultipleOutputs(op, [...this.applyAttrs, ...extraAttrs], inputs, 0);
  }

  boolAttr(name: string, value: boolean): NativeAttr {
    return { name, type: this.native.binding.TF_ATTR_BOOL, value };
  }

  readonly softmaxCrossEntropy: SoftmaxCrossEntropy = (logits, labels) => {
    const [losses, backprop] = this.native.executeMultipleOutputs('SoftmaxCrossEntropyWithLogits', this.floatT, [logits, labels], 2);
    return [losses as tf.Tensor1D, backprop as tf.Tensor2D];
  };

  readonly activationGrad: ActivationGrad = (upstream, output, activation) => {
    const op = activation === 'relu' ? 'ReluGrad' : activation === 'sigmoid' ? 'SigmoidGrad' : activation === 'tanh' ? 'TanhGrad' : null;
    if (op === null) return upstream;
    // ReluGrad takes (gradients, features); SigmoidGrad/TanhGrad take (y, dy).
    const inputs = op === 'ReluGrad' ? [upstream, output] : [output, upstream];
    return this.native.executeSingleOutput(op, this.floatT, inputs) as tf.Tensor2D;
  };
}

/** Step that keeps weights in TensorFlow resource variables and updates them with one fused kernel each. */
async function createNativeStep(layers: DenseLayer[], variables: tf.Variable[], optimizer: tf.Optimizer, ops: NativeOps, rule: FusedUpdate): Promise<TrainStep> {
  const state = await optimizer.getWeights();
  const [iterations, ...slotValues] = state;
  let step = iterations !== undefined ? (await iterations.tensor.data())[0] : 0;
  iterations?.tensor.dispose();
  const kinds = rule.slotSuffixes.length;
  const haveSlots = slotValues.length === kinds * variables.length && kinds > 0;
  const weights = variables.map((variable) => ops.createResource(variable));
  const slots = variables.map((variable, index) =>
    rule.slotSuffixes.map((_, kind) => (haveSlots ? ops.createResource(slotValues[kind * variables.length + index].tensor) : tf.tidy(() => ops.createResource(tf.zerosLike(variable))))),
  );
  const constants = rule.constants.map((value) => tf.scalar(value));
  const attrs = Object.entries(rule.boolAttrs).map(([name, value]) => ops.boolAttr(name, value));
  return {
    run(images, labels, masks) {
      // The weight reads end with this tidy, so the fused updates below
      // write in place instead of copying weights that are still referenced.
      const { grads, lossSum, correct } = tf.tidy(() => {
        const values = weights.map((handle) => ops.read(handle));
        return forwardBackward(layers, values, images, labels, masks, ops.softmaxCrossEntropy, ops.activationGrad);
      });
      step += 1;
      tf.tidy(() => {
        const powers = rule.powerBases.map((base) => tf.scalar(Math.pow(base, step)));
        grads.forEach((gradient, index) => ops.apply(rule.op, rule.inputs(weights[index], slots[index], constants, powers, gradient), attrs));
      });
      tf.dispose(grads);
      return { lossSum, correct };
    },
    async finish() {
      try {
        variables.forEach((variable, index) => tf.tidy(() => variable.assign(ops.read(weights[index]))));
        if (kinds > 0 || step > 0) {
          const slotTensors = rule.slotSuffixes.flatMap((suffix, kind) => variables.map((variable, index) => ({ name: `${variable.name}/${suffix}`, tensor: tf.tidy(() => (rule.zeroSlots.includes(kind) ? tf.zerosLike(variable) : tf.clone(ops.read(slots[index][kind])))) })));
          const iterationTensor = tf.scalar(step, 'int32');
          await optimizer.setWeights([{ name: 'iter', tensor: iterationTensor }, ...slotTensors]);
          tf.dispose([iterationTensor, ...slotTensors.map((slot) => slot.tensor)]);
        }
      } finally {
        [...weights, ...slots.flat()].forEach((handle) => ops.destroy(handle));
        tf.dispose(constants);
      }
    },
  };
}

/**
 * The training step for one epoch of `fit`. Create it before the epoch's
 * first batch and call `finish()` after the last one (also on errors).
 */
export async function createTrainStep(plan: LayerPlan, optimizer: tf.Optimizer, fused = true): Promise<TrainStep> {
  const { layers, variables } = plan;
  // Convolutional plans take tfjs's autodiff gradients and the model's optimizer (conv-stages.ts).
  if (plan.front !== null) return createAutodiffStep((images, masks) => forwardLogits(layers, images, masks), variables, optimizer);
  const native = nativeBackend();
  const matMul = tf.getBackend() === 'wasm' ? matMulExplicitTranspose : matMulTransposed;
  if (native !== null && fused) {
    const ops = new NativeOps(native);
    const rule = fusedUpdate(optimizer);
    if (rule !== null) return createNativeStep(layers, variables, optimizer, ops, rule);
  }
  return {
    run(images, labels, masks) {
      const { grads, lossSum, correct } = tf.tidy(() => forwardBackward(layers, variables, images, labels, masks, genericSoftmaxCrossEntropy, genericActivationGrad, matMul));
      optimizer.applyGradients(variables.map((variable, index) => ({ name: variable.name, tensor: grads[index] })));
      tf.dispose(grads);
      return { lossSum, correct };
    },
    finish: async () => undefined,
  };
}

/** Per-example losses of softmax cross-entropy from logits. */
function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor2D): tf.Tensor1D {
  return tf.neg(tf.sum(tf.mul(labels, tf.logSoftmax(logits)), 1)) as tf.Tensor1D;
}

/**
 * The eager step for plans with convolutions: tfjs's autodiff of the
 * batch-mean softmax cross-entropy, then the model's own optimizer (the
 * Keras update rules of src/model/optimizers.ts). `forward` is fit's
 * forward pass with the dropout masks.
 */
function createAutodiffStep(forward: (images: tf.Tensor, masks: tf.Tensor[]) => tf.Tensor2D, variables: tf.Variable[], optimizer: tf.Optimizer): TrainStep {
  return {
    run(images, labels, masks): StepResult {
      let result: StepResult | null = null;
      const { value, grads } = tf.variableGrads(() => {
        const logits = forward(images, masks);
        const losses = crossEntropy(logits, labels);
        const lossSum = tf.sum(losses) as tf.Scalar;
        const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(labels, 1)), 'float32')) as tf.Scalar;
        result = { lossSum: tf.keep(lossSum), correct: tf.keep(correct) };
        return tf.div(lossSum, images.shape[0]) as tf.Scalar;
      }, variables);
      optimizer.applyGradients(variables.map((variable) => ({ name: variable.name, tensor: grads[variable.name] })));
      tf.dispose([value, ...Object.values(grads)]);
      const kept = result as StepResult | null;
      if (kept === null) throw new Error('unreachable: the loss function did not run');
      // Kept tensors escape every tidy; hand back clones the caller's tidy owns.
      const owned = { lossSum: tf.clone(kept.lossSum), correct: tf.clone(kept.correct) };
      tf.dispose([kept.lossSum, kept.correct]);
      return owned;
    },
    finish: async () => undefined,
  };
}
