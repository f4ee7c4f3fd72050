/**
 * The one bridge to tslab, the Jupyter kernel the notebooks run in.
 *
 * The kernel records its output channel in `tslab/dist/jupyter.js` while a
 * cell executes; looking that module up in Node's module cache finds the
 * kernel's own copy of tslab. A plain `require('tslab')` could resolve a
 * second copy (another node_modules), whose `display` writes nowhere, and
 * outside a kernel it would load tslab's TypeScript compiler for nothing.
 */
import * as path from 'node:path';

/** The part of tslab's `Display` the lab uses. */
export interface TslabDisplay {
  html(html: string): void;
  text(text: string): void;
}

/** The part of tslab's public module the lab uses. */
export interface TslabPublic {
  /** Output of the running cell. */
  display: TslabDisplay;
  /** A display block that each call overwrites (progress bars, live tables). */
  newDisplay(): TslabDisplay;
}

const KERNEL_MODULE = /tslab[\\/]dist[\\/]jupyter\.js$/;

/** tslab's public module as loaded by the running kernel, or undefined outside a notebook. */
export function tslabKernel(): TslabPublic | undefined {
  for (const [file, cached] of Object.entries(require.cache)) {
    if (!KERNEL_MODULE.test(file)) continue;
    const exports = cached?.exports as { lastWriteDisplayData?: unknown } | undefined;
    if (exports?.lastWriteDisplayData == null) continue;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(path.join(path.dirname(file), 'public.js')) as TslabPublic;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** True when this code runs inside a tslab (Jupyter) kernel. */
export function isInsideTslab(): boolean {
  return tslabKernel() !== undefined;
}

/** One display_data message: MIME type -> content. */
export type MimeBundle = Record<string, unknown>;

interface KernelModule {
  lastWriteDisplayData: ((content: { data: MimeBundle; metadata: Record<string, unknown>; transient: Record<string, unknown> }, update: boolean) => void) | null;
}

/**
 * Send one output with several MIME types at once into the running cell (a
 * chart as plotly JSON and as static SVG; tslab's `Display` sends one type
 * per output), or undefined outside a kernel.
 */
export function kernelDisplayData(): ((bundle: MimeBundle) => void) | undefined {
  for (const [file, cached] of Object.entries(require.cache)) {
    if (!KERNEL_MODULE.test(file)) continue;
    const write = (cached?.exports as KernelModule | undefined)?.lastWriteDisplayData;
    if (write) return (bundle) => write({ data: bundle, metadata: {}, transient: {} }, false);
  }
  return undefined;
}
