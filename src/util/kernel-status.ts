/**
 * Keeps JupyterLab's kernel status honest for tslab kernels.
 *
 * tslab (1.0.22) publishes `busy` on iopub the moment any shell request
 * arrives and `idle` when that request is done, and it handles requests
 * concurrently. So when a learner queues cells (Shift+Enter through several
 * cells, or Run All), every queued cell announces `busy` at once and the first
 * one to finish announces `idle` while the others still run: the status bar
 * reads "TypeScript | Idle" for the rest of the run. The same happens when a
 * tab is reloaded or a second tab opens during a run (`kernel_info_request`,
 * `history_request` each end with `idle`). ipykernel avoids this by handling
 * one request at a time.
 *
 * The fix (our code, not a tslab fork): wrap tslab's `ZmqServer` so it counts
 * the execute requests it has accepted and not finished, and whenever it has
 * just said `idle` while some are still pending, says `busy` again. JupyterLab
 * updates its status from every status message, so it shows Busy until the
 * last queued cell is done. `bin/tslab-kernel.js` (the kernel the project
 * registers) applies it before the kernel starts; importing mnist-lab applies
 * it too, for kernels started some other way (from then on).
 *
 * Second fix, same place: the cell that hung at `[*]` on a busy machine.
 * tslab sends every message with zeromq.js's `sock.send()` without waiting
 * for the previous one, but zeromq.js 6 allows one send in progress per
 * socket: once the reader (the Jupyter server) falls behind, e.g. while all
 * cores train and a cell streams its live progress display, a send goes
 * asynchronous and every send after it throws "Socket is busy writing". The
 * throw lands in the learner's code (the progress update), so the cell
 * fails, and the error report and the final `idle` status are lost the same
 * way: the front end shows `[*]` with frozen output for ever. Each socket's
 * sends are therefore queued, one after the other, in order; and its send
 * high-water mark is lifted (0) so a slow reader makes the queue wait
 * instead of ZeroMQ dropping messages. test/kernel-iopub.test.ts reproduces it.
 */
/** The parts of a zeromq.js socket the send queue touches. */
interface ZmqSocket {
  sendHighWaterMark?: number;
  send(frames: unknown): Promise<void>;
}

/** tslab's (unexported) `ZmqMessage` class: `signAndSend` builds the signed frames and sends them on `sock`. */
interface ZmqMessagePrototype {
  signAndSend(this: unknown, key: string, sock: ZmqSocket): void;
  mnistLabQueuedSends?: true;
}

/** Each socket's last send: the next one waits for it (zeromq.js allows one at a time). */
const lastSend = new WeakMap<ZmqSocket, Promise<void>>();

/**
 * Wrap tslab's `ZmqMessage.prototype.signAndSend` (reached through an
 * instance: the class is not exported): tslab still builds and signs the
 * frames, into a stand-in socket, and they go out through the real socket's
 * queue: same order, never two sends at once.
 */
function queueMessageSends(message: unknown): void {
  const prototype = (message === null || typeof message !== 'object' ? null : Object.getPrototypeOf(message)) as ZmqMessagePrototype | null;
  if (prototype === null || prototype.mnistLabQueuedSends || typeof prototype.signAndSend !== 'function') return;
  const signAndSend = prototype.signAndSend;
  prototype.signAndSend = function (this: unknown, key: string, sock: ZmqSocket): void {
    let frames: unknown;
    signAndSend.call(this, key, { send: (built: unknown) => ((frames = built), Promise.resolve()) });
    const next = (lastSend.get(sock) ?? Promise.resolve()).then(() => sock.send(frames)).catch((error: Error) => {
      // tslab does not look at the result: say it here rather than as an unhandled rejection that ends the kernel.
      process.stderr.write(`mnist-lab kernel: a message could not be sent: ${error.message}\n`);
    });
    lastSend.set(sock, next);
  };
  prototype.mnistLabQueuedSends = true;
}

/** ZeroMQ's value for "no high-water mark": queue rather than drop. */
const NO_SEND_LIMIT = 0;

/** The parts of tslab's `ZmqServer` (tslab/dist/jupyter.js) this patch touches. */
interface ZmqServerPrototype {
  publishStatus(this: unknown, status: string, parent: unknown): void;
  bindSocket(this: unknown, sock: ZmqSocket, port: number): Promise<void>;
  handleExecute(this: unknown, sock: unknown, message: unknown): Promise<void>;
  mnistLabStatusFix?: true;
}

interface TslabJupyterModule {
  ZmqServer?: { prototype: ZmqServerPrototype };
}

/** Told when tslab accepts an execute request (`start`) and when it has answered it (`end`); see kernel-supervisor.ts. */
let executeListener: ((event: 'start' | 'end', message: unknown) => void) | undefined;

/**
 * Patch tslab's Jupyter server class (the exports of `tslab/dist/jupyter.js`).
 * Idempotent; returns false when the module does not look like tslab's.
 * `onExecute` (the kernel launcher's supervised child passes one) hears of
 * every execute request tslab accepts and answers.
 */
export function fixTslabKernelStatus(jupyterModule: unknown, onExecute?: (event: 'start' | 'end', message: unknown) => void): boolean {
  const prototype = (jupyterModule as TslabJupyterModule | undefined)?.ZmqServer?.prototype;
  if (!prototype || typeof prototype.publishStatus !== 'function' || typeof prototype.handleExecute !== 'function' || typeof prototype.bindSocket !== 'function') return false;
  if (onExecute) executeListener = onExecute;
  if (prototype.mnistLabStatusFix) return true;
  const publishStatus = prototype.publishStatus;
  const handleExecute = prototype.handleExecute;
  // Execute requests accepted and not yet answered, oldest first (one kernel per process).
  const pending: unknown[] = [];
  prototype.handleExecute = async function (this: unknown, sock: unknown, message: unknown): Promise<void> {
    pending.push(message);
    executeListener?.('start', message);
    try {
      await handleExecute.call(this, sock, message);
    } finally {
      pending.splice(pending.indexOf(message), 1);
      executeListener?.('end', message);
    }
  };
  prototype.publishStatus = function (this: unknown, status: string, parent: unknown): void {
    // Every request starts with a `busy` status: the first one swaps in the queued sends before anything else is sent.
    queueMessageSends(parent);
    publishStatus.call(this, status, parent);
    // Still working on queued or running cells: say so again, on behalf of the oldest.
    if (status === 'idle' && pending.length > 0) publishStatus.call(this, 'busy', pending[0]);
  };
  const bindSocket = prototype.bindSocket;
  prototype.bindSocket = function (this: unknown, sock: ZmqSocket, port: number): Promise<void> {
    // Before binding: ZeroMQ applies the mark to connections made afterwards.
    sock.sendHighWaterMark = NO_SEND_LIMIT;
    return bindSocket.call(this, sock, port);
  };
  prototype.mnistLabStatusFix = true;
  return true;
}

/** Apply {@link fixTslabKernelStatus} to the tslab server this process runs, if it runs one. */
export function fixRunningTslabKernel(): boolean {
  for (const [file, cached] of Object.entries(require.cache)) {
    if (/tslab[\\/]dist[\\/]jupyter\.js$/.test(file) && fixTslabKernelStatus(cached?.exports)) return true;
  }
  return false;
}
