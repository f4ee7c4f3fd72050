import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, renameSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { tf, initBackend, loadCheckpoint, readRun, backendInfo } from '../src';
import { REAL_DATA_DIR, tempDir } from './helpers/fixtures';

const real = { skip: REAL_DATA_DIR ? false : 'MNIST_LAB_DATA is not set' };
const ROOT = path.resolve(__dirname, '..');
/** The CLI straight from src/ (no build needed), as `mnist-lab ...`. */
const CLI = [
  '--import',
  'tsx',
  '-e',
  "require('./src/cli/main').main(['node', 'mnist-lab', ...process.argv.slice(1)]).catch((e) => { console.error(require('./src/cli/errors').formatError(e)); process.exit(1); })",
];
const EPOCHS = 12;
const trainArgs = (out: string): string[] => ['train', '--preset', 'S1-h128', '--limit', '2000', '--epochs', String(EPOCHS), '--batch-size', '64', '--seed', '5', '--out', out, '--quiet'];
const env = { ...process.env, MNIST_LAB_QUIET: '1', MNIST_LAB_DATA: REAL_DATA_DIR };

function epochsDone(runDir: string): number {
  const file = path.join(runDir, 'checkpoints', 'last', 'state.json');
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { epochsCompleted: number }).epochsCompleted;
  } catch {
    return 0;
  }
}

function runToEnd(out: string): void {
  const result = spawnSync(process.execPath, [...CLI, ...trainArgs(out)], { cwd: ROOT, env, encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
}

describe('kill -9 during training, then the same command resumes', real, () => {
  test('resumes from the last completed epoch, ends with all epochs, and matches an uninterrupted run', async () => {
    const runDir = path.join(tempDir(), 'killed');
    const child = spawn(process.execPath, [...CLI, ...trainArgs(runDir)], { cwd: ROOT, env, stdio: 'ignore' });
    const killedAfter = await new Promise<number>((resolve, reject) => {
      const timer = setInterval(() => {
        const done = epochsDone(runDir);
        if (done >= 1) {
          clearInterval(timer);
          child.kill('SIGKILL');
          resolve(done);
        }
      }, 20);
      child.once('exit', (code) => {
        clearInterval(timer);
        if (epochsDone(runDir) < EPOCHS) resolve(epochsDone(runDir));
        else reject(new Error(`training finished (code ${code}) before it could be killed; raise EPOCHS`));
      });
    });
    await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve)));
    assert.ok(killedAfter >= 1 && killedAfter < EPOCHS, `killed after ${killedAfter} epochs`);
    assert.equal(existsSync(path.join(runDir, 'metrics.json')), false, 'the killed run did not finish');

    runToEnd(runDir);
    const record = await readRun(runDir);
    assert.equal(record.state?.epochsCompleted, EPOCHS);
    assert.deepEqual(record.history?.epoch, Array.from({ length: EPOCHS }, (_, index) => index));
    assert.equal(record.history?.history.val_loss?.length, EPOCHS);
    assert.ok(record.metrics !== null);
    assert.deepEqual(record.checkpoints, ['best', 'last']);
    for (const file of ['config.json', 'history.json', 'state.json', 'metrics.json']) assert.ok(existsSync(path.join(runDir, file)), file);

    // Same seed, same backend: the resumed run is the uninterrupted run.
    const straightDir = path.join(tempDir(), 'straight');
    runToEnd(straightDir);
    const straight = await readRun(straightDir);
    assert.deepEqual(record.history?.history.loss, straight.history?.history.loss);
    assert.deepEqual(record.history?.history.val_loss, straight.history?.history.val_loss);
    assert.equal(record.metrics?.test.acc, straight.metrics?.test.acc);

    // Standard tfjs layers format, optimizer state included.
    await initBackend();
    if (backendInfo()?.name === 'tensorflow') {
      for (const which of ['best', 'last']) {
        const model = await tf.loadLayersModel(`file://${path.join(runDir, 'checkpoints', which, 'model.json')}`);
        assert.deepEqual(model.outputs[0].shape, [null, 10]);
        const optimizerState = await model.optimizer.getWeights();
        assert.equal(optimizerState.length, 1 + 2 * 6, 'iter + rms and momentum slots for 6 weights');
        const epochsIn: number = which === 'last' ? EPOCHS : (record.state?.bestEpoch ?? -1) + 1;
        assert.equal((await optimizerState[0].tensor.data())[0], epochsIn * Math.ceil(1600 / 64), 'optimizer steps saved with the weights');
        tf.dispose(optimizerState[0].tensor);
        model.optimizer.dispose();
        model.dispose();
      }
    }
  });

  test('a kill between the two renames of a checkpoint swap leaves the previous checkpoint loadable', async () => {
    const runDir = path.join(tempDir(), 'swap');
    const args = ['train', '--hidden', '16', '--limit', '300', '--epochs', '2', '--batch-size', '100', '--out', runDir, '--quiet'];
    const first = spawnSync(process.execPath, [...CLI, ...args], { cwd: ROOT, env, encoding: 'utf8' });
    assert.equal(first.status, 0, first.stderr);
    // As a kill would leave it: old folder moved aside, new one not yet in place, a half-written temp folder.
    const last = path.join(runDir, 'checkpoints', 'last');
    renameSync(last, `${last}.previous`);
    const temp = path.join(runDir, 'checkpoints', '.last.12345.abcd.tmp');
    mkdirSync(temp);
    writeFileSync(path.join(temp, 'weights.bin'), 'partial');
    await initBackend();
    const model = await loadCheckpoint(runDir, 'last');
    assert.deepEqual(model.outputs[0].shape, [null, 10]);
    model.optimizer.dispose();
    model.dispose();
    const record = await readRun(runDir);
    assert.equal(record.state?.epochsCompleted, 2);
    // Asking for more epochs continues the run: the next start puts the aside checkpoint back and removes the temp.
    const more = spawnSync(process.execPath, [...CLI, ...args.map((arg) => (arg === '2' ? '3' : arg))], { cwd: ROOT, env, encoding: 'utf8' });
    assert.equal(more.status, 0, more.stderr);
    assert.equal((await readRun(runDir)).state?.epochsCompleted, 3);
    assert.deepEqual(readdirSync(path.join(runDir, 'checkpoints')).sort(), ['best', 'last']);
    // Other settings are a different run; the message says which and what to do.
    const other = spawnSync(process.execPath, [...CLI, ...args.map((arg) => (arg === '16' ? '32' : arg))], { cwd: ROOT, env, encoding: 'utf8' });
    assert.notEqual(other.status, 0);
    assert.match(other.stderr, /holds a run with different settings \(model\.hiddenUnits: saved \[16\], asked \[32\]\), so it cannot be resumed\.\nTrain into another --out folder \(runDir\), or pass --no-resume/);
  });
});
