/**
 * Notebook renderer (tslab). Output is `text/html`: nbconvert keeps it
 * (it drops plotly's own MIME type), and it carries plotly.js inline, once
 * per kernel process, so charts work with no internet and survive export to
 * HTML. Where scripts do not run, the static SVG inside each output shows.
 */
import { MnistLabError } from '../errors';
import { tslabKernel } from '../util/tslab';
import { isChart, type Figure } from './figure';
import { figureFragment } from './html';

/** The part of tslab's `display` we use; tests pass their own. */
export interface HtmlDisplay {
  html(html: string): void;
}

export interface ShowOptions {
  /** Draw charts with plotly.js (false = static SVG). */
  interactive: boolean;
  /** Where to send the output; default tslab's `display`. */
  display?: HtmlDisplay;
}

export const DEFAULT_SHOW: ShowOptions = { interactive: true };

// Kernel-wide: one tslab kernel is one process, so this is "once per notebook session".
let plotlySent = false;

/** Whether plotly.js has been sent to the notebook by this kernel. */
export function notebookHasPlotly(): boolean {
  return plotlySent;
}

/** Send plotly.js again with the next chart (after clearing outputs or reloading an untrusted page). */
export function resetNotebookPlotly(): void {
  plotlySent = false;
}

function kernelDisplay(): HtmlDisplay {
  const kernel = tslabKernel();
  if (kernel === undefined) {
    throw new MnistLabError('show() draws into a notebook cell and this is not a tslab kernel. Outside a notebook, write the figure to a file with saveFigure(figure, "chart.html").');
  }
  return kernel.display;
}

/** The HTML `show` would send (plotly.js included when this kernel has not sent it yet). */
export function notebookHtml(figure: Figure, options: Partial<ShowOptions> = {}): string {
  const settings = { ...DEFAULT_SHOW, ...options };
  const needsPlotly = settings.interactive && isChart(figure) && !plotlySent;
  return figureFragment(figure, { interactive: settings.interactive, includePlotly: needsPlotly });
}

/** Show a figure in the notebook cell's output: `show(trainingCurves(history))`. */
export function show(figure: Figure, options: Partial<ShowOptions> = {}): void {
  const settings = { ...DEFAULT_SHOW, ...options };
  const html = notebookHtml(figure, settings);
  (settings.display ?? kernelDisplay()).html(html);
  if (settings.interactive && isChart(figure)) plotlySent = true;
}
