// `npm test`: every test file under test/ with Node's own test runner (TypeScript
// through tsx). Real-data tests read MNIST_LAB_DATA; under CI it must be set.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
if (process.env.CI === 'true' && !process.env.MNIST_LAB_DATA) {
  console.error('npm test: under CI, set MNIST_LAB_DATA to a folder with mnist/ and fashion-mnist/ (the real-data tests must not be skipped).');
  process.exit(1);
}
const only = process.argv.slice(2);
const files = readdirSync(path.join(root, 'test'))
  .filter((name) => name.endsWith('.test.ts'))
  .filter((name) => only.length === 0 || only.some((pattern) => name.includes(pattern)))
  .sort()
  .map((name) => path.join('test', name));
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, MNIST_LAB_QUIET: process.env.MNIST_LAB_QUIET ?? '1' },
});
process.exit(result.status ?? 1);
