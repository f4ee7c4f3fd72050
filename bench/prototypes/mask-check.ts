import { SeededRandom } from '/work/main/src/train/random';
function fastMask(random: SeededRandom, size: number, rate: number): Float32Array {
  const r = random as unknown as { state: number };
  const mask = new Float32Array(size);
  const keep = 1 / (1 - rate);
  const threshold = rate * 4294967296;
  let state = r.state;
  for (let i = 0; i < size; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    mask[i] = (t ^ (t >>> 14)) >>> 0 >= threshold ? keep : 0;
  }
  r.state = state;
  return mask;
}
const a = new SeededRandom(5), b = new SeededRandom(5);
for (let k = 0; k < 3; k++) {
  const x = a.dropoutMask(65536, 0.2), y = fastMask(b, 65536, 0.2);
  if (x.some((v, i) => v !== y[i])) throw new Error('differ');
}
if (a.next() !== b.next()) throw new Error('state differs');
let t = performance.now();
for (let k = 0; k < 300; k++) a.dropoutMask(65536, 0.2);
const slow = (performance.now() - t) / 300;
t = performance.now();
for (let k = 0; k < 300; k++) fastMask(b, 65536, 0.2);
console.log(`identical; method-call loop ${slow.toFixed(3)} ms, inlined ${((performance.now() - t) / 300).toFixed(3)} ms per 128x512 mask`);
