/**
 * Keras's progress output: `Epoch 3/10` then
 * `375/375 [==============================] - 3s 8ms/step - loss: 0.0912 - acc: 0.9721 - val_loss: ... - val_acc: ...`.
 * In a terminal the line is redrawn in place; in a log file (no TTY) it is
 * written once per epoch; inside a tslab notebook cell one display block is
 * updated in place instead of printing hundreds of lines.
 */
import { escapeHtml, formatDuration, formatMetric } from '../util/format';
import { tslabKernel, type TslabPublic } from '../util/tslab';

/** The numbers of one epoch, Keras `logs` style. */
export interface EpochLogs {
  loss: number;
  acc: number;
  val_loss?: number;
  val_acc?: number;
  /** Wall-clock seconds of the epoch (training + validation). */
  seconds: number;
}

/** Where progress goes: a terminal/stream, or a notebook display block. */
export interface ProgressSink {
  /** Replace the current (unfinished) line. */
  update(line: string): void;
  /** Finish the current line with this text and start a new one. */
  commit(line: string): void;
}

/** One `<pre>` block in the cell's output, rewritten on every update. */
export function notebookSink(kernel: TslabPublic): ProgressSink {
  const display = kernel.newDisplay();
  const done: string[] = [];
  const render = (current: string): void => display.html(`<pre>${escapeHtml([...done, current].join('\n'))}</pre>`);
  return {
    update: (line) => render(line),
    commit: (line) => {
      done.push(line);
      render('');
    },
  };
}

/** A stream sink: redraws with `\r` on a TTY, otherwise only committed lines are written. */
export function streamSink(stream: NodeJS.WriteStream = process.stdout): ProgressSink {
  const interactive = stream.isTTY === true;
  let width = 0;
  return {
    update: (line) => {
      if (!interactive) return;
      stream.write(`\r${line.padEnd(width)}`);
      width = line.length;
    },
    commit: (line) => {
      stream.write(interactive ? `\r${line.padEnd(width)}\n` : `${line}\n`);
      width = 0;
    },
  };
}

/** The sink for this environment: notebook display inside tslab, stdout elsewhere. */
export function defaultSink(): ProgressSink {
  const kernel = tslabKernel();
  return kernel !== undefined ? notebookSink(kernel) : streamSink();
}

const BAR_WIDTH = 30;

function formatPerStep(seconds: number): string {
  if (seconds >= 1) return `${Math.round(seconds)}s/step`;
  if (seconds >= 1e-3) return `${Math.round(seconds * 1e3)}ms/step`;
  return `${Math.round(seconds * 1e6)}us/step`;
}

function formatLogs(logs: Partial<EpochLogs>): string {
  return (['loss', 'acc', 'val_loss', 'val_acc'] as const)
    .filter((key) => logs[key] !== undefined)
    .map((key) => ` - ${key}: ${formatMetric(logs[key] as number)}`)
    .join('');
}

/** The bar: `[=====>........]`, full `[======]` at the end. */
export function progressBar(step: number, steps: number): string {
  const filled = steps > 0 ? Math.floor((BAR_WIDTH * step) / steps) : BAR_WIDTH;
  if (filled >= BAR_WIDTH) return `[${'='.repeat(BAR_WIDTH)}]`;
  return `[${'='.repeat(Math.max(filled - 1, 0))}${filled > 0 ? '>' : ''}${'.'.repeat(BAR_WIDTH - filled)}]`;
}

/**
 * Formats and throttles the progress output of one `fit` call. Lines are
 * rebuilt at most every `refreshSeconds`, because each rebuild reads the
 * running loss back from the backend.
 */
export class ProgressReporter {
  private stepWidth = 1;
  private lastRefresh = 0;

  constructor(
    private readonly verbose: 0 | 1 | 2,
    private readonly sink: ProgressSink = defaultSink(),
    private readonly refreshSeconds = 0.25,
  ) {}

  epochBegin(epoch: number, epochs: number, steps: number): void {
    if (this.verbose === 0) return;
    this.stepWidth = String(steps).length;
    this.lastRefresh = 0;
    this.sink.commit(`Epoch ${epoch + 1}/${epochs}`);
  }

  /** Whether `batch` would redraw now; the caller reads metrics only then. */
  wantsUpdate(nowSeconds: number): boolean {
    return this.verbose === 1 && nowSeconds - this.lastRefresh >= this.refreshSeconds;
  }

  batch(step: number, steps: number, elapsedSeconds: number, logs: Partial<EpochLogs>, nowSeconds: number): void {
    if (this.verbose !== 1) return;
    this.lastRefresh = nowSeconds;
    const remaining = step > 0 ? (elapsedSeconds / step) * (steps - step) : 0;
    this.sink.update(`${String(step).padStart(this.stepWidth)}/${steps} ${progressBar(step, steps)} - ETA: ${formatDuration(remaining)}${formatLogs(logs)}`);
  }

  epochEnd(steps: number, logs: EpochLogs): void {
    if (this.verbose === 0) return;
    const timing = `${formatDuration(logs.seconds)} ${formatPerStep(logs.seconds / Math.max(steps, 1))}`;
    const line =
      this.verbose === 1
        ? `${steps}/${steps} ${progressBar(steps, steps)} - ${timing}${formatLogs(logs)}`
        : `${steps}/${steps} - ${timing}${formatLogs(logs)}`;
    this.sink.commit(line);
  }
}
