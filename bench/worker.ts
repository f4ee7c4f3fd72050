/**
 * One benchmark measurement in a fresh process (clean peak memory, one
 * backend): `node --import tsx bench/worker.ts --config S1-base --engine project`.
 * Prints one JSON line on stdout. scripts/bench.mjs drives it; the backend
 * comes from MNIST_LAB_BACKEND.
 *
 * Engines:
 * - `project`: the training path the notebooks and CLI use (src/train `fit`,
 *   with the fastest step available: the graph step on the native backend).
 * - `project-fused`, `project-generic`: the same `fit` forced to its eager
 *   steps (MNIST_LAB_TRAIN_STEP), to show what the graph step gains.
 * - `layers-fit`: plain tfjs `model.fit` with an equivalent model, the
 *   "before" baseline the project's loop is measured against.
 */
import * as os from 'node:os';
import { parseArgs } from 'node:util';
import { createCnn, isCnnConfig, tf } from '../src';
import { BENCH_CONFIG_NAMES, BENCH_NETWORKS, disposeBenchData, isBenchConfigName, loadBenchData, median, peakRssMb, type BenchData, type BenchNetwork } from './common';
import { runProjectEngine } from './engines';

export const ENGINES = ['project', 'project-fused', 'project-generic', 'layers-fit'] as const;
export type EngineName = (typeof ENGINES)[number];

/** What one engine reports back for one network. */
export interface EngineRun {
  /** Wall-clock seconds of every epoch, warm-up first. */
  epochSeconds: number[];
  /** Training accuracy of the last epoch, as the loop reports it. */
  finalTrainAcc: number;
  finalValAcc: number | null;
  testAcc: number;
  testLoss: number;
  /** `tf.memory().numTensors` at the end of every epoch: flat when nothing leaks. */
  tensorsAtEpochEnd: number[];
  /** Process CPU seconds (all threads) at the end of every epoch; less sensitive to other load than wall time. */
  cpuAtEpochEnd: number[];
  /** Anything the engine wants the reader to know (e.g. which fit it ran). */
  note?: string;
}

export interface EngineArgs {
  network: BenchNetwork;
  data: BenchData;
  epochs: number;
  seed: number;
}

/** CPU seconds this process has used, user + system, all threads. */
export function cpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

function buildLayersModel(network: BenchNetwork, seed: number): tf.Sequential {
  if (isCnnConfig(network.model)) {
    // The same layers as createCnn, compiled with tfjs's own Adam (the plain tfjs way).
    const model = createCnn({ ...network.model, seed });
    const images = tf.layers.reshape({ targetShape: network.model.inputShape, inputShape: [784] });
    const wrapped = tf.sequential({ layers: [images, ...model.layers] });
    wrapped.compile({ optimizer: tf.train.adam(0.001, 0.9, 0.999, 1e-7), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    return wrapped;
  }
  const { hiddenUnits, dropoutRate } = network.model;
  const model = tf.sequential();
  hiddenUnits.forEach((units, index) => {
    model.add(tf.layers.dense({ units, activation: 'relu', inputShape: index === 0 ? [784] : undefined, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + index }) }));
    if (dropoutRate > 0) model.add(tf.layers.dropout({ rate: dropoutRate }));
  });
  model.add(tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 100 }) }));
  model.compile({ optimizer: tf.train.rmsprop(0.001, 0.9, 0, 1e-7), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

async function runLayersFit({ network, data, epochs, seed }: EngineArgs): Promise<EngineRun> {
  const model = buildLayersModel(network, seed);
  const epochSeconds: number[] = [];
  const tensorsAtEpochEnd: number[] = [];
  const cpuAtEpochEnd: number[] = [];
  let started = 0;
  const validationData: [tf.Tensor, tf.Tensor] | undefined =
    data.validationImages && data.validationLabels ? [data.validationImages, data.validationLabels] : undefined;
  const history = await model.fit(data.trainImages, data.trainLabels, {
    batchSize: network.batchSize,
    epochs,
    shuffle: true,
    verbose: 0,
    validationData,
    callbacks: {
      onEpochBegin: async () => {
        started = performance.now();
      },
      onEpochEnd: async () => {
        epochSeconds.push((performance.now() - started) / 1000);
        tensorsAtEpochEnd.push(tf.memory().numTensors);
        cpuAtEpochEnd.push(cpuSeconds());
      },
    },
  });
  const [testLoss, testAcc] = tf.tidy(() => (model.evaluate(data.testImages, data.testLabels, { batchSize: 1024 }) as tf.Scalar[]).map((value) => value.dataSync()[0]));
  const last = (values: (number | tf.Tensor)[] | undefined) => (values === undefined ? null : Number(values[values.length - 1]));
  model.dispose();
  return {
    epochSeconds,
    finalTrainAcc: last(history.history.acc) ?? NaN,
    finalValAcc: last(history.history.val_acc),
    testAcc,
    testLoss,
    tensorsAtEpochEnd,
    cpuAtEpochEnd,
    note: 'tfjs model.fit, default yieldEvery, validation passed as validationData (same split as Keras)',
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string', default: 'S1-base' },
      engine: { type: 'string', default: 'project' },
      epochs: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      'train-limit': { type: 'string' },
      seed: { type: 'string', default: '42' },
    },
  });
  const configName = values.config ?? 'S1-base';
  if (!isBenchConfigName(configName)) throw new Error(`--config ${configName}: unknown (allowed: ${BENCH_CONFIG_NAMES.join(', ')})`);
  const engine = values.engine as EngineName;
  if (!(ENGINES as readonly string[]).includes(engine)) throw new Error(`--engine ${engine}: unknown (allowed: ${ENGINES.join(', ')})`);
  const timedEpochs = Number(values.epochs);
  const warmupEpochs = Number(values.warmup);
  const seed = Number(values.seed);
  const network = BENCH_NETWORKS[configName];
  const trainLimit = values['train-limit'] !== undefined ? Number(values['train-limit']) : undefined;

  const data = await loadBenchData(network, trainLimit);
  const args: EngineArgs = { network, data, epochs: warmupEpochs + timedEpochs, seed };
  if (engine.startsWith('project-')) process.env.MNIST_LAB_TRAIN_STEP = engine.slice('project-'.length);
  const run = engine.startsWith('project') ? await runProjectEngine(args) : await runLayersFit(args);
  const trainSamples = data.trainImages.shape[0];
  const timed = run.epochSeconds.slice(warmupEpochs);
  const medianEpochSeconds = median(timed);
  // CPU time of epoch i = difference of consecutive epoch-end readings, so only epochs after the first.
  const cpuPerEpoch = run.cpuAtEpochEnd.slice(1).map((value, index) => value - run.cpuAtEpochEnd[index]).slice(Math.max(warmupEpochs - 1, 0));
  const result = {
    engine,
    config: configName,
    backend: data.backend.name,
    tfjsVersion: tf.version.tfjs,
    batchSize: network.batchSize,
    trainSamples,
    validationSamples: data.validationImages?.shape[0] ?? 0,
    warmupEpochs,
    firstEpochSeconds: warmupEpochs > 0 ? run.epochSeconds[0] : null,
    epochSeconds: timed,
    medianEpochSeconds,
    samplesPerSecond: trainSamples / medianEpochSeconds,
    medianCpuSecondsPerEpoch: cpuPerEpoch.length > 0 ? median(cpuPerEpoch) : null,
    peakRssMb: peakRssMb(),
    testAcc: run.testAcc,
    testLoss: run.testLoss,
    finalTrainAcc: run.finalTrainAcc,
    finalValAcc: run.finalValAcc,
    // Growth of live tensors from the first to the last epoch end: 0 when nothing leaks per batch.
    tensorGrowth: run.tensorsAtEpochEnd[run.tensorsAtEpochEnd.length - 1] - run.tensorsAtEpochEnd[0],
    note: run.note,
    loadAverage: os.loadavg(),
  };
  disposeBenchData(data);
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`bench worker: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
