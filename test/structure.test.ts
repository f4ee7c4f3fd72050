/**
 * The code's shape, checked by tools: imports run downward through the
 * layers of .dependency-cruiser.cjs, and src/, test/ and bench/ type-check
 * (tsx, which runs the tests, strips types without checking them).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

/** Run a tool installed in node_modules/.bin. */
function run(tool: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(path.join(ROOT, 'node_modules', '.bin', tool), args, { cwd: ROOT, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('structure', () => {
  test('imports run downward (dependency-cruiser, the layers in .dependency-cruiser.cjs)', () => {
    const { status, output } = run('depcruise', ['src', '--config', '.dependency-cruiser.cjs', '--output-type', 'err']);
    assert.equal(status, 0, output);
  });

  test('src/, test/ and bench/ type-check (tsconfig.check.json)', { timeout: 180_000 }, () => {
    const { status, output } = run('tsc', ['-p', 'tsconfig.check.json']);
    assert.equal(status, 0, output);
  });
});
