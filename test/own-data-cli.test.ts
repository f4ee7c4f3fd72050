/**
 * Your own data from the command line (issue "Your own data"): export a data
 * set as files, train on a folder, evaluate a run on a folder, fine-tune
 * with --init-from, augmentation flags, predict on many files at once, and
 * the folder / augmentation fields of configs and grid specs.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import {
  ConfigError,
  validateGridSpec,
  expandGrid,
  getPreset,
  DEFAULT_AUGMENT,
  validateDatasetSource,
} from '../src';
import { applyFactor } from '../src/experiments/grid';
import { configKey } from '../src/experiments/grid';
import { REAL_DATA_DIR, tempDir } from './helpers/fixtures';
import { runCli } from './helpers/tiny-model';

const real = { skip: REAL_DATA_DIR ? false : 'MNIST_LAB_DATA is not set' };

describe('own data on the command line', real, () => {
  const dir = tempDir('mnist-lab-own-data-');
  const digits = path.join(dir, 'digits');
  const run = path.join(dir, 'run');

  before(async () => {
    const printed = await runCli(['dataset', 'export', 'mnist', '--out', digits, '--split', 'train', '--limit', '3000', '--data-dir', REAL_DATA_DIR as string]);
    assert.match(printed, /wrote 3000 mnist train images to .*digits \(one subfolder per class\)/);
  });

  test('train --data-folder with Keras-named augmentation flags learns; the run records the folder, the classes and the augmentation', async () => {
    const printed = await runCli(['train', '--data-folder', digits, '--mode', 'resize', '--hidden', '64', '--epochs', '3', '--batch-size', '32', '--rotation-range', '10', '--width-shift-range', '0.1', '--height-shift-range', '0.1', '--zoom-range', '0.1', '--out', run, '--quiet', '--json']);
    const result = JSON.parse(printed);
    assert.ok(result.test.acc > 0.6, `well above chance: test accuracy on the held-out 20% of the folder: ${result.test.acc}`);
    assert.deepEqual(result.config.dataset, { folder: digits, mode: 'resize' });
    assert.deepEqual(result.config.train.augment, DEFAULT_AUGMENT);
    assert.equal(result.config.classNames.length, 10);
  });

  test('evaluate --data-folder tests a run on every image of a folder; predict takes files and folders at once', async () => {
    const evaluation = JSON.parse(await runCli(['evaluate', run, '--data-folder', digits, '--mode', 'resize', '--json']));
    assert.equal(evaluation.testCount, 3000);
    assert.ok(evaluation.test.acc > 0.6, `accuracy on every image of the folder: ${evaluation.test.acc}`);
    assert.match(evaluation.dataset, /all 3000 images/);
    const sevens = (await fs.readdir(path.join(digits, '7'))).slice(0, 2).map((name) => path.join(digits, '7', name));
    const predicted = JSON.parse(await runCli(['predict', sevens[0], path.join(digits, '1'), '--model', run, '--mode', 'resize', '--json']));
    assert.equal(predicted.results.length, 1 + (await fs.readdir(path.join(digits, '1'))).length);
    assert.equal(predicted.results[0].image, sevens[0]);
    const shown = await runCli(['predict', sevens[1], '--model', run, '--show']);
    assert.match(shown, /what the network sees \(28x28\)/);
  });

  test('train --init-from fine-tunes from a trained run (and refuses a different network)', async () => {
    const tuned = path.join(dir, 'tuned');
    const printed = JSON.parse(await runCli(['train', '--data-folder', path.join(digits), '--mode', 'resize', '--hidden', '64', '--epochs', '1', '--batch-size', '32', '--init-from', run, '--out', tuned, '--quiet', '--json']));
    assert.ok(printed.history.history.acc[0] > 0.7, `the first epoch starts from trained weights: ${printed.history.history.acc[0]}`);
    await assert.rejects(runCli(['train', '--data-folder', digits, '--mode', 'resize', '--hidden', '32', '--epochs', '1', '--init-from', run, '--out', path.join(dir, 'bad'), '--quiet']), /--init-from .*weights \[784, 64\].*but this one has \[784, 32\]/);
  });

  test('ablate --data-folder trains every run of a grid on the folder, and the report names it', async () => {
    const out = path.join(dir, 'grid');
    await runCli(['ablate', '--data-folder', digits, '--hidden', '32,64', '--seeds', '1', '--epochs', '5', '--workers', '0', '--name', 'own-digits', '--out', out]);
    const rows = (await fs.readFile(path.join(out, 'results.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    assert.equal(rows.length, 3, 'the baseline and the two widths');
    console.log('# ' + rows.map((row) => `${row.label}: ${row.result.test.acc}`).join(', '));
    for (const row of rows) assert.ok(row.result.test.acc > 0.7, `run ${row.label} learned from the folder (test accuracy ${row.result.test.acc})`);
    const report = await fs.readFile(path.join(out, 'report.md'), 'utf8');
    assert.ok(report.includes(`Data: folder:${path.resolve(digits)}.`), `the report names the image folder it trained on:\n${report.slice(0, 400)}`);
    assert.ok((await fs.readFile(path.join(out, 'report.html'), 'utf8')).includes(`on folder:${path.resolve(digits)}`), 'so does the HTML page');
  });

  test('ablate --dry-run plans a folder by its own size, not MNIST\'s', async () => {
    // "Estimated time: 12s", "2:41" or "1:05:33".
    const plannedSeconds = async (args: string[]) => {
      const printed = await runCli(['ablate', ...args, '--hidden', '32,64', '--seeds', '1', '--epochs', '50', '--dry-run', '--out', path.join(dir, 'plan')]);
      const match = /Estimated time: ([\d:]+)s? /.exec(printed);
      assert.ok(match, `the dry run prints an estimate:\n${printed}`);
      return match[1].split(':').reduce((sum, part) => sum * 60 + Number(part), 0);
    };
    const folder = await plannedSeconds(['--data-folder', digits]);
    const mnist = await plannedSeconds(['--data-dir', REAL_DATA_DIR as string]);
    assert.ok(folder * 5 < mnist, `3,000 images plan as far less than MNIST's 70,000: ${folder} s against ${mnist} s`);
  });

  test('bad flags say what is wrong', async () => {
    await assert.rejects(runCli(['train', '--rotation-range', '-5', '--out', path.join(dir, 'x'), '--quiet']), /--rotation-range: '-5' is not valid/);
    await assert.rejects(runCli(['train', '--zoom-range', '2', '--out', path.join(dir, 'x'), '--quiet']), (error: unknown) => error instanceof ConfigError && /augment\.zoomRange: must be a fraction/.test(error.message));
    await assert.rejects(runCli(['train', '--mode', 'resize', '--out', path.join(dir, 'x'), '--quiet']), /--mode: only applies to --data-folder/);
    await assert.rejects(runCli(['dataset', 'export', 'mnist', '--out', path.join(dir, 'y'), '--layout', 'zip']), /--layout: unknown layout 'zip'/);
  });
});

describe('folders and augmentation in configs and grid specs', () => {
  test('a grid spec takes dataset: { folder } and an augment factor; off keeps the baseline key', () => {
    const spec = validateGridSpec({ name: 'own', mode: 'one-at-a-time', baseline: 'S1-base', factors: { augment: [false, true, { rotationRange: 20 }] }, seeds: 1, dataset: { folder: 'my-digits', mode: 'resize' } });
    const runs = expandGrid(spec);
    assert.deepEqual(runs[0].experiment.dataset, { folder: 'my-digits', mode: 'resize' });
    const augmented = runs.map((entry) => entry.experiment.train.augment);
    assert.ok(augmented.some((value) => value === undefined));
    assert.ok(augmented.some((value) => value?.rotationRange === 10 && value.zoomRange === 0.1));
    assert.ok(augmented.some((value) => value?.rotationRange === 20 && value.zoomRange === 0));
    const base = getPreset('S1-base');
    assert.equal(configKey(applyFactor(base, 'augment', false)), configKey(base));
    assert.throws(() => validateGridSpec({ name: 'bad', mode: 'one-at-a-time', baseline: 'S1-base', factors: { augment: [{ rotation: 5 }] }, seeds: 1 }));
    assert.throws(() => validateDatasetSource({ folder: '' }), ConfigError);
    assert.throws(() => validateDatasetSource('cifar'), /unknown data set 'cifar'/);
  });
});
