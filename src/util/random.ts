/**
 * Every random choice of a run (initialisers, shuffling, dropout masks) comes
 * from here, derived from one seed, so the same seed on the same backend gives
 * the same run. Streams are derived from (seed, purpose, epoch) rather than
 * carried from step to step, so a resumed run draws exactly what the
 * uninterrupted run would have drawn without saving generator state.
 */

/** Hash a seed and a path of labels/numbers into a 32-bit seed (FNV-1a then a murmur finaliser). */
export function deriveSeed(seed: number, ...parts: (string | number)[]): number {
  let hash = 0x811c9dc5;
  const mix = (code: number): void => {
    hash ^= code & 0xff;
    hash = Math.imul(hash, 0x01000193);
  };
  for (const byte of [seed & 0xff, (seed >>> 8) & 0xff, (seed >>> 16) & 0xff, (seed >>> 24) & 0xff]) mix(byte);
  for (const part of parts) {
    for (const char of String(part)) mix(char.charCodeAt(0));
    mix(0x2f);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/**
 * A small, fast seeded generator (mulberry32). Fast matters: dropout masks
 * are drawn in JavaScript for every training step.
 */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The next unsigned 32-bit integer. */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A Fisher-Yates permutation of 0..count-1. */
  permutation(count: number): Int32Array {
    const order = new Int32Array(count);
    for (let i = 0; i < count; i++) order[i] = i;
    for (let i = count - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const swap = order[i];
      order[i] = order[j];
      order[j] = swap;
    }
    return order;
  }

  /**
   * Inverted-dropout multipliers (Keras semantics): each entry is 0 with
   * probability `rate`, else `1 / (1 - rate)`, so the expected activation is unchanged.
   */
  dropoutMask(size: number, rate: number): Float32Array {
    const mask = new Float32Array(size);
    const keep = 1 / (1 - rate);
    const threshold = rate * 4294967296;
    for (let i = 0; i < size; i++) mask[i] = this.nextUint32() >= threshold ? keep : 0;
    return mask;
  }
}
