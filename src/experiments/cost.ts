/**
 * How long a run will take, before it runs: `--dry-run` totals, ETAs, and the
 * balance of shards. An MLP epoch costs (multiply-adds per example x examples)
 * plus a fixed cost per gradient step, so two constants per backend describe
 * it; `calibrateCostModel` measures them on this machine in a few seconds.
 */
import { backendInfo, tf, initBackend } from '../backend';
import { isFolderSource, plannedFolderCounts } from '../data/source';
import { DATASETS } from '../data/registry';
import { createMlp } from '../model/mlp';
import { DEFAULT_MLP } from '../model/config';
import { weightedLayers } from '../model/factory';
import { fit } from '../train/fit';
import type { ExperimentConfig } from '../runs/types';
import type { ModelConfig } from '../model/config';

/** The measured constants behind `estimateRunSeconds` for one backend. */
export interface CostModel {
  /** Backend the constants were measured on. */
  backend: string;
  /** Seconds per multiply-add of a forward pass (a training step costs about three forward passes). */
  secondsPerMultiplyAdd: number;
  /** Fixed seconds per gradient step (kernel launches, optimizer update, batch slicing). */
  secondsPerStep: number;
  /** Fixed seconds per run (process start, data loading, model building, saving). */
  secondsPerRun: number;
  /** Where the constants come from. */
  source: string;
}

/**
 * Native constants: fitted to the epoch times of the 39 runs of
 * `npm run reproduce` (graph step, the project's 2-core machine) and
 * rounded up: estimates are 0-40% above the measured epochs, twice for S0
 * (no validation, no dropout). wasm and cpu: measured with
 * `calibrateCostModel()` while other trainings shared the machine. The
 * runner's ETA rescales them by the runs it has finished.
 */
const MEASURED_COST_MODELS: Record<string, CostModel> = {
  tensorflow: { backend: 'tensorflow', secondsPerMultiplyAdd: 1.5e-11, secondsPerStep: 1.2e-3, secondsPerRun: 2, source: 'measured: native tfjs-node (graph step), 2-core machine' },
  wasm: { backend: 'wasm', secondsPerMultiplyAdd: 1.4e-9, secondsPerStep: 2.2e-3, secondsPerRun: 2, source: 'measured: wasm backend, 2-core machine' },
  cpu: { backend: 'cpu', secondsPerMultiplyAdd: 6.2e-9, secondsPerStep: 4.5e-2, secondsPerRun: 2, source: 'measured: pure-JS cpu backend, 2-core machine' },
};

/**
 * Measured on the 2-core machine (convnet, graph step): a convolution's
 * multiply-add costs about three times a Dense layer's (im2col copies,
 * smaller matrix products), so conv layers count three times.
 */
const CONV_COST_FACTOR = 3;

/** Multiply-adds of one forward pass of the experiment's network (convolutions weighted by their measured extra cost). */
function multiplyAddsPerExample(experiment: ExperimentConfig): number {
  return weightedLayers(experiment.model).reduce((sum, layer) => sum + (layer.type === 'Conv2D' ? CONV_COST_FACTOR : 1) * layer.multiplyAdds, 0);
}

/** Floating-point operations per example of one network, from its multiply-adds (one multiply-add = 2 FLOP). */
export interface FlopPerExample {
  /** One forward pass (prediction, validation): 2 x the multiply-adds of every weighted layer. */
  forward: number;
  /**
   * One training example: the forward pass, plus the backward pass's gradient
   * of every layer's weights (as many multiply-adds as its forward pass) and
   * of every layer's input except the first one's (nothing needs the gradient
   * of the images). Element-wise work (activations, dropout, softmax, the
   * optimizer update) is left out: it is small next to the matrix products.
   */
  training: number;
}

/**
 * The matrix-product work of one example through a network: what an epoch
 * costs at the very least, divided by the machine's GEMM rate (`npm run
 * bench` prints that floor). Convolutions count their multiply-adds exactly
 * as a matrix product would (no extra factor, unlike the cost model).
 */
export function flopPerExample(config: ModelConfig): FlopPerExample {
  const layers = weightedLayers(config);
  const forward = 2 * layers.reduce((sum, layer) => sum + layer.multiplyAdds, 0);
  const inputGradients = 2 * layers.slice(1).reduce((sum, layer) => sum + layer.multiplyAdds, 0);
  return { forward, training: 2 * forward + inputGradients };
}

/** Examples each phase of the run sees, after limits and the validation split. */
function exampleCounts(experiment: ExperimentConfig): { train: number; validation: number; test: number } {
  // A folder is counted, not read; one that cannot be listed is planned as MNIST-sized.
  const folder = isFolderSource(experiment.dataset) ? plannedFolderCounts(experiment.dataset) : null;
  const spec = folder ? { trainCount: folder.train, testCount: folder.test } : DATASETS[isFolderSource(experiment.dataset) ? 'mnist' : experiment.dataset];
  const available = Math.min(experiment.trainLimit ?? spec.trainCount, spec.trainCount);
  const test = Math.min(experiment.testLimit ?? spec.testCount, spec.testCount);
  if (experiment.validateOnTest) return { train: available, validation: test, test };
  const validation = Math.floor(available * experiment.train.validationSplit);
  return { train: available - validation, validation, test };
}

/** Estimated wall-clock seconds of one run (default: with the cost model of the active backend). */
export function estimateRunSeconds(experiment: ExperimentConfig, model: CostModel = costModelFor(backendInfo()?.name ?? 'cpu')): number {
  const multiplyAdds = multiplyAddsPerExample(experiment);
  const counts = exampleCounts(experiment);
  const steps = Math.ceil(counts.train / experiment.train.batchSize);
  const epoch =
    counts.train * multiplyAdds * 3 * model.secondsPerMultiplyAdd +
    steps * model.secondsPerStep +
    counts.validation * multiplyAdds * model.secondsPerMultiplyAdd;
  return model.secondsPerRun + experiment.train.epochs * epoch + counts.test * multiplyAdds * model.secondsPerMultiplyAdd;
}

/**
 * A backend-free relative cost (multiply-adds plus a step term), used to
 * balance shards: it must be identical on every machine of a cluster, so it
 * never depends on calibration.
 */
export function relativeRunCost(experiment: ExperimentConfig): number {
  return estimateRunSeconds(experiment, { ...MEASURED_COST_MODELS.tensorflow, secondsPerRun: 0 });
}

/** The cost model for a backend: the measured constants, or the cpu ones for an unknown backend. */
export function costModelFor(backend: string): CostModel {
  return MEASURED_COST_MODELS[backend] ?? MEASURED_COST_MODELS.cpu;
}

/**
 * Measure the two constants on this machine: time a few training steps of a
 * wide and of a narrow network on random data with the project's own `fit`
 * (the training path the runs use), and solve for the per multiply-add and
 * per-step costs. Takes a few seconds.
 */
export async function calibrateCostModel(options: { steps?: number } = {}): Promise<CostModel> {
  const info = await initBackend();
  const steps = options.steps ?? 40;
  const batchSize = 128;
  const time = async (hiddenUnits: number): Promise<{ seconds: number; multiplyAdds: number }> => {
    const model = createMlp({ ...DEFAULT_MLP, hiddenUnits: [hiddenUnits], dropoutRate: 0 });
    const images = tf.randomUniform([batchSize * steps, 28, 28]);
    const labels = tf.randomUniform([batchSize * steps], 0, 10, 'int32');
    try {
      // The first epoch builds and optimises the step; only the second is timed.
      const history = await fit(model, images, labels, { batchSize, epochs: 2, verbose: 0, validationSplit: 0 });
      return { seconds: history.history.seconds[1], multiplyAdds: (784 * hiddenUnits + hiddenUnits * 10) * batchSize * steps * 3 };
    } finally {
      tf.dispose([images, labels]);
      model.optimizer?.dispose();
      model.dispose();
    }
  };
  const wide = await time(1024);
  const narrow = await time(16);
  const secondsPerMultiplyAdd = Math.max((wide.seconds - narrow.seconds) / (wide.multiplyAdds - narrow.multiplyAdds), 1e-13);
  const secondsPerStep = Math.max((narrow.seconds - narrow.multiplyAdds * secondsPerMultiplyAdd) / steps, 0);
  return {
    backend: info.name,
    secondsPerMultiplyAdd,
    secondsPerStep,
    secondsPerRun: costModelFor(info.name).secondsPerRun,
    source: `calibrated now on this machine (${info.name})`,
  };
}
