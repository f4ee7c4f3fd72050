/**
 * A progress line for slow work outside training (decoding a folder of
 * images): in a notebook one line in the cell, rewritten in place; on a
 * terminal a cli-progress bar on stderr; elsewhere (logs, tests) nothing
 * but the optional callback. Work that ends quickly shows nothing.
 */
import { SingleBar, Presets } from 'cli-progress';
import { formatDuration } from './format';
import { tslabKernel } from './tslab';

/**
 * Reports work done; `done()` ends the line (call it also on errors).
 * @knipignore used by data/image-folder.ts, whose imports knip 6 does not trace (see README, Known rough edges)
 */
export interface ProgressLine {
  tick(count?: number): void;
  done(): void;
}

/** Work shorter than this shows no line at all. */
const SHOW_AFTER_MS = 1500;
/** The notebook line is rewritten at most this often. */
const REDRAW_MS = 250;

/**
 * A progress line for `total` units of work named `label` (see the file comment for where it shows).
 * @knipignore used by data/image-folder.ts, whose imports knip 6 does not trace (see README, Known rough edges)
 */
export function progressLine(label: string, total: number, options: { quiet?: boolean; onProgress?: (done: number, total: number) => void } = {}): ProgressLine {
  const started = Date.now();
  let count = 0;
  let drawn = 0;
  let cell: ReturnType<NonNullable<ReturnType<typeof tslabKernel>>['newDisplay']> | undefined;
  let bar: SingleBar | undefined;
  let visible = false;
  const text = () => {
    const seconds = (Date.now() - started) / 1000;
    const left = count > 0 ? (seconds * (total - count)) / count : NaN;
    return `${label}: ${count} of ${total} (${Math.floor((100 * count) / Math.max(total, 1))}%), ${formatDuration(seconds)}${count < total && Number.isFinite(left) ? `, about ${formatDuration(left)} left` : ''}`;
  };
  const draw = (final: boolean) => {
    if (options.quiet === true) return;
    if (!visible) {
      if (!final && Date.now() - started < SHOW_AFTER_MS) return;
      if (final && cell === undefined && bar === undefined) return;
      visible = true;
      const kernel = tslabKernel();
      if (kernel !== undefined) cell = kernel.newDisplay();
      else if (process.stderr.isTTY === true) {
        bar = new SingleBar({ format: `${label} [{bar}] {value}/{total} {eta_formatted} left`, stream: process.stderr }, Presets.shades_classic);
        bar.start(total, count);
      }
    }
    if (cell !== undefined && (final || Date.now() - drawn >= REDRAW_MS)) {
      drawn = Date.now();
      cell.html(`<pre>${text().replace(/&/g, '&amp;').replace(/</g, '&lt;')}</pre>`);
    }
    bar?.update(count);
  };
  return {
    tick(step = 1) {
      count += step;
      options.onProgress?.(count, total);
      draw(false);
    },
    done() {
      draw(true);
      bar?.stop();
      bar = undefined;
    },
  };
}
