/**
 * Turn a photo or drawing of a digit into an MNIST-style input, following
 * the recipe of the MNIST paper: the ink is cropped, scaled to fit a 20x20
 * box keeping its aspect ratio (with anti-aliasing, here by area averaging),
 * and placed in a 28x28 field so that its centre of mass is at the centre.
 * MNIST digits are light on black, so pictures with a light background are
 * inverted first.
 */
import { promises as fs } from 'node:fs';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { EmptyImageError, UnreadableImageError, UnsupportedImageError } from './errors';

/** Side of an MNIST image. */
export const MNIST_IMAGE_SIZE = 28;
/** Side of the box the digit is scaled to fit (the rest is margin). */
export const MNIST_DIGIT_BOX = 20;
/** The lightest and darkest pixels must differ by at least this many of 255 levels, or the image counts as blank. */
export const MIN_CONTRAST = 32;
/** After stretching the contrast to [0, 1], values below this are background noise (paper texture, JPEG ringing) and become 0. */
export const NOISE_FLOOR = 0.1;
/** Fraction of the shorter side used as the border ring that tells the background colour. */
const BORDER_FRACTION = 0.02;
/** Decoding limits, so a huge or hostile JPEG fails with an error instead of exhausting memory. */
const JPEG_LIMITS = { maxResolutionInMP: 100, maxMemoryUsageInMB: 1024 };

/** Decoded pixels: `width * height * 4` bytes, RGBA row by row. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG_SIGNATURE = [0xff, 0xd8, 0xff];

function startsWith(bytes: Uint8Array, signature: readonly number[]): boolean {
  return bytes.length >= signature.length && signature.every((byte, i) => bytes[i] === byte);
}

/** Decode PNG or JPEG bytes (recognised by their signature, not the file name) to RGBA. */
export function decodeImage(bytes: Uint8Array, file = '<image bytes>'): RgbaImage {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (startsWith(bytes, PNG_SIGNATURE)) {
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

/**
 * Luminance 0-255 per pixel. Transparent pixels are composited over the
 * colour opposite to the ink, so a dark digit on a transparent background
 * (and a light one) both keep their strokes.
 */
function toGray(image: RgbaImage): Float32Array {
  const { width, height, data } = image;
  const count = width * height;
  let alphaWeight = 0;
  let inkLuminance = 0;
  let hasTransparency = false;
  for (let p = 0; p < count; p++) {
    const alpha = data[p * 4 + 3] / 255;
    if (alpha < 1) hasTransparency = true;
    alphaWeight += alpha;
    inkLuminance += alpha * (0.299 * data[p * 4] + 0.587 * data[p * 4 + 1] + 0.114 * data[p * 4 + 2]);
  }
  // Dark opaque strokes go on white, light ones on black.
  const backdrop = hasTransparency && alphaWeight > 0 && inkLuminance / alphaWeight < 128 ? 255 : 0;
  const gray = new Float32Array(count);
  for (let p = 0; p < count; p++) {
    const luminance = 0.299 * data[p * 4] + 0.587 * data[p * 4 + 1] + 0.114 * data[p * 4 + 2];
    const alpha = hasTransparency ? data[p * 4 + 3] / 255 : 1;
    gray[p] = alpha * luminance + (1 - alpha) * backdrop;
  }
  return gray;
}

function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Luminance of the border ring: the background, on any picture where the digit does not touch the edges. */
function borderValues(gray: Float32Array, width: number, height: number): number[] {
  const thickness = Math.max(1, Math.round(Math.min(width, height) * BORDER_FRACTION));
  const values: number[] = [];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (y < thickness || y >= height - thickness || x < thickness || x >= width - thickness) values.push(gray[y * width + x]);
    }
  }
  return values;
}

/** Area-averaging resize along one axis of a `width x height` image (each output pixel is the mean of the source area it covers). */
function resizeAxis(source: Float32Array, width: number, height: number, newSize: number, axis: 'x' | 'y'): Float32Array {
  const oldSize = axis === 'x' ? width : height;
  const other = axis === 'x' ? height : width;
  const out = new Float32Array(newSize * other);
  const scale = oldSize / newSize;
  for (let target = 0; target < newSize; target++) {
    const start = target * scale;
    const end = start + scale;
    for (let from = Math.floor(start); from < Math.min(Math.ceil(end), oldSize); from++) {
      const weight = (Math.min(end, from + 1) - Math.max(start, from)) / scale;
      if (weight <= 0) continue;
      for (let line = 0; line < other; line++) {
        if (axis === 'x') out[line * newSize + target] += weight * source[line * width + from];
        else out[target * width + line] += weight * source[from * width + line];
      }
    }
  }
  return out;
}

function resizeArea(source: Float32Array, width: number, height: number, newWidth: number, newHeight: number): Float32Array {
  return resizeAxis(resizeAxis(source, width, height, newWidth, 'x'), newWidth, height, newHeight, 'y');
}

/**
 * MNIST-style preprocessing of decoded pixels: 784 values in [0, 1], row by
 * row, light digit on black, fitted into the 20x20 box and centred by mass.
 * `file` only names the picture in error messages.
 */
export function preprocessImage(image: RgbaImage, file = '<image>'): Float32Array {
  const { width, height } = image;
  let gray = toGray(image);
  const background = median(borderValues(gray, width, height));
  if (background > 127) gray = gray.map((value) => 255 - value);
  // The background level, in the orientation where ink is bright.
  const ink = background > 127 ? 255 - background : background;
  let brightest = 0;
  for (const value of gray) brightest = Math.max(brightest, value);
  const contrast = brightest - ink;
  if (contrast < MIN_CONTRAST) throw new EmptyImageError(file, Math.max(0, Math.round(contrast)), MIN_CONTRAST);

  // Background to 0, the strongest ink to 1, faint noise removed; then the bounding box of what is left.
  let top = height;
  let bottom = -1;
  let left = width;
  let right = -1;
  const stretched = new Float32Array(gray.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const value = Math.min(1, Math.max(0, (gray[y * width + x] - ink) / contrast));
      if (value < NOISE_FLOOR) continue;
      stretched[y * width + x] = value;
      top = Math.min(top, y);
      bottom = Math.max(bottom, y);
      left = Math.min(left, x);
      right = Math.max(right, x);
    }
  }
  const cropWidth = right - left + 1;
  const cropHeight = bottom - top + 1;
  const crop = new Float32Array(cropWidth * cropHeight);
  for (let y = 0; y < cropHeight; y++) crop.set(stretched.subarray((top + y) * width + left, (top + y) * width + left + cropWidth), y * cropWidth);

  const scale = MNIST_DIGIT_BOX / Math.max(cropWidth, cropHeight);
  const fittedWidth = Math.max(1, Math.min(MNIST_DIGIT_BOX, Math.round(cropWidth * scale)));
  const fittedHeight = Math.max(1, Math.min(MNIST_DIGIT_BOX, Math.round(cropHeight * scale)));
  const fitted = resizeArea(crop, cropWidth, cropHeight, fittedWidth, fittedHeight);

  // Centre of mass in pixel-index coordinates; MNIST's digits have theirs at index (size / 2, size / 2).
  let mass = 0;
  let rowMoment = 0;
  let columnMoment = 0;
  for (let y = 0; y < fittedHeight; y++) {
    for (let x = 0; x < fittedWidth; x++) {
      const value = fitted[y * fittedWidth + x];
      mass += value;
      rowMoment += value * y;
      columnMoment += value * x;
    }
  }
  const centre = MNIST_IMAGE_SIZE / 2;
  const offsetY = Math.round(centre - rowMoment / mass);
  const offsetX = Math.round(centre - columnMoment / mass);
  const out = new Float32Array(MNIST_IMAGE_SIZE * MNIST_IMAGE_SIZE);
  for (let y = 0; y < fittedHeight; y++) {
    const row = y + offsetY;
    if (row < 0 || row >= MNIST_IMAGE_SIZE) continue;
    for (let x = 0; x < fittedWidth; x++) {
      const column = x + offsetX;
      if (column >= 0 && column < MNIST_IMAGE_SIZE) out[row * MNIST_IMAGE_SIZE + column] = Math.min(1, fitted[y * fittedWidth + x]);
    }
  }
  return out;
}

/** Read a PNG or JPEG file and preprocess it like MNIST: 784 values in [0, 1], row by row. */
export async function preprocessImageFile(file: string): Promise<Float32Array> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UnreadableImageError(file, code === 'ENOENT' ? 'there is no such file' : code === 'EISDIR' ? 'it is a folder' : (error as Error).message);
  }
  return preprocessImage(decodeImage(bytes, file), file);
}

/** The 784 preprocessed values as 28 rows of 28, for `pixelGrid`: what the network gets for an image. */
export function inputRows(pixels: Float32Array): number[][] {
  if (pixels.length !== MNIST_IMAGE_SIZE * MNIST_IMAGE_SIZE) {
    throw new RangeError(`expected ${MNIST_IMAGE_SIZE * MNIST_IMAGE_SIZE} values (a preprocessed image), got ${pixels.length}`);
  }
  return Array.from({ length: MNIST_IMAGE_SIZE }, (_, row) => Array.from(pixels.subarray(row * MNIST_IMAGE_SIZE, (row + 1) * MNIST_IMAGE_SIZE)));
}
