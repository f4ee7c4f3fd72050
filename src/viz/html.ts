/**
 * HTML renderer: a fragment for notebooks and a standalone page for files.
 * Charts are drawn by plotly.js where scripts run, over a static SVG that
 * stays visible where they do not (an untrusted notebook, an HTML export
 * viewed with scripts off, a mail client).
 */
import { randomBytes } from 'node:crypto';
import { isChart, type Figure } from './figure';
import { plotlyScript, scriptJson, toPlotly } from './plotly';
import { escapeHtml } from '../util/format';
import { renderSvg } from './svg';

export interface HtmlOptions {
  /** Draw charts with plotly.js (interactive); false keeps only the static SVG. */
  interactive: boolean;
  /** Inline plotly.js in this piece of HTML (a page needs it once; a notebook once per kernel). */
  includePlotly: boolean;
}

export const DEFAULT_HTML: HtmlOptions = { interactive: true, includePlotly: true };

/** The `<script>` that defines `window.Plotly`, from node_modules. */
export function plotlyScriptTag(): string {
  return `<script type="text/javascript">/* plotly.js from node_modules, inlined so charts work offline */\n${plotlyScript()}\n</script>`;
}

/**
 * A figure as an HTML fragment. Charts draw into a div that first holds the
 * SVG; the script swaps it for plotly once `window.Plotly` exists, and gives
 * up quietly (leaving the SVG) when plotly never arrives.
 */
export function figureFragment(figure: Figure, options: Partial<HtmlOptions> = {}): string {
  const settings = { ...DEFAULT_HTML, ...options };
  const svg = renderSvg(figure);
  if (!isChart(figure) || !settings.interactive) {
    return `<div class="mnist-lab-figure" data-figure="${figure.kind}">${svg}</div>`;
  }
  const id = `mnist-lab-${randomBytes(6).toString('hex')}`;
  const spec = toPlotly(figure);
  const draw =
    `(function(){var spec=${scriptJson(spec)};var tries=0;` +
    `function draw(){var div=document.getElementById(${scriptJson(id)});if(!div)return;` +
    `if(window.Plotly&&window.Plotly.newPlot){div.innerHTML='';div.setAttribute('data-rendered','plotly');window.Plotly.newPlot(div,spec.data,spec.layout,spec.config);}` +
    `else if(++tries<100){setTimeout(draw,50);}}draw();})();`;
  return (
    (settings.includePlotly ? plotlyScriptTag() : '') +
    `<div class="mnist-lab-figure" data-figure="${figure.kind}" id="${id}">${svg}</div>` +
    `<script type="text/javascript">${draw}</script>`
  );
}

/** A standalone, offline HTML page with the figure (plotly.js embedded when the figure is a chart). */
export function renderHtml(figure: Figure, options: Partial<HtmlOptions> = {}): string {
  const settings = { ...DEFAULT_HTML, ...options };
  return (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">' +
    `<title>${escapeHtml(figure.title)}</title>` +
    '<meta name="generator" content="mnist-lab">' +
    '<style>body{margin:16px;font-family:Helvetica,Arial,sans-serif;background:#fff}.mnist-lab-figure{max-width:100%}</style>' +
    '</head><body>\n' +
    figureFragment(figure, { ...settings, includePlotly: settings.includePlotly && settings.interactive && isChart(figure) }) +
    '\n</body></html>\n'
  );
}
