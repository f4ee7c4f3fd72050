/**
 * A progress line for slow work outside training (decoding a folder of
 * images): in a notebook one line in the cell, rewritten in place; on a
 * terminal a cli-progress bar on stderr; elsewhere (logs, tests) nothing
 * but the optional callback. Work that ends quickly shows nothing.
 */
import { SingleBar, Presets } from 'cli-progress';
import { escapeHtml, formatDuration } from './format';
import { tslabKernel, type TslabDisplay } from './tslab';

/**
 * Reports work done; `done()` ends the line (call it also on errors).
 * @knipignore used by data/image-folder.ts, whose imports knip 6 does not trace (see README, Known rough edges)
 */
export interface ProgressLine {
  tick(): void;
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
  // Opened once the work has run SHOW_AFTER_MS: a cell display in a notebook, else a bar on a terminal.
  let opened = false;
  let cell: TslabDisplay | undefined;
  let bar: SingleBar | undefined;
  const open = () => {
    opened = true;
    cell = tslabKernel()?.newDisplay();
    if (cell === undefined && process.stderr.isTTY === true) {
      bar = new SingleBar({ format: `${label} [{bar}] {value}/{total} {eta_formatted} left`, stream: process.stderr }, Presets.shades_classic);
      bar.start(total, count);
    }
  };
  const redraw = (force: boolean) => {
    bar?.update(count);
    if (cell === undefined || (!force && Date.now() - drawn < REDRAW_MS)) return;
    drawn = Date.now();
    const seconds = (drawn - started) / 1000;
    const left = count < total && count > 0 ? `, about ${formatDuration((seconds * (total - count)) / count)} left` : '';
    cell.html(`<pre>${escapeHtml(`${label}: ${count} of ${total} (${Math.floor((100 * count) / Math.max(total, 1))}%), ${formatDuration(seconds)}${left}`)}</pre>`);
  };
  return {
    tick() {
      count += 1;
      options.onProgress?.(count, total);
      if (options.quiet === true) return;
      if (!opened && Date.now() - started >= SHOW_AFTER_MS) open();
      if (opened) redraw(false);
    },
    done() {
      if (!opened) return;
      redraw(true);
      bar?.stop();
      bar = undefined;
    },
  };
}
