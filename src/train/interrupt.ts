/**
 * Kernel > Interrupt during training, inside a notebook.
 *
 * tslab answers SIGINT by failing the cell ("Interrupted asynchronously") but
 * cannot stop the cell's promise: training went on in the background,
 * writing progress into whatever cell ran next, and the learner had no word
 * of what was stopped. While `fit` runs in a tslab kernel it listens for
 * SIGINT itself: it says in the cell what was interrupted and where, and
 * stops at the next batch with a {@link TrainingInterruptedError}.
 */
import { MnistLabError } from '../errors';
import { isInsideTslab } from '../util/tslab';

/** Training stopped by a kernel interrupt (or SIGINT in a script that asked for it). */
export class TrainingInterruptedError extends MnistLabError {
  constructor(
    readonly epoch: number,
    readonly epochs: number,
    readonly step: number,
    readonly steps: number,
  ) {
    super(
      `training interrupted in epoch ${epoch + 1}/${epochs} at batch ${step}/${steps}. ` +
        'Epochs finished before it are kept in the run folder (runExperiment checkpoints every epoch): run the cell again to resume from there.',
    );
    this.name = 'TrainingInterruptedError';
  }
}

export interface InterruptWatch {
  /** Throws {@link TrainingInterruptedError} once an interrupt has arrived. */
  check(epoch: number, epochs: number, step: number, steps: number): void;
  dispose(): void;
}

/** Listen for SIGINT while training, inside a tslab kernel only (elsewhere Ctrl-C keeps its usual meaning). */
export function watchKernelInterrupt(enabled: boolean = isInsideTslab()): InterruptWatch {
  if (!enabled) return { check: () => undefined, dispose: () => undefined };
  let interrupted = false;
  let where = { epoch: 0, epochs: 0, step: 0, steps: 0 };
  const onSigint = () => {
    interrupted = true;
    // Written now, while the interrupted cell still owns stderr: tslab fails the cell right after.
    process.stderr.write(`TrainingInterruptedError: ${new TrainingInterruptedError(where.epoch, where.epochs, where.step, where.steps).message}\n`);
  };
  process.on('SIGINT', onSigint);
  return {
    check: (epoch, epochs, step, steps) => {
      where = { epoch, epochs, step, steps };
      if (interrupted) throw new TrainingInterruptedError(epoch, epochs, step, steps);
    },
    dispose: () => {
      process.off('SIGINT', onSigint);
    },
  };
}
