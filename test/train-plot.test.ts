import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { REAL_DATA_DIR, tempDir } from './helpers/fixtures';

const ROOT = path.resolve(__dirname, '..');

test('`mnist-lab train --plot` without a display finishes and leaves the chart file', { skip: REAL_DATA_DIR ? false : 'MNIST_LAB_DATA is not set', timeout: 120_000 }, () => {
  const runDir = tempDir();
  const env: NodeJS.ProcessEnv = { ...process.env, MNIST_LAB_DATA: REAL_DATA_DIR };
  delete env.DISPLAY;
  delete env.WAYLAND_DISPLAY;
  // The installed command (bin/ over dist/, which `npm test` builds first).
  const result = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'mnist-lab.js'), 'train', '--preset', 'S2', '--limit', '1000', '--epochs', '2', '--out', runDir, '--plot'], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: 110_000,
  });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stderr, /no live chart; the training curves will be written to/);
  const chart = path.join(runDir, 'training-curves.html');
  assert.ok(existsSync(chart), 'the chart file exists');
  const html = readFileSync(chart, 'utf8');
  assert.match(html, /<svg/);
  assert.ok(!/<script[^>]+src=["']?https?:/i.test(html), 'no script loaded from the network: the page works offline');
  assert.match(html, /Plotly/, 'plotly.js is embedded');
  const history = JSON.parse(readFileSync(path.join(runDir, 'history.json'), 'utf8')) as { epoch: number[] };
  assert.equal(history.epoch.length, 2);
});
