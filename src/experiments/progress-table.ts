/**
 * An ablation grid's progress as a table that fills in run by run: inside a
 * notebook cell it is one display block rewritten in place (done / running /
 * to do, epoch, time, each finished run's test accuracy, elapsed and ETA),
 * so a learner sees a long cell working instead of one line and 16 minutes
 * of nothing.
 */
import { tslabKernel } from '../util/tslab';
import type { GridRun } from './grid';
import type { ResultRow } from './results';
import { formatDuration } from '../util/format';
import type { RunnerProgress } from './runner';

export type GridRunState = 'to do' | 'running' | 'done' | 'failed' | 'done earlier';

export interface GridTableRow {
  key: string;
  label: string;
  seed: number;
  state: GridRunState;
  /** Epochs finished / in all while running or done (counted from 1). */
  epochs: { done: number; of: number };
  /** Wall seconds of the run (running: so far). */
  seconds: number | null;
  testAcc: number | null;
  message: string | null;
}

/** Where the table goes: tslab's in-place display, or any HTML sink a test passes. */
export interface HtmlSink {
  html(html: string): void;
}

const escapeHtml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const STATE_COLOURS: Record<GridRunState, string> = { 'to do': '#888', running: '#1f77b4', done: '#2ca02c', failed: '#d62728', 'done earlier': '#2ca02c' };

/** State of every run of a grid, updated from the runner's progress events. */
export class GridProgressTable {
  readonly rows: GridTableRow[];
  private readonly byKey = new Map<string, GridTableRow>();
  private readonly startedAt = new Map<string, number>();
  private last: RunnerProgress | undefined;
  private readonly began = Date.now();

  constructor(runs: readonly GridRun[], finished: readonly ResultRow[] = []) {
    const earlier = new Map(finished.map((row) => [row.key, row]));
    this.rows = runs.map((run) => {
      const row = earlier.get(run.key);
      const epochs = run.experiment.train.epochs;
      return {
        key: run.key,
        label: run.label,
        seed: run.seed,
        state: row ? 'done earlier' : 'to do',
        epochs: { done: row ? row.result.history.epoch.length : 0, of: epochs },
        seconds: row ? row.result.totalSeconds : null,
        testAcc: row ? row.result.test.acc : null,
        message: null,
      };
    });
    for (const row of this.rows) this.byKey.set(row.key, row);
  }

  /** Feed one runner event (pass as `onProgress`). */
  update(progress: RunnerProgress): void {
    this.last = progress;
    const row = progress.run ? this.byKey.get(progress.run.key) : undefined;
    if (!row) return;
    if (progress.event === 'run' || progress.event === 'epoch') {
      if (!this.startedAt.has(row.key)) this.startedAt.set(row.key, Date.now());
      row.state = 'running';
      if (progress.epochs) row.epochs = { ...progress.epochs };
    }
    if (progress.event === 'done' && progress.result) {
      row.state = 'done';
      row.epochs = { done: progress.result.history.epoch.length, of: row.epochs.of };
      row.seconds = progress.result.totalSeconds;
      row.testAcc = progress.result.test.acc;
    }
    if (progress.event === 'failed') {
      row.state = 'failed';
      row.message = progress.message ?? 'failed';
    }
  }

  private liveSeconds(row: GridTableRow): number | null {
    if (row.state !== 'running') return row.seconds;
    const start = this.startedAt.get(row.key);
    return start === undefined ? null : (Date.now() - start) / 1000;
  }

  /** "27 runs: 9 done, 1 running, 17 to do; elapsed 3m 12s, ETA 12m 40s". */
  headline(): string {
    const count = (...states: GridRunState[]) => this.rows.filter((row) => states.includes(row.state)).length;
    const done = count('done', 'done earlier');
    const parts = [`${done} done${count('done earlier') > 0 ? ` (${count('done earlier')} from an earlier run)` : ''}`, `${count('running')} running`, `${count('to do')} to do`];
    if (count('failed') > 0) parts.push(`${count('failed')} failed`);
    const elapsed = this.last?.elapsedSeconds ?? (Date.now() - this.began) / 1000;
    const eta = count('to do', 'running') === 0 ? 'finished' : this.last ? `ETA ${formatDuration(this.last.etaSeconds)}` : 'ETA …';
    return `${this.rows.length} runs: ${parts.join(', ')}; elapsed ${formatDuration(elapsed)}, ${eta}`;
  }

  /** The table as HTML (one `<div>` to rewrite in place). */
  html(): string {
    const body = this.rows
      .map((row) => {
        const seconds = this.liveSeconds(row);
        const epochs = row.state === 'to do' ? '' : `${row.epochs.done}/${row.epochs.of}`;
        const accuracy = row.testAcc === null ? (row.message ? escapeHtml(row.message) : '') : `${(row.testAcc * 100).toFixed(2)}%`;
        return (
          `<tr data-state="${row.state}"><td style="text-align:left">${escapeHtml(row.label)}</td><td>${row.seed}</td>` +
          `<td style="color:${STATE_COLOURS[row.state]};text-align:left">${row.state}</td><td>${epochs}</td>` +
          `<td>${seconds === null ? '' : formatDuration(seconds)}</td><td style="text-align:left">${accuracy}</td></tr>`
        );
      })
      .join('');
    return (
      `<div class="mnist-lab-grid-progress"><p><b>${escapeHtml(this.headline())}</b></p>` +
      `<table><thead><tr><th>configuration</th><th>seed</th><th>state</th><th>epoch</th><th>time</th><th>test acc</th></tr></thead>` +
      `<tbody>${body}</tbody></table></div>`
    );
  }
}

/** How often the table is redrawn while nothing else happens (running time keeps moving). */
export const GRID_TABLE_REFRESH_MS = 1000;

/**
 * A live grid table in the current notebook cell, or undefined outside a
 * notebook. Call `listener` on every runner event and `close()` at the end.
 */
export function notebookGridProgress(
  runs: readonly GridRun[],
  finished: readonly ResultRow[],
  sink: HtmlSink | undefined = tslabKernel()?.newDisplay(),
): { table: GridProgressTable; listener: (progress: RunnerProgress) => void; close(): void } | undefined {
  if (!sink) return undefined;
  const table = new GridProgressTable(runs, finished);
  const draw = () => sink.html(table.html());
  const timer = setInterval(draw, GRID_TABLE_REFRESH_MS);
  timer.unref();
  draw();
  return {
    table,
    listener: (progress) => {
      table.update(progress);
      draw();
    },
    close: () => {
      clearInterval(timer);
      draw();
    },
  };
}
