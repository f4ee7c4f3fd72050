// The arithmetic of `npm run bench`'s report (floor, ratios to the floor, to
// Keras and to JAX) and the opt-in JAX peer's installation. Pure functions
// apart from ensureJaxPeer, so test/bench.test.ts checks them without timing.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './common.mjs';

/** The peers `--peers` accepts, and the engines each one runs. */
export const PEER_ENGINES = { jax: ['jax-step', 'jax-scan'] };

export const BENCH_REQUIREMENTS = path.join(ROOT, 'requirements-bench.txt');

/**
 * FLOP of one epoch: every training example forward and backward, every
 * validation example forward (`perExample` from src's flopPerExample).
 */
export function epochFlop(perExample, trainSamples, validationSamples) {
  return trainSamples * perExample.training + validationSamples * perExample.forward;
}

/** The best float32 GEMM rate measured (GFLOP/s) over the engines that answered, or null. */
export function bestGemmGflops(gemms) {
  const rates = gemms.filter((gemm) => gemm && Number.isFinite(gemm.bestGflops)).map((gemm) => gemm.bestGflops);
  return rates.length > 0 ? Math.max(...rates) : null;
}

/**
 * Add each run's `secondsPerEpoch` (its median), `flopPerEpoch`,
 * `floorSeconds` (FLOP / best GEMM rate) and `ratioToFloor`, and
 * `ratioToJax` = its epoch time / the faster JAX variant's on the same
 * config (when JAX ran). Runs on a reduced sample count compare to a floor
 * of their own sample count, and to JAX by samples per second.
 * Changes `runs` in place and returns it.
 */
export function addFloorAndPeerRatios(runs, flopPerExample, gemmGflops) {
  for (const run of runs) {
    if (run.error) continue;
    run.secondsPerEpoch = run.medianEpochSeconds;
    const perExample = flopPerExample[run.config];
    if (perExample !== undefined) {
      run.flopPerEpoch = epochFlop(perExample, run.trainSamples, run.validationSamples ?? 0);
      if (gemmGflops !== null) {
        run.floorSeconds = run.flopPerEpoch / (gemmGflops * 1e9);
        run.ratioToFloor = run.secondsPerEpoch / run.floorSeconds;
      }
    }
  }
  for (const run of runs) {
    if (run.error || run.engine.startsWith('jax-')) continue;
    const jax = runs.filter((other) => other.config === run.config && other.engine.startsWith('jax-') && !other.error);
    if (jax.length === 0) continue;
    const fastest = jax.reduce((best, other) => (other.samplesPerSecond > best.samplesPerSecond ? other : best));
    run.ratioToJax = run.trainSamples === fastest.trainSamples ? run.secondsPerEpoch / fastest.secondsPerEpoch : fastest.samplesPerSecond / run.samplesPerSecond;
  }
  return runs;
}

/** `name==version` pins of requirements-bench.txt, as a map. */
export function readPins(file = BENCH_REQUIREMENTS) {
  const pins = new Map();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^\s*([A-Za-z0-9_.-]+)==([^\s#]+)/.exec(line);
    if (match) pins.set(match[1].toLowerCase(), match[2]);
  }
  return pins;
}

/** Versions of the pinned packages installed in the venv's Python (missing ones absent). */
function installedVersions(python, names) {
  const code = `import importlib.metadata as m, json\nout = {}\nfor name in ${JSON.stringify(names)}:\n    try: out[name] = m.version(name)\n    except m.PackageNotFoundError: pass\nprint(json.dumps(out))`;
  const child = spawnSync(python, ['-c', code], { encoding: 'utf8' });
  return child.status === 0 ? JSON.parse(child.stdout) : {};
}

/**
 * Make sure .venv holds the pinned jax, jaxlib and optax: on first use
 * install them with pip from the configured index (no retries: the public
 * index is unreachable on offline machines, so fail fast and say so).
 * Returns null when ready, otherwise why the JAX columns are missing.
 */
export function ensureJaxPeer(python, log) {
  const pins = readPins();
  const names = [...pins.keys()];
  const have = installedVersions(python, names);
  const missing = names.filter((name) => have[name] !== pins.get(name));
  if (missing.length === 0) return null;
  log(`bench: --peers jax: installing ${missing.map((name) => `${name}==${pins.get(name)}`).join(', ')} into .venv from requirements-bench.txt (first use only; about a minute)`);
  const child = spawnSync(python, ['-m', 'pip', 'install', '--retries', '0', '--disable-pip-version-check', '--progress-bar', 'off', '-r', BENCH_REQUIREMENTS], {
    encoding: 'utf8',
    env: { ...process.env, PIP_RETRIES: '0' },
  });
  if (child.status !== 0) {
    const reason = `${child.stderr || child.stdout}`.trim().split('\n').slice(-3).join(' | ');
    return `pip could not install requirements-bench.txt (${reason}); install it by hand with \`PIP_RETRIES=0 .venv/bin/pip install -r requirements-bench.txt\``;
  }
  log('bench: JAX peer installed');
  return null;
}
