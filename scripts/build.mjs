// `npm run build`: compile src/ to dist/ (CommonJS + .d.ts, what tslab and the
// CLI load) and stamp the build with a hash of src/, so a stale dist/ is caught.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { rmSync, writeFileSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
rmSync(path.join(root, 'dist'), { recursive: true, force: true });
const tsc = require.resolve('typescript/bin/tsc');
try {
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.json')], { stdio: 'inherit', cwd: root });
} catch {
  console.error('build: TypeScript reported errors (above); dist/ was not stamped.');
  process.exit(1);
}
const { hashSourceTree, BUILD_STAMP_FILE } = require(path.join(root, 'dist', 'util', 'build.js'));
mkdirSync(path.join(root, 'dist'), { recursive: true });
writeFileSync(
  path.join(root, 'dist', BUILD_STAMP_FILE),
  JSON.stringify({ sourceHash: hashSourceTree(path.join(root, 'src')), builtAt: new Date().toISOString() }, null, 2) + '\n',
);
console.log('build: dist/ is up to date with src/');
