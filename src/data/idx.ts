/**
 * The IDX file format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/):
 * a big-endian header (two zero bytes, a type code, the number of
 * dimensions, then one 32-bit size per dimension) followed by the raw values.
 * Files are usually gzip'd; `readIdxFile` accepts both.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { promises as fs } from 'node:fs';
import { DataFormatError } from '../errors';
import { writeFileAtomic } from '../util/fs';

export { IDX_TYPE_UBYTE, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, GZIP_MAGIC } from './idx-constants';
import { IDX_TYPE_UBYTE, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, GZIP_MAGIC } from './idx-constants';
import { recogniseWrongFile } from './recognise';

/** A parsed IDX file: its dimensions and a view of its values (no copy). */
export interface IdxArray {
  shape: number[];
  data: Uint8Array;
  /** SHA-256 of the whole decompressed payload (header + values), hex. */
  sha256: string;
}

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];
}

/** Decompress a gzip buffer, turning zlib's terse errors into a message about the file. */
export function gunzipFile(bytes: Uint8Array, file: string): Uint8Array {
  try {
    return gunzipSync(bytes);
  } catch (error) {
    const reason = (error as Error).message;
    const truncated = /unexpected end/i.test(reason);
    throw new DataFormatError(
      file,
      truncated
        ? `the gzip stream is truncated (${bytes.length} bytes; an interrupted download?)`
        : `the gzip stream is corrupt (${reason})`,
    );
  }
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Parse a decompressed IDX payload. `expectedMagic` is checked when given, so a
 * label file passed where images belong is caught here.
 */
export function parseIdx(payload: Uint8Array, file: string, expectedMagic?: number): IdxArray {
  if (payload.length < 4) {
    if (payload.length === 0) throw new DataFormatError(file, 'the file is empty (0 bytes; an interrupted copy or download?)');
    throw new DataFormatError(file, 'file is too short to hold an IDX header', '>= 4 bytes', `${payload.length} bytes`);
  }
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const magic = view.getUint32(0, false);
  const recognised = magic === expectedMagic ? undefined : recogniseWrongFile(payload, expectedMagic);
  if (recognised !== undefined) throw new DataFormatError(file, recognised);
  if (expectedMagic !== undefined && magic !== expectedMagic) {
    throw new DataFormatError(file, 'wrong IDX magic number', hex(expectedMagic), hex(magic));
  }
  if (payload[0] !== 0 || payload[1] !== 0 || payload[2] !== IDX_TYPE_UBYTE) {
    throw new DataFormatError(file, 'not an unsigned-byte IDX file (bad magic number)', hex(IDX_IMAGES_MAGIC) + ' or ' + hex(IDX_LABELS_MAGIC), hex(magic));
  }
  const rank = payload[3];
  const headerBytes = 4 + 4 * rank;
  if (rank === 0 || payload.length < headerBytes) {
    throw new DataFormatError(file, 'IDX header is incomplete', `${headerBytes} header bytes`, `${payload.length} bytes`);
  }
  const shape: number[] = [];
  for (let axis = 0; axis < rank; axis++) shape.push(view.getUint32(4 + 4 * axis, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const actual = payload.length - headerBytes;
  if (actual !== count) {
    throw new DataFormatError(
      file,
      `IDX size mismatch: the header announces shape [${shape.join(', ')}] but the file holds a different number of values (truncated?)`,
      `${count} values`,
      `${actual} values`,
    );
  }
  return { shape, data: payload.subarray(headerBytes), sha256: sha256Hex(payload) };
}

/** Read an IDX file from disk, gzip'd or not. */
export async function readIdxFile(file: string, expectedMagic?: number): Promise<IdxArray> {
  const raw = new Uint8Array(await fs.readFile(file));
  const payload = isGzip(raw) ? gunzipFile(raw, file) : raw;
  return parseIdx(payload, file, expectedMagic);
}

/** The IDX header for unsigned bytes of the given shape. */
export function encodeIdxHeader(shape: readonly number[]): Uint8Array {
  const header = new Uint8Array(4 + 4 * shape.length);
  const view = new DataView(header.buffer);
  view.setUint32(0, (IDX_TYPE_UBYTE << 8) | shape.length, false);
  shape.forEach((size, axis) => view.setUint32(4 + 4 * axis, size, false));
  return header;
}

/** Encode values as an IDX payload (uncompressed). */
export function encodeIdx(shape: readonly number[], data: Uint8Array): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new DataFormatError('<encodeIdx>', 'shape and data length disagree', count, data.length, 'Pass data with one value per element of the shape.');
  }
  const header = encodeIdxHeader(shape);
  const payload = new Uint8Array(header.length + data.length);
  payload.set(header, 0);
  payload.set(data, header.length);
  return payload;
}

/** Write an IDX file (gzip'd when the name ends in .gz), atomically. Used for test fixtures. */
export async function writeIdxFile(file: string, shape: readonly number[], data: Uint8Array): Promise<void> {
  const payload = encodeIdx(shape, data);
  await writeFileAtomic(file, file.endsWith('.gz') ? gzipSync(payload) : payload);
}

function hex(value: number): string {
  return '0x' + value.toString(16).padStart(8, '0');
}
