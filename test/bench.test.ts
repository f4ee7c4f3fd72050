/**
 * The pure parts of `npm run bench`'s floor (issue 17): the FLOP count of a
 * network, the floor and ratio arithmetic, and the JSON fields of a tiny
 * real run. No timing is asserted: the numbers themselves belong to the
 * benchmark, not to a test.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { DEFAULT_CNN, DEFAULT_MLP, PROJECT_ROOT, flopPerExample } from '../src';
import { addFloorAndPeerRatios, bestGemmGflops, epochFlop, readPins, type BenchRun } from '../scripts/lib/bench-report.mjs';

/** The GEMM rate is measured through libtensorflow: only where tfjs-node loads. */
function nativeBackendLoads(): boolean {
  return spawnSync(process.execPath, ['-e', "require('@tensorflow/tfjs-node')"], { cwd: PROJECT_ROOT, env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } }).status === 0;
}

describe('FLOP per epoch', () => {
  test('S1-base (784-512-512-10) by hand: 2 FLOP per multiply-add, backward = weight gradients + input gradients of all but the first layer', () => {
    const S1_BASE = { ...DEFAULT_MLP, hiddenUnits: [512, 512], dropoutRate: 0.2 };
    const multiplyAdds = 784 * 512 + 512 * 512 + 512 * 10;
    const flop = flopPerExample(S1_BASE);
    assert.equal(flop.forward, 2 * multiplyAdds);
    assert.equal(flop.training, 2 * multiplyAdds + 2 * multiplyAdds + 2 * (512 * 512 + 512 * 10));
    // The figure: about 1.7e11 FLOP for 48,000 training and 12,000 validation examples.
    const epoch = epochFlop(flop, 48000, 12000);
    assert.equal(epoch, 48000 * 3209216 + 12000 * 1337344);
    assert.ok(Math.abs(epoch - 1.7e11) / 1.7e11 < 0.01, `S1-base epoch = ${epoch.toExponential(3)} FLOP`);
  });

  test('the convnet counts its convolutions at the image sizes they see (26x26 and 11x11)', () => {
    const multiplyAdds = 26 * 26 * 9 * 1 * 32 + 11 * 11 * 9 * 32 * 64 + 5 * 5 * 64 * 10;
    const flop = flopPerExample(DEFAULT_CNN);
    assert.equal(flop.forward, 2 * multiplyAdds);
    assert.equal(flop.training, 4 * multiplyAdds + 2 * (11 * 11 * 9 * 32 * 64 + 5 * 5 * 64 * 10));
  });
});

describe('floor and ratios', () => {
  const run = (config: string, engine: string, seconds: number, trainSamples = 48000): BenchRun => ({
    config,
    engine,
    trainSamples,
    validationSamples: 12000,
    medianEpochSeconds: seconds,
    samplesPerSecond: trainSamples / seconds,
  });

  test('floor = FLOP / best GEMM rate; ratios to the floor and to the faster JAX variant', () => {
    const runs = addFloorAndPeerRatios(
      [run('S1-base', 'project', 3), run('S1-base', 'jax-step', 2.5), run('S1-base', 'jax-scan', 2), run('S0', 'project', 1)],
      { 'S1-base': { forward: 1e6, training: 3e6 } },
      100,
    );
    const [project, step, scan, s0] = runs;
    assert.equal(project.secondsPerEpoch, 3);
    assert.equal(project.flopPerEpoch, 48000 * 3e6 + 12000 * 1e6);
    assert.equal(project.floorSeconds, (48000 * 3e6 + 12000 * 1e6) / 100e9);
    assert.equal(project.ratioToFloor, 3 / project.floorSeconds!);
    assert.equal(project.ratioToJax, 1.5, 'against the faster JAX variant (scan, 2 s)');
    assert.equal(step.ratioToJax, undefined, 'JAX runs are the reference, not compared to themselves');
    assert.equal(scan.ratioToFloor, 2 / scan.floorSeconds!);
    assert.equal(s0.floorSeconds, undefined, 'no FLOP count for S0 given: no floor');
    assert.equal(s0.ratioToJax, undefined, 'no JAX run of S0: no JAX ratio');
  });

  test('a reduced run compares to JAX by samples per second; no GEMM rate means no floor', () => {
    const [reduced] = addFloorAndPeerRatios([run('S0', 'project', 1, 12000), run('S0', 'jax-scan', 2)], { S0: { forward: 1, training: 2 } }, null);
    assert.equal(reduced.ratioToJax, 24000 / 12000);
    assert.equal(reduced.ratioToFloor, undefined);
    assert.equal(bestGemmGflops([null, { bestGflops: 120 }, { bestGflops: 250 }]), 250);
    assert.equal(bestGemmGflops([null, undefined]), null);
  });

  test('requirements-bench.txt pins jax, jaxlib and optax', () => {
    const pins = readPins();
    for (const name of ['jax', 'jaxlib', 'optax']) assert.match(pins.get(name) ?? '', /^\d+\.\d+\.\d+$/, `${name} is pinned`);
  });
});

describe('npm run bench --json', () => {
  test('a tiny run reports secondsPerEpoch, ratioToFloor and the existing fields for every result', { skip: nativeBackendLoads() ? false : 'the native backend does not load (npm run setup)' }, () => {
    const child = spawnSync(
      process.execPath,
      [path.join(PROJECT_ROOT, 'scripts', 'bench.mjs'), '--configs', 'S1-base', '--backends', 'tensorflow', '--epochs', '1', '--warmup', '0', '--train-limit', '512', '--no-keras', '--json'],
      { cwd: PROJECT_ROOT, encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } },
    );
    assert.equal(child.status, 0, child.stderr);
    const report = JSON.parse(child.stdout);
    assert.ok(report.gemm.bestGflops > 0, 'a GEMM rate was measured');
    assert.deepEqual(report.flopPerExample['S1-base'], flopPerExample({ ...DEFAULT_MLP, hiddenUnits: [512, 512], dropoutRate: 0.2 }));
    assert.equal(report.runs.length, 1);
    const [result] = report.runs;
    for (const field of ['secondsPerEpoch', 'ratioToFloor', 'floorSeconds', 'flopPerEpoch', 'medianEpochSeconds', 'samplesPerSecond', 'testAcc', 'peakRssMb']) {
      assert.equal(typeof result[field], 'number', `${field} is a number`);
    }
    assert.equal(result.trainSamples, Math.floor(512 * 0.8));
    assert.equal(result.flopPerEpoch, epochFlop(report.flopPerExample['S1-base'], result.trainSamples, result.validationSamples));
    assert.equal(result.ratioToFloor, result.secondsPerEpoch / result.floorSeconds);
    assert.equal(result.ratioToKeras, undefined, '--no-keras: no Keras ratio');
  });
});
