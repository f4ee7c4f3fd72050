/**
 * Turn a photo, scan or drawing of a digit into an MNIST-style input,
 * following the recipe of the MNIST paper: the ink is cropped, scaled to
 * fit a 20x20 box keeping its aspect ratio (anti-aliased by area
 * averaging), and placed in a 28x28 field with its centre of mass at the
 * centre. MNIST digits are light on black, so pictures with a light
 * background are inverted first.
 *
 * Real photos need more than a fixed threshold: paper texture, specks,
 * shadows, uneven light and JPEG ringing all leave faint "ink" that would
 * stretch the crop box. So the background is estimated locally and
 * subtracted, the ink is separated from it by Otsu's threshold, and only
 * the main connected strokes (and the pieces close to them) are kept.
 *
 * Pure functions over pixel arrays (no Node imports): the drawing pad's
 * browser bundle uses the same code as `predict` and `loadImageFolder`.
 */

/** Side of an MNIST image. */
export const MNIST_IMAGE_SIZE = 28;
/** Side of the box the digit is scaled to fit (the rest is margin). */
export const MNIST_DIGIT_BOX = 20;
/** Ink and background must differ by at least this many of 255 levels, or the image counts as blank. */
export const MIN_CONTRAST = 32;
/** After stretching the contrast to [0, 1], kept pixels below this are background noise and become 0. */
export const NOISE_FLOOR = 0.1;
/** Pictures are first reduced (area averaging) so the longer side is at most this: fast, and it smooths fine paper grain. */
export const WORKING_SIZE = 320;
/**
 * The background is estimated with a square window of radius the longer
 * side over this: ink narrower than the window (about a third of the
 * picture) counts as ink, anything wider as background. Smaller windows
 * follow light better but eat bold strokes of tightly cropped digits;
 * larger ones leave the edge of a shadow behind as a band of "ink".
 */
const BACKGROUND_WINDOW = 6;
/** ... but at least this radius: pictures of a few dozen pixels (MNIST's own size) have relatively bold strokes. */
const MIN_BACKGROUND_RADIUS = 6;
/** Before estimating the background, grain is smoothed over windows of radius the longer side over this. */
const BACKGROUND_SMOOTHING = 100;
/** A separate piece of ink is kept if its area is at least this fraction of the largest piece's ... */
const MIN_PIECE_FRACTION = 0.08;
/** ... and it lies within this fraction of the main ink's size from the main ink's box. */
const PIECE_REACH = 0.35;
/**
 * After fitting into the 20x20 box, ink is multiplied by this (capped at 1).
 * MNIST strokes are mostly saturated; a photo's strokes, enlarged by the
 * camera and shrunk again by area averaging, come out softer (on the photo
 * test's digits: 45 pixels at 0.9 or more per digit against MNIST's 61, at the
 * same total ink). The boost brings back MNIST's share of full-ink pixels.
 */
const INK_GAIN = 1.3;
/** MNIST strokes are about this wide, as a fraction of the 20-pixel box; thinner strokes are thickened. */
const TARGET_STROKE_FRACTION = 0.1;

/** Decoded pixels: `width * height * 4` bytes, RGBA row by row. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A grayscale image, 0-255 floats row by row. */
export interface GrayImage {
  width: number;
  height: number;
  data: Float32Array;
}

/** The picture holds no digit (every pixel about the same shade). Thrown as `EmptyImageError` by the callers that know the file. */
export class BlankImage extends Error {
  constructor(readonly contrast: number) {
    super(`blank image (contrast ${contrast})`);
  }
}

/**
 * Luminance 0-255 per pixel. Transparent pixels are composited over the
 * colour opposite to the ink, so a dark digit on a transparent background
 * (and a light one) both keep their strokes.
 */
export function toGray(image: RgbaImage): GrayImage {
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
  return { width, height, data: gray };
}

function median(values: ArrayLike<number>): number {
  const sorted = Float32Array.from(values).sort();
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Luminance of the border ring: the background, on any picture where the digit does not touch the edges. */
function borderMedian(image: GrayImage): number {
  const { width, height, data } = image;
  const thickness = Math.max(1, Math.round(Math.min(width, height) * 0.02));
  const values: number[] = [];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (y < thickness || y >= height - thickness || x < thickness || x >= width - thickness) values.push(data[y * width + x]);
    }
  }
  return median(values);
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

/** Area-averaging resize (anti-aliased when shrinking, bilinear-like steps when enlarging). */
export function resizeArea(source: Float32Array, width: number, height: number, newWidth: number, newHeight: number): Float32Array {
  return resizeAxis(resizeAxis(source, width, height, newWidth, 'x'), newWidth, height, newHeight, 'y');
}

/** Otsu's threshold of values in [0, 255]: the level that best separates two classes (ink and background). */
export function otsuThreshold(values: ArrayLike<number>): number {
  const histogram = new Float64Array(256);
  for (let i = 0; i < values.length; i++) histogram[Math.max(0, Math.min(255, Math.round(values[i])))]++;
  let total = 0;
  let sum = 0;
  for (let level = 0; level < 256; level++) {
    total += histogram[level];
    sum += level * histogram[level];
  }
  let backgroundWeight = 0;
  let backgroundSum = 0;
  let best = 0;
  let bestVariance = -1;
  for (let level = 0; level < 256; level++) {
    backgroundWeight += histogram[level];
    if (backgroundWeight === 0) continue;
    const inkWeight = total - backgroundWeight;
    if (inkWeight === 0) break;
    backgroundSum += level * histogram[level];
    const meanBackground = backgroundSum / backgroundWeight;
    const meanInk = (sum - backgroundSum) / inkWeight;
    const variance = backgroundWeight * inkWeight * (meanBackground - meanInk) ** 2;
    if (variance > bestVariance) {
      bestVariance = variance;
      best = level;
    }
  }
  return best + 0.5;
}

/**
 * One pass of a separable filter along rows (`horizontal`) or columns:
 * each pixel becomes the lowest (`lowest`) or highest value within
 * `radius` of it on its line (windows clipped at the edges). A monotonic
 * queue makes it cost the same for any radius.
 */
function slidingExtreme(values: Float32Array, width: number, height: number, radius: number, horizontal: boolean, lowest: boolean): Float32Array {
  const out = new Float32Array(values.length);
  const length = horizontal ? width : height;
  const lines = horizontal ? height : width;
  const queue = new Int32Array(length);
  for (let line = 0; line < lines; line++) {
    const at = (i: number) => (horizontal ? line * width + i : i * width + line);
    let head = 0;
    let tail = 0;
    for (let j = 0; j < length + radius; j++) {
      if (j < length) {
        const value = values[at(j)];
        while (tail > head && (lowest ? values[at(queue[tail - 1])] >= value : values[at(queue[tail - 1])] <= value)) tail--;
        queue[tail++] = j;
      }
      const i = j - radius;
      if (i < 0) continue;
      while (queue[head] < i - radius) head++;
      out[at(i)] = values[at(queue[head])];
    }
  }
  return out;
}

/** Mean over a (2 radius + 1)-square window (clipped at the edges), separable running sums. */
function boxMean(values: Float32Array, width: number, height: number, radius: number): Float32Array {
  const pass = (source: Float32Array, horizontal: boolean) => {
    const out = new Float32Array(source.length);
    const length = horizontal ? width : height;
    const lines = horizontal ? height : width;
    for (let line = 0; line < lines; line++) {
      const at = (i: number) => (horizontal ? line * width + i : i * width + line);
      let sum = 0;
      let count = 0;
      for (let j = 0; j < length + radius; j++) {
        if (j < length) (sum += source[at(j)]), count++;
        const i = j - radius;
        if (i < 0) continue;
        if (i - radius - 1 >= 0) (sum -= source[at(i - radius - 1)]), count--;
        out[at(i)] = sum / count;
      }
    }
    return out;
  };
  return pass(pass(values, true), false);
}

/**
 * The background level under every pixel, for a picture where ink is
 * bright: a morphological opening (the lowest value within a square
 * window, then the highest of those), which removes every bright
 * structure narrower than the window - strokes, specks - and keeps
 * whatever is wider, light gradients and shadow edges included (an
 * opening follows a ramp or a step exactly; the grid of cell medians used
 * before smeared a shadow's edge over a cell, and on about 2 photo-like
 * digits in 100 that band was kept as the digit). The picture is smoothed a little
 * first, so the paper's grain does not pull the estimate down.
 */
function estimateBackground(image: GrayImage): Float32Array {
  const { width, height, data } = image;
  const longer = Math.max(width, height);
  const smooth = boxMean(data, width, height, Math.max(1, Math.round(longer / BACKGROUND_SMOOTHING)));
  const radius = Math.max(MIN_BACKGROUND_RADIUS, Math.round(longer / BACKGROUND_WINDOW));
  const eroded = slidingExtreme(slidingExtreme(smooth, width, height, radius, true, true), width, height, radius, false, true);
  return slidingExtreme(slidingExtreme(eroded, width, height, radius, true, false), width, height, radius, false, false);
}

/** A connected piece of ink: its pixel indices, mass and bounding box. */
interface Piece {
  pixels: number[];
  area: number;
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/** 8-connected pieces of a binary mask. */
function connectedPieces(mask: Uint8Array, width: number, height: number): Piece[] {
  const seen = new Uint8Array(mask.length);
  const pieces: Piece[] = [];
  const stack: number[] = [];
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || seen[start]) continue;
    const piece: Piece = { pixels: [], area: 0, top: height, bottom: -1, left: width, right: -1 };
    seen[start] = 1;
    stack.push(start);
    while (stack.length > 0) {
      const p = stack.pop() as number;
      const x = p % width;
      const y = (p - x) / width;
      piece.pixels.push(p);
      piece.area++;
      piece.top = Math.min(piece.top, y);
      piece.bottom = Math.max(piece.bottom, y);
      piece.left = Math.min(piece.left, x);
      piece.right = Math.max(piece.right, x);
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const q = ny * width + nx;
          if (mask[q] && !seen[q]) {
            seen[q] = 1;
            stack.push(q);
          }
        }
      }
    }
    pieces.push(piece);
  }
  return pieces;
}

/** The largest piece plus the sizeable pieces near it (the bar of a 5, a broken stroke); specks and distant marks are dropped. */
function mainInk(pieces: Piece[]): Piece[] {
  const sorted = pieces.slice().sort((a, b) => b.area - a.area);
  const kept = [sorted[0]];
  const box = { top: sorted[0].top, bottom: sorted[0].bottom, left: sorted[0].left, right: sorted[0].right };
  let grew = true;
  while (grew) {
    grew = false;
    const reach = PIECE_REACH * Math.max(box.bottom - box.top + 1, box.right - box.left + 1);
    for (const piece of sorted) {
      if (kept.includes(piece) || piece.area < MIN_PIECE_FRACTION * sorted[0].area) continue;
      const gapY = Math.max(0, piece.top - box.bottom, box.top - piece.bottom);
      const gapX = Math.max(0, piece.left - box.right, box.left - piece.right);
      if (Math.max(gapX, gapY) > reach) continue;
      kept.push(piece);
      box.top = Math.min(box.top, piece.top);
      box.bottom = Math.max(box.bottom, piece.bottom);
      box.left = Math.min(box.left, piece.left);
      box.right = Math.max(box.right, piece.right);
      grew = true;
    }
  }
  return kept;
}

/** Grayscale max filter with a square window of radius `radius` (thickens bright strokes). */
function dilate(values: Float32Array, width: number, height: number, radius: number): Float32Array {
  const pass = (source: Float32Array, horizontal: boolean) => {
    const out = new Float32Array(source.length);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let best = 0;
        for (let d = -radius; d <= radius; d++) {
          const nx = horizontal ? x + d : x;
          const ny = horizontal ? y : y + d;
          if (nx >= 0 && nx < width && ny >= 0 && ny < height) best = Math.max(best, source[ny * width + nx]);
        }
        out[y * width + x] = best;
      }
    }
    return out;
  };
  return pass(pass(values, true), false);
}

/** The ink of a picture, light on black in [0, 1], cropped to the main strokes. */
export interface InkCrop {
  width: number;
  height: number;
  data: Float32Array;
}

/**
 * Find the digit: background removed, ink in [0, 1], cropped to the main
 * strokes. Throws `BlankImage` when there is no ink to find.
 */
export function extractInk(image: RgbaImage): InkCrop {
  let gray = toGray(image);
  // Work at a bounded size: big photos are slow and their grain is noise.
  const scale = Math.min(1, WORKING_SIZE / Math.max(gray.width, gray.height));
  if (scale < 1) {
    const width = Math.max(1, Math.round(gray.width * scale));
    const height = Math.max(1, Math.round(gray.height * scale));
    gray = { width, height, data: resizeArea(gray.data, gray.width, gray.height, width, height) };
  }
  const { width, height } = gray;
  // Ink bright: invert pictures with a light background.
  const ink = borderMedian(gray) > 127 ? gray.data.map((value) => 255 - value) : gray.data;
  const background = estimateBackground({ width, height, data: ink });
  const flat = new Float32Array(ink.length);
  let brightest = 0;
  for (let p = 0; p < ink.length; p++) {
    flat[p] = Math.max(0, ink[p] - background[p]);
    brightest = Math.max(brightest, flat[p]);
  }
  if (brightest < MIN_CONTRAST) throw new BlankImage(Math.max(0, Math.round(brightest)));

  // Otsu separates ink from what is left of the background (grain, ringing, specks).
  const threshold = Math.max(otsuThreshold(flat), MIN_CONTRAST / 2);
  const mask = new Uint8Array(flat.length);
  for (let p = 0; p < flat.length; p++) mask[p] = flat[p] >= threshold ? 1 : 0;
  const pieces = connectedPieces(mask, width, height);
  if (pieces.length === 0) throw new BlankImage(Math.max(0, Math.round(brightest)));
  const kept = mainInk(pieces);

  // Full strength = a typical stroke pixel, not the single brightest one.
  const strokeValues = Float32Array.from(kept.flatMap((piece) => piece.pixels.map((p) => flat[p]))).sort();
  const full = Math.max(threshold, strokeValues[Math.floor(0.75 * (strokeValues.length - 1))]);
  // Hysteresis: grow the kept strokes into the fainter pixels connected to them (their anti-aliased edges),
  // down to a low threshold; faint pixels not touching the strokes stay background.
  // The low threshold sits above the paper's own noise (grain, ringing), estimated robustly from all
  // pixels (most are paper): median + 8 sigma, sigma from the median absolute deviation. On clean paper
  // that is 0, and NOISE_FLOOR of full ink decides.
  const level = median(flat);
  const deviation = median(flat.map((value) => Math.abs(value - level)));
  const low = Math.max(NOISE_FLOOR * full, level + 8 * 1.4826 * deviation);
  // Grow at most about one output pixel's width: edges, not whatever faint texture touches the strokes.
  const strokeTop = Math.min(...kept.map((piece) => piece.top));
  const strokeBottom = Math.max(...kept.map((piece) => piece.bottom));
  const strokeLeft = Math.min(...kept.map((piece) => piece.left));
  const strokeRight = Math.max(...kept.map((piece) => piece.right));
  const reach = Math.max(1, Math.ceil(Math.max(strokeBottom - strokeTop + 1, strokeRight - strokeLeft + 1) / MNIST_DIGIT_BOX));
  const keep = new Uint8Array(flat.length);
  let frontier: number[] = [];
  for (const piece of kept) for (const p of piece.pixels) (keep[p] = 1), frontier.push(p);
  let top = strokeTop;
  let bottom = strokeBottom;
  let left = strokeLeft;
  let right = strokeRight;
  for (let step = 0; step < reach && frontier.length > 0; step++) {
    const next: number[] = [];
    for (const p of frontier) {
      const x = p % width;
      const y = (p - x) / width;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          const ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
          const q = ny * width + nx;
          if (keep[q] || flat[q] < low) continue;
          keep[q] = 1;
          next.push(q);
          top = Math.min(top, ny);
          bottom = Math.max(bottom, ny);
          left = Math.min(left, nx);
          right = Math.max(right, nx);
        }
      }
    }
    frontier = next;
  }
  const cropWidth = right - left + 1;
  const cropHeight = bottom - top + 1;
  const crop = new Float32Array(cropWidth * cropHeight);
  for (let y = top; y <= bottom; y++) {
    for (let x = left; x <= right; x++) {
      if (keep[y * width + x]) crop[(y - top) * cropWidth + (x - left)] = Math.min(1, flat[y * width + x] / full);
    }
  }

  // Thin strokes (a fine pen on a big photo) would fade when shrunk to 20x20: thicken them to MNIST's stroke width.
  const inkArea = kept.reduce((sum, piece) => sum + piece.area, 0);
  const outline = kept.reduce((sum, piece) => sum + countEdges(piece, mask, width), 0);
  const strokeWidth = outline > 0 ? (2 * inkArea) / outline : 1;
  const targetWidth = TARGET_STROKE_FRACTION * Math.max(cropWidth, cropHeight);
  const radius = Math.round((targetWidth - strokeWidth) / 2);
  if (strokeWidth < 0.6 * targetWidth && radius >= 1) {
    // Pad first, so strokes along the crop's edges thicken outwards too.
    const paddedWidth = cropWidth + 2 * radius;
    const paddedHeight = cropHeight + 2 * radius;
    const padded = new Float32Array(paddedWidth * paddedHeight);
    for (let y = 0; y < cropHeight; y++) padded.set(crop.subarray(y * cropWidth, (y + 1) * cropWidth), (y + radius) * paddedWidth + radius);
    return { width: paddedWidth, height: paddedHeight, data: dilate(padded, paddedWidth, paddedHeight, radius) };
  }
  return { width: cropWidth, height: cropHeight, data: crop };
}

/** Ink pixels of a piece that touch the background (4-neighbours): its outline length. */
function countEdges(piece: Piece, mask: Uint8Array, width: number): number {
  let edges = 0;
  for (const p of piece.pixels) {
    const x = p % width;
    if (x === 0 || !mask[p - 1] || x === width - 1 || !mask[p + 1] || !mask[p - width] || !mask[p + width]) edges++;
  }
  return edges;
}

/**
 * Place cropped ink in the MNIST frame: scale to fit the 20x20 box keeping
 * the aspect ratio, then put its centre of mass at the centre of 28x28.
 */
export function centreInMnistFrame(crop: InkCrop): Float32Array {
  const { width: cropWidth, height: cropHeight } = crop;
  const scale = MNIST_DIGIT_BOX / Math.max(cropWidth, cropHeight);
  const fittedWidth = Math.max(1, Math.min(MNIST_DIGIT_BOX, Math.round(cropWidth * scale)));
  const fittedHeight = Math.max(1, Math.min(MNIST_DIGIT_BOX, Math.round(cropHeight * scale)));
  const fitted = resizeArea(crop.data, cropWidth, cropHeight, fittedWidth, fittedHeight);
  // Faint after shrinking (thin strokes): bring the strongest stroke back to full ink, then the ink gain; capped at 1.
  let strongest = 0;
  for (const value of fitted) strongest = Math.max(strongest, value);
  const gain = (strongest > 0 && strongest < 1 ? 1 / strongest : 1) * INK_GAIN;
  for (let i = 0; i < fitted.length; i++) fitted[i] = Math.min(1, fitted[i] * gain);

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
  const offsetY = Math.round(centre - rowMoment / Math.max(mass, 1e-9));
  const offsetX = Math.round(centre - columnMoment / Math.max(mass, 1e-9));
  const out = new Float32Array(MNIST_IMAGE_SIZE * MNIST_IMAGE_SIZE);
  for (let y = 0; y < fittedHeight; y++) {
    const row = y + offsetY;
    if (row < 0 || row >= MNIST_IMAGE_SIZE) continue;
    for (let x = 0; x < fittedWidth; x++) {
      const column = x + offsetX;
      if (column >= 0 && column < MNIST_IMAGE_SIZE) out[row * MNIST_IMAGE_SIZE + column] = fitted[y * fittedWidth + x];
    }
  }
  return out;
}

/** MNIST-style preprocessing of decoded pixels: 784 values in [0, 1], row by row, light digit on black. Throws `BlankImage`. */
export function mnistPixels(image: RgbaImage): Float32Array {
  return centreInMnistFrame(extractInk(image));
}

/**
 * For pictures that are already MNIST-like (a digit filling a square, e.g.
 * exported MNIST images): grayscale, inverted if the background is light,
 * resized to 28x28 by area averaging. 784 values in [0, 1].
 */
export function resizedPixels(image: RgbaImage): Float32Array {
  const gray = toGray(image);
  const light = borderMedian(gray) > 127;
  const values = gray.width === MNIST_IMAGE_SIZE && gray.height === MNIST_IMAGE_SIZE ? gray.data : resizeArea(gray.data, gray.width, gray.height, MNIST_IMAGE_SIZE, MNIST_IMAGE_SIZE);
  return values.map((value) => Math.min(1, Math.max(0, (light ? 255 - value : value) / 255)));
}
