/**
 * Which TensorFlow.js backend runs, and why. The native binding
 * (@tensorflow/tfjs-node over libtensorflow) is about ten times faster than
 * wasm, so falling back is announced in one line, never silent.
 * Env `MNIST_LAB_BACKEND=tensorflow|wasm|cpu` forces a backend.
 */
import * as tf from '@tensorflow/tfjs';
import { ConfigError, MnistLabError } from './errors';

export const BACKEND_NAMES = ['tensorflow', 'wasm', 'cpu'] as const;
/** A tfjs backend the lab can run on: the native one (`tensorflow`), `wasm` or the plain JavaScript `cpu`. */
export type BackendName = (typeof BACKEND_NAMES)[number];

/** Which backend is active and why (what `mnist-lab info` prints). */
export interface BackendInfo {
  /** The backend tfjs runs on. */
  name: BackendName;
  /** One sentence: why this backend (and not a faster one). */
  reason: string;
  /** Set when the native binding was tried and failed. */
  nativeError?: string;
}

/** How to pick the backend (default: env `MNIST_LAB_BACKEND`, else the fastest available). */
export interface BackendOptions {
  /** Force a backend; default: env `MNIST_LAB_BACKEND`, else the fastest that loads. */
  backend?: BackendName;
  /** Do not print the one-line announcement. */
  quiet?: boolean;
}

let active: BackendInfo | undefined;
let pending: Promise<BackendInfo> | undefined;

function requestedBackend(options: BackendOptions): BackendName | undefined {
  const requested = options.backend ?? (process.env.MNIST_LAB_BACKEND || undefined);
  if (requested !== undefined && !(BACKEND_NAMES as readonly string[]).includes(requested)) {
    throw new ConfigError('MNIST_LAB_BACKEND', `unknown backend '${requested}'`, BACKEND_NAMES.join(', '));
  }
  return requested as BackendName | undefined;
}

let sessionPools = false;

/**
 * Whether each TensorFlow session has its own intra-op thread pool, sized
 * by its own configuration (TF_OVERRIDE_GLOBAL_THREADPOOL, set by
 * initBackend unless tfjs-node was loaded first). Without it every session
 * shares the pool of tfjs's eager context.
 */
export function sessionThreadPools(): boolean {
  return sessionPools;
}

/** Try to load the native binding; returns the error message when it cannot load. */
function loadNative(): string | undefined {
  // libtensorflow logs CPU-feature notes at start-up; they alarm learners.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  // Each TensorFlow session gets its own intra-op thread pool, sized by its
  // own configuration, instead of the process-wide one tfjs's eager context
  // sized: the graph step runs its ops on one thread each (graph-step.ts,
  // GRAPH_PIECES). TensorFlow reads it once, when it makes its first device,
  // so it only counts if tfjs-node was not loaded before.
  const started = tf.findBackendFactory('tensorflow') !== null;
  if (!started) process.env.TF_OVERRIDE_GLOBAL_THREADPOOL ??= '1';
  sessionPools = ['1', 'true'].includes((process.env.TF_OVERRIDE_GLOBAL_THREADPOOL ?? '').toLowerCase());
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@tensorflow/tfjs-node');
    return undefined;
  } catch (error) {
    return ((error as Error).message || String(error)).split('\n')[0];
  }
}

function announce(info: BackendInfo, options: BackendOptions): BackendInfo {
  active = info;
  if (options.quiet !== true && process.env.MNIST_LAB_QUIET !== '1') {
    process.stderr.write(`mnist-lab: backend ${info.name} (${info.reason})\n`);
  }
  return info;
}

const SETUP_HINT = 'run `npm run setup` to build it; training is about 10x slower without it';

function nativeInfo(requested: BackendName | undefined): BackendInfo | undefined {
  if (requested !== undefined && requested !== 'tensorflow') return undefined;
  const nativeError = loadNative();
  if (nativeError === undefined && tf.findBackendFactory('tensorflow') !== null) {
    tf.setBackend('tensorflow'); // synchronous for a backend without async init
    return {
      name: 'tensorflow',
      reason: requested ? 'forced by MNIST_LAB_BACKEND' : 'native libtensorflow via @tensorflow/tfjs-node',
    };
  }
  if (requested === 'tensorflow') {
    throw new MnistLabError(`The native backend was requested but @tensorflow/tfjs-node cannot load: ${nativeError}. Fix: ${SETUP_HINT}.`);
  }
  return undefined;
}

/**
 * Choose and initialise the backend (once per process). Every async entry
 * point (loadData, fit, ...) awaits this, so most code never calls it directly.
 */
export function initBackend(options: BackendOptions = {}): Promise<BackendInfo> {
  if (active !== undefined) return Promise.resolve(active);
  pending ??= (async () => {
    const requested = requestedBackend(options);
    const native = nativeInfo(requested);
    if (native !== undefined) return announce(native, options);
    const nativeError = requested === undefined ? loadNative() : undefined;
    if (requested === undefined || requested === 'wasm') {
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require('@tensorflow/tfjs-backend-wasm');
        if (await tf.setBackend('wasm')) {
          const reason = requested ? 'forced by MNIST_LAB_BACKEND' : `@tensorflow/tfjs-node did not load: ${nativeError}; ${SETUP_HINT}`;
          return announce({ name: 'wasm', reason, nativeError }, options);
        }
      } catch (error) {
        if (requested === 'wasm') throw new MnistLabError(`The wasm backend was requested but cannot start: ${(error as Error).message}`);
      }
    }
    await tf.setBackend('cpu');
    const reason = requested ? 'forced by MNIST_LAB_BACKEND' : `neither @tensorflow/tfjs-node nor wasm could start (${nativeError}); ${SETUP_HINT}`;
    return announce({ name: 'cpu', reason, nativeError }, options);
  })();
  pending.catch(() => (pending = undefined));
  return pending;
}

/**
 * For synchronous code (building a model): initialise the native or cpu
 * backend on the spot; wasm initialises asynchronously, so it needs an
 * `await initBackend()` (or any awaited loader) first.
 */
export function ensureBackendSync(options: BackendOptions = {}): BackendInfo {
  if (active !== undefined) return active;
  const requested = requestedBackend(options);
  const native = nativeInfo(requested);
  if (native !== undefined) return announce(native, options);
  if (requested === 'cpu') {
    tf.setBackend('cpu');
    return announce({ name: 'cpu', reason: 'forced by MNIST_LAB_BACKEND' }, options);
  }
  throw new MnistLabError(
    'The native backend is not available and the wasm backend starts asynchronously: ' +
      'run `await initBackend()` (or `await loadData(...)`) before building a model.',
  );
}

/** The backend in use, or undefined before the first initialisation. */
export function backendInfo(): BackendInfo | undefined {
  return active;
}

export { tf };
