/**
 * `fit`'s training step as one TensorFlow graph (native backend with the
 * graph binding, see graph.ts). Same math as the eager step in step.ts:
 * the hand-written backward pass of a Dense/Dropout stack, softmax
 * cross-entropy from logits averaged over the batch, and the optimizer's
 * fused TensorFlow kernel. What changes is how it runs:
 *
 * - The training data, weights and optimizer state live in TensorFlow
 *   variables; a step feeds only the batch's row indices (and the dropout
 *   seeds) and fetches the loss and accuracy sums: one call per batch.
 * - Dropout masks are drawn inside the graph by a stateless generator keyed
 *   by (seed, epoch, mask, step), so a resumed run draws what the
 *   uninterrupted run drew.
 * - TensorFlow's graph optimizer fuses MatMul + BiasAdd + Relu.
 *
 * Weights and optimizer state are copied in at the start of every epoch and
 * back out at its end, so validation, callbacks and checkpoints see the
 * model and optimizer as usual.
 */
import { tf } from '../backend';
import { ConfigError } from '../errors';
import { deriveSeed } from '../util/random';
import { fusedUpdate, type FusedUpdate } from './fused-update';
import type { DenseLayer, LayerPlan } from './layer-plan';
import { addGraphAugmentation, augmentTransforms, imageSizeOf, type AugmentConfig, type GraphAugmentation } from './augment';
import { GraphBuilder, GraphSession, graphAttr, graphBinding, type GraphOutput, type HostTensor } from './graph';
import type { OpTiming, SessionConfig } from './graph-proto';
import { layerGraphPass, type GraphPass } from './graph-layers';

/** What a step adds to the epoch's sums. */
interface GraphStepResult {
  /** Sum over the batch of the per-example losses. */
  lossSum: number;
  /** Number of examples whose arg-max matches the label. */
  correct: number;
}

export interface GraphTrainer {
  /** Copy the model's weights and optimizer state into the graph; call before an epoch's first step. */
  beginEpoch(epoch: number): Promise<void>;
  /**
   * One gradient step on the training rows `indices`; `step` counts from 0
   * within the epoch. `next`, the batch the following call will train on,
   * lets the graph prepare that batch during this step (augmentation).
   */
  step(indices: Int32Array, step: number, next?: NextBatch): GraphStepResult;
  /** The same step, traced by TensorFlow: how long each op took (bench/profile-step.ts). */
  traceStep(indices: Int32Array, step: number): OpTiming[];
  /** Copy weights and optimizer state back into the model; call after an epoch's last step (also on errors). */
  endEpoch(): Promise<void>;
  /** Free the session and the graph's copy of the training data. */
  dispose(): void;
}

/** The rows and step number of the batch after this one. */
export interface NextBatch {
  indices: Int32Array;
  step: number;
}

/** The augmentation in the training graph: the batch after this one, transformed into a variable. */
interface Prefetch {
  /** The rows to gather and transform. */
  rows: GraphOutput;
  transform: GraphAugmentation;
  /** Assign the transformed rows (before a step). */
  alone: number;
  /** The same, after the step has read the current batch (inside a step). */
  alongside: number;
  config: AugmentConfig;
}

/** Training data as `fit` prepared it: float images (any shape, one row per example) and one-hot labels. */
export interface GraphTrainingData {
  images: tf.Tensor;
  labels: tf.Tensor2D;
}

/** TensorFlow's op for each activation (null: none; the output's softmax is inside the loss). */
const ACTIVATION_OPS: Record<DenseLayer['activation'], string | null> = { relu: 'Relu', sigmoid: 'Sigmoid', tanh: 'Tanh', linear: null, softmax: null };
const ACTIVATION_GRADIENTS: Record<DenseLayer['activation'], string | null> = { relu: 'ReluGrad', sigmoid: 'SigmoidGrad', tanh: 'TanhGrad', linear: null, softmax: null };

let graphCounter = 0;

/**
 * How the training session runs: TensorFlow's defaults. Fewer inter-op
 * threads, per-session pools, no thread spinning and XLA were all no faster
 * for S1-base (bench/README.md, "Profiling the graph step").
 */
export const GRAPH_SESSION_CONFIG: SessionConfig = {};

/**
 * Why the graph step cannot train this model here, or null if it can:
 * it needs the native backend, the graph binding and an optimizer with a
 * fused kernel.
 */
export function graphStepUnavailable(optimizer: tf.Optimizer | null): string | null {
  if (tf.getBackend() !== 'tensorflow') return `the backend is ${tf.getBackend()}, not tensorflow`;
  const binding = graphBinding();
  if (binding.module === null) return binding.reason;
  if (optimizer !== null && fusedUpdate(optimizer) === null) return `${optimizer.getClassName()} has no fused TensorFlow kernel here (use createMlp's optimizers)`;
  return null;
}

/**
 * Build the training graph for a model from `createMlp` and put the
 * training data into it. Throws a ConfigError if graphStepUnavailable() says why not.
 */
export function createGraphTrainer(plan: LayerPlan, optimizer: tf.Optimizer, data: GraphTrainingData, seed: number, augment?: AugmentConfig, sessionConfig: SessionConfig = GRAPH_SESSION_CONFIG): GraphTrainer {
  const unavailable = graphStepUnavailable(optimizer);
  const binding = graphBinding().module;
  const rule = fusedUpdate(optimizer);
  if (unavailable !== null || binding === null || rule === null) throw new ConfigError('graph step', `is unavailable: ${unavailable ?? 'no fused kernel for this optimizer'}`, 'the eager step (selectTrainStep() picks the fastest available)');
  const { layers, variables } = plan;

  const g = new GraphBuilder(binding);
  const prefix = `mnist_lab_graph_${process.pid}_${graphCounter++}`;
  let variableCount = 0;
  const newVariable = (shape: number[]) => g.variable(shape, `${prefix}_${variableCount++}`);

  // Training data, uploaded once.
  const count = data.images.shape[0];
  const features = data.images.size / Math.max(count, 1);
  const classes = data.labels.shape[1];
  const imagesVar = newVariable([count, features]);
  const labelsVar = newVariable([count, classes]);
  const imagesIn = g.assigner(imagesVar, [count, features]);
  const labelsIn = g.assigner(labelsVar, [count, classes]);

  // Weights and optimizer slots.
  const shapes = variables.map((variable) => variable.shape);
  const weights = shapes.map((shape) => newVariable(shape));
  const slots = shapes.map((shape) => rule.slotSuffixes.map(() => newVariable(shape)));
  const stateHandles = [...weights, ...slots.flat()];
  const stateShapes = [...shapes, ...slots.flatMap((perWeight, index) => perWeight.map(() => shapes[index]))];
  const stateIn = stateHandles.map((handle, index) => g.assigner(handle, stateShapes[index]));
  const stateOut = stateHandles.map((handle) => g.read(handle));

  // The step's inputs: row indices, beta^t for Adam (and, from the pass, one seed pair per dropout mask).
  const indices = g.placeholder('int32', [-1]);
  const powers = rule.powerBases.map(() => g.placeholder('float32', []));

  const axis0 = g.constant(0, 'int32');
  const gather = (handle: GraphOutput, rows: GraphOutput) =>
    g.out('GatherV2', [g.read(handle), rows, axis0], { Tparams: graphAttr.type('float32'), Tindices: graphAttr.type('int32'), Taxis: graphAttr.type('int32'), batch_dims: graphAttr.int(0) });
  const labels = gather(labelsVar, indices);
  let x = gather(imagesVar, indices);
  // Random rotation/shift/zoom (augment.ts), transforms fed per step. The
  // batch is augmented one step ahead into a variable: the transform (about
  // as much CPU as a matrix product) runs beside the step before, not in
  // front of its first matrix product.
  let augmentation: Prefetch | null = null;
  if (augment !== undefined) {
    const [height, width] = imageSizeOf(data.images.shape);
    const rows = g.placeholder('int32', [-1]);
    const { output, augmentation: transform } = addGraphAugmentation(g, gather(imagesVar, rows), height, width);
    const prepared = newVariable([-1, features]);
    const assign = (controlInputs: number[]) => g.op('AssignVariableOp', [prepared, output], { dtype: graphAttr.type('float32') }, controlInputs);
    const alone = assign([]);
    x = g.read(prepared);
    // After this step has read its batch.
    const alongside = assign([x[0]]);
    augmentation = { rows, transform, alone, alongside, config: augment };
  }

  // Forward pass: Dense stacks with their hand-written backward pass, convolutional plans with TensorFlow's gradients (graph-layers.ts).
  const values = weights.map((handle) => g.read(handle));
  const batchRows = g.out('Size', [indices], { T: graphAttr.type('int32'), out_type: graphAttr.type('int32') });
  const pass = plan.front !== null ? layerGraphPass(g, plan, values, x, batchRows) : denseGraphPass(g, layers, values, x, batchRows);
  const dropoutSeeds = pass.dropoutSeeds;

  // Loss and accuracy sums; the gradient of the batch-mean loss.
  const crossEntropy = g.op('SoftmaxCrossEntropyWithLogits', [pass.logits, labels], { T: graphAttr.type('float32') });
  const lossSum = g.sum([crossEntropy, 0], [0]);
  const axis1 = g.constant(1, 'int32');
  const argMax = (logits: GraphOutput) => g.out('ArgMax', [logits, axis1], { T: graphAttr.type('float32'), Tidx: graphAttr.type('int32'), output_type: graphAttr.type('int32') });
  const matches = g.out('Equal', [argMax(pass.logits), argMax(labels)], { T: graphAttr.type('int32') });
  const correct = g.sum(g.cast(matches, 'bool', 'float32'), [0]);
  const batchSize = g.cast(batchRows, 'int32', 'float32');
  const { gradients, updateAfter } = pass.backward(crossEntropy, lossSum, batchSize);

  // One fused update per weight.
  const constants = rule.constants.map((value) => g.constant(value));
  const updateAttrs = { T: graphAttr.type('float32'), use_locking: graphAttr.bool(false), ...Object.fromEntries(Object.entries(rule.boolAttrs).map(([name, value]) => [name, graphAttr.bool(value)])) };
  const updates = weights.map((handle, index) => g.op(rule.op, rule.inputs(handle, slots[index], constants, powers, gradients[index]), updateAttrs, updateAfter[index]));

  const session = new GraphSession(binding, g, sessionConfig);
  const flat = tf.tidy(() => tf.reshape(data.images, [count, features]));
  try {
    session.run(
      [
        [imagesIn.value, { dtype: 'float32', shape: [count, features], data: flat.dataSync() as Float32Array }],
        [labelsIn.value, { dtype: 'float32', shape: [count, classes], data: data.labels.dataSync() as Float32Array }],
      ],
      [],
      [imagesIn.op, labelsIn.op],
    );
  } catch (error) {
    session.close();
    throw error;
  } finally {
    flat.dispose();
  }

  let iteration = 0;
  let epochSeeds: number[] = [];
  let currentEpoch = 0;
  const seedPairs = dropoutSeeds.map(() => new Int32Array(2));
  /** A step's feeds: the batch's rows, the dropout seeds, augmentation transforms, beta^t; counts the iteration. */
  const stepFeeds = (rows: Int32Array, step: number): [GraphOutput, HostTensor][] => {
    iteration += 1;
    const feeds: [GraphOutput, HostTensor][] = [[indices, { dtype: 'int32', shape: [rows.length], data: rows }]];
    dropoutSeeds.forEach((placeholder, mask) => {
      // Stored as int32 (the uint32 seed wraps), as tests can draw the same mask eagerly.
      const pair = seedPairs[mask];
      pair[0] = epochSeeds[mask];
      pair[1] = step;
      feeds.push([placeholder, { dtype: 'int32', shape: [2], data: pair }]);
    });
    rule.powerBases.forEach((base, index) => feeds.push([powers[index], { dtype: 'float32', shape: [], data: Float32Array.of(Math.pow(base, iteration)) }]));
    return feeds;
  };
  /** The augmented batch in the graph's variable: which rows, at which step of which epoch. */
  let prepared: { epoch: number; step: number; rows: Int32Array } | null = null;
  const prepareFeeds = (prefetch: Prefetch, rows: Int32Array, step: number): [GraphOutput, HostTensor][] => [
    [prefetch.rows, { dtype: 'int32', shape: [rows.length], data: rows }],
    ...prefetch.transform.feeds(augmentTransforms(prefetch.config, rows.length, prefetch.transform.height, prefetch.transform.width, { seed, epoch: currentEpoch, step })),
  ];
  const isPrepared = (rows: Int32Array, step: number) =>
    prepared !== null && prepared.epoch === currentEpoch && prepared.step === step && prepared.rows.length === rows.length && prepared.rows.every((row, index) => row === rows[index]);
  /** Feeds and targets of a step; with augmentation, also the next step's batch (and this one's if it is not ready). */
  const stepRun = (rows: Int32Array, step: number, next?: NextBatch): { feeds: [GraphOutput, HostTensor][]; targets: number[] } => {
    const feeds = stepFeeds(rows, step);
    if (augmentation === null) return { feeds, targets: updates };
    if (!isPrepared(rows, step)) session.run(prepareFeeds(augmentation, rows, step), [], [augmentation.alone]);
    prepared = null;
    if (next === undefined) return { feeds, targets: updates };
    feeds.push(...prepareFeeds(augmentation, next.indices, next.step));
    prepared = { epoch: currentEpoch, step: next.step, rows: next.indices.slice() };
    return { feeds, targets: [...updates, augmentation.alongside] };
  };
  return {
    async beginEpoch(epoch) {
      prepared = null;
      const state = await optimizer.getWeights();
      const [iterations, ...slotValues] = state;
      iteration = iterations !== undefined ? (await iterations.tensor.data())[0] : 0;
      const haveSlots = slotValues.length === rule.slotSuffixes.length * variables.length && rule.slotSuffixes.length > 0;
      const feeds: [GraphOutput, HostTensor][] = variables.map((variable, index) => [stateIn[index].value, hostTensor(variable)]);
      slots.forEach((perWeight, index) =>
        perWeight.forEach((_, kind) => {
          const assign = stateIn[variables.length + index * rule.slotSuffixes.length + kind];
          const value = haveSlots ? hostTensor(slotValues[kind * variables.length + index].tensor) : { dtype: 'float32' as const, shape: shapes[index], data: new Float32Array(variables[index].size) };
          feeds.push([assign.value, value]);
        }),
      );
      // The slots are the optimizer's live variables (writeBack replaces them); only the iteration count is a copy.
      iterations?.tensor.dispose();
      session.run(feeds, [], stateIn.map((assign) => assign.op));
      epochSeeds = dropoutSeeds.map((_, mask) => deriveSeed(seed, 'dropout', epoch, mask));
      currentEpoch = epoch;
    },
    step(rows, step, next) {
      const { feeds, targets } = stepRun(rows, step, next);
      const [loss, hits] = session.run(feeds, [lossSum, correct], targets);
      return { lossSum: loss.data[0] as number, correct: hits.data[0] as number };
    },
    traceStep(rows, step) {
      const { feeds, targets } = stepRun(rows, step);
      return session.runTraced(feeds, [lossSum, correct], targets).timings;
    },
    async endEpoch() {
      await writeBack(session, stateOut, variables, optimizer, rule, iteration);
    },
    dispose() {
      session.close();
    },
  };
}

/** The Dense/Dropout stack with its hand-written backward pass (same math as step.ts). */
function denseGraphPass(g: GraphBuilder, layers: readonly DenseLayer[], values: GraphOutput[], input: GraphOutput, batchRows: GraphOutput): GraphPass {
  const dropoutSeeds = layers.flatMap((layer) => layer.dropouts.map(() => g.placeholder('int32', [2])));
  // Forward pass, keeping each layer's input, output and masks for the backward pass.
  let x = input;
  let valueIndex = 0;
  let seedIndex = 0;
  const kept = layers.map((layer) => {
    const kernel = values[valueIndex++];
    const bias = layer.bias !== null ? values[valueIndex++] : null;
    const layerInput = x;
    let output = g.matMul(x, kernel);
    if (bias !== null) output = g.out('BiasAdd', [output, bias], { T: graphAttr.type('float32') });
    const activation = ACTIVATION_OPS[layer.activation];
    if (activation !== null) output = g.float(activation, output);
    x = output;
    const units = layer.kernel.shape[1] ?? 0;
    const masks = layer.dropouts.map(({ rate }) => g.dropoutMask(batchRows, units, dropoutSeeds[seedIndex++], rate));
    for (const mask of masks) x = g.float('Mul', x, mask);
    return { kernel, input: layerInput, output, masks };
  });
  return {
    logits: x,
    dropoutSeeds,
    backward(crossEntropy, _lossSum, batchSize) {
      let delta = g.float('RealDiv', [crossEntropy, 1], batchSize);
      // Backward pass, last layer first.
      const gradients: GraphOutput[] = new Array(values.length);
      /** Per weight, the op that last reads it; its update waits for it so the kernel can write in place. */
      const updateAfter: number[][] = values.map(() => []);
      let slot = values.length;
      for (let index = layers.length - 1; index >= 0; index--) {
        const layer = layers[index];
        const { kernel, input: layerInput, output, masks } = kept[index];
        // The output layer's delta is already the loss gradient w.r.t. its logits.
        for (const mask of masks) delta = g.float('Mul', delta, mask);
        const gradient = ACTIVATION_GRADIENTS[layer.activation];
        // ReluGrad takes (gradients, features); SigmoidGrad/TanhGrad take (y, dy).
        if (gradient !== null) delta = gradient === 'ReluGrad' ? g.float(gradient, delta, output) : g.float(gradient, output, delta);
        slot -= layer.bias !== null ? 2 : 1;
        gradients[slot] = g.matMul(layerInput, delta, true, false);
        if (layer.bias !== null) gradients[slot + 1] = g.out('BiasAddGrad', [delta], { T: graphAttr.type('float32') });
        if (index > 0) {
          delta = g.matMul(delta, kernel, false, true);
          updateAfter[slot] = [delta[0]];
        }
      }
      return { gradients, updateAfter };
    },
  };
}

function hostTensor(tensor: tf.Tensor): HostTensor {
  return { dtype: 'float32', shape: tensor.shape, data: tensor.dataSync() as Float32Array };
}

/** Weights into the model's variables, slots and iteration count into its optimizer (Keras layout). */
async function writeBack(session: GraphSession, stateOut: GraphOutput[], variables: tf.Variable[], optimizer: tf.Optimizer, rule: FusedUpdate, iteration: number): Promise<void> {
  const values = session.run([], stateOut);
  variables.forEach((variable, index) => tf.tidy(() => variable.assign(tf.tensor(values[index].data as Float32Array, variable.shape))));
  const slotTensors = rule.slotSuffixes.flatMap((suffix, kind) =>
    variables.map((variable, index) => {
      const value = values[variables.length + index * rule.slotSuffixes.length + kind];
      return { name: `${variable.name}/${suffix}`, tensor: rule.zeroSlots.includes(kind) ? tf.zerosLike(variable) : tf.tensor(value.data as Float32Array, variable.shape) };
    }),
  );
  const iterationTensor = tf.scalar(iteration, 'int32');
  await optimizer.setWeights([{ name: 'iter', tensor: iterationTensor }, ...slotTensors]);
  tf.dispose([iterationTensor, ...slotTensors.map((slot) => slot.tensor)]);
}

/** How `fit` runs its training step; see README "Speed". */
export const TRAIN_STEP_ENGINES = ['graph', 'fused', 'generic'] as const;
export type TrainStepEngine = (typeof TRAIN_STEP_ENGINES)[number];

/**
 * The fastest training step available for this optimizer on the active
 * backend, unless MNIST_LAB_TRAIN_STEP names one:
 * - `graph`: the step as one TensorFlow graph (native backend + graph binding),
 * - `fused`: eager ops with TensorFlow's fused optimizer kernels (native backend),
 * - `generic`: eager tfjs ops and the model's own optimizer (any backend).
 */
export function selectTrainStep(optimizer: tf.Optimizer | null): { name: TrainStepEngine; reason: string } {
  const requested = process.env.MNIST_LAB_TRAIN_STEP ?? '';
  if (requested !== '' && requested !== 'auto' && !(TRAIN_STEP_ENGINES as readonly string[]).includes(requested)) {
    throw new ConfigError('MNIST_LAB_TRAIN_STEP', `is '${requested}'`, `one of ${TRAIN_STEP_ENGINES.join(', ')}, or unset for the fastest available`);
  }
  const graphUnavailable = graphStepUnavailable(optimizer);
  const native = tf.getBackend() === 'tensorflow';
  if (requested === 'graph' && graphUnavailable !== null) {
    throw new ConfigError('MNIST_LAB_TRAIN_STEP', `is graph, but ${graphUnavailable}`, 'fused or generic, or unset for the fastest available');
  }
  if (requested === 'fused' && !native) {
    throw new ConfigError('MNIST_LAB_TRAIN_STEP', `is fused, but the backend is ${tf.getBackend()}`, 'generic, or unset');
  }
  if (requested === 'generic') return { name: 'generic', reason: 'MNIST_LAB_TRAIN_STEP=generic' };
  if (requested !== 'fused' && graphUnavailable === null) return { name: 'graph', reason: graphBinding().reason };
  if (native && (optimizer === null || fusedUpdate(optimizer) !== null)) return { name: 'fused', reason: requested === 'fused' ? 'MNIST_LAB_TRAIN_STEP=fused' : `no graph step: ${graphUnavailable}` };
  return { name: 'generic', reason: native ? 'optimizer without a fused kernel' : `backend ${tf.getBackend()}` };
}
