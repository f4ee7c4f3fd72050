/**
 * Photo-like pictures of digits, for trying `predict` on something like a
 * phone photo without a camera (notebook 08; the photo test makes its test
 * set with it): the 28x28 digit scaled up and drawn as dark ink on light
 * textured paper, with specks, uneven light and a shadow, small and
 * off-centre, saved as JPEG quality 70. Everything is drawn from a seed.
 */
import * as jpeg from 'jpeg-js';
import { SeededRandom } from '../util/random';

/** How hard a photo-like picture is: JPEG quality and how many specks the paper has. */
export interface PhotoOptions {
  /** JPEG quality (0-100). */
  quality?: number;
  /** Number of specks on the paper. */
  specks?: number;
}

/** What one photo drew from its seed (for breaking accuracy down by placement, ink and light; bench/photo-breakdown.ts). */
export interface PhotoParameters {
  width: number;
  height: number;
  /** How many times larger than 28x28 the digit's field is drawn (1.8 to 5). */
  scale: number;
  /** Top-left corner of the digit's field in the picture. */
  left: number;
  top: number;
  /** Paper brightness (0-255) before texture and light. */
  paper: number;
  /** Strength of the light gradient and of the shadow (fractions of the paper's brightness). */
  gradient: number;
  shadowDepth: number;
  /** How dark full ink is (fraction of the paper's brightness it removes). */
  ink: number;
}

/** Bilinear sample of a 28x28 digit (0-255) at fractional (x, y); 0 outside. */
function sample(pixels: ArrayLike<number>, x: number, y: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const at = (cx: number, cy: number) => (cx >= 0 && cx < 28 && cy >= 0 && cy < 28 ? pixels[cy * 28 + cx] : 0);
  const wx = x - x0;
  const wy = y - y0;
  return (at(x0, y0) * (1 - wx) + at(x0 + 1, y0) * wx) * (1 - wy) + (at(x0, y0 + 1) * (1 - wx) + at(x0 + 1, y0 + 1) * wx) * wy;
}

/**
 * JPEG bytes of one photo-like picture of `pixels` (a 28x28 MNIST digit,
 * 0-255 light on dark), drawn from `seed`. Pass `drawn` to learn what was
 * drawn; it does not change the picture.
 */
export function photoOfDigit(pixels: ArrayLike<number>, seed: number, options: PhotoOptions = {}, drawn?: PhotoParameters): Uint8Array {
  const random = new SeededRandom(seed);
  const between = (low: number, high: number) => low + (high - low) * random.next();
  const width = Math.round(between(200, 320));
  const height = Math.round(between(180, 260));
  // The digit's 28x28 field is drawn `scale` times larger: small (about a fifth of the picture) to large.
  const scale = between(1.8, 5);
  const side = 28 * scale;
  const left = between(0, width - side);
  const top = between(0, height - side);
  // Paper: light gray with a low-frequency texture and grain.
  const paper = between(195, 235);
  const waves = Array.from({ length: 3 }, () => ({ fx: between(0.02, 0.12), fy: between(0.02, 0.12), phase: between(0, 6.3), amplitude: between(2, 6) }));
  // Uneven light: a gradient in a random direction, and a soft shadow over one side.
  const angle = between(0, 2 * Math.PI);
  const gradient = between(0.15, 0.35);
  const shadowAt = between(0.2, 0.8) * width;
  const shadowDepth = between(0.1, 0.25);
  const ink = between(0.7, 0.9);
  if (drawn) Object.assign(drawn, { width, height, scale, left, top, paper, gradient, shadowDepth, ink });
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let level = paper;
      for (const wave of waves) level += wave.amplitude * Math.sin(wave.fx * x + wave.fy * y + wave.phase);
      level += (random.next() - 0.5) * 16;
      const along = ((x - width / 2) * Math.cos(angle) + (y - height / 2) * Math.sin(angle)) / Math.max(width, height);
      level *= 1 - gradient * (along + 0.5);
      level *= 1 - shadowDepth / (1 + Math.exp((shadowAt - x) / 12));
      const value = sample(pixels, (x - left) / scale - 0.5, (y - top) / scale - 0.5) / 255;
      level *= 1 - ink * value;
      const gray = Math.max(0, Math.min(255, Math.round(level)));
      data.set([gray, gray, gray, 255], (y * width + x) * 4);
    }
  }
  // Specks: small dark dots, lighter than the ink, anywhere on the paper.
  const specks = options.specks ?? 120;
  for (let s = 0; s < specks; s++) {
    const cx = between(0, width);
    const cy = between(0, height);
    const radius = between(0.5, 1.6);
    const darkness = between(0.25, 0.5);
    for (let y = Math.floor(cy - radius); y <= Math.ceil(cy + radius); y++) {
      for (let x = Math.floor(cx - radius); x <= Math.ceil(cx + radius); x++) {
        if (x < 0 || y < 0 || x >= width || y >= height || (x - cx) ** 2 + (y - cy) ** 2 > radius * radius) continue;
        const offset = (y * width + x) * 4;
        const gray = Math.round(data[offset] * (1 - darkness));
        data.set([gray, gray, gray], offset);
      }
    }
  }
  return jpeg.encode({ width, height, data: Buffer.from(data) }, options.quality ?? 70).data;
}
