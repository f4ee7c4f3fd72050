/**
 * The two inputs of the benchmark's arithmetic floor, in a fresh process:
 * the FLOP per example of every benchmarked network (src's
 * `flopPerExample`, the same layer walk as parameter counts and the cost
 * model) and this machine's float32 matrix-product rate through the
 * libtensorflow the project trains with (tfjs-node's `tf.matMul`), at the
 * matrix shapes the networks' steps multiply and at large square ones.
 *
 *   node --import tsx bench/floor.ts --configs S0,S1-base [--no-gemm]
 *
 * Prints one JSON line; scripts/bench.mjs drives it and hands the same
 * shapes to scripts/keras/gemm.py for numpy's rate.
 */
import { parseArgs } from 'node:util';
import { flopPerExample, initBackend, isCnnConfig, tf, type FlopPerExample } from '../src';
import { weightedLayers } from '../src/model/factory';
import { BENCH_CONFIG_NAMES, BENCH_NETWORKS, isBenchConfigName } from './common';

/** A matrix product [m, k] x [k, n]. */
type Shape = [number, number, number];

/** Large square products: the best rate the machine's GEMM reaches, whatever the networks use. */
const SQUARE_SIZES = [1024, 2048];
/** Each shape is timed in rounds of at least this many seconds; the best round counts. */
const ROUND_SECONDS = 0.3;
const ROUNDS = 3;

/** The products of one training step of a Dense stack: forward [batch, in] x [in, out] and the weight gradient [in, batch] x [batch, out]. */
function stepShapes(name: (typeof BENCH_CONFIG_NAMES)[number]): Shape[] {
  const network = BENCH_NETWORKS[name];
  if (isCnnConfig(network.model)) return []; // convolutions run as their own kernels; the square shapes stand in for them
  const widths = [784, ...network.model.hiddenUnits, network.model.numClasses];
  const batch = network.batchSize;
  return weightedLayers(network.model).flatMap((_, index): Shape[] => [
    [batch, widths[index], widths[index + 1]],
    [widths[index], batch, widths[index + 1]],
  ]);
}

/** Best GFLOP/s of `tf.matMul` on one shape over a few rounds. */
function timeMatMul([m, k, n]: Shape): number {
  const a = tf.randomUniform([m, k]);
  const b = tf.randomUniform([k, n]);
  tf.matMul(a, b).dispose(); // first call: kernel selection, thread pool start
  let best = 0;
  for (let round = 0; round < ROUNDS; round++) {
    let calls = 0;
    const started = performance.now();
    let elapsed = 0;
    while (elapsed < ROUND_SECONDS) {
      const product = tf.matMul(a, b);
      if (++calls % 16 === 0) product.dataSync(); // make sure the products have run, now and then
      product.dispose();
      elapsed = (performance.now() - started) / 1000;
    }
    best = Math.max(best, (2 * m * k * n * calls) / elapsed / 1e9);
  }
  tf.dispose([a, b]);
  return best;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { configs: { type: 'string', default: 'S1-base' }, 'no-gemm': { type: 'boolean', default: false } } });
  const names = (values.configs ?? '').split(',').filter(Boolean);
  for (const name of names) {
    if (!isBenchConfigName(name)) throw new Error(`--configs ${name}: unknown (allowed: ${BENCH_CONFIG_NAMES.join(', ')})`);
  }
  const configs = names.filter(isBenchConfigName);
  const flop: Record<string, FlopPerExample> = Object.fromEntries(configs.map((name) => [name, flopPerExample(BENCH_NETWORKS[name].model)]));
  const unique = new Map<string, Shape>();
  for (const shape of [...configs.flatMap(stepShapes), ...SQUARE_SIZES.map((size): Shape => [size, size, size])]) unique.set(shape.join('x'), shape);
  const shapes = [...unique.values()];
  let gemm = null;
  if (!values['no-gemm']) {
    const backend = await initBackend({ quiet: true });
    if (backend.name !== 'tensorflow') throw new Error(`the GEMM rate is measured through libtensorflow, but the backend is ${backend.name}; run \`npm run setup\` to build tfjs-node`);
    const rates = shapes.map((shape) => ({ shape, gflops: timeMatMul(shape) }));
    gemm = { engine: `libtensorflow (tfjs-node ${tf.version.tfjs} tf.matMul)`, rates, bestGflops: Math.max(...rates.map((rate) => rate.gflops)) };
  }
  process.stdout.write(JSON.stringify({ flopPerExample: flop, shapes, gemm }) + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`bench floor: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
