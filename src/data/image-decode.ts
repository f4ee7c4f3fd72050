/**
 * Reading picture files for `predict` and `loadImageFolder`: decode PNG or
 * JPEG (pngjs and jpeg-js: pure JavaScript, synchronous, no native build;
 * they already decode everything a learner's phone or drawing app writes),
 * with a cap on the decoded size, then the pure preprocessing of
 * preprocess.ts.
 */
import { promises as fs } from 'node:fs';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { EmptyImageError, UnreadableImageError, UnsupportedImageError } from './image-errors';
import { BlankImage, MIN_CONTRAST, MNIST_IMAGE_SIZE, mnistPixels, resizedPixels, type RgbaImage } from './image-preprocess';

export { MNIST_IMAGE_SIZE, MNIST_DIGIT_BOX, MIN_CONTRAST, NOISE_FLOOR } from './image-preprocess';
export type { RgbaImage } from './image-preprocess';

/** Largest decoded picture, in megapixels (width x height / 1e6), for PNG and JPEG alike: a hostile header cannot exhaust memory. */
export const MAX_IMAGE_MEGAPIXELS = 64;
/** Decoding limits for jpeg-js. */
const JPEG_LIMITS = { maxResolutionInMP: MAX_IMAGE_MEGAPIXELS, maxMemoryUsageInMB: 1024 };

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG_SIGNATURE = [0xff, 0xd8, 0xff];
/** The IHDR chunk follows the signature: length (4), type (4), then width and height as big-endian uint32. */
const PNG_WIDTH_OFFSET = 16;

function startsWith(bytes: Uint8Array, signature: readonly number[]): boolean {
  return bytes.length >= signature.length && signature.every((byte, i) => bytes[i] === byte);
}

function checkSize(file: string, format: string, width: number, height: number): void {
  if ((width * height) / 1e6 > MAX_IMAGE_MEGAPIXELS) {
    throw new UnreadableImageError(file, `it declares ${width}x${height} pixels (${Math.round((width * height) / 1e6)} megapixels); ${format} pictures up to ${MAX_IMAGE_MEGAPIXELS} megapixels are read. Scale the picture down first`);
  }
}

/** Decode PNG or JPEG bytes (recognised by their signature, not the file name) to RGBA. */
export function decodeImage(bytes: Uint8Array, file = '<image bytes>'): RgbaImage {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (startsWith(bytes, PNG_SIGNATURE)) {
    if (bytes.length >= PNG_WIDTH_OFFSET + 8) checkSize(file, 'PNG', buffer.readUInt32BE(PNG_WIDTH_OFFSET), buffer.readUInt32BE(PNG_WIDTH_OFFSET + 4));
    try {
      const png = PNG.sync.read(buffer);
      return { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
    } catch (error) {
      throw new UnreadableImageError(file, `it starts like a PNG but does not decode (${(error as Error).message})`);
    }
  }
  if (startsWith(bytes, JPEG_SIGNATURE)) {
    try {
      const decoded = jpeg.decode(buffer, { useTArray: true, formatAsRGBA: true, ...JPEG_LIMITS });
      return { width: decoded.width, height: decoded.height, data: decoded.data };
    } catch (error) {
      throw new UnreadableImageError(file, `it starts like a JPEG but does not decode (${(error as Error).message ?? String(error)})`);
    }
  }
  const firstBytes = Array.from(bytes.subarray(0, 8), (byte) => byte.toString(16).padStart(2, '0')).join(' ') || '(the file is empty)';
  throw new UnsupportedImageError(file, firstBytes);
}

/** How a picture becomes 28x28: `mnist` finds, crops and centres the digit (photos, scans); `resize` only scales (MNIST-like pictures). */
export type PreprocessMode = 'mnist' | 'resize';
export const PREPROCESS_MODES: readonly PreprocessMode[] = ['mnist', 'resize'];

/**
 * MNIST-style preprocessing of decoded pixels: 784 values in [0, 1], row by
 * row, light digit on black. `file` only names the picture in error messages.
 */
export function preprocessImage(image: RgbaImage, file = '<image>', mode: PreprocessMode = 'mnist'): Float32Array {
  if (mode === 'resize') return resizedPixels(image);
  try {
    return mnistPixels(image);
  } catch (error) {
    if (error instanceof BlankImage) throw new EmptyImageError(file, error.contrast, MIN_CONTRAST);
    throw error;
  }
}

/** Read a file's bytes; missing files and folders are UnreadableImageErrors. */
export async function readImageBytes(file: string): Promise<Uint8Array> {
  try {
    return await fs.readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UnreadableImageError(file, code === 'ENOENT' ? 'there is no such file' : code === 'EISDIR' ? 'it is a folder' : (error as Error).message);
  }
}

/** Read a PNG or JPEG file and preprocess it like MNIST: 784 values in [0, 1], row by row. */
export async function preprocessImageFile(file: string, mode: PreprocessMode = 'mnist'): Promise<Float32Array> {
  return preprocessImage(decodeImage(await readImageBytes(file), file), file, mode);
}

/** JPEG bytes of RGBA pixels (for making test pictures: a "photo" in a notebook or test). */
export function encodeJpeg(rgba: Uint8Array, width: number, height: number, quality = 90): Uint8Array {
  return jpeg.encode({ width, height, data: Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength) }, quality).data;
}

/** The 784 preprocessed values as 28 rows of 28, for `pixelGrid`: what the network gets for an image. */
export function inputRows(pixels: Float32Array): number[][] {
  if (pixels.length !== MNIST_IMAGE_SIZE * MNIST_IMAGE_SIZE) {
    throw new RangeError(`expected ${MNIST_IMAGE_SIZE * MNIST_IMAGE_SIZE} values (a preprocessed image), got ${pixels.length}`);
  }
  return Array.from({ length: MNIST_IMAGE_SIZE }, (_, row) => Array.from(pixels.subarray(row * MNIST_IMAGE_SIZE, (row + 1) * MNIST_IMAGE_SIZE)));
}
