// `npm run bench`: epoch time of the project's training path against Keras on
// the same machine, same data, same network, same batch size. Never part of
// `npm test`. Each measurement runs in its own process (bench/worker.ts or
// scripts/keras/bench.py), one after the other, so they never share the CPU.
//
//   npm run bench -- --epochs 5 --configs S0,S1-base --backends tensorflow,wasm [--no-keras] [--peers jax] [--save]
//
// Before the trainings it measures the machine's float32 GEMM rate (libtensorflow
// through bench/floor.ts, numpy through scripts/keras/gemm.py); each config's FLOP
// per epoch / the best rate is its floor, and every engine is reported as a
// ratio to that floor, to Keras and (with --peers jax) to JAX.
//
// Flags:
//   --epochs N            timed epochs after the warm-up (default 5)
//   --warmup N            untimed first epochs, reported apart (default 1)
//   --configs LIST        networks: S0, S1-base, S1-h2048, S1-b32, S1-b512 (seed table); S1-base-augment = S1-base with
//                         rotation 10, shifts 0.1, zoom 0.1 (Keras: the RandomRotation/Translation/Zoom layers);
//                         convnet (keras.io Simple MNIST convnet)
//   --backends LIST       tfjs backends: tensorflow (native), wasm, cpu
//   --engines LIST        project (src/train fit, fastest step: graph on the native backend),
//                         project-fused / project-generic (the same fit forced to its eager steps),
//                         layers-fit (plain tfjs model.fit, the "before")
//   --train-limit N       first N training examples for every run (default: all 60000)
//   --wasm-epochs N       timed epochs on the slow backends (wasm, cpu; default 2)
//   --wasm-train-limit N  training examples on the slow backends (default 12000)
//   --no-keras            skip the Keras column
//   --peers jax           also time JAX (jitted step, and the epoch as one lax.scan); installs the
//                         pinned requirements-bench.txt into .venv on first use
//   --markdown            also print the engine x config summary as a Markdown table (for the README)
//   --save                also write bench/results/latest.json
//   --json                print only the JSON
import { spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { resolveDataEnv } from './lib/common.mjs';
import { PEER_ENGINES, addFloorAndPeerRatios, bestGemmGflops, ensureJaxPeer } from './lib/bench-report.mjs';

// Relative MNIST_LAB_DATA: relative to where the command was typed, for every process started below.
const dataNote = resolveDataEnv();
if (dataNote) console.error(`bench: ${dataNote}`);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const python = path.join(root, '.venv', 'bin', 'python');
const SLOW_BACKENDS = new Set(['wasm', 'cpu']);

const { values } = parseArgs({
  options: {
    epochs: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    configs: { type: 'string', default: 'S0,S1-base,S1-h2048,S1-b32,S1-b512,convnet' },
    backends: { type: 'string' },
    engines: { type: 'string', default: 'project' },
    'train-limit': { type: 'string' },
    'wasm-epochs': { type: 'string', default: '2' },
    'wasm-train-limit': { type: 'string', default: '12000' },
    'no-keras': { type: 'boolean', default: false },
    peers: { type: 'string', default: '' },
    markdown: { type: 'boolean', default: false },
    save: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});

function positiveInteger(flag, value, allowZero = false) {
  const number = Number(value);
  if (!Number.isInteger(number) || number < (allowZero ? 0 : 1)) {
    console.error(`bench: --${flag} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got '${value}'`);
    process.exit(2);
  }
  return number;
}

const list = (text) => text.split(',').map((item) => item.trim()).filter(Boolean);
const epochs = positiveInteger('epochs', values.epochs);
const warmup = positiveInteger('warmup', values.warmup, true);
const slowEpochs = positiveInteger('wasm-epochs', values['wasm-epochs']);
const slowTrainLimit = positiveInteger('wasm-train-limit', values['wasm-train-limit']);
const trainLimit = values['train-limit'] !== undefined ? positiveInteger('train-limit', values['train-limit']) : undefined;
const configs = list(values.configs);
const CONFIG_NAMES = ['S0', 'S1-base', 'S1-h2048', 'S1-b32', 'S1-b512', 'S1-base-augment', 'convnet'];
for (const config of configs) {
  if (!CONFIG_NAMES.includes(config)) {
    console.error(`bench: --configs: unknown network '${config}' (allowed: ${CONFIG_NAMES.join(', ')})`);
    process.exit(2);
  }
}
const peers = list(values.peers);
for (const peer of peers) {
  if (!(peer in PEER_ENGINES)) {
    console.error(`bench: --peers: unknown peer '${peer}' (allowed: ${Object.keys(PEER_ENGINES).join(', ')})`);
    process.exit(2);
  }
}
const engines = list(values.engines);
const ENGINE_NAMES = ['project', 'project-fused', 'project-generic', 'layers-fit'];
for (const engine of engines) {
  if (!ENGINE_NAMES.includes(engine)) {
    console.error(`bench: --engines: unknown engine '${engine}' (allowed: ${ENGINE_NAMES.join(', ')})`);
    process.exit(2);
  }
}
const nativeLoads = spawnSync(process.execPath, ['-e', "require('@tensorflow/tfjs-node')"], { cwd: root, env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } }).status === 0;
const backends = values.backends ? list(values.backends) : [...(nativeLoads ? ['tensorflow'] : []), 'wasm'];
if (backends.includes('tensorflow') && !nativeLoads) {
  console.error('bench: --backends tensorflow, but @tensorflow/tfjs-node does not load; run `npm run setup` or drop it from --backends');
  process.exit(2);
}
const withKeras = !values['no-keras'] && existsSync(python);
if (!values['no-keras'] && !withKeras) console.error(`bench: no Keras column: ${python} does not exist (run \`npm run setup\` to create the Python environment)`);

const log = (line) => {
  if (!values.json) process.stderr.write(line + '\n');
};

let withJax = false;
if (peers.includes('jax')) {
  const missing = existsSync(python) ? ensureJaxPeer(python, log) : `${python} does not exist (run \`npm run setup\` to create the Python environment)`;
  if (missing) console.error(`bench: no JAX columns: ${missing}`);
  withJax = missing === null;
}

function loadNow() {
  return os.loadavg().map((value) => Number(value.toFixed(2)));
}

/** Run one measurement process; returns its parsed JSON line or an error record. */
function measure(label, command, args, env) {
  const loadBefore = loadNow();
  log(`  ${label} ... (load ${loadBefore.join(' ')})`);
  const started = Date.now();
  const child = spawnSync(command, args, { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const wallSeconds = (Date.now() - started) / 1000;
  const line = child.stdout.trim().split('\n').filter((text) => text.startsWith('{')).pop();
  if (child.status !== 0 || line === undefined) {
    const reason = (child.stderr || '').trim().split('\n').slice(-3).join(' | ') || `exit ${child.status}`;
    log(`    failed: ${reason}`);
    return { label, error: reason, loadBefore, wallSeconds };
  }
  const result = { label, ...JSON.parse(line), loadBefore, wallSeconds };
  log(`    median ${result.medianEpochSeconds.toFixed(3)} s/epoch, first ${result.firstEpochSeconds?.toFixed(3) ?? '-'} s, test acc ${result.testAcc.toFixed(4)}`);
  return result;
}

/** Run a helper process that prints one JSON line; null (and a message) when it fails. */
function jsonLineOf(label, command, args, env) {
  const child = spawnSync(command, args, { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const line = (child.stdout ?? '').trim().split('\n').filter((text) => text.startsWith('{')).pop();
  if (child.status === 0 && line !== undefined) return JSON.parse(line);
  log(`  ${label} failed: ${(child.stderr || '').trim().split('\n').slice(-3).join(' | ') || `exit ${child.status}`}`);
  return null;
}

// The floor: FLOP per example of each network, and this machine's GEMM rate, now, in this run.
log(`float32 GEMM rate${nativeLoads ? ' through libtensorflow (tf.matMul)' : ''}${existsSync(python) ? ' and numpy' : ''}, at the networks' matrix shapes and 1024/2048 squares (load ${loadNow().join(' ')})`);
const floorInput = jsonLineOf('FLOP count and libtensorflow GEMM', process.execPath, ['--import', 'tsx', 'bench/floor.ts', '--configs', configs.join(','), ...(nativeLoads ? [] : ['--no-gemm'])], {
  MNIST_LAB_BACKEND: 'tensorflow',
  MNIST_LAB_QUIET: '1',
  TF_CPP_MIN_LOG_LEVEL: '2',
});
const numpyGemm = floorInput && existsSync(python) ? jsonLineOf('numpy GEMM', python, ['scripts/keras/gemm.py', JSON.stringify(floorInput.shapes)]) : null;
const gemm = { libtensorflow: floorInput?.gemm ?? null, numpy: numpyGemm, bestGflops: bestGemmGflops([floorInput?.gemm, numpyGemm]) };
for (const measured of [gemm.libtensorflow, gemm.numpy].filter(Boolean)) log(`  ${measured.engine}: best ${measured.bestGflops.toFixed(0)} GFLOP/s`);

const runs = [];
for (const config of configs) {
  for (const backend of backends) {
    const slow = SLOW_BACKENDS.has(backend);
    const limit = slow ? Math.min(slowTrainLimit, trainLimit ?? Infinity) : trainLimit;
    const timed = slow ? Math.min(slowEpochs, epochs) : epochs;
    for (const engine of engines) {
      if (engine === 'project-fused' && backend !== 'tensorflow') {
        log(`${config} ${engine} on ${backend}: skipped (the fused kernels are native only; 'project' is the generic step there)`);
        continue;
      }
      const args = ['--import', 'tsx', 'bench/worker.ts', '--config', config, '--engine', engine, '--epochs', String(timed), '--warmup', String(warmup)];
      if (limit !== undefined) args.push('--train-limit', String(limit));
      log(`${config} ${engine} on ${backend}${limit ? `, first ${limit} training examples` : ''}, ${warmup} warm-up + ${timed} timed epochs`);
      runs.push({ config, backend, engine, reduced: slow, ...measure(`${config}/${engine}/${backend}`, process.execPath, args, { MNIST_LAB_BACKEND: backend, MNIST_LAB_QUIET: '1', TF_CPP_MIN_LOG_LEVEL: '2' }) });
    }
  }
  if (withKeras) {
    const args = ['scripts/keras/bench.py', '--config', config, '--epochs', String(epochs), '--warmup', String(warmup)];
    if (trainLimit !== undefined) args.push('--train-limit', String(trainLimit));
    log(`${config} Keras (TensorFlow CPU), ${warmup} warm-up + ${epochs} timed epochs`);
    runs.push({ config, backend: 'keras', engine: 'keras', reduced: false, ...measure(`${config}/keras`, python, args, { TF_CPP_MIN_LOG_LEVEL: '2' }) });
  }
  if (withJax && config.endsWith('-augment')) log(`${config} JAX: skipped (the JAX peer has no augmentation layers)`);
  else if (withJax) {
    for (const engine of PEER_ENGINES.jax) {
      const args = ['scripts/keras/jax_bench.py', '--config', config, '--variant', engine.slice('jax-'.length), '--epochs', String(epochs), '--warmup', String(warmup)];
      if (trainLimit !== undefined) args.push('--train-limit', String(trainLimit));
      log(`${config} JAX (${engine === 'jax-scan' ? 'the epoch as one lax.scan' : 'a jitted step per batch'}), ${warmup} warm-up + ${epochs} timed epochs`);
      runs.push({ config, backend: 'jax', engine, reduced: false, ...measure(`${config}/${engine}`, python, args, {}) });
    }
  }
}

// Augmentation's cost: each augmented run against the same engine and backend without it.
for (const run of runs) {
  if (!run.config.endsWith('-augment') || run.error) continue;
  const plain = runs.find((other) => other.config === run.config.replace(/-augment$/, '') && other.engine === run.engine && other.backend === run.backend && !other.error);
  if (plain !== undefined) run.ratioToPlain = run.medianEpochSeconds / plain.medianEpochSeconds;
}

// Ratios against Keras: epoch time where the sample count matches, otherwise
// (reduced runs on the slow backends) the inverse ratio of samples per second.
for (const run of runs) {
  const keras = runs.find((other) => other.config === run.config && other.engine === 'keras' && !other.error);
  if (run.engine === 'keras' && !run.error) run.ratioToKeras = 1;
  if (run.engine === 'keras' || run.error || keras === undefined) continue;
  run.ratioToKeras = run.trainSamples === keras.trainSamples ? run.medianEpochSeconds / keras.medianEpochSeconds : keras.samplesPerSecond / run.samplesPerSecond;
  run.ratioBasis = run.trainSamples === keras.trainSamples ? 'median epoch seconds' : 'samples per second (reduced run)';
  if (run.medianCpuSecondsPerEpoch != null && keras.medianCpuSecondsPerEpoch != null) {
    // CPU seconds per training sample, so reduced runs compare too.
    run.cpuRatioToKeras = run.medianCpuSecondsPerEpoch / run.trainSamples / (keras.medianCpuSecondsPerEpoch / keras.trainSamples);
  }
}

// Seconds per epoch against the floor (FLOP / best GEMM rate) and against the faster JAX variant.
addFloorAndPeerRatios(runs, floorInput?.flopPerExample ?? {}, gemm.bestGflops);

function cpuModel() {
  return os.cpus()[0]?.model ?? 'unknown';
}

let gitCommit = null;
try {
  gitCommit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
} catch {
  // Not a git checkout (an npm install of the package); the commit is then unknown.
}

const report = {
  date: new Date().toISOString(),
  machine: { cpu: cpuModel(), cores: os.cpus().length, memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)), platform: `${os.platform()} ${os.release()}` },
  node: process.version,
  gitCommit,
  settings: { epochs, warmup, configs, backends, engines, trainLimit: trainLimit ?? null, slowEpochs, slowTrainLimit, keras: withKeras, peers: withJax ? ['jax'] : [] },
  gemm,
  flopPerExample: floorInput?.flopPerExample ?? null,
  loadAtEnd: loadNow(),
  runs,
};

function formatTable() {
  const header = ['config', 'engine', 'backend', 'samples', 'first s', 'median s/epoch', 'cpu s/epoch', 'samples/s', 'floor s', 'x floor', 'x Keras', 'x JAX', 'x Keras cpu', 'x no-aug', 'peak MiB', 'test acc', 'load'];
  const fixed = (value, digits = 2) => (value !== undefined ? value.toFixed(digits) : '-');
  const rows = runs.map((run) =>
    run.error
      ? [run.config, run.engine, run.backend, '-', '-', `failed: ${run.error.slice(0, 60)}`, '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', run.loadBefore[0].toFixed(2)]
      : [
          run.config,
          run.engine,
          run.backend,
          `${run.trainSamples}${run.reduced ? '*' : ''}`,
          run.firstEpochSeconds?.toFixed(2) ?? '-',
          run.medianEpochSeconds.toFixed(3),
          run.medianCpuSecondsPerEpoch?.toFixed(2) ?? '-',
          Math.round(run.samplesPerSecond).toString(),
          fixed(run.floorSeconds, 3),
          fixed(run.ratioToFloor),
          fixed(run.ratioToKeras),
          fixed(run.ratioToJax),
          run.cpuRatioToKeras !== undefined ? run.cpuRatioToKeras.toFixed(2) : '-',
          run.ratioToPlain !== undefined ? run.ratioToPlain.toFixed(2) : '-',
          Math.round(run.peakRssMb).toString(),
          run.testAcc.toFixed(4),
          run.loadBefore[0].toFixed(2),
        ],
  );
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => String(row[column]).length)));
  const format = (row) => row.map((cell, column) => String(cell).padEnd(widths[column])).join('  ');
  const lines = [format(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(format)];
  lines.push('');
  lines.push(`${report.machine.cpu}, ${report.machine.cores} cores; node ${report.node}; ${report.date}; load at end ${report.loadAtEnd.join(' ')}`);
  lines.push(gemmLine());
  const worst = worstFloorText();
  if (worst) lines.push(`${worst}; floor s = FLOP per epoch (training forward + backward, validation forward) / the best GEMM rate.`);
  lines.push(`medians over ${epochs} timed epochs after ${warmup} warm-up (first s = the warm-up epoch); train samples exclude the validation split.`);
  if (runs.some((run) => run.ratioToPlain !== undefined)) lines.push('x no-aug = median epoch time with augmentation / the same engine and backend without it (goal: at most 1.3 for ours).');
  lines.push('cpu s/epoch = process CPU time of all threads (steadier than wall time when other work shares the machine); load = 1-minute load average before the run.');
  if (runs.some((run) => run.reduced)) lines.push(`* reduced run on a slow backend: first ${slowTrainLimit} training examples, ${slowEpochs} timed epochs, same batch size; x Keras compares samples per second.`);
  return lines.join('\n');
}

function gemmLine() {
  const parts = [gemm.libtensorflow, gemm.numpy].filter(Boolean).map((measured) => `${measured.engine} ${measured.bestGflops.toFixed(0)}`);
  return parts.length > 0 ? `float32 GEMM, best GFLOP/s in this run: ${parts.join(', ')}` : 'float32 GEMM rate not measured (no libtensorflow, no numpy): no floor';
}

/** The full-size run furthest from its floor (of one engine, or of all). */
function worstFloorRun(engine) {
  return runs
    .filter((run) => run.ratioToFloor !== undefined && !run.reduced && (engine === undefined || run.engine === engine))
    .reduce((worst, run) => (worst === null || run.ratioToFloor > worst.ratioToFloor ? run : worst), null);
}

function worstFloorText() {
  const worst = worstFloorRun();
  const ours = worstFloorRun('project');
  if (worst === null) return null;
  const ourText = ours !== null && ours !== worst ? `; ours (project): ${ours.config} (${ours.ratioToFloor.toFixed(2)})` : '';
  return `worst x floor: ${worst.engine} on ${worst.config} (${worst.ratioToFloor.toFixed(2)})${ourText}`;
}

/** engine x config, for the README: seconds per epoch and the ratios to the floor, to Keras and to JAX. */
function formatMarkdown() {
  const fixed2 = (value) => (value !== undefined ? value.toFixed(2) : '-');
  // tfjs engines on a backend other than the native one say which.
  const label = (run) => (run.engine === 'keras' || run.engine.startsWith('jax-') || run.backend === 'tensorflow' ? run.engine : `${run.engine} (${run.backend})`);
  const lines = ['| config | FLOP/epoch | floor s | engine | s/epoch | x floor | x Keras | x JAX | test acc |', '| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |'];
  for (const run of runs.filter((candidate) => !candidate.error)) {
    const flop = run.flopPerEpoch !== undefined ? run.flopPerEpoch.toExponential(2) : '-';
    const samples = run.reduced ? `*` : '';
    lines.push(`| ${run.config} | ${flop} | ${fixed2(run.floorSeconds)} | ${label(run)}${samples} | ${run.secondsPerEpoch.toFixed(2)} | ${fixed2(run.ratioToFloor)} | ${fixed2(run.ratioToKeras)} | ${fixed2(run.ratioToJax)} | ${run.testAcc.toFixed(4)} |`);
  }
  lines.push('');
  const worst = worstFloorText();
  lines.push(`${gemmLine()}. ${report.machine.cpu}, ${report.machine.cores} cores, ${report.date}, 1-minute load ${runs[0]?.loadBefore?.[0] ?? '-'} at the start and ${report.loadAtEnd.join(' ')} at the end${worst ? `; ${worst}` : ''}.`);
  return lines.join('\n');
}

if (values.save) {
  const dir = path.join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'latest.json');
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(report, null, 2) + '\n');
  renameSync(temporary, file);
  log(`saved ${path.relative(root, file)}`);
}

if (values.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
else process.stdout.write(formatTable() + '\n');
if (values.markdown && !values.json) process.stdout.write('\n' + formatMarkdown() + '\n');
process.exit(runs.some((run) => run.error) ? 1 : 0);
