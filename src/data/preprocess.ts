/**
 * The few steps between raw bytes and a network's input, named as in Keras
 * tutorials: scale to [0, 1], flatten to vectors, one-hot labels, a
 * validation split, subsets, and conversion to tfjs tensors.
 */
import ndarray from 'ndarray';
import type { NdArray } from 'ndarray';
import { tf } from '../backend';
import { ConfigError } from '../errors';
import { NUM_CLASSES } from './registry';

/** Any numeric ndarray the helpers accept. */
export type NumericArray = NdArray<Uint8Array> | NdArray<Float32Array>;

/**
 * An ndarray's elements in row-major order: the backing array itself when the
 * view is already dense, otherwise a copy (views from `subset` have offsets).
 */
export function contiguousData<T extends Uint8Array | Float32Array>(array: NdArray<T>): T {
  const size = array.size;
  const isContiguous = array.offset === 0 && array.data.length === size && isRowMajor(array);
  if (isContiguous) return array.data;
  const out = allocLike(array.data, size);
  const shape = array.shape;
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  for (let flat = 0; flat < size; flat++) {
    out[flat] = array.get(...index);
    for (let axis = rank - 1; axis >= 0; axis--) {
      if (++index[axis] < shape[axis]) break;
      index[axis] = 0;
    }
  }
  return out;
}

/** A fresh zeroed array of the same element type (Node Buffers become plain Uint8Arrays). */
function allocLike<T extends Uint8Array | Float32Array>(like: T, length: number): T {
  return (like instanceof Float32Array ? new Float32Array(length) : new Uint8Array(length)) as T;
}

function isRowMajor(array: NdArray): boolean {
  let expected = 1;
  for (let axis = array.shape.length - 1; axis >= 0; axis--) {
    if (array.shape[axis] > 1 && array.stride[axis] !== expected) return false;
    expected *= array.shape[axis];
  }
  return true;
}

/** `images / 255` as float32, the Keras tutorials' first step. */
export function scaleImages(images: NumericArray, divisor = 255): NdArray<Float32Array> {
  const source: Uint8Array | Float32Array = contiguousData<Uint8Array | Float32Array>(images);
  const out = new Float32Array(source.length);
  for (let i = 0; i < source.length; i++) out[i] = source[i] / divisor;
  return ndarray(out, images.shape.slice());
}

/** Flatten `[N, 28, 28]` images to `[N, 784]` vectors (a view when the input is contiguous). */
export function flattenImages<T extends Uint8Array | Float32Array>(images: NdArray<T>): NdArray<T> {
  const count = images.shape[0];
  return ndarray(contiguousData(images), [count, images.size / Math.max(count, 1)]);
}

/** Keras `to_categorical`: class indices to one-hot rows, `[N]` to `[N, numClasses]`. */
export function toCategorical(labels: NdArray<Uint8Array>, numClasses = NUM_CLASSES): NdArray<Float32Array> {
  const count = labels.shape[0];
  const out = new Float32Array(count * numClasses);
  for (let i = 0; i < count; i++) {
    const label = labels.get(i);
    if (label >= numClasses) throw new ConfigError('labels', `label ${label} at index ${i} is not below numClasses`, `0-${numClasses - 1}`);
    out[i * numClasses + label] = 1;
  }
  return ndarray(out, [count, numClasses]);
}

/**
 * Keras `validation_split` semantics: the LAST `fraction` of the arrays is the
 * validation set, taken before any shuffling. Returns views (no copies).
 */
export function validationSplit<I extends NdArray, L extends NdArray>(
  images: I,
  labels: L,
  fraction: number,
): { train: { images: I; labels: L }; validation: { images: I; labels: L } } {
  if (!(fraction > 0 && fraction < 1)) {
    throw new ConfigError('validationSplit', `must be between 0 and 1 (exclusive), got ${fraction}`);
  }
  const count = images.shape[0];
  // Same rounding as Keras: split_at = int(n * (1 - validation_split)).
  const splitAt = Math.floor(count * (1 - fraction));
  return {
    train: { images: sliceRows(images, 0, splitAt), labels: sliceRows(labels, 0, splitAt) },
    validation: { images: sliceRows(images, splitAt, count), labels: sliceRows(labels, splitAt, count) },
  };
}

/** Rows `[start, end)` of an array along its first axis, as a view. */
export function sliceRows<A extends NdArray>(array: A, start: number, end: number): A {
  return array.hi(end).lo(start) as A;
}

/** The first `count` examples (or rows `[start, start + count)`), as views. */
export function subset<I extends NdArray, L extends NdArray>(
  images: I,
  labels: L,
  count: number,
  start = 0,
): [I, L] {
  const available = images.shape[0];
  if (!Number.isInteger(count) || count < 0 || start < 0 || start + count > available) {
    throw new ConfigError('subset', `cannot take ${count} examples from index ${start} of ${available}`, `0 <= start, start + count <= ${available}`);
  }
  return [sliceRows(images, start, start + count), sliceRows(labels, start, start + count)];
}

/** Pick examples by index (copies). */
export function takeIndices<T extends Uint8Array | Float32Array>(array: NdArray<T>, indices: readonly number[]): NdArray<T> {
  const rowSize = array.size / Math.max(array.shape[0], 1);
  const data = contiguousData(array);
  const out = allocLike(data, indices.length * rowSize);
  indices.forEach((row, i) => {
    if (row < 0 || row >= array.shape[0]) throw new ConfigError('indices', `index ${row} is out of range`, `0-${array.shape[0] - 1}`);
    out.set(data.subarray(row * rowSize, (row + 1) * rowSize), i * rowSize);
  });
  return ndarray(out, [indices.length, ...array.shape.slice(1)]);
}

/** An ndarray as a tfjs tensor (float32 unless `dtype` says otherwise). */
export function toTensor(array: NumericArray, dtype: 'float32' | 'int32' = 'float32'): tf.Tensor {
  const data: Uint8Array | Float32Array = contiguousData<Uint8Array | Float32Array>(array);
  const values = dtype === 'int32' ? Int32Array.from(data) : data instanceof Float32Array ? data : Float32Array.from(data);
  return tf.tensor(values, array.shape.slice(), dtype);
}
