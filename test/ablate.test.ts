import { test, describe } from 'node:test';
import type { MlpConfig } from '../src/model/config';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  ConfigError,
  expandGrid,
  gridPreset,
  validateGridSpec,
  summarizeResults,
  formatMarkdown,
  formatCsv,
  formatHtml,
  planAblation,
  TUTORIAL001_IDS,
  DEFAULT_GRID_SPEC,
  estimateRunSeconds,
  getPreset,
  initBackend,
  tf,
} from '../src';
import { calibrateCostModel } from '../src/experiments/cost';
import { backendInfo } from '../src/backend';
import { runKey, configKey } from '../src/experiments/grid';
import { welchInterval, statsOf } from '../src/experiments/report';
import { readResults, ResultsWriter, type ResultRow } from '../src/experiments/results';
import { runGrid } from '../src/experiments/runner';
import { parseShard, selectShard } from '../src/experiments/shard';
import { REAL_DATA_DIR, tempDir } from './helpers/fixtures';
import { gridSpecFromFlags } from '../src/cli/flags';
import { relativeRunCost } from '../src/experiments/cost';

const ROOT = path.resolve(__dirname, '..');
const FAKE_RUN = path.join(__dirname, 'ablate-fake-run.ts');
const CLI = path.join(__dirname, 'ablate-cli.ts');

function cli(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, MNIST_LAB_QUIET: '1', MNIST_LAB_RUN_MODULE: FAKE_RUN, ...env },
  });
}

function rowsOf(file: string): ResultRow[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as ResultRow);
}

describe('grid expansion', () => {
  test('tutorial001 is exactly the nine S1 rows, three seeds each, S1-base the baseline', () => {
    const runs = expandGrid(gridPreset('tutorial001'));
    assert.equal(runs.length, 27);
    assert.deepEqual([...new Set(runs.map((run) => run.label))], [...TUTORIAL001_IDS]);
    assert.deepEqual(runs.filter((run) => run.label === 'S1-h128').map((run) => run.seed), [1, 2, 3]);
    assert.deepEqual(runs.filter((run) => run.baseline).map((run) => run.label), ['S1-base', 'S1-base', 'S1-base']);
    const h2048 = runs.find((run) => run.label === 'S1-h2048')!;
    assert.deepEqual((h2048.experiment.model as MlpConfig).hiddenUnits, [2048, 2048]);
    assert.equal(h2048.experiment.model.seed, 1);
    assert.equal(h2048.experiment.train.seed, 1);
    assert.ok(h2048.experiment.reference, "the tutorials' table numbers travel with the run");
    assert.equal(new Set(runs.map((run) => run.key)).size, 27);
  });

  test('one factor at a time around the baseline, skipping the baseline value itself', () => {
    const spec = gridSpecFromFlags({ hidden: '128,512,2048', dropout: '0,0.2', seeds: '2', epochs: '1', limit: '300' });
    const runs = expandGrid(spec);
    const labels = [...new Set(runs.map((run) => run.label))];
    // 512 and 0.2 are S1-base's own values, so they are the baseline, not extra rows.
    assert.deepEqual(labels, ['S1-base', 'hidden=128', 'hidden=2048', 'dropout=0']);
    assert.equal(runs.length, 8);
    const narrow = runs.find((run) => run.label === 'hidden=128')!;
    assert.deepEqual((narrow.experiment.model as MlpConfig).hiddenUnits, [128, 128]);
    assert.equal(narrow.experiment.model.dropoutRate, 0.2);
    assert.equal(narrow.experiment.train.epochs, 1);
    assert.equal(narrow.experiment.trainLimit, 300);
    assert.equal(narrow.experiment.reference, undefined, 'a variant is not the seed row');
  });

  test('cartesian crosses every value; scale and optimizer flags', () => {
    const spec = gridSpecFromFlags({ mode: 'cartesian', batchSize: '32,128,512', optimizer: 'rmsprop,sgd', scale: 'on,off', seeds: '1' });
    const runs = expandGrid(spec);
    // 3 x 2 x 2 cells; one of them equals the baseline and is not repeated.
    assert.equal(runs.length, 12);
    const cell = runs.find((run) => run.label === 'batch=32 optimizer=sgd scale=off')!;
    assert.equal(cell.experiment.train.batchSize, 32);
    assert.equal(cell.experiment.model.optimizer, 'sgd');
    assert.equal(cell.experiment.scaleInputs, false);
  });

  test('run keys are stable, depend on config and seed, not on names or field order', () => {
    const [run] = expandGrid(gridPreset('tutorial001', { seeds: [5] }));
    const reordered = JSON.parse(JSON.stringify({ ...run.experiment, id: 'renamed', description: 'other words' }));
    assert.equal(runKey(reordered, 5), run.key);
    assert.notEqual(runKey(run.experiment, 6), run.key);
    assert.equal(configKey({ ...run.experiment, train: { ...run.experiment.train, verbose: 2 } }), run.configKey);
    assert.notEqual(configKey({ ...run.experiment, train: { ...run.experiment.train, batchSize: 64 } }), run.configKey);
    assert.equal(expandGrid(gridPreset('tutorial001'))[0].key, expandGrid(gridPreset('tutorial001'))[0].key);
  });

  test('fashion-mnist, fewer epochs or a limit drop the seed numbers (they were measured without them)', () => {
    const runs = expandGrid(gridPreset('tutorial001', { dataset: 'fashion-mnist', seeds: 1 }));
    assert.ok(runs.every((run) => run.experiment.dataset === 'fashion-mnist' && run.experiment.reference === undefined));
    assert.equal(expandGrid(gridPreset('tutorial001', { epochs: 2, seeds: 1 }))[0].experiment.reference, undefined);
    assert.equal(expandGrid(gridPreset('tutorial001', { limit: 500, seeds: 1 }))[0].experiment.reference, undefined);
    assert.ok(expandGrid(gridPreset('tutorial001', { epochs: 10, seeds: 1 }))[0].experiment.reference, 'the preset\'s own epochs keep them');
  });
});

describe('spec validation (before any training)', () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['unknown optimizer', () => gridSpecFromFlags({ optimizer: 'rmsprop,adagrad' }), /factors\.optimizer\[1\]: unknown value "adagrad" \(allowed: rmsprop, adam, sgd\)/],
    ['unknown activation', () => gridSpecFromFlags({ activation: 'relu,gelu' }), /factors\.activation\[1\]: unknown value "gelu" \(allowed: relu, linear, sigmoid, tanh\)/],
    ['dropout out of range', () => gridSpecFromFlags({ dropout: '0,1.5' }), /factors\.dropoutRate\[1\]: must be a dropout rate, got 1\.5 \(allowed: numbers with 0 <= rate < 1\)/],
    ['negative batch size', () => gridSpecFromFlags({ batchSize: '-32' }), /factors\.batchSize\[0\]: must be a batch size, got -32 \(allowed: whole numbers >= 1\)/],
    ['fractional hidden width', () => validateGridSpec({ factors: { hiddenUnits: [12.5] } }), /factors\.hiddenUnits\[0\]: must be a layer width, got 12\.5 \(allowed: whole numbers >= 1, or lists/],
    ['scale word', () => gridSpecFromFlags({ scale: 'maybe' }), /--scale: 'maybe' is not on or off \(allowed: on, off\)/],
    ['mode', () => gridSpecFromFlags({ mode: 'random' }), /mode: unknown value "random" \(allowed: one-at-a-time, cartesian\)/],
    ['dataset', () => gridSpecFromFlags({ dataset: 'cifar10' }), /dataset: unknown data set 'cifar10' \(allowed: mnist, fashion-mnist, or \{ "folder": "path\/to\/images" \}\)/],
    ['baseline', () => gridSpecFromFlags({ baseline: 'S9' }), /baseline: unknown experiment 'S9' \(allowed: .*S1-base/],
    ['unknown spec field', () => validateGridSpec({ ...DEFAULT_GRID_SPEC, hiddn: [1] }), /hiddn: is not a grid spec field \(allowed: .*factors\.hiddenUnits/],
    ['zero seeds', () => gridSpecFromFlags({ seeds: '0' }), /^seeds: must be a count or a seed list, got 0 \(allowed: a count >= 1 \(seeds 1\.\.n\) or a list/],
    ['repeated seed', () => gridSpecFromFlags({ seeds: '1,1' }), /seeds: the seed list repeats a seed/],
    ['preset with factors', () => gridSpecFromFlags({ preset: 'tutorial001', hidden: '128' }), /factors: .*tutorial001.*fixed experiments/],
    ['unknown preset', () => gridSpecFromFlags({ preset: 'seed999' }), /preset: unknown grid preset 'seed999' \(allowed: tutorial001, reference\)/],
    ['shard form', () => parseShard('2-4'), /--shard: '2-4' is not of the form i\/n/],
    ['shard range', () => parseShard('4/4'), /--shard: index 4 is outside 0\.\.3/],
  ];
  for (const [name, make, message] of cases) {
    test(name, () => assert.throws(make, (error: unknown) => error instanceof ConfigError && message.test(error.message)));
  }

  test('a YAML spec file', () => {
    const dir = tempDir();
    const file = path.join(dir, 'grid.yaml');
    writeFileSync(file, 'name: widths\nbaseline: S1-base\nfactors:\n  hiddenUnits: [128, [256, 64]]\nseeds: [7, 8]\nepochs: 2\n');
    const runs = expandGrid(gridSpecFromFlags({ spec: file }));
    assert.deepEqual([...new Set(runs.map((run) => run.label))], ['S1-base', 'hidden=128', 'hidden=256-64']);
    assert.deepEqual((runs.find((run) => run.label === 'hidden=256-64')!.experiment.model as MlpConfig).hiddenUnits, [256, 64]);
    assert.deepEqual([...new Set(runs.map((run) => run.seed))], [7, 8]);
    writeFileSync(file, 'factors:\n  optimizer: [nadam]\n');
    assert.throws(() => gridSpecFromFlags({ spec: file }), /factors\.optimizer\[0\]: unknown value "nadam" \(allowed: rmsprop, adam, sgd\)/);
  });

  test('a bad spec makes the CLI exit before any run starts', () => {
    const out = tempDir();
    const result = cli(['ablate', '--optimizer', 'adagrad', '--out', out]);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /factors\.optimizer\[0\]: unknown value "adagrad" \(allowed: rmsprop, adam, sgd\)/);
    assert.deepEqual(readdirSync(out), []);
  });
});

describe('shards', () => {
  test('every run lands in exactly one shard, deterministically and balanced', () => {
    const runs = expandGrid(gridPreset('tutorial001'));
    const shards = [0, 1, 2, 3].map((index) => selectShard(runs, { index, count: 4 }));
    const keys = shards.flatMap((shard) => shard.map((run) => run.key));
    assert.equal(keys.length, runs.length);
    assert.equal(new Set(keys).size, runs.length);
    assert.deepEqual(selectShard(runs, { index: 2, count: 4 }).map((run) => run.key), shards[2].map((run) => run.key));
    // Balanced by estimated cost (greedy, longest first): the dearest and the cheapest shard differ by at most one run's cost.
    const costs = runs.map((run) => relativeRunCost(run.experiment));
    const loads = shards.map((shard) => shard.reduce((total, run) => total + relativeRunCost(run.experiment), 0));
    assert.ok(Math.max(...loads) - Math.min(...loads) <= Math.max(...costs), `shard costs ${loads.map((load) => load.toFixed(0))}`);
    assert.ok(shards.every((shard) => shard.length > 0));
  });
});

describe('cost model', () => {
  test('calibrateCostModel measures both constants with the project\'s fit, and a wider network is estimated dearer', async () => {
    await initBackend({ quiet: true });
    const tensorsBefore = tf.memory().numTensors;
    const model = await calibrateCostModel({ steps: 10 });
    assert.equal(tf.memory().numTensors, tensorsBefore, 'calibration releases its models and data');
    assert.equal(model.backend, tf.getBackend());
    assert.match(model.source, /calibrated now on this machine/);
    assert.ok(model.secondsPerMultiplyAdd > 0 && Number.isFinite(model.secondsPerMultiplyAdd));
    assert.ok(model.secondsPerStep >= 0 && Number.isFinite(model.secondsPerStep));
    const base = getPreset('S1-base');
    const wide = getPreset('S1-h2048');
    assert.ok(estimateRunSeconds(wide, model) > estimateRunSeconds(base, model));
  });
});

describe('results file', () => {
  test('a torn last line is skipped by readers and cut off by the next writer', async () => {
    const file = path.join(tempDir(), 'results.jsonl');
    const rows = await fakeRows();
    const writer = new ResultsWriter(file);
    writer.append(rows[0]);
    writer.close();
    appendFileSync(file, JSON.stringify(rows[1]).slice(0, 50));
    const read = readResults([file]);
    assert.equal(read.rows.length, 1);
    assert.equal(read.skipped.length, 1);
    const again = new ResultsWriter(file);
    assert.ok(again.repairedBytes > 0);
    again.append(rows[1]);
    again.close();
    assert.deepEqual(rowsOf(file).map((row) => row.key), [rows[0].key, rows[1].key]);
  });

  test('one writer per file; a lock left by a dead runner is taken over', () => {
    const file = path.join(tempDir(), 'results.jsonl');
    const first = new ResultsWriter(file);
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    // A live owner (the test runner's parent stands in for another runner) is refused.
    writeFileSync(`${file}.lock`, String(process.ppid));
    assert.throws(() => new ResultsWriter(file), /results: .*results\.jsonl is being written by another runner \(pid \d+\) \(allowed: wait for it/);
    writeFileSync(`${file}.lock`, dead.stdout);
    const second = new ResultsWriter(file);
    second.close();
    first.close();
    assert.equal(existsSync(`${file}.lock`), false);
  });
});

/** Rows as the runner writes them, from the stand-in training function (no tf). */
async function fakeRows(): Promise<ResultRow[]> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runExperiment } = require(FAKE_RUN) as typeof import('./ablate-fake-run');
  const rows: ResultRow[] = [];
  for (const run of expandGrid(gridSpecFromFlags({ hidden: '128,2048', scale: 'off', seeds: '3' }))) {
    const result = await runExperiment(run.experiment, { seed: run.seed });
    rows.push({ format: 'mnist-lab.ablation-result/1', key: run.key, configKey: run.configKey, label: run.label, baseline: run.baseline, factors: run.factors, seed: run.seed, position: run.position, grid: 'test', engine: 'tfjs', result });
  }
  return rows;
}

describe('reports', () => {
  test('Welch interval matches a hand computation', () => {
    const a = statsOf([0.98, 0.982, 0.981]);
    const b = statsOf([0.97, 0.975, 0.972]);
    const difference = welchInterval(a, b, 0.95)!;
    assert.ok(Math.abs(difference.mean - 0.0086667) < 1e-6);
    // se = sqrt(1e-6/3 + 6.3333e-6/3) = 0.0015635; df = 2.6...; t(0.975, df) ~ 3.4
    assert.ok(difference.degreesOfFreedom > 2.5 && difference.degreesOfFreedom < 2.9, String(difference.degreesOfFreedom));
    assert.ok(difference.low > 0 && difference.high < 0.015, JSON.stringify(difference));
    assert.equal(difference.exceedsNoise, true);
    assert.equal(welchInterval(statsOf([0.98]), b), null);
    assert.equal(welchInterval(statsOf([0.97, 0.975]), statsOf([0.972, 0.971]))?.exceedsNoise, false);
  });

  test('mean ± std, min/max, difference from baseline, seed numbers, all formats', async () => {
    const rows = await fakeRows();
    assert.equal(rows.length, 12);
    const report = summarizeResults(rows, { title: 'Test grid' });
    assert.equal(report.baselineLabel, 'S1-base');
    assert.deepEqual(report.configurations.map((item) => item.label), ['S1-base', 'hidden=128', 'hidden=2048', 'scale=off']);
    const base = report.configurations[0];
    const accs = rows.filter((row) => row.label === 'S1-base').map((row) => row.result.test.acc);
    assert.ok(Math.abs(base.testAcc.mean - accs.reduce((a, b) => a + b) / 3) < 1e-12);
    assert.equal(base.testAcc.min, Math.min(...accs));
    assert.equal(base.testAcc.count, 3);
    assert.ok(base.reference && Math.abs(base.reference.testAcc - 0.9802) < 1e-9);
    const noScale = report.configurations[3];
    assert.equal(noScale.testAccDifference?.exceedsNoise, true);
    assert.ok(noScale.testAccDifference!.mean < -0.3);
    const markdown = formatMarkdown(report);
    assert.match(markdown, /\| \*\*S1-base\*\* \| mlp 512-512 \| 669,706 \| 3 \| \d\d\.\d\d ± \d\.\d\d \|/);
    assert.match(markdown, /98\.02 \([+−]\d\.\d\d [✓✗]\)/);
    assert.match(markdown, /\| scale=off \| mlp 512-512 \| 669,706 \| 3 \| 5\d\.\d\d ± .* \| −\d\d\.\d\d \[−\d\d\.\d\d, −\d\d\.\d\d\] \*\* \|/);
    const csv = formatCsv(report).trim().split('\n');
    assert.equal(csv.length, 5);
    assert.match(csv[0], /^label,architecture,params,baseline,runs,seeds,test_acc_mean,test_acc_std/);
    assert.match(csv[1], /^S1-base,mlp 512-512,669706,true,3,1 2 3,0\.9/);
    const html = formatHtml(report);
    assert.match(html, /<svg/);
    assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/, 'works offline');
    assert.match(html, /<td>hidden=2048<\/td>/);
  });
});

describe('runner with a stand-in training function', () => {
  test('in-process and worker runs write one row each; a second call skips them all', async () => {
    const out = tempDir();
    const runs = expandGrid(gridSpecFromFlags({ hidden: '128', seeds: '2', epochs: '1' }));
    const options = { resultsFile: path.join(out, 'results.jsonl'), runsDir: path.join(out, 'runs'), gridName: 'test', runModule: FAKE_RUN };
    const events: string[] = [];
    const first = await runGrid(runs.slice(0, 2), { ...options, workers: 0, onProgress: (progress) => events.push(progress.event) });
    assert.equal(first.completed, 2);
    const second = await runGrid(runs, { ...options, workers: 2 });
    assert.equal(second.skipped, 2);
    assert.equal(second.completed, 2);
    assert.equal(second.workers, 2);
    assert.deepEqual(rowsOf(options.resultsFile).map((row) => row.key).sort(), runs.map((run) => run.key).sort());
    const third = await runGrid(runs, { ...options, workers: 2 });
    assert.equal(third.completed, 0);
    assert.equal(third.rows.length, 4);
    assert.deepEqual(events, ['start', 'run', 'epoch', 'done', 'run', 'epoch', 'done']);
    assert.equal(readdirSync(options.runsDir).length, 4);
  });

  test('an in-process grid plans its ETA with the active backend\'s cost model, as a dry run does', async () => {
    const out = tempDir();
    const runs = expandGrid(gridSpecFromFlags({ hidden: '32,64', seeds: '1', epochs: '5' }));
    const etas: number[] = [];
    await runGrid(runs, { resultsFile: path.join(out, 'results.jsonl'), runsDir: path.join(out, 'runs'), gridName: 'eta', runModule: FAKE_RUN, workers: 0, onProgress: (progress) => void (progress.event === 'start' && etas.push(progress.etaSeconds)) });
    const backend = backendInfo()?.name;
    assert.ok(backend !== undefined, 'the runner chose the backend its in-process runs train on');
    const planned = planAblation(gridSpecFromFlags({ hidden: '32,64', seeds: '1', epochs: '5' }), { outDir: tempDir(), workers: 1, backend }).estimatedSeconds;
    assert.ok(Math.abs(etas[0] - planned) < 1e-6 * planned, `the first ETA (${etas[0]} s) is the dry run's ${planned} s on ${backend}`);
  });

  test('dry run lists runs with an estimated time and marks finished ones', () => {
    const out = tempDir();
    const spec = gridPreset('tutorial001', { name: 'dry' });
    const plan = planAblation(spec, { outDir: out, workers: 1, backend: 'tensorflow' });
    assert.equal(plan.runs.length, 27);
    assert.ok(plan.estimatedSeconds > 60 && plan.estimatedSeconds < 6 * 3600, String(plan.estimatedSeconds));
    const b32 = plan.runs.find((run) => run.label === 'S1-b32')!;
    const b512 = plan.runs.find((run) => run.label === 'S1-b512')!;
    assert.ok(b32.estimatedSeconds > b512.estimatedSeconds, 'small batches cost more steps');
    const result = cli(['ablate', '--preset', 'tutorial001', '--seeds', '1', '--dry-run', '--out', out], { MNIST_LAB_BACKEND: 'cpu' });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /Grid 'tutorial001': 9 runs, 9 to do/);
    assert.match(result.stdout, /S1-h2048 +seed 1 +[0-9a-f]{16} +epochs 10 +batch 128/);
    assert.match(result.stdout, /Estimated time: .* on \d worker\(s\)/);
  });
});

describe('kill -9 and shards, as real processes', () => {
  test('a runner killed mid-grid loses only runs in flight; the same command finishes without duplicates', async () => {
    const out = tempDir();
    const args = ['ablate', '--hidden', '128,256,1024', '--dropout', '0', '--seeds', '3', '--epochs', '2', '--workers', '2', '--out', out, '--no-report'];
    const resultsFile = path.join(out, 'results.jsonl');
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, MNIST_LAB_QUIET: '1', MNIST_LAB_RUN_MODULE: FAKE_RUN, MNIST_LAB_FAKE_RUN_MS: '400' },
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (!existsSync(resultsFile) || rowsOf(resultsFile).length < 3)) await new Promise((resolve) => setTimeout(resolve, 50));
    child.kill('SIGKILL');
    await exited;
    const before = rowsOf(resultsFile);
    assert.ok(before.length >= 3 && before.length < 15, `killed after ${before.length} of 15 runs`);
    // Workers notice the lost parent and stop: no orphan keeps training.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const pids = readdirSync(path.join(out, 'runs')).map((folder) => path.join(out, 'runs', folder, 'fake-worker.pid')).filter(existsSync).map((file) => Number(readFileSync(file, 'utf8')));
    // A worker that exited may linger as a zombie (state Z) when nothing reaps orphans; it no longer runs.
    const running = (pid: number) => existsSync(`/proc/${pid}/stat`) && !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    assert.ok(pids.length > 0);
    for (const pid of new Set(pids)) assert.equal(running(pid), false, `worker ${pid} outlived the runner`);
    // Simulate the worst case of a kill during the append: a torn last line.
    appendFileSync(resultsFile, '{"format":"mnist-lab.ablation-result/1","key":"torn');
    const again = cli(args, { MNIST_LAB_FAKE_RUN_MS: '0' });
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, new RegExp(`\\(${before.length} already in the results file\\)`));
    const after = rowsOf(resultsFile);
    assert.equal(after.length, 15);
    assert.equal(new Set(after.map((row) => row.key)).size, 15);
    assert.deepEqual(after.slice(0, before.length), before, 'finished rows are kept as they were');
  });

  test('two shards run as separate processes, then `report` merges them', async () => {
    const out = tempDir();
    const base = ['ablate', '--batch-size', '32,512', '--activation', 'linear', '--seeds', '2', '--epochs', '1', '--workers', '1', '--out', out];
    const shardRun = (index: number) =>
      new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...base, '--shard', `${index}/2`], {
          cwd: ROOT,
          env: { ...process.env, MNIST_LAB_QUIET: '1', MNIST_LAB_RUN_MODULE: FAKE_RUN },
          stdio: 'ignore',
        });
        child.on('exit', resolve);
      });
    assert.deepEqual(await Promise.all([shardRun(0), shardRun(1)]), [0, 0]);
    const shard0 = rowsOf(path.join(out, 'results.shard-0-of-2.jsonl'));
    const shard1 = rowsOf(path.join(out, 'results.shard-1-of-2.jsonl'));
    assert.equal(shard0.length + shard1.length, 8);
    assert.equal(new Set([...shard0, ...shard1].map((row) => row.key)).size, 8);
    // A file given twice (e.g. a re-synced copy) must not double-count.
    const report = cli(['report', out, path.join(out, 'results.shard-0-of-2.jsonl'), '--out', path.join(out, 'merged'), '--json']);
    assert.equal(report.status, 0, report.stderr);
    const merged = JSON.parse(report.stdout) as ReturnType<typeof summarizeResults>;
    assert.equal(merged.runCount, 8);
    // Grid order, although the rows came from two files in finishing order.
    assert.deepEqual(merged.configurations.map((item) => item.label), ['S1-base', 'batch=32', 'batch=512', 'activation=linear']);
    assert.match(report.stderr, /Merged 3 file\(s\): 8 runs, \d+ duplicate row\(s\) dropped/);
    for (const extension of ['md', 'csv', 'json', 'html']) assert.ok(existsSync(path.join(out, 'merged', `report.${extension}`)));
  });
});

const realRun = existsSync(path.join(ROOT, 'src', 'experiments', 'run.ts'));
describe('with the real runExperiment on real MNIST', { skip: !REAL_DATA_DIR ? 'MNIST_LAB_DATA is not set' : !realRun ? 'src/experiments/run.ts has not landed yet' : false }, () => {
  test('two tiny runs in worker processes, resumable, with a report', () => {
    const out = tempDir();
    const args = ['ablate', '--hidden', '64', '--seeds', '1', '--epochs', '1', '--limit', '300', '--workers', '2', '--out', out, '--data-dir', REAL_DATA_DIR!];
    const first = cli(args, { MNIST_LAB_RUN_MODULE: '' });
    assert.equal(first.status, 0, first.stderr);
    const rows = rowsOf(path.join(out, 'results.jsonl'));
    assert.equal(rows.length, 2);
    for (const row of rows) {
      assert.equal(row.result.history.epoch.length, 1);
      assert.ok(row.result.test.acc > 0.1 && row.result.test.acc <= 1);
      assert.equal(row.result.config.trainLimit, 300);
    }
    assert.match(readFileSync(path.join(out, "report.md"), "utf8"), /\| \*\*S1-base\*\* \| mlp 512-512 \| 669,706 \| 1 \|/);
    const second = cli(args, { MNIST_LAB_RUN_MODULE: '' });
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, /0 run\(s\) finished now, 2 already done/);
  });

  test('in-process runs leave no tensors behind', async () => {
    const { tf, initBackend } = await import('../src');
    await initBackend({ quiet: true });
    const out = tempDir();
    const runs = expandGrid(gridSpecFromFlags({ seeds: '1', epochs: '1', limit: '200' }));
    const before = tf.memory().numTensors;
    const summary = await runGrid(runs, { resultsFile: path.join(out, 'r.jsonl'), runsDir: path.join(out, 'runs'), gridName: 'leak', workers: 0, dataDir: REAL_DATA_DIR, runModule: path.join(ROOT, 'src', 'experiments', 'run.ts') });
    assert.equal(summary.completed, 1, JSON.stringify(summary.failed));
    assert.equal(tf.memory().numTensors, before);
  });
});
