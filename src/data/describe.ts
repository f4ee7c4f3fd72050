/**
 * What a learner asks of a pile of images before training: numpy-style
 * descriptions (dtype, shape, range) and the average image of each class.
 */
import ndarray from 'ndarray';
import type { NdArray } from 'ndarray';
import { ConfigError } from '../errors';
import { formatShape } from '../util/format';
import { flattenImages } from './preprocess';
import { NUM_CLASSES } from './registry';

/** numpy-style one-liner: `uint8 [60000, 28, 28], min 0, max 255`. */
export function describeArray(array: NdArray<Uint8Array> | NdArray<Float32Array>): string {
  // flattenImages copies a view (a subset) into row order, so only its own elements are scanned.
  const values = flattenImages<Uint8Array | Float32Array>(array).data;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (values[i] < min) min = values[i];
    if (values[i] > max) max = values[i];
  }
  const range = values.length === 0 ? 'empty' : `min ${formatNumber(min)}, max ${formatNumber(max)}`;
  return `${dtypeName(array)} ${formatShape(array.shape)}, ${range}`;
}

/** numpy's dtype name (ndarray calls a Node Buffer 'buffer'; its elements are uint8). */
function dtypeName(array: NdArray<Uint8Array> | NdArray<Float32Array>): string {
  if (array.data instanceof Float32Array) return 'float32';
  return 'uint8';
}

function formatNumber(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toPrecision(4);
}

/**
 * The mean image of each class, `[numClasses, rows, columns]` float32 on the
 * images' own scale: what a "typical" 0, 1, ... looks like to a pixel counter.
 */
export function classAverageImages(images: NdArray<Uint8Array> | NdArray<Float32Array>, labels: NdArray<Uint8Array>, numClasses = NUM_CLASSES): NdArray<Float32Array> {
  const count = images.shape[0];
  if (labels.shape[0] !== count) {
    throw new ConfigError('labels', `${labels.shape[0]} labels for ${count} images`, 'one label per image');
  }
  const pixels = images.size / Math.max(count, 1);
  const values = flattenImages<Uint8Array | Float32Array>(images).data;
  const sums = new Float64Array(numClasses * pixels);
  const perClass = new Array<number>(numClasses).fill(0);
  for (let example = 0; example < count; example++) {
    const label = labels.get(example);
    if (label >= numClasses) throw new ConfigError('labels', `label ${label} at index ${example} is not below numClasses`, `0-${numClasses - 1}`);
    perClass[label]++;
    const offset = label * pixels;
    const start = example * pixels;
    for (let pixel = 0; pixel < pixels; pixel++) sums[offset + pixel] += values[start + pixel];
  }
  const means = new Float32Array(sums.length);
  for (let index = 0; index < sums.length; index++) means[index] = sums[index] / Math.max(perClass[Math.floor(index / pixels)], 1);
  return ndarray(means, [numClasses, ...images.shape.slice(1)]);
}
