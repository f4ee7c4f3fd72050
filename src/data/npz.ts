/**
 * Reader for Keras's cached `mnist.npz` (~/.keras/datasets/mnist.npz): a zip of
 * four `.npy` arrays named x_train, y_train, x_test, y_test. Only the uint8
 * arrays Keras writes there are supported.
 */
import { promises as fs } from 'node:fs';
import { unzipSync, zipSync } from 'fflate';
import { DataFormatError } from '../errors';

/** Every .npy file starts with these six bytes. */
export const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59] as const; // "\x93NUMPY"
/** The arrays `keras.datasets.mnist.load_data()` reads from the npz. */
export const NPZ_KEYS = ['x_train', 'y_train', 'x_test', 'y_test'] as const;
export type NpzKey = (typeof NPZ_KEYS)[number];

export interface NpyArray {
  shape: number[];
  data: Uint8Array;
}

export function parseNpy(bytes: Uint8Array, file: string): NpyArray {
  if (bytes.length < 10 || NPY_MAGIC.some((value, index) => bytes[index] !== value)) {
    throw new DataFormatError(file, 'not a .npy array (bad magic)', '\\x93NUMPY', JSON.stringify(String.fromCharCode(...bytes.subarray(0, 6))));
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const header = new TextDecoder('latin1').decode(bytes.subarray(headerStart, headerStart + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || shapeText === undefined) {
    throw new DataFormatError(file, `unreadable .npy header ${JSON.stringify(header.trim())}`);
  }
  if (descr !== '|u1' && descr !== '<u1') {
    throw new DataFormatError(file, 'unsupported .npy dtype', 'uint8 (|u1)', descr);
  }
  if (fortran === 'True') {
    throw new DataFormatError(file, 'Fortran-ordered .npy arrays are not supported', 'fortran_order False', 'True');
  }
  const shape = shapeText
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const data = bytes.subarray(headerStart + headerLength);
  if (data.length !== count) {
    throw new DataFormatError(file, `.npy size mismatch for shape [${shape.join(', ')}]`, `${count} values`, `${data.length} values`);
  }
  return { shape, data };
}

/** Read the four arrays of a Keras-style MNIST npz. */
export async function readNpz(file: string): Promise<Record<NpzKey, NpyArray>> {
  const raw = new Uint8Array(await fs.readFile(file));
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(raw);
  } catch (error) {
    throw new DataFormatError(file, `not a readable zip/npz archive (${(error as Error).message})`);
  }
  const out = {} as Record<NpzKey, NpyArray>;
  for (const key of NPZ_KEYS) {
    const entry = entries[`${key}.npy`];
    if (entry === undefined) {
      throw new DataFormatError(file, `the archive has no ${key}.npy`, NPZ_KEYS.map((k) => `${k}.npy`).join(', '), Object.keys(entries).join(', ') || 'no entries');
    }
    out[key] = parseNpy(entry, `${file}:${key}.npy`);
  }
  return out;
}

/** Encode a uint8 array as .npy (version 1.0). Used by tests to write their own npz. */
export function encodeNpy(shape: readonly number[], data: Uint8Array): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '|u1', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.length);
  out.set(NPY_MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(data, 10 + header.length);
  return out;
}

/** Build an npz (zip of .npy) from named arrays. */
export function encodeNpz(arrays: Record<string, NpyArray>): Uint8Array {
  const entries: Record<string, Uint8Array> = {};
  for (const [key, array] of Object.entries(arrays)) entries[`${key}.npy`] = encodeNpy(array.shape, array.data);
  return zipSync(entries);
}
