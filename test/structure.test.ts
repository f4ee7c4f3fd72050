/**
 * The code's shape, checked by tools: imports run downward through the
 * layers of .dependency-cruiser.cjs, no export goes unused (knip), src/,
 * test/ and bench/ type-check (tsx, which runs the tests, strips types
 * without checking them), and the command goes through the public entry.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { tempDir } from './helpers/fixtures';

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

  test('no export that nothing uses (knip; the public API is src/index.ts)', () => {
    const { status, output } = run('knip', []);
    assert.equal(status, 0, output);
  });

  test('every public name is documented, and every type it refers to is public (TypeDoc, typedoc.json)', { timeout: 300_000 }, () => {
    const { status, output } = run('typedoc', ['--emit', 'none', '--treatWarningsAsErrors', '--logLevel', 'Warn']);
    assert.equal(status, 0, output);
  });

  test('src/, test/ and bench/ type-check (tsconfig.check.json)', { timeout: 180_000 }, () => {
    const { status, output } = run('tsc', ['-p', 'tsconfig.check.json']);
    assert.equal(status, 0, output);
  });

  test("each notebook's code cells type-check as one module against the library's types", { timeout: 180_000 }, () => {
    const script = path.join(ROOT, 'scripts', 'notebooks', 'typecheck.mjs');
    const all = spawnSync(process.execPath, [script], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(all.status, 0, `${all.stdout}${all.stderr}`);
    // A notebook whose cell uses a config field the library does not have: named by notebook, cell and line.
    const dir = tempDir();
    const cells = [
      { cell_type: 'markdown', metadata: {}, source: ['# A notebook'] },
      { cell_type: 'code', metadata: {}, execution_count: null, outputs: [], source: ["import * as lab from 'mnist-lab';"] },
      { cell_type: 'code', metadata: {}, execution_count: null, outputs: [], source: ['const fine = lab.createMlp(lab.DEFAULT_MLP);\n', 'const model = lab.createMlp({ ...lab.DEFAULT_MLP, hiddenUnit: [64] });'] },
    ];
    writeFileSync(path.join(dir, '99-broken.ipynb'), JSON.stringify({ cells, metadata: {}, nbformat: 4, nbformat_minor: 5 }));
    const broken = spawnSync(process.execPath, [script, dir], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(broken.status, 1);
    assert.match(broken.stderr, /99-broken\.ipynb, cell 3, line 2:\d+: error TS\d+: .*'hiddenUnit' does not exist in type 'MlpConfig'/);
  });

  test('the command goes through the public entry, so a build older than src/ is refused', () => {
    // A copy of the package whose src/ changed after the build (npm test builds dist/ first).
    const copy = tempDir();
    for (const folder of ['bin', 'dist', 'src']) cpSync(path.join(ROOT, folder), path.join(copy, folder), { recursive: true });
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
    const fresh = spawnSync(process.execPath, [path.join(copy, 'bin', 'mnist-lab.js'), '--help'], { encoding: 'utf8' });
    assert.equal(fresh.status, 0, fresh.stderr);
    appendFileSync(path.join(copy, 'src', 'index.ts'), '\n// edited after the build\n');
    const stale = spawnSync(process.execPath, [path.join(copy, 'bin', 'mnist-lab.js'), '--help'], { encoding: 'utf8' });
    assert.equal(stale.status, 1);
    assert.match(stale.stderr, /^mnist-lab: The compiled mnist-lab in .* is older than its sources .* Run `npm run build`/);
  });
});
