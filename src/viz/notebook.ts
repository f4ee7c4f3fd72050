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
import { isChart, type Figure } from './figure';
import { toPlotly } from './plotly';
import { renderSvg } from './svg';

/** MIME type plotly's JupyterLab extension renders. */
export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

/** One display_data payload: MIME type -> content. */
export type MimeBundle = Record<string, unknown>;

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

interface TslabJupyter {
  lastWriteDisplayData: ((content: { data: MimeBundle; metadata: Record<string, unknown>; transient: Record<string, unknown> }, update: boolean) => void) | null;
}

/** The running tslab cell's display channel (tslab's `display` can send only one MIME type at a time). */
function tslabDisplay(): NotebookDisplay {
  for (const [file, cached] of Object.entries(require.cache)) {
    if (!/tslab[\\/]dist[\\/]jupyter\.js$/.test(file)) continue;
    const jupyter = cached?.exports as TslabJupyter | undefined;
    const write = jupyter?.lastWriteDisplayData;
    if (write) return { bundle: (data) => write({ data, metadata: {}, transient: {} }, false) };
  }
  // Outside a kernel (a script, a test): say where the figure would have gone.
  return { bundle: (data) => console.log(String(data['text/plain'] ?? '(figure)')) };
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
  (settings.display ?? tslabDisplay()).bundle(notebookBundle(figure, settings));
}
