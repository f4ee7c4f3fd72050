// `npm run build`: compile src/ to dist/ (CommonJS + .d.ts, what tslab and the
// CLI load) and stamp the build with a hash of src/, so a stale dist/ is caught.
// The compiler writes into a fresh folder that replaces dist/ only when
// complete, so a notebook or worker starting mid-build never finds dist/ gone.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { rmSync, writeFileSync, renameSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const dist = path.join(root, 'dist');
const staging = path.join(root, `.dist-build-${process.pid}`);
const retired = path.join(root, `.dist-old-${process.pid}`);
rmSync(staging, { recursive: true, force: true });
const tsc = require.resolve('typescript/bin/tsc');
try {
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.json'), '--outDir', staging], { stdio: 'inherit', cwd: root });
} catch {
  rmSync(staging, { recursive: true, force: true });
  console.error('build: TypeScript reported errors (above); dist/ was left as it was.');
  process.exit(1);
}
const { hashSourceTree, BUILD_STAMP_FILE } = require(path.join(staging, 'util', 'build.js'));
writeFileSync(
  path.join(staging, BUILD_STAMP_FILE),
  JSON.stringify({ sourceHash: hashSourceTree(path.join(root, 'src')), builtAt: new Date().toISOString() }, null, 2) + '\n',
);
// Two renames: dist/ is missing only between them, for microseconds.
if (existsSync(dist)) renameSync(dist, retired);
renameSync(staging, dist);
rmSync(retired, { recursive: true, force: true });
console.log('build: dist/ is up to date with src/');
