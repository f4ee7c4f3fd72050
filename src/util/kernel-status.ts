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
 */

/** The parts of tslab's `ZmqServer` (tslab/dist/jupyter.js) this patch touches. */
interface ZmqServerPrototype {
  publishStatus(this: unknown, status: string, parent: unknown): void;
  handleExecute(this: unknown, sock: unknown, message: unknown): Promise<void>;
  mnistLabStatusFix?: true;
}

interface TslabJupyterModule {
  ZmqServer?: { prototype: ZmqServerPrototype };
}

/**
 * Patch tslab's Jupyter server class (the exports of `tslab/dist/jupyter.js`).
 * Idempotent; returns false when the module does not look like tslab's.
 */
export function fixTslabKernelStatus(jupyterModule: unknown): boolean {
  const prototype = (jupyterModule as TslabJupyterModule | undefined)?.ZmqServer?.prototype;
  if (!prototype || typeof prototype.publishStatus !== 'function' || typeof prototype.handleExecute !== 'function') return false;
  if (prototype.mnistLabStatusFix) return true;
  const publishStatus = prototype.publishStatus;
  const handleExecute = prototype.handleExecute;
  // Execute requests accepted and not yet answered, oldest first (one kernel per process).
  const pending: unknown[] = [];
  prototype.handleExecute = async function (this: unknown, sock: unknown, message: unknown): Promise<void> {
    pending.push(message);
    try {
      await handleExecute.call(this, sock, message);
    } finally {
      pending.splice(pending.indexOf(message), 1);
    }
  };
  prototype.publishStatus = function (this: unknown, status: string, parent: unknown): void {
    publishStatus.call(this, status, parent);
    // Still working on queued or running cells: say so again, on behalf of the oldest.
    if (status === 'idle' && pending.length > 0) publishStatus.call(this, 'busy', pending[0]);
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
