/**
 * `fit(model, images, labels, config)`: Keras's `model.fit`, as a custom
 * training loop. tfjs's own `model.fit` slices, converts and synchronises
 * every batch and computes the loss from clipped probabilities; this loop
 * keeps the data on the backend and computes cross-entropy from the logits
 * of the softmax layer as Keras does on TensorFlow (which matters when the
 * softmax saturates, e.g. without input scaling).
 *
 * The step itself runs one of three ways (selectTrainStep): as one
 * TensorFlow graph per batch on the native backend (graph-step.ts, the
 * fastest, as Keras runs `fit`), or as eager ops (step.ts) with fused
 * optimizer kernels (native) or the model's own optimizer (wasm, cpu).
 */
import { watchKernelInterrupt } from './interrupt';
import { initBackend, tf } from '../backend';
import { ConfigError } from '../errors';
import { deriveSeed, SeededRandom } from '../util/random';
import { ProgressReporter, type EpochLogs, type ProgressSink } from './progress';
import { validateTrainConfig } from './validate';
import { DEFAULT_TRAIN, type TrainConfig, type TrainingHistory } from './types';
import { createTrainStep } from './step';
import { dropoutMaskShapes, planLayers, type LayerPlan } from './layer-plan';
import { evaluatePrepared, prepareData, type ImagesInput, type LabelsInput, type PreparedData } from './evaluation';
import { createGraphTrainer, selectTrainStep, type GraphTrainer, type StepBatch } from './graph-step';
import { applyTransforms, augmentActive, augmentTransforms, imageSizeOf, validateAugment, type AugmentConfig } from './augment';

/** Where training stands after an epoch: what `fit` tracks for every callback, so none tracks it again. */
export interface TrainingProgress {
  /** Every epoch so far, resumed ones included (a copy: callbacks may keep it). */
  history: TrainingHistory;
  /** 0-based epoch with the lowest val_loss so far (the first one on ties, as Keras's ModelCheckpoint keeps it); null without validation. */
  bestEpoch: number | null;
  bestValLoss: number | null;
  /** True when the epoch just finished set a new lowest val_loss (save_best_only would save it). */
  improved: boolean;
}

/** Keras-style callbacks; a returned promise is awaited before training goes on. */
export interface FitCallbacks {
  /** Before the first epoch of this call. */
  onTrainBegin?: () => void | Promise<void>;
  /** Before each epoch (0-based). */
  onEpochBegin?: (epoch: number) => void | Promise<void>;
  /** After each epoch's validation; `model` holds that epoch's weights. */
  onEpochEnd?: (epoch: number, logs: EpochLogs, progress: TrainingProgress) => void | Promise<void>;
  /** At the end, also when a resumed run had no epochs left to run. */
  onTrainEnd?: (progress: TrainingProgress) => void | Promise<void>;
}

/** What `fit` takes besides the data: a {@link TrainConfig} (any field may be left out) plus validation data, callbacks and resuming. */
export interface FitOptions extends Omit<Partial<TrainConfig>, 'augment'> {
  /** Random rotations, shifts and zooms per batch (missing fields are 0); see TrainConfig.augment. */
  augment?: Partial<AugmentConfig>;
  /** Explicit validation set (Keras `validation_data`); takes precedence over validationSplit. */
  validationData?: [ImagesInput, LabelsInput];
  callbacks?: FitCallbacks;
  /** Epoch to start at, for resuming (Keras `initial_epoch`); epochs before it are not run. */
  initialEpoch?: number;
  /** History of the epochs before `initialEpoch` (resuming); the returned history continues it. */
  previousHistory?: TrainingHistory;
  /**
   * At the end, put back the weights of the epoch with the lowest val_loss
   * (held in memory; only for epochs run in this call).
   */
  restoreBestWeights?: boolean;
  /** Where progress goes (default: the notebook display inside tslab, else stdout). */
  progressSink?: ProgressSink;
}

/** Random transforms for the eager step: fresh per (seed, epoch, step), see augment.ts. */
interface EagerAugment {
  config: AugmentConfig;
  seed: number;
  epoch: number;
  height: number;
  width: number;
}

/** Yield to the event loop so timers, Ctrl-C and notebook output get through during long epochs. */
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const YIELD_EVERY_SECONDS = 0.1;

/**
 * Train `model` (from `createMlp`) on `images`/`labels` and return Keras's
 * `History`. Labels may be class indices or one-hot rows; images must
 * already be scaled as the model expects.
 */
export async function fit(model: tf.LayersModel, images: ImagesInput, labels: LabelsInput, options: FitOptions = {}): Promise<TrainingHistory> {
  await initBackend();
  const config: TrainConfig = { ...DEFAULT_TRAIN, ...stripUndefined(options) };
  validateTrainConfig(config);
  const augment = validateAugment(options.augment);
  const optimizer = model.optimizer;
  if (optimizer == null) throw new ConfigError('model', 'is not compiled', 'build it with createMlp() or call model.compile() first');
  const plan = planLayers(model);
  const numClasses = (model.outputs[0].shape[1] ?? 0) as number;
  const initialEpoch = options.initialEpoch ?? 0;
  const history: TrainingHistory = cloneHistory(options.previousHistory, initialEpoch);
  const owned: tf.Tensor[] = [];
  const best: { epoch: number | null; valLoss: number | null; weights: tf.Tensor[] | null } = { ...bestOf(history), weights: null };
  const progress = (improved: boolean): TrainingProgress => ({ history: cloneHistory(history, history.epoch.length), bestEpoch: best.epoch, bestValLoss: best.valLoss, improved });
  let graphTrainer: GraphTrainer | null = null;
  const interrupt = watchKernelInterrupt();
  try {
    const all = prepareData(images, labels, numClasses, owned);
    const engine = selectTrainStep(optimizer);
    // Rows of `all` that train and, with a validation split, the tail that validates.
    let trainRows: [number, number] = [0, all.count];
    let validationRows: [number, number] | null = null;
    let validationData: PreparedData | null = null;
    if (options.validationData !== undefined) {
      validationData = prepareData(options.validationData[0], options.validationData[1], numClasses, owned);
    } else if (config.validationSplit > 0) {
      // Keras: split_at = int(n * (1 - validation_split)); the tail validates.
      const splitAt = Math.floor(all.count * (1 - config.validationSplit));
      if (splitAt < 1 || splitAt >= all.count) {
        throw new ConfigError('validationSplit', `leaves no training or no validation examples out of ${all.count}`, 'a fraction that keeps both parts non-empty');
      }
      trainRows = [0, splitAt];
      validationRows = [splitAt, all.count - splitAt];
    }
    const slice = ([start, size]: [number, number]): PreparedData => {
      if (start === 0 && size === all.count) return all;
      const part = { images: tf.slice(all.images, start, size), labels: tf.slice(all.labels, start, size) as tf.Tensor2D, count: size };
      owned.push(part.images, part.labels);
      return part;
    };
    const trainCount = trainRows[1];
    const steps = Math.ceil(trainCount / config.batchSize);
    const augmenting = augmentActive(augment);
    const imageSize = augmenting ? imageSizeOf(all.images.shape) : null;
    let validation: PreparedData | null = null;
    let startEpoch: (epoch: number, order: Int32Array | null) => Promise<EpochRunner>;
    if (engine.name === 'graph') {
      // The graph holds its own copy of the rows it trains and validates on, uploaded from `all` without slicing it.
      const graphValidation = validationData ?? (validationRows !== null ? { ...all, rows: validationRows } : undefined);
      const trainer = createGraphTrainer(plan, optimizer, { ...all, rows: trainRows }, config.seed, { augment: augmenting ? augment : undefined, validation: graphValidation });
      graphTrainer = trainer;
      if (!trainer.validates) validation = validationData ?? (validationRows !== null ? slice(validationRows) : null);
      // Nothing else reads fit's own copies now: free them (memory, not speed).
      if (validation === null) tf.dispose(owned.splice(0));
      startEpoch = (epoch, order) => graphEpoch(trainer, epoch, order, trainCount, config.batchSize);
    } else {
      const train = slice(trainRows);
      validation = validationData ?? (validationRows !== null ? slice(validationRows) : null);
      startEpoch = (epoch, order) =>
        eagerEpoch(plan, optimizer, engine.name === 'fused', train, order, config.batchSize, deriveSeed(config.seed, 'dropout', epoch), imageSize !== null ? { config: augment, seed: config.seed, epoch, height: imageSize[0], width: imageSize[1] } : null);
    }
    const reporter = new ProgressReporter(config.verbose, config.verbose === 0 ? undefined : options.progressSink);
    await options.callbacks?.onTrainBegin?.();
    for (let epoch = initialEpoch; epoch < config.epochs; epoch++) {
      await options.callbacks?.onEpochBegin?.(epoch);
      // An interrupt that came during the last epoch's end stops here, before a new "Epoch n/N" line.
      interrupt.check(epoch, config.epochs, 0, steps);
      reporter.epochBegin(epoch, config.epochs, steps);
      const started = performance.now();
      let lastYield = started;
      const order = config.shuffle ? new SeededRandom(deriveSeed(config.seed, 'shuffle', epoch)).permutation(trainCount) : null;
      const runner = await startEpoch(epoch, order);
      let seen = 0;
      try {
        // The graph step runs several steps per call (Keras's steps_per_execution); progress is seen between calls.
        for (let step = 0; step < steps; ) {
          const count = Math.min(runner.stepsPerCall, steps - step);
          seen += runner.run(step, count);
          step += count;
          const now = performance.now();
          if (reporter.wantsUpdate(now / 1000) && step < steps) {
            reporter.batch(step, steps, (now - started) / 1000, runner.means(seen), now / 1000);
          }
          if (now - lastYield > YIELD_EVERY_SECONDS * 1000) {
            await yieldToEventLoop();
            lastYield = performance.now();
          }
          interrupt.check(epoch, config.epochs, step, steps);
        }
      } finally {
        await runner.finish();
      }
      const trainLogs = runner.means(seen);
      const logs: EpochLogs = { loss: trainLogs.loss, acc: trainLogs.acc, seconds: 0 };
      // Validation on the graph's weights where the graph holds the data, else the same evaluation eagerly.
      const metrics = validation !== null ? evaluatePrepared(plan.layers, validation) : (graphTrainer?.validate() ?? null);
      if (metrics !== null) {
        logs.val_loss = metrics.loss;
        logs.val_acc = metrics.acc;
      }
      logs.seconds = (performance.now() - started) / 1000;
      appendEpoch(history, epoch, logs);
      reporter.epochEnd(steps, logs);
      const improved = logs.val_loss !== undefined && (best.valLoss === null || logs.val_loss < best.valLoss);
      if (improved) {
        best.epoch = epoch;
        best.valLoss = logs.val_loss ?? null;
        if (options.restoreBestWeights) {
          tf.dispose(best.weights ?? []);
          best.weights = plan.variables.map((variable) => tf.keep(variable.clone()));
        }
      }
      await options.callbacks?.onEpochEnd?.(epoch, logs, progress(improved));
    }
    if (options.restoreBestWeights && best.weights !== null) {
      const weights = best.weights;
      plan.variables.forEach((variable, index) => variable.assign(weights[index]));
    }
    await options.callbacks?.onTrainEnd?.(progress(false));
    return history;
  } finally {
    interrupt.dispose();
    tf.dispose(owned);
    tf.dispose(best.weights ?? []);
    graphTrainer?.dispose();
  }
}

/** One epoch of training steps; `means` reads the running loss and accuracy. */
interface EpochRunner {
  /** The most steps one `run` takes. */
  stepsPerCall: number;
  /** Steps `first` to `first + count - 1`; returns how many examples they trained on. */
  run(first: number, count: number): number;
  means(seen: number): { loss: number; acc: number };
  /** Weights back into the model; call after the last step, also on errors. */
  finish(): Promise<void>;
}

/**
 * An epoch of eager steps (step.ts): each batch is gathered with one op,
 * dropout masks come from the seeded JS generator, and the sums stay on the
 * backend until the display reads them.
 */
async function eagerEpoch(
  plan: LayerPlan,
  optimizer: tf.Optimizer,
  fused: boolean,
  train: PreparedData,
  order: Int32Array | null,
  batchSize: number,
  dropoutSeed: number,
  augment: EagerAugment | null,
): Promise<EpochRunner> {
  const dropoutRandom = new SeededRandom(dropoutSeed);
  // One mask per Dropout layer, in mask-index order, as wide as the Dense layer before it.
  const maskShapes = dropoutMaskShapes(plan.layers);
  // Weights may live in backend-side variables during the epoch; finish() puts them back.
  const trainStep = await createTrainStep(plan, optimizer, fused);
  const orderTensor = order !== null ? tf.tensor1d(order, 'int32') : null;
  // Inside tidy so the initial scalars go; variables survive it.
  const sums = tf.tidy(() => ({ loss: tf.variable(tf.scalar(0), false), correct: tf.variable(tf.scalar(0), false) }));
  let final: [number, number] | null = null;
  const read = (): [number, number] => final ?? [sums.loss.dataSync()[0], sums.correct.dataSync()[0]];
  /** One batch: rows `start` to `start + size - 1` of the epoch's order. */
  const trainBatch = (step: number, start: number, size: number) =>
    tf.tidy(() => {
      const indices = orderTensor !== null ? tf.slice(orderTensor, start, size) : null;
      const gathered = indices !== null ? tf.gather(train.images, indices) : tf.slice(train.images, start, size);
      const batchImages = augment !== null ? applyTransforms(gathered, augmentTransforms(augment.config, size, augment.height, augment.width, { seed: augment.seed, epoch: augment.epoch, step })) : gathered;
      const batchLabels = (indices !== null ? tf.gather(train.labels, indices) : tf.slice(train.labels, start, size)) as tf.Tensor2D;
      const masks = maskShapes.map(({ rate, units }) => tf.tensor2d(dropoutRandom.dropoutMask(size * units, rate), [size, units]));
      // Hand-written gradients and fused optimizer kernels (see step.ts); metrics stay on the backend.
      const { lossSum, correct } = trainStep.run(batchImages, batchLabels, masks);
      sums.loss.assign(tf.add(sums.loss, lossSum));
      sums.correct.assign(tf.add(sums.correct, correct));
    });
  return {
    stepsPerCall: 1,
    run(first, count) {
      let seen = 0;
      for (let index = first; index < first + count; index++) {
        const start = index * batchSize;
        const size = Math.min(batchSize, train.count - start);
        trainBatch(index, start, size);
        seen += size;
      }
      return seen;
    },
    means(seen) {
      const [lossSum, correct] = read();
      return { loss: lossSum / Math.max(seen, 1), acc: correct / Math.max(seen, 1) };
    },
    async finish() {
      try {
        await trainStep.finish();
      } finally {
        final = read();
        tf.dispose([sums.loss, sums.correct, ...(orderTensor !== null ? [orderTensor] : [])]);
      }
    },
  };
}

/** An epoch of graph steps (graph-step.ts): one session call per batch, sums kept in JavaScript. */
async function graphEpoch(trainer: GraphTrainer, epoch: number, order: Int32Array | null, count: number, batchSize: number): Promise<EpochRunner> {
  await trainer.beginEpoch(epoch);
  const rows = order ?? Int32Array.from({ length: count }, (_, row) => row);
  const batch = (step: number): StepBatch => ({ indices: rows.subarray(step * batchSize, Math.min((step + 1) * batchSize, count)), step });
  const steps = Math.ceil(count / batchSize);
  let lossSum = 0;
  let correct = 0;
  return {
    stepsPerCall: trainer.stepsPerRun,
    run(first, stepCount) {
      const batches = Array.from({ length: stepCount }, (_, index) => batch(first + index));
      const next = first + stepCount < steps ? batch(first + stepCount) : undefined;
      let seen = 0;
      trainer.run(batches, next).forEach((result, index) => {
        lossSum += result.lossSum;
        correct += result.correct;
        seen += batches[index].indices.length;
      });
      return seen;
    },
    means: (seen) => ({ loss: lossSum / Math.max(seen, 1), acc: correct / Math.max(seen, 1) }),
    finish: () => trainer.endEpoch(),
  };
}

function stripUndefined(options: FitOptions): Partial<TrainConfig> {
  const picked: Partial<TrainConfig> = {};
  for (const key of Object.keys(DEFAULT_TRAIN) as (keyof TrainConfig)[]) {
    if (options[key] !== undefined) (picked as Record<string, unknown>)[key] = options[key];
  }
  return picked;
}

/** The epoch with the lowest val_loss in a history (the first on ties) and that loss. */
function bestOf(history: TrainingHistory): { epoch: number | null; valLoss: number | null } {
  const losses = history.history.val_loss ?? [];
  let epoch: number | null = null;
  losses.forEach((loss, index) => {
    if (epoch === null || loss < losses[epoch]) epoch = index;
  });
  return { epoch, valLoss: epoch === null ? null : losses[epoch] };
}

/** A fresh history, or a copy of the first `epochs` entries of a previous one. */
function cloneHistory(previous: TrainingHistory | undefined, epochs: number): TrainingHistory {
  const history: TrainingHistory = { epoch: [], history: { loss: [], acc: [], seconds: [] } };
  if (previous === undefined || epochs === 0) return history;
  if (previous.epoch.length < epochs) {
    throw new ConfigError('previousHistory', `has ${previous.epoch.length} epochs but initialEpoch is ${epochs}`, 'the history saved with the checkpoint being resumed');
  }
  history.epoch = previous.epoch.slice(0, epochs);
  const record = previous.history;
  history.history = { loss: record.loss.slice(0, epochs), acc: record.acc.slice(0, epochs), seconds: record.seconds.slice(0, epochs) };
  if (record.val_loss) history.history.val_loss = record.val_loss.slice(0, epochs);
  if (record.val_acc) history.history.val_acc = record.val_acc.slice(0, epochs);
  return history;
}

function appendEpoch(history: TrainingHistory, epoch: number, logs: EpochLogs): void {
  history.epoch.push(epoch);
  const record = history.history;
  record.loss.push(logs.loss);
  record.acc.push(logs.acc);
  record.seconds.push(logs.seconds);
  if (logs.val_loss !== undefined) (record.val_loss ??= []).push(logs.val_loss);
  if (logs.val_acc !== undefined) (record.val_acc ??= []).push(logs.val_acc);
}
