// `npm test`: every test file under test/ with Node's own test runner (TypeScript
// through tsx). `npm test -- <part of a file name> ...` runs only those files.
//
// Real-data tests find MNIST in the project cache data/ (`npx mnist-lab data add
// <folder>`) or in MNIST_LAB_DATA. At the end it says how many tests were
// skipped and why; under CI (CI=true) a skipped real-data test fails the run.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveDataEnv } from './lib/common.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// Tests and the kernels they start run in other folders: a relative MNIST_LAB_DATA means where `npm test` was typed.
const dataNote = resolveDataEnv();
if (dataNote) console.error(`npm test: ${dataNote}`);

const only = process.argv.slice(2);
const files = readdirSync(path.join(root, 'test'))
  .filter((name) => name.endsWith('.test.ts'))
  .filter((name) => only.length === 0 || only.some((pattern) => name.includes(pattern)))
  .sort()
  .map((name) => path.join('test', name));
const scratch = mkdtempSync(path.join(os.tmpdir(), 'mnist-lab-test-run-'));
const skipsFile = path.join(scratch, 'skipped.json');
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    `--test-reporter=${path.join(root, 'scripts', 'lib', 'skip-reporter.mjs')}`,
    `--test-reporter-destination=${skipsFile}`,
    ...files,
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, MNIST_LAB_QUIET: process.env.MNIST_LAB_QUIET ?? '1' } },
);

let skipped = [];
try {
  skipped = JSON.parse(readFileSync(skipsFile, 'utf8'));
} catch {
  // the runner died before its reporters finished: its own status says so
}
rmSync(scratch, { recursive: true, force: true });

/** A skip for want of the real data sets (the reasons the tests give for it). */
const REAL_DATA_REASON = /MNIST_LAB_DATA|real data|data add/i;
let status = result.status ?? 1;
if (skipped.length === 0) {
  console.log('npm test: no test was skipped.');
} else {
  const byReason = new Map();
  for (const entry of skipped) byReason.set(entry.reason, [...(byReason.get(entry.reason) ?? []), entry]);
  console.log(`npm test: ${skipped.length} test(s) or suite(s) skipped:`);
  for (const [reason, entries] of byReason) {
    const where = [...new Set(entries.map((entry) => (entry.file ? path.relative(root, entry.file.replace(/^file:\/\//, '')) : entry.name)))];
    console.log(`  ${entries.length} × ${reason}  (${where.slice(0, 4).join(', ')}${where.length > 4 ? ', …' : ''})`);
  }
  const dataSkips = skipped.filter((entry) => REAL_DATA_REASON.test(entry.reason));
  if (dataSkips.length > 0) {
    console.log('  The real-data tests need MNIST and Fashion-MNIST: `npx mnist-lab data add <folder>` (checks and links them into data/), or set MNIST_LAB_DATA.');
    if (process.env.CI === 'true') {
      console.error(`npm test: under CI, ${dataSkips.length} real-data test(s) were skipped: that fails the run.`);
      status = status || 1;
    }
  }
}
process.exit(status);
