/**
 * Chart figures as plotly.js specs (`data`, `layout`), and plotly.js itself
 * read from node_modules so charts never depend on a CDN: the lab has to
 * work in a classroom without internet.
 */
import { readFileSync } from 'node:fs';
import { MnistLabError } from '../errors';
import { naturalSize, type BarChartFigure, type HeatmapFigure, type LineChartFigure } from './figure';

/** A plotly trace or layout: plain JSON handed to `Plotly.newPlot`. */
export type PlotlyObject = Record<string, unknown>;

/** What `Plotly.newPlot(div, data, layout, config)` takes. */
export interface PlotlySpec {
  data: PlotlyObject[];
  layout: PlotlyObject;
  config: PlotlyObject;
}

const CONFIG: PlotlyObject = { responsive: true, displaylogo: false };

function axisName(prefix: 'x' | 'y', index: number): string {
  return index === 0 ? prefix : `${prefix}${index + 1}`;
}

function lineChartSpec(figure: LineChartFigure): PlotlySpec {
  const data: PlotlyObject[] = [];
  const layout: PlotlyObject = { title: { text: figure.title }, hovermode: 'x unified', legend: { orientation: 'h', y: -0.2 }, margin: { t: 80 } };
  const count = Math.max(1, figure.panels.length);
  const gutter = 0.08;
  const width = (1 - gutter * (count - 1)) / count;
  const annotations: PlotlyObject[] = [];
  figure.panels.forEach((panel, index) => {
    const xaxis = axisName('x', index);
    const yaxis = axisName('y', index);
    const start = index * (width + gutter);
    layout[`xaxis${index === 0 ? '' : index + 1}`] = { domain: [start, start + width], title: { text: figure.xLabel }, anchor: yaxis, dtick: 1, tickmode: 'auto' };
    layout[`yaxis${index === 0 ? '' : index + 1}`] = { title: { text: panel.yLabel }, anchor: xaxis };
    annotations.push({ text: `<b>${panel.title}</b>`, xref: 'paper', yref: 'paper', x: start + width / 2, y: 1.06, showarrow: false, xanchor: 'center' });
    for (const gap of panel.gaps) {
      data.push({ type: 'scatter', x: gap.x, y: gap.lower, xaxis, yaxis, mode: 'lines', line: { width: 0 }, showlegend: false, hoverinfo: 'skip' });
      data.push({ type: 'scatter', x: gap.x, y: gap.upper, xaxis, yaxis, mode: 'lines', line: { width: 0 }, fill: 'tonexty', fillcolor: hexWithAlpha(gap.color, 0.15), name: gap.label, showlegend: index === 0, hoverinfo: 'skip' });
    }
    for (const series of panel.series) {
      data.push({
        type: 'scatter',
        mode: series.x.length === 1 ? 'lines+markers' : 'lines',
        x: series.x,
        y: series.y,
        xaxis,
        yaxis,
        name: series.name,
        line: { color: series.color, dash: series.dash === 'dash' ? 'dash' : 'solid', width: 2 },
      });
    }
    for (const marker of panel.markers) {
      data.push({
        type: 'scatter',
        mode: 'markers',
        x: [marker.x],
        y: [marker.y],
        xaxis,
        yaxis,
        name: marker.label,
        showlegend: index === 0,
        marker: { symbol: 'circle-open', size: 14, color: marker.color, line: { width: 3 } },
      });
    }
  });
  layout.annotations = annotations;
  return { data, layout, config: CONFIG };
}

function heatmapSpec(figure: HeatmapFigure): PlotlySpec {
  const shares = figure.values.map((row) => {
    const total = row.reduce((sum, value) => sum + value, 0) || 1;
    return row.map((value) => Math.sqrt(value / total));
  });
  const data: PlotlyObject[] = [
    {
      type: 'heatmap',
      z: shares,
      x: figure.columnLabels,
      y: figure.rowLabels,
      text: figure.values.map((row) => row.map(String)),
      texttemplate: '%{text}',
      customdata: figure.values,
      hovertemplate: `${figure.rowTitle} %{y}, ${figure.columnTitle} %{x}: %{customdata}<extra></extra>`,
      // Same white-to-blue ramp as the SVG, on the share of the row, so both renderers agree.
      colorscale: [
        [0, '#ffffff'],
        [1, '#1f77b4'],
      ],
      zmin: 0,
      zmax: 1,
      showscale: false,
    },
  ];
  const annotations: PlotlyObject[] = (figure.rowSummary?.values ?? []).map((value, row) => ({
    text: `${(100 * value).toFixed(1)}%`,
    x: 1.02,
    xref: 'paper',
    xanchor: 'left',
    y: figure.rowLabels[row],
    yref: 'y',
    showarrow: false,
  }));
  if (figure.rowSummary) annotations.push({ text: `<b>${figure.rowSummary.title}</b>`, x: 1.02, xref: 'paper', xanchor: 'left', y: 1.04, yref: 'paper', showarrow: false });
  return {
    data,
    layout: {
      title: { text: figure.title },
      xaxis: { title: { text: figure.columnTitle }, side: 'top', type: 'category' },
      yaxis: { title: { text: figure.rowTitle }, autorange: 'reversed', type: 'category' },
      margin: { r: 150, t: 110 },
      annotations,
    },
    config: CONFIG,
  };
}

function barChartSpec(figure: BarChartFigure): PlotlySpec {
  const categories = figure.bars.map((bar) => bar.category);
  const format = figure.format === 'percent' ? '.2%' : '.4f';
  // A spread only where there is one (a histogram or single runs have none).
  const spread = figure.bars.some((bar) => bar.error > 0);
  const data: PlotlyObject[] = [
    {
      type: 'bar',
      x: categories,
      y: figure.bars.map((bar) => bar.value),
      error_y: { type: 'data', array: figure.bars.map((bar) => bar.error), visible: spread },
      customdata: figure.bars.map((bar) => bar.count),
      hovertemplate: `%{x}: %{y:${format}}${spread ? ` ± %{error_y.array:${format}}` : ''} (%{customdata:,} ${figure.countLabel})<extra></extra>`,
      name: figure.valueLabel,
      marker: { color: '#1f77b4' },
    },
  ];
  const references = figure.bars.filter((bar) => bar.reference !== null);
  if (references.length > 0) {
    data.push({
      type: 'scatter',
      mode: 'markers',
      x: references.map((bar) => bar.category),
      y: references.map((bar) => bar.reference),
      name: figure.referenceLabel,
      marker: { symbol: 'diamond', size: 12, color: '#ff7f0e', line: { color: '#000000', width: 1 } },
      hovertemplate: `%{x}: ${figure.referenceLabel} %{y:${format}}<extra></extra>`,
    });
  }
  return {
    data,
    layout: {
      title: { text: figure.title },
      yaxis: { title: { text: figure.yLabel }, range: figure.yRange, tickformat: figure.format === 'percent' ? '.1%' : undefined },
      legend: { orientation: 'h', y: -0.25 },
    },
    config: CONFIG,
  };
}

function hexWithAlpha(color: string, alpha: number): string {
  const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
  return match ? `rgba(${parseInt(match[1], 16)}, ${parseInt(match[2], 16)}, ${parseInt(match[3], 16)}, ${alpha})` : color;
}

/** A chart figure as a plotly spec sized to the figure's natural size. */
export function toPlotly(figure: LineChartFigure | HeatmapFigure | BarChartFigure): PlotlySpec {
  const spec = figure.kind === 'lineChart' ? lineChartSpec(figure) : figure.kind === 'heatmap' ? heatmapSpec(figure) : barChartSpec(figure);
  const size = naturalSize(figure);
  spec.layout.height = figure.kind === 'lineChart' ? size.height + 60 : size.height;
  return spec;
}

let plotlySource: string | undefined;

/**
 * Path of the plotly.js bundle in node_modules. The cartesian bundle (a third
 * of the full one) draws every trace type `toPlotly` makes: scatter, bar and
 * heatmap; a new kind of chart with another trace type needs the full bundle.
 */
export function plotlyPath(): string {
  try {
    return require.resolve('plotly.js-cartesian-dist-min');
  } catch {
    throw new MnistLabError('plotly.js is not installed (package plotly.js-cartesian-dist-min). Run `npm install` in the mnist-lab folder.');
  }
}

/** plotly.js's source, read once, safe to inline in an HTML `<script>`. */
export function plotlyScript(): string {
  // A literal "</script" inside the bundle would end the inline script early.
  plotlySource ??= readFileSync(plotlyPath(), 'utf8').replace(/<\/script/gi, '<\\/script');
  return plotlySource;
}

/** JSON safe to place inside an HTML `<script>`. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}
