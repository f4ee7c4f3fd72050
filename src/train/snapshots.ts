/**
 * First-layer weight snapshots in memory: the kernel of the first Dense
 * layer (its first units) copied before training and after every epoch, so
 * learners can watch the weights form (`weightsOverEpochs`). Run folders
 * keep the same snapshots on disk (src/runs/snapshots.ts).
 */
import { tf } from '../backend';
import { ConfigError } from '../errors';
import type { FitCallbacks } from './fit';

/** First-layer weights at one point of training. */
export interface WeightSnapshot {
  /** Epochs completed when it was taken (0 = the initial random weights). */
  epoch: number;
  /** The first Dense kernel (or its first units): `shape[0]` inputs by `shape[1]` units, row-major. */
  data: Float32Array;
  shape: [number, number];
}

/** The first Dense kernel of a model, copied (its first `units` units). */
export function firstLayerKernel(model: tf.LayersModel, units = Infinity): { data: Float32Array; shape: [number, number] } {
  const dense = model.layers.find((layer) => layer.getClassName() === 'Dense');
  if (!dense) throw new ConfigError('model', 'has no Dense layer', 'a model built by createMlp');
  const kernel = dense.getWeights()[0];
  const [inputs, allUnits] = kernel.shape as [number, number];
  const keep = Math.min(units, allUnits);
  const full = kernel.dataSync() as Float32Array;
  if (keep === allUnits) return { data: Float32Array.from(full), shape: [inputs, allUnits] };
  const data = new Float32Array(inputs * keep);
  for (let row = 0; row < inputs; row++) data.set(full.subarray(row * allUnits, row * allUnits + keep), row * keep);
  return { data, shape: [inputs, keep] };
}

/**
 * Record the first-layer weights while `fit` trains: the initial weights,
 * then after every epoch. Pass `recorder.callbacks` to `fit`, then draw
 * `weightsOverEpochs(recorder.snapshots)`.
 */
export function recordFirstLayerWeights(model: tf.LayersModel, options: { units?: number } = {}): { snapshots: WeightSnapshot[]; callbacks: FitCallbacks } {
  const units = options.units ?? 16;
  const snapshots: WeightSnapshot[] = [];
  const take = (epoch: number) => snapshots.push({ epoch, ...firstLayerKernel(model, units) });
  return {
    snapshots,
    callbacks: {
      onTrainBegin: () => {
        if (snapshots.length === 0) take(0);
      },
      onEpochEnd: (epoch) => {
        take(epoch + 1);
      },
    },
  };
}
