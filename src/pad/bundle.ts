/**
 * The scripts a drawing pad page carries: TensorFlow.js's browser build from
 * node_modules and the pad's own code (`client.ts` plus the preprocessing of
 * `src/predict/image.ts` it imports), bundled by esbuild. Both are read or
 * built once per process and inlined, so pages work offline and from disk.
 */
import { builtinModules } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { MnistLabError } from '../errors';
import { PROJECT_ROOT } from '../util/fs';

/** The browser build of TensorFlow.js inlined in pages (ES2017: every current browser). */
export const TFJS_BROWSER_BUILD = '@tensorflow/tfjs/dist/tf.es2017.min.js';
/** The global the pad bundle defines. */
export const PAD_GLOBAL = 'MnistLabPad';
/** Node-only packages `src/predict/image.ts` imports for decoding files; the pad never calls that part. */
const NODE_ONLY_PACKAGES = ['pngjs', 'jpeg-js', 'sharp'];

let tfSource: string | undefined;
let padSource: string | undefined;

/** A script made safe to sit inside an HTML `<script>` element. */
function inlineSafe(source: string): string {
  return source.replace(/<\/script/gi, '<\\/script');
}

/** Path of TensorFlow.js's browser build. */
export function tfjsBrowserPath(): string {
  try {
    // Under tsx's require hook, resolved paths carry a `?namespace=` query.
    return require.resolve(TFJS_BROWSER_BUILD).replace(/\?.*$/, '');
  } catch {
    throw new MnistLabError('TensorFlow.js for the browser is not installed (package @tensorflow/tfjs). Run `npm install` in the mnist-lab folder.');
  }
}

/**
 * TensorFlow.js's browser build, defining `window.tf`. It is a UMD bundle:
 * hiding `define`, `module` and `exports` makes it take the global path even
 * on pages that have an AMD loader (classic Jupyter) or a CommonJS shim.
 */
export function tfjsScript(): string {
  tfSource ??= inlineSafe(
    '(function(define, module, exports){\n' + readFileSync(tfjsBrowserPath(), 'utf8') + '\n}).call(window, undefined, undefined, undefined);',
  );
  return tfSource;
}

/** Where the pad's browser code lives (bundled from the sources, so `src/` must be present). */
export function padClientEntry(): string {
  return path.join(PROJECT_ROOT, 'src', 'pad', 'client.ts');
}

/** The pad's browser code bundled by esbuild into one script defining `window.MnistLabPad`. */
export function padClientScript(): string {
  if (padSource !== undefined) return padSource;
  const entry = padClientEntry();
  if (!existsSync(entry)) throw new MnistLabError(`The drawing pad is bundled from ${entry}, which is missing. Run it from an mnist-lab clone (the src/ folder is needed).`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  const stub = path.join(path.dirname(entry), 'node-only.cjs');
  const alias: Record<string, string> = {};
  for (const name of [...builtinModules.filter((module) => !module.startsWith('_')), ...NODE_ONLY_PACKAGES]) {
    alias[name] = stub;
    if (!name.startsWith('node:')) alias[`node:${name}`] = stub;
  }
  const result = esbuild.buildSync({
    entryPoints: [entry],
    bundle: true,
    format: 'iife',
    globalName: PAD_GLOBAL,
    platform: 'browser',
    target: 'es2019',
    minify: true,
    write: false,
    alias,
    logLevel: 'silent',
  });
  padSource = inlineSafe(result.outputFiles[0].text);
  return padSource;
}
