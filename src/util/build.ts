/**
 * Guards against a stale build: notebooks import the compiled `dist/`, so a
 * change to `src/` that was not rebuilt would otherwise run old code silently.
 * `npm run build` writes a hash of `src/` next to the output; loading the
 * package compares it with the sources, when they are there.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { MnistLabError } from '../errors';

/** Name of the stamp `npm run build` writes into dist/. @public (scripts/build.mjs reads it from dist/) */
export const BUILD_STAMP_FILE = 'build-stamp.json';

/** Hash of every file under `dir`, in a stable order. @public (scripts/build.mjs calls it from dist/) */
export function hashSourceTree(dir: string): string {
  const hash = createHash('sha256');
  const walk = (folder: string): void => {
    for (const entry of readdirSync(folder).sort()) {
      const full = path.join(folder, entry);
      if (statSync(full).isDirectory()) walk(full);
      else if (entry.endsWith('.ts')) hash.update(path.relative(dir, full)).update('\0').update(readFileSync(full)).update('\0');
    }
  };
  walk(dir);
  return hash.digest('hex');
}

/** Throw when running from `dist/` and `src/` changed since the last build. */
export function assertBuildIsFresh(distDir: string): void {
  const sourceDir = path.resolve(distDir, '..', 'src');
  const stampFile = path.join(distDir, BUILD_STAMP_FILE);
  if (path.basename(distDir) !== 'dist' || !existsSync(sourceDir)) return;
  if (process.env.MNIST_LAB_ALLOW_STALE_BUILD === '1') return;
  const stamp = existsSync(stampFile) ? (JSON.parse(readFileSync(stampFile, 'utf8')) as { sourceHash?: string }) : {};
  if (stamp.sourceHash !== hashSourceTree(sourceDir)) {
    throw new MnistLabError(
      `The compiled mnist-lab in ${distDir} is older than its sources in ${sourceDir}. ` +
        'Run `npm run build` (then restart the notebook kernel) so you do not run old code.',
    );
  }
}
