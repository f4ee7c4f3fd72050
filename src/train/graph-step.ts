/**
 * `fit`'s training step as one TensorFlow graph (native backend with the
 * graph binding, see graph.ts). Same math as the eager step in step.ts:
 * the hand-written backward pass of a Dense/Dropout stack, softmax
 * cross-entropy from logits averaged over the batch, and the optimizer's
 * fused TensorFlow kernel. What changes is how it runs:
 *
 * - The training (and validation) data, weights and optimizer state live
 *   in TensorFlow variables; a call feeds only the batches' row indices
 *   (and the dropout seeds) and fetches the loss and accuracy sums, for up
 *   to GRAPH_STEPS_PER_RUN steps.
 * - A Dense stack's batch is cut into one piece per core, each piece's ops
 *   on one thread, the pieces side by side (GRAPH_PIECES).
 * - Dropout masks are drawn inside the graph by a stateless generator keyed
 *   by (seed, epoch, mask, step), so a resumed run draws what the
 *   uninterrupted run drew.
 * - TensorFlow's graph optimizer fuses MatMul + BiasAdd + Relu.
 *
 * Weights and optimizer state are copied in at the start of every epoch and
 * back out at its end, so callbacks and checkpoints see the model and
 * optimizer as usual; a Dense stack validates inside the graph (validate()).
 */
import { sessionThreadPools, tf } from '../backend';
import { ConfigError } from '../errors';
import { deriveSeed } from '../util/random';
import { fusedUpdate, type FusedUpdate } from './fused-update';
import type { DenseLayer, LayerPlan } from './layer-plan';
import { addGraphAugmentation, augmentTransforms, imageSizeOf, type AugmentConfig, type GraphAugmentation } from './augment';
import { fusedOps, GraphBuilder, GraphSession, GRAPH_PIECES, graphAttr, graphBinding, pieceSizes, type GraphDtype, type GraphOutput, type HostTensor } from './graph';
import type { OpTiming, SessionConfig } from './graph-proto';
import type { EvaluateResult } from './types';
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
  /** The most steps one `run` takes (Keras's `steps_per_execution`). */
  readonly stepsPerRun: number;
  /**
   * Gradient steps on `batches` (1 to `stepsPerRun`), one after the other,
   * in one session call. `next`, the batch the following call starts with,
   * lets the graph prepare it during this call (augmentation).
   */
  run(batches: readonly StepBatch[], next?: StepBatch): GraphStepResult[];
  /** One step on the training rows `indices`; `step` counts from 0 within the epoch. */
  step(indices: Int32Array, step: number, next?: StepBatch): GraphStepResult;
  /** One step, traced by TensorFlow: how long each op took (bench/profile-step.ts). */
  traceStep(indices: Int32Array, step: number): OpTiming[];
  /** Copy weights and optimizer state back into the model; call after an epoch's last step (also on errors). */
  endEpoch(): Promise<void>;
  /**
   * Loss and accuracy of the graph's current weights on the validation
   * data given to createGraphTrainer, as evaluate() computes them (the
   * same forward pass as the step, without dropout); null when it holds none.
   */
  validate(): EvaluateResult | null;
  /** Whether `validate()` has validation data to run on. */
  readonly validates: boolean;
  /** Free the session and the graph's copy of the training data. */
  dispose(): void;
}

/** A batch: its training rows and its step number within the epoch. */
export interface StepBatch {
  indices: Int32Array;
  step: number;
}

/** How a graph trainer runs (createGraphTrainer's options). */
export interface GraphTrainerOptions {
  /** Random rotation/shift/zoom of every batch; absent = none. */
  augment?: AugmentConfig;
  /** Session flags (threads, XLA); TensorFlow's defaults unless given. */
  sessionConfig?: SessionConfig;
  /** The most steps one session call runs (Keras's `steps_per_execution`); default graphStepsPerRun(). */
  stepsPerRun?: number;
  /** Pieces a Dense stack's batch is cut into, each on one thread; default graphPieces(). */
  pieces?: number;
  /** Validation data, held in the graph so that `validate()` needs no copy (Dense stacks only; others validate eagerly). */
  validation?: GraphTrainingData;
}

/** The ops of one step in the graph: what to feed, fetch and run. */
interface StepOps {
  indices: GraphOutput;
  /** Rows per piece of the batch. */
  pieceRows: GraphOutput;
  powers: GraphOutput[];
  dropoutSeeds: GraphOutput[];
  /** The step's own augmentation (null: none, or the call's first step, which reads the prepared batch). */
  transform: GraphAugmentation | null;
  lossSum: GraphOutput;
  correct: GraphOutput;
  updates: number[];
}

/** The augmentation of a call's first batch, made during the call before into a variable. */
interface Prefetch {
  /** The rows to gather and transform. */
  rows: GraphOutput;
  transform: GraphAugmentation;
  /** The prepared batch, as the call's first step reads it. */
  batch: GraphOutput;
  /** Assign the transformed rows to the variable (before a call). */
  alone: number;
  /** The same, after the call's first step has read the variable (inside a call). */
  alongside: number;
  config: AugmentConfig;
}

/** Training data as `fit` prepared it: float images (any shape, one row per example) and one-hot labels. */
export interface GraphTrainingData {
  images: tf.Tensor;
  labels: tf.Tensor2D;
  /**
   * The rows to use, [first, count] (default: all), so that a validation
   * split is uploaded from the prepared data without a copy of either part.
   */
  rows?: readonly [first: number, count: number];
}

/** TensorFlow's op for each activation (null: none; the output's softmax is inside the loss). */
const ACTIVATION_OPS: Record<DenseLayer['activation'], string | null> = { relu: 'Relu', sigmoid: 'Sigmoid', tanh: 'Tanh', linear: null, softmax: null };
const ACTIVATION_GRADIENTS: Record<DenseLayer['activation'], string | null> = { relu: 'ReluGrad', sigmoid: 'SigmoidGrad', tanh: 'TanhGrad', linear: null, softmax: null };

let graphCounter = 0;

/** Weights of at least this many elements get one update op per piece (smaller ones take microseconds). */
const SHARDED_UPDATE_FROM = 1 << 16;

/**
 * How a whole-batch training session runs: TensorFlow's defaults. Fewer
 * inter-op threads, per-session pools, no thread spinning and XLA were all
 * no faster for S1-base (bench/README.md, "Profiling the graph step").
 * A batch cut into pieces runs with one intra-op thread (createGraphTrainer).
 */
export const GRAPH_SESSION_CONFIG: SessionConfig = {};

/**
 * Steps per session call, as Keras's `steps_per_execution`: the steps of a
 * call are one graph, so TensorFlow starts a step's batch gather and dropout
 * draws while the step before still updates its weights, and the call's
 * fixed cost is paid once. Progress and Ctrl-C are seen between calls.
 */
export const GRAPH_STEPS_PER_RUN = 8;

/** Steps per session call: GRAPH_STEPS_PER_RUN, or MNIST_LAB_STEPS_PER_RUN when set (to measure the difference). */
export function graphStepsPerRun(): number {
  const requested = process.env.MNIST_LAB_STEPS_PER_RUN ?? '';
  if (requested === '') return GRAPH_STEPS_PER_RUN;
  const steps = Number(requested);
  if (!Number.isInteger(steps) || steps < 1 || steps > 1000) throw new ConfigError('MNIST_LAB_STEPS_PER_RUN', `is '${requested}'`, `a whole number of steps from 1 to 1000, or unset for ${GRAPH_STEPS_PER_RUN}`);
  return steps;
}

/**
 * Pieces a Dense stack's batch is cut into: GRAPH_PIECES (one per core), or
 * MNIST_LAB_GRAPH_PIECES when set (to measure the difference). A 2-thread
 * matrix product at batch 128 runs at about 75% of what two 1-thread
 * products of 64 rows run at side by side (a transposed one at about 65%),
 * so the step runs each piece's ops on one thread and the pieces on the
 * cores (bench/README.md, "Pieces").
 */
export function graphPieces(): number {
  const requested = process.env.MNIST_LAB_GRAPH_PIECES ?? '';
  if (requested === '') return GRAPH_PIECES;
  const pieces = Number(requested);
  if (!Number.isInteger(pieces) || pieces < 1 || pieces > 64) throw new ConfigError('MNIST_LAB_GRAPH_PIECES', `is '${requested}'`, `a whole number from 1 to 64, or unset for ${GRAPH_PIECES}`);
  return pieces;
}

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
export function createGraphTrainer(plan: LayerPlan, optimizer: tf.Optimizer, data: GraphTrainingData, seed: number, options: GraphTrainerOptions = {}): GraphTrainer {
  const { augment, stepsPerRun = graphStepsPerRun() } = options;
  // One thread per op needs a session-owned thread pool (backend.ts); with the shared one, the whole batch.
  const pieces = plan.front === null ? (options.pieces ?? (sessionThreadPools() ? graphPieces() : 1)) : 1;
  if (!Number.isInteger(pieces) || pieces < 1) throw new ConfigError('pieces', `is ${pieces}`, 'a whole number of pieces, 1 or more');
  // With pieces, each op runs on one thread and the pieces run side by side.
  const sessionConfig = options.sessionConfig ?? (pieces > 1 ? { ...GRAPH_SESSION_CONFIG, intraOpThreads: 1 } : GRAPH_SESSION_CONFIG);
  if (!Number.isInteger(stepsPerRun) || stepsPerRun < 1) throw new ConfigError('stepsPerRun', `is ${stepsPerRun}`, 'a whole number of steps, 1 or more');
  const unavailable = graphStepUnavailable(optimizer);
  const binding = graphBinding().module;
  const rule = fusedUpdate(optimizer);
  if (unavailable !== null || binding === null || rule === null) throw new ConfigError('graph step', `is unavailable: ${unavailable ?? 'no fused kernel for this optimizer'}`, 'the eager step (selectTrainStep() picks the fastest available)');
  const { layers, variables } = plan;

  const g = new GraphBuilder(binding);
  const prefix = `mnist_lab_graph_${process.pid}_${graphCounter++}`;
  let variableCount = 0;
  const newVariable = (shape: number[]) => g.variable(shape, `${prefix}_${variableCount++}`);

  // Training (and validation) data, uploaded once.
  const uploads: DataUpload[] = [];
  const dataVariable = (source: tf.Tensor, rows: readonly [number, number]) => {
    const width = source.size / Math.max(source.shape[0], 1);
    const handle = newVariable([rows[1], width]);
    uploads.push({ ...uploadOps(g, handle, rows[1], width), source, rows, width });
    return handle;
  };
  const trainRows = data.rows ?? [0, data.images.shape[0]];
  const features = data.images.size / Math.max(data.images.shape[0], 1);
  const imagesVar = dataVariable(data.images, trainRows);
  const labelsVar = dataVariable(data.labels, trainRows);

  // Weights and optimizer slots.
  const shapes = variables.map((variable) => variable.shape);
  const sizes = variables.map((variable) => variable.size);
  const weights = shapes.map((shape) => newVariable(shape));
  const slots = shapes.map((shape) => rule.slotSuffixes.map(() => newVariable(shape)));
  const stateHandles = [...weights, ...slots.flat()];
  const stateShapes = [...shapes, ...slots.flatMap((perWeight, index) => perWeight.map(() => shapes[index]))];
  const stateIn = stateHandles.map((handle, index) => g.assigner(handle, stateShapes[index]));
  const stateOut = stateHandles.map((handle) => g.read(handle));

  const gather = (handle: GraphOutput, rows: GraphOutput) =>
    g.out('ResourceGather', [handle, rows], { dtype: graphAttr.type('float32'), Tindices: graphAttr.type('int32'), batch_dims: graphAttr.int(0), validate_indices: graphAttr.bool(true) });

  // Random rotation/shift/zoom (augment.ts), transforms fed per step. A
  // call's first batch is augmented one call ahead into a variable: the
  // transform (about as much CPU as a matrix product) runs beside the steps
  // before, not in front of the call's first matrix product.
  let prefetch: Prefetch | null = null;
  if (augment !== undefined) {
    const [height, width] = imageSizeOf(data.images.shape);
    const rows = g.placeholder('int32', [-1]);
    const { output, augmentation: transform } = addGraphAugmentation(g, gather(imagesVar, rows), height, width);
    const prepared = newVariable([-1, features]);
    const batch = g.read(prepared);
    const assign = (controlInputs: number[]) => g.op('AssignVariableOp', [prepared, output], { dtype: graphAttr.type('float32') }, controlInputs);
    // Inside a call, the next call's batch goes into the variable once the first step has read this one.
    prefetch = { rows, transform, batch, alone: assign([]), alongside: assign([batch[0]]), config: augment };
  }

  // Constants of the update rule, shared by the steps.
  const constants = rule.constants.map((value) => g.constant(value));
  // Our one-pass RMSprop kernel where set-up built it (graph.ts fusedOps): TensorFlow's inputs and arithmetic, a third of the memory passes.
  const updateOp = rule.op === 'ResourceApplyRMSProp' && fusedOps().available ? 'MnistLabApplyRMSProp' : rule.op;
  const updateAttrs = { T: graphAttr.type('float32'), use_locking: graphAttr.bool(false), ...Object.fromEntries(Object.entries(rule.boolAttrs).map(([name, value]) => [name, graphAttr.bool(value)])) };
  const axis1 = g.constant(1, 'int32');
  const argMax = (logits: GraphOutput) => g.out('ArgMax', [logits, axis1], { T: graphAttr.type('float32'), Tidx: graphAttr.type('int32'), output_type: graphAttr.type('int32') });
  const total = (parts: GraphOutput[]) => (parts.length === 1 ? parts[0] : g.out('AddN', [parts], { T: graphAttr.type('float32'), N: graphAttr.int(parts.length) }));
  /** Softmax cross-entropy from the logits (as evaluate() and Keras 3) and arg-max matches, summed over the pieces. */
  const lossAndAccuracy = (logits: GraphOutput[], labels: GraphOutput[]) => {
    const crossEntropy = logits.map((pieceLogits, piece) => g.op('SoftmaxCrossEntropyWithLogits', [pieceLogits, labels[piece]], { T: graphAttr.type('float32') }));
    const lossSum = total(crossEntropy.map((op) => g.sum([op, 0], [0])));
    const correct = total(logits.map((pieceLogits, piece) => g.sum(g.cast(g.out('Equal', [argMax(pieceLogits), argMax(labels[piece])], { T: graphAttr.type('int32') }), 'bool', 'float32'), [0])));
    return { crossEntropy, lossSum, correct };
  };

  /** One training step whose weight reads wait for the ops in `after` (the step before's updates). */
  const buildStep = (position: number, after: number[]): StepOps => {
    // The step's inputs: row indices, beta^t for Adam (and, from the pass, one seed pair per dropout mask).
    const indices = g.placeholder('int32', [-1]);
    const powers = rule.powerBases.map(() => g.placeholder('float32', []));
    // The batch in pieces (Dense stacks; one piece for convolutional plans), rows per piece fed with the indices.
    const pieceRows = g.placeholder('int32', [pieces]);
    const split = (value: GraphOutput, dtype: GraphDtype = 'float32'): GraphOutput[] => g.splitRows(value, pieceRows, pieces, dtype);
    const pieceIndices = split(indices, 'int32');
    const labels = pieceIndices.map((rows) => gather(labelsVar, rows));
    let xs: GraphOutput[];
    let transform: GraphAugmentation | null = null;
    if (prefetch === null) {
      xs = pieceIndices.map((rows) => gather(imagesVar, rows));
    } else if (position === 0) {
      xs = split(prefetch.batch);
    } else {
      const moved = addGraphAugmentation(g, gather(imagesVar, indices), prefetch.transform.height, prefetch.transform.width);
      transform = moved.augmentation;
      // Cut as the step cuts (pieceSizes of the batch), the transform's pieces are the step's: no join and cut again.
      xs = moved.pieces.length === pieces ? moved.pieces : split(moved.output);
    }

    // Forward pass: Dense stacks with their hand-written backward pass, convolutional plans with TensorFlow's gradients (graph-layers.ts).
    const values = weights.map((handle) => g.read(handle, after));
    const batchRows = g.out('Size', [indices], { T: graphAttr.type('int32'), out_type: graphAttr.type('int32') });
    const masks = (units: number, seed: GraphOutput, rate: number) => g.dropoutMaskPieces(pieceRows, pieces, batchRows, units, seed, rate);
    const pass = plan.front !== null ? layerGraphPass(g, plan, values, xs[0], batchRows) : denseGraphPass(g, layers, values, xs, masks);

    // Loss and accuracy sums; the gradient of the batch-mean loss.
    const { crossEntropy, lossSum, correct } = lossAndAccuracy(pass.logits, labels);
    const batchSize = g.cast(batchRows, 'int32', 'float32');
    const { gradients, updateAfter } = pass.backward(crossEntropy, lossSum, batchSize);

    // One fused update per weight. Ours adds the pieces' partial gradients itself and, for large weights, is
    // cut into one op per piece, run side by side; TensorFlow's kernels get the sum.
    const updates = weights.flatMap((handle, index) => {
      const partials = gradients[index];
      if (updateOp !== 'MnistLabApplyRMSProp') return [g.op(updateOp, rule.inputs<GraphOutput | GraphOutput[]>(handle, slots[index], constants, powers, total(partials)), updateAttrs, updateAfter[index])];
      const shards = pieces > 1 && sizes[index] >= SHARDED_UPDATE_FROM ? pieces : 1;
      const inputs = rule.inputs<GraphOutput | GraphOutput[]>(handle, slots[index], constants, powers, partials);
      const listAttrs = { ...updateAttrs, N: graphAttr.int(partials.length), shards: graphAttr.int(shards) };
      return Array.from({ length: shards }, (_, shard) => g.op(updateOp, inputs, { ...listAttrs, shard: graphAttr.int(shard) }, updateAfter[index]));
    });
    return { indices, pieceRows, powers, dropoutSeeds: pass.dropoutSeeds, transform, lossSum, correct, updates };
  };
  // The steps one session call can run, each after the one before.
  const group: StepOps[] = [];
  for (let position = 0; position < stepsPerRun; position++) group.push(buildStep(position, position === 0 ? [] : group[position - 1].updates));
  const dropoutMasks = group[0].dropoutSeeds.length;

  // Validation: the step's forward pass without dropout on the whole validation set, in pieces.
  let validation: { lossSum: GraphOutput; correct: GraphOutput; count: number } | null = null;
  if (options.validation !== undefined && plan.front === null) {
    const rows = options.validation.rows ?? [0, options.validation.images.shape[0]];
    const imagesHandle = dataVariable(options.validation.images, rows);
    const labelsHandle = dataVariable(options.validation.labels, rows);
    // Each piece gathers its own run of rows.
    const runs = pieceSizes(rows[1], pieces);
    const ranges = Array.from(runs, (size, piece) => {
      const start = runs.slice(0, piece).reduce((sum, before) => sum + before, 0);
      return g.out('Range', [g.constant(start, 'int32'), g.constant(start + size, 'int32'), g.constant(1, 'int32')], { Tidx: graphAttr.type('int32') });
    });
    const images = ranges.map((range) => gather(imagesHandle, range));
    const labels = ranges.map((range) => gather(labelsHandle, range));
    const { logits } = denseForward(g, layers, weights.map((handle) => g.read(handle)), images, null);
    validation = { ...lossAndAccuracy(logits, labels), count: rows[1] };
  }

  const session = new GraphSession(binding, g, sessionConfig);
  try {
    // The source's values as tfjs holds them: for tensors made from JavaScript arrays (fit's prepared data) no
    // copy at all, where reading a tensor TensorFlow computed (a slice, a reshape) costs several times its size.
    const hosts = new Map<tf.Tensor, Float32Array>();
    for (const upload of uploads) {
      if (upload.source.dtype !== 'float32') throw new ConfigError('training data', `is ${upload.source.dtype}`, 'float32 images and one-hot labels, as fit prepares them');
      const host = hosts.get(upload.source) ?? (upload.source.dataSync() as Float32Array);
      hosts.set(upload.source, host);
      uploadRows(session, upload, host);
    }
  } catch (error) {
    session.close();
    throw error;
  }

  let iteration = 0;
  let epochSeeds: number[] = [];
  let currentEpoch = 0;
  const transformFeeds = (transform: GraphAugmentation, config: AugmentConfig, rows: Int32Array, step: number) =>
    transform.feeds(augmentTransforms(config, rows.length, transform.height, transform.width, { seed, epoch: currentEpoch, step }));
  /** A step's feeds: the batch's rows, the dropout seeds, augmentation transforms, beta^t; counts the iteration. */
  const stepFeeds = (ops: StepOps, { indices: rows, step }: StepBatch): [GraphOutput, HostTensor][] => {
    iteration += 1;
    const feeds: [GraphOutput, HostTensor][] = [[ops.indices, { dtype: 'int32', shape: [rows.length], data: rows }]];
    feeds.push([ops.pieceRows, { dtype: 'int32', shape: [pieces], data: pieceSizes(rows.length, pieces) }]);
    // Stored as int32 (the uint32 seed wraps), as tests can draw the same mask eagerly.
    ops.dropoutSeeds.forEach((placeholder, mask) => feeds.push([placeholder, { dtype: 'int32', shape: [2], data: Int32Array.of(epochSeeds[mask], step) }]));
    if (ops.transform !== null && prefetch !== null) feeds.push(...transformFeeds(ops.transform, prefetch.config, rows, step));
    rule.powerBases.forEach((base, index) => feeds.push([ops.powers[index], { dtype: 'float32', shape: [], data: Float32Array.of(Math.pow(base, iteration)) }]));
    return feeds;
  };
  /** The augmented batch in the graph's variable: which rows, at which step of which epoch. */
  let prepared: { epoch: number; step: number; rows: Int32Array } | null = null;
  const prepareFeeds = (augmentation: Prefetch, { indices: rows, step }: StepBatch): [GraphOutput, HostTensor][] => [
    [augmentation.rows, { dtype: 'int32', shape: [rows.length], data: rows }],
    ...transformFeeds(augmentation.transform, augmentation.config, rows, step),
  ];
  const isPrepared = ({ indices: rows, step }: StepBatch) =>
    prepared !== null && prepared.epoch === currentEpoch && prepared.step === step && prepared.rows.length === rows.length && prepared.rows.every((row, index) => row === rows[index]);
  /** Feeds, fetches and targets of a call; with augmentation, also the next call's first batch (and this one's if it is not ready). */
  const callOf = (batches: readonly StepBatch[], next?: StepBatch) => {
    if (batches.length < 1 || batches.length > stepsPerRun) throw new RangeError(`a graph call runs 1 to ${stepsPerRun} steps, got ${batches.length}`);
    const feeds: [GraphOutput, HostTensor][] = [];
    const fetches: GraphOutput[] = [];
    const targets: number[] = [];
    batches.forEach((batch, position) => {
      const ops = group[position];
      feeds.push(...stepFeeds(ops, batch));
      fetches.push(ops.lossSum, ops.correct);
      targets.push(...ops.updates);
    });
    if (prefetch !== null) {
      if (!isPrepared(batches[0])) session.run(prepareFeeds(prefetch, batches[0]), [], [prefetch.alone]);
      prepared = null;
      if (next !== undefined) {
        feeds.push(...prepareFeeds(prefetch, next));
        targets.push(prefetch.alongside);
        prepared = { epoch: currentEpoch, step: next.step, rows: next.indices.slice() };
      }
    }
    return { feeds, fetches, targets };
  };
  const results = (outputs: HostTensor[]): GraphStepResult[] =>
    Array.from({ length: outputs.length / 2 }, (_, position) => ({ lossSum: outputs[2 * position].data[0] as number, correct: outputs[2 * position + 1].data[0] as number }));
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
      epochSeeds = Array.from({ length: dropoutMasks }, (_, mask) => deriveSeed(seed, 'dropout', epoch, mask));
      currentEpoch = epoch;
    },
    stepsPerRun,
    run(batches, next) {
      const { feeds, fetches, targets } = callOf(batches, next);
      return results(session.run(feeds, fetches, targets));
    },
    step(indices, step, next) {
      return this.run([{ indices, step }], next)[0];
    },
    traceStep(indices, step) {
      const { feeds, fetches, targets } = callOf([{ indices, step }]);
      return session.runTraced(feeds, fetches, targets).timings;
    },
    async endEpoch() {
      await writeBack(session, stateOut, variables, optimizer, rule, iteration);
    },
    validates: validation !== null,
    validate() {
      if (validation === null) return null;
      const [lossSum, correct] = session.run([], [validation.lossSum, validation.correct]);
      return { loss: (lossSum.data[0] as number) / validation.count, acc: (correct.data[0] as number) / validation.count };
    },
    dispose() {
      session.close();
    },
  };
}

/**
 * The forward pass of a Dense/Dropout stack on the batch cut into pieces
 * (`inputs`, one per piece), keeping each layer's inputs, outputs and masks
 * (per piece) for the backward pass. `masks` draws a dropout mask in the
 * same pieces; null leaves dropout out (validation).
 */
function denseForward(g: GraphBuilder, layers: readonly DenseLayer[], values: GraphOutput[], inputs: GraphOutput[], masks: ((units: number, rate: number) => GraphOutput[]) | null) {
  let xs = inputs;
  let valueIndex = 0;
  const kept = layers.map((layer) => {
    const kernel = values[valueIndex++];
    const bias = layer.bias !== null ? values[valueIndex++] : null;
    const activation = ACTIVATION_OPS[layer.activation];
    const layerInputs = xs;
    const outputs = xs.map((x) => {
      let output = g.matMul(x, kernel);
      if (bias !== null) output = g.out('BiasAdd', [output, bias], { T: graphAttr.type('float32') });
      return activation !== null ? g.float(activation, output) : output;
    });
    const units = layer.kernel.shape[1] ?? 0;
    // Each piece gets its rows of the mask the whole batch would draw.
    const layerMasks = masks === null ? [] : layer.dropouts.map(({ rate }) => masks(units, rate));
    xs = outputs.map((output, piece) => layerMasks.reduce((x, mask) => g.float('Mul', x, mask[piece]), output));
    return { kernel, inputs: layerInputs, outputs, masks: layerMasks };
  });
  return { logits: xs, kept };
}

/**
 * The Dense/Dropout stack with its hand-written backward pass (same math as
 * step.ts), on the batch cut into pieces (`inputs`, one per piece; `masks`
 * draws a dropout mask in the same pieces). Each piece's ops are independent
 * of the other pieces' until the weight gradients, which come out as one
 * partial sum per piece: on a session whose ops run on one thread each, the
 * pieces' matrix products run side by side, one per core.
 */
function denseGraphPass(g: GraphBuilder, layers: readonly DenseLayer[], values: GraphOutput[], inputs: GraphOutput[], masks: (units: number, seed: GraphOutput, rate: number) => GraphOutput[]): GraphPass {
  const dropoutSeeds = layers.flatMap((layer) => layer.dropouts.map(() => g.placeholder('int32', [2])));
  let seedIndex = 0;
  const { logits: xs, kept } = denseForward(g, layers, values, inputs, (units, rate) => masks(units, dropoutSeeds[seedIndex++], rate));
  return {
    logits: xs,
    dropoutSeeds,
    backward(crossEntropy, _lossSum, batchSize) {
      let deltas = crossEntropy.map((op) => g.float('RealDiv', [op, 1], batchSize));
      // Backward pass, last layer first.
      const gradients: GraphOutput[][] = new Array(values.length);
      /** Per weight, the ops that last read it; its update waits for them so the kernel can write in place. */
      const updateAfter: number[][] = values.map(() => []);
      let slot = values.length;
      for (let index = layers.length - 1; index >= 0; index--) {
        const layer = layers[index];
        const { kernel, inputs: layerInputs, outputs, masks } = kept[index];
        const gradient = ACTIVATION_GRADIENTS[layer.activation];
        deltas = deltas.map((piece, position) => {
          // The output layer's delta is already the loss gradient w.r.t. its logits.
          let delta = masks.reduce((d, mask) => g.float('Mul', d, mask[position]), piece);
          // ReluGrad takes (gradients, features); SigmoidGrad/TanhGrad take (y, dy).
          if (gradient !== null) delta = gradient === 'ReluGrad' ? g.float(gradient, delta, outputs[position]) : g.float(gradient, outputs[position], delta);
          return delta;
        });
        slot -= layer.bias !== null ? 2 : 1;
        gradients[slot] = deltas.map((delta, position) => g.matMul(layerInputs[position], delta, true, false));
        if (layer.bias !== null) gradients[slot + 1] = deltas.map((delta) => g.out('BiasAddGrad', [delta], { T: graphAttr.type('float32') }));
        if (index > 0) {
          deltas = deltas.map((delta) => g.matMul(delta, kernel, false, true));
          updateAfter[slot] = deltas.map(([op]) => op);
        }
      }
      return { gradients, updateAfter };
    },
  };
}

/** A data variable and the ops that fill it: whole, or (with our kernel) zeros of its shape, then rows in chunks. */
interface DataUpload {
  whole: { op: number; value: GraphOutput } | null;
  chunked: { init: number; fill: GraphOutput; op: number; first: GraphOutput; value: GraphOutput } | null;
  source: tf.Tensor;
  rows: readonly [number, number];
  width: number;
}

/** Rows per upload chunk: the host copy of one chunk is all the upload holds at a time. */
const UPLOAD_CHUNK_ROWS = 4096;

function uploadOps(g: GraphBuilder, handle: GraphOutput, count: number, width: number): Pick<DataUpload, 'whole' | 'chunked'> {
  if (!fusedOps().available) return { whole: g.assigner(handle, [count, width]), chunked: null };
  // The fill value is fed, so the graph optimizer cannot fold the zeros into a constant as large as the data.
  const fill = g.placeholder('float32', []);
  const zeros = g.out('Fill', [g.intVector([count, width]), fill], { T: graphAttr.type('float32'), index_type: graphAttr.type('int32') });
  const init = g.op('AssignVariableOp', [handle, zeros], { dtype: graphAttr.type('float32') });
  const first = g.placeholder('int32', []);
  const value = g.placeholder('float32', [-1, width]);
  return { whole: null, chunked: { init, fill, op: g.op('MnistLabAssignRows', [handle, first, value]), first, value } };
}

/**
 * Copy rows `first` to `first + count - 1` of the source (its values in
 * `host`) into the graph's variable. With our kernel a chunk at a time, so
 * TensorFlow never holds a second copy of the data set while it arrives
 * (the training set is 150 MB as float32); without it in one piece.
 */
function uploadRows(session: GraphSession, { whole, chunked, rows: [first, count], width }: DataUpload, host: Float32Array): void {
  const rowsOf = (start: number, size: number) => host.subarray((first + start) * width, (first + start + size) * width);
  if (chunked === null) {
    if (whole !== null) session.run([[whole.value, { dtype: 'float32', shape: [count, width], data: rowsOf(0, count) }]], [], [whole.op]);
    return;
  }
  session.run([[chunked.fill, { dtype: 'float32', shape: [], data: Float32Array.of(0) }]], [], [chunked.init]);
  for (let start = 0; start < count; start += UPLOAD_CHUNK_ROWS) {
    const size = Math.min(UPLOAD_CHUNK_ROWS, count - start);
    session.run(
      [
        [chunked.first, { dtype: 'int32', shape: [], data: Int32Array.of(start) }],
        [chunked.value, { dtype: 'float32', shape: [size, width], data: rowsOf(start, size) }],
      ],
      [],
      [chunked.op],
    );
  }
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
  if (requested !== 'fused' && graphUnavailable === null) {
    const ops = fusedOps();
    const pieces = sessionThreadPools() ? graphPieces() : 1;
    const cut = pieces > 1 ? `Dense batches in ${pieces} pieces, one thread per op` : `whole batches${sessionThreadPools() ? '' : ' (tfjs-node was loaded before mnist-lab, so sessions share its thread pool)'}`;
    return { name: 'graph', reason: `${graphBinding().reason}; ${cut}; kernels for the RMSprop update, dropout masks, data upload and image transform: ${ops.available ? ops.reason : `TensorFlow's (ours: ${ops.reason})`}` };
  }
  if (native && (optimizer === null || fusedUpdate(optimizer) !== null)) return { name: 'fused', reason: requested === 'fused' ? 'MNIST_LAB_TRAIN_STEP=fused' : `no graph step: ${graphUnavailable}` };
  return { name: 'generic', reason: native ? 'optimizer without a fused kernel' : `backend ${tf.getBackend()}` };
}
