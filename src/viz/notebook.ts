/**
 * Notebook renderer (tslab). A chart goes out as one MIME bundle:
 *
 * - `application/vnd.plotly.v1+json`: the plotly spec, drawn by the `plotly`
 *   package's JupyterLab extension (installed into the project's .venv from
 *   requirements.txt). JupyterLab renders it from the data every time the
 *   output is shown, so a chart stays interactive after a page reload or when
 *   a notebook is reopened, with no script to have been sent earlier.
 * - `text/html`: the same figure as static SVG, for front ends without that
 *   renderer (and what `npm run export` turns into figure files).
 * - `text/plain`: the title, for consoles.
 *
 * Pixel grids and galleries are SVG in `text/html`.
 */
import { MnistLabError } from '../errors';
import { kernelDisplayData, type MimeBundle } from '../util/tslab';
import { isChart, type Figure } from './figure';
import { toPlotly } from './plotly';
import { renderSvg } from './svg';

/** MIME type plotly's JupyterLab extension renders. */
export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';
export type { MimeBundle };

/** Where `show` sends its output; tests pass their own. */
export interface NotebookDisplay {
  bundle(data: MimeBundle): void;
}

export interface ShowOptions {
  /** Draw charts interactively (plotly MIME type); false = static SVG only. */
  interactive: boolean;
  /** Where to send the output; default the running tslab cell. */
  display?: NotebookDisplay;
}

export const DEFAULT_SHOW: ShowOptions = { interactive: true };

function kernelDisplay(): NotebookDisplay {
  const send = kernelDisplayData();
  if (send === undefined) {
    throw new MnistLabError('show() draws into a notebook cell and this is not a tslab kernel. Outside a notebook, write the figure to a file with saveFigure(figure, "chart.html").');
  }
  return { bundle: send };
}

/** The MIME bundle `show` sends for a figure. */
export function notebookBundle(figure: Figure, options: Partial<ShowOptions> = {}): MimeBundle {
  const settings = { ...DEFAULT_SHOW, ...options };
  const html = `<div class="mnist-lab-figure" data-figure="${figure.kind}">${renderSvg(figure)}</div>`;
  const bundle: MimeBundle = { 'text/html': html, 'text/plain': `${figure.kind}: ${figure.title}` };
  if (settings.interactive && isChart(figure)) bundle[PLOTLY_MIME] = toPlotly(figure);
  return bundle;
}

/** The static HTML of a figure as a notebook shows it without the plotly renderer. */
export function notebookHtml(figure: Figure): string {
  return String(notebookBundle(figure, { interactive: false })['text/html']);
}

/** Show a figure in the notebook cell's output: `show(trainingCurves(history))`. */
export function show(figure: Figure, options: Partial<ShowOptions> = {}): void {
  const settings = { ...DEFAULT_SHOW, ...options };
  (settings.display ?? kernelDisplay()).bundle(notebookBundle(figure, settings));
}
