/**
 * Used by the benchmark worker: the benchmarked networks (S0, S1-base of
 * the seed table, keras.io's convnet) and the MNIST arrays as tensors,
 * prepared exactly as the Keras side prepares them (x/255, one-hot, the last
 * fraction held out for validation before any shuffling).
 */
import { flattenImages, initBackend, loadData, scaleImages, tf, toCategorical, validationSplit } from '../src';
import { DEFAULT_CNN, DEFAULT_MLP, type BackendInfo, type ModelConfig } from '../src';

export const BENCH_CONFIG_NAMES = ['S0', 'S1-base', 'S1-h2048', 'S1-b32', 'S1-b512', 'S1-base-augment', 'convnet'] as const;
export type BenchConfigName = (typeof BENCH_CONFIG_NAMES)[number];

export interface BenchNetwork {
  /** The network (createModel's config; the seed is set per run). */
  model: ModelConfig;
  /** Examples per gradient step. */
  batchSize: number;
  /** Last fraction of the training arrays used for validation; 0 = none. */
  validationSplit: number;
  /** Data augmentation per batch (Keras ImageDataGenerator ranges), as in src/train/augment.ts; absent = none. */
  augment?: { rotationRange: number; widthShiftRange: number; heightShiftRange: number; zoomRange: number };
}

export const BENCH_NETWORKS: Record<BenchConfigName, BenchNetwork> = {
  S0: { model: { ...DEFAULT_MLP, hiddenUnits: [512], dropoutRate: 0 }, batchSize: 128, validationSplit: 0 },
  'S1-base': { model: { ...DEFAULT_MLP, hiddenUnits: [512, 512], dropoutRate: 0.2 }, batchSize: 128, validationSplit: 0.2 },
  // How cost grows with width and batch size: S1-base with 2048 hidden units, and at batch 32 and 512.
  'S1-h2048': { model: { ...DEFAULT_MLP, hiddenUnits: [2048, 2048], dropoutRate: 0.2 }, batchSize: 128, validationSplit: 0.2 },
  'S1-b32': { model: { ...DEFAULT_MLP, hiddenUnits: [512, 512], dropoutRate: 0.2 }, batchSize: 32, validationSplit: 0.2 },
  'S1-b512': { model: { ...DEFAULT_MLP, hiddenUnits: [512, 512], dropoutRate: 0.2 }, batchSize: 512, validationSplit: 0.2 },
  // S1-base with random rotation 10 degrees, shifts 0.1 and zoom 0.1 (Keras: RandomRotation, RandomTranslation, RandomZoom layers).
  'S1-base-augment': { model: { ...DEFAULT_MLP, hiddenUnits: [512, 512], dropoutRate: 0.2 }, batchSize: 128, validationSplit: 0.2, augment: { rotationRange: 10, widthShiftRange: 0.1, heightShiftRange: 0.1, zoomRange: 0.1 } },
  // keras.io "Simple MNIST convnet": batch 128, validation split 0.1.
  convnet: { model: { ...DEFAULT_CNN }, batchSize: 128, validationSplit: 0.1 },
};

export function isBenchConfigName(name: string): name is BenchConfigName {
  return (BENCH_CONFIG_NAMES as readonly string[]).includes(name);
}

/** Training data as tensors; the caller disposes them with `disposeBenchData`. */
export interface BenchData {
  trainImages: tf.Tensor2D;
  trainLabels: tf.Tensor2D;
  validationImages?: tf.Tensor2D;
  validationLabels?: tf.Tensor2D;
  testImages: tf.Tensor2D;
  testLabels: tf.Tensor2D;
  /** The full (pre-split) arrays, for APIs that do the split themselves. */
  allImages: tf.Tensor2D;
  allLabels: tf.Tensor2D;
  backend: BackendInfo;
}

export async function loadBenchData(network: BenchNetwork, trainLimit?: number): Promise<BenchData> {
  const backend = await initBackend({ quiet: true });
  const [[images, labels], [testImages, testLabels]] = await loadData('mnist');
  const count = Math.min(trainLimit ?? images.shape[0], images.shape[0]);
  const usedImages = images.hi(count);
  const usedLabels = labels.hi(count);
  const toImages = (array: typeof images) => {
    const flat = flattenImages(scaleImages(array));
    return tf.tensor2d(flat.data, [flat.shape[0], flat.shape[1]]);
  };
  const toLabels = (array: typeof labels) => tf.tensor2d(toCategorical(array).data, [array.shape[0], 10]);
  const allImages = toImages(usedImages);
  const allLabels = toLabels(usedLabels);
  const data: BenchData = { allImages, allLabels, trainImages: allImages, trainLabels: allLabels, testImages: toImages(testImages), testLabels: toLabels(testLabels), backend };
  if (network.validationSplit > 0) {
    const split = validationSplit(usedImages, usedLabels, network.validationSplit);
    data.trainImages = toImages(split.train.images);
    data.trainLabels = toLabels(split.train.labels);
    data.validationImages = toImages(split.validation.images);
    data.validationLabels = toLabels(split.validation.labels);
  }
  return data;
}

export function disposeBenchData(data: BenchData): void {
  const tensors = [data.allImages, data.allLabels, data.trainImages, data.trainLabels, data.validationImages, data.validationLabels, data.testImages, data.testLabels];
  tf.dispose([...new Set(tensors.filter((tensor): tensor is tf.Tensor2D => tensor !== undefined))]);
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Peak resident memory of this process so far, MiB. */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}
