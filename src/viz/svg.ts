/**
 * SVG renderer: every figure as a self-contained SVG string. SVG is the
 * static form used everywhere scripts do not run (exported notebooks, slides,
 * the PNG export), so it draws every figure kind without plotly.
 * Cells carry `data-row`/`data-column` attributes so tests (and curious
 * learners) can read the values back.
 */
import { PNG } from 'pngjs';
import {
  MARGIN,
  PIXEL_CELL,
  SUBTITLE_HEIGHT,
  TITLE_HEIGHT,
  naturalSize,
  tileSize,
  type BarChartFigure,
  type ChartPanel,
  type Figure,
  type HeatmapFigure,
  type ImageGridFigure,
  type LineChartFigure,
  type PixelGridFigure,
  type TableFigure,
} from './figure';
import { escapeHtml } from '../util/format';

const FONT = 'font-family="Helvetica, Arial, sans-serif"';

function svgOpen(width: number, height: number, kind: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" data-figure="${kind}" ${FONT}>` +
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`
  );
}

function title(text: string, width: number): string {
  return `<text x="${width / 2}" y="26" text-anchor="middle" font-size="17" font-weight="bold">${escapeHtml(text)}</text>`;
}

/** Format a number with `decimals` places, dropping a leading zero the way the seed's round() shows fractions. */
export function formatValue(value: number, decimals: number): string {
  return decimals === 0 ? String(Math.round(value)) : value.toFixed(decimals);
}

const byte = (value: number) => Math.max(0, Math.min(255, Math.round(value)));
const hex = (red: number, green: number, blue: number) => `#${[red, green, blue].map((c) => byte(c).toString(16).padStart(2, '0')).join('')}`;

/** Gray level of a value on [min, max]: min black, max white (matplotlib `cmap='gray'`). */
export function grayColor(value: number, min: number, max: number): [number, number, number] {
  const level = max > min ? ((value - min) / (max - min)) * 255 : 0;
  return [byte(level), byte(level), byte(level)];
}

/** Blue-white-red for signed values, symmetric around zero. */
export function divergingColor(value: number, limit: number): [number, number, number] {
  const t = Math.max(-1, Math.min(1, limit > 0 ? value / limit : 0));
  return t >= 0 ? [255, 255 * (1 - t * 0.85), 255 * (1 - t * 0.85)] : [255 * (1 + t * 0.85), 255 * (1 + t * 0.85), 255];
}

function renderPixelGrid(figure: PixelGridFigure): string {
  const { width, height } = naturalSize(figure);
  const parts = [svgOpen(width, height, figure.kind), title(figure.title, width)];
  const longest = Math.max(...figure.values.flat().map((value) => formatValue(value, figure.decimals).length));
  // Shrink the digits so the longest value still fits its cell.
  const fontSize = Math.min(11, Math.floor((PIXEL_CELL - 3) / (0.6 * longest)));
  figure.values.forEach((row, rowIndex) => {
    row.forEach((value, column) => {
      const x = MARGIN + column * PIXEL_CELL;
      const y = TITLE_HEIGHT + rowIndex * PIXEL_CELL;
      const [red, green, blue] = grayColor(value, 0, figure.maxValue);
      parts.push(`<rect x="${x}" y="${y}" width="${PIXEL_CELL}" height="${PIXEL_CELL}" fill="${hex(red, green, blue)}"/>`);
      if (figure.showValues) {
        const color = value < figure.textThreshold ? '#ffffff' : '#000000';
        parts.push(
          `<text x="${x + PIXEL_CELL / 2}" y="${y + PIXEL_CELL / 2 + fontSize * 0.35}" text-anchor="middle" font-size="${fontSize}" fill="${color}" data-row="${rowIndex}" data-column="${column}">${formatValue(value, figure.decimals)}</text>`,
        );
      }
    });
  });
  parts.push('</svg>');
  return parts.join('');
}

/** A tile as a PNG data URI: one image element instead of hundreds of rects keeps galleries small. */
export function tileDataUri(pixels: number[][], figure: Pick<ImageGridFigure, 'colorScale' | 'minValue' | 'maxValue'>): string {
  const rows = pixels.length;
  const columns = pixels[0]?.length ?? 0;
  const png = new PNG({ width: columns, height: rows });
  pixels.forEach((row, y) =>
    row.forEach((value, x) => {
      const [red, green, blue] =
        figure.colorScale === 'gray' ? grayColor(value, figure.minValue, figure.maxValue) : divergingColor(value, Math.max(Math.abs(figure.minValue), Math.abs(figure.maxValue)));
      const offset = (y * columns + x) * 4;
      png.data[offset] = red;
      png.data[offset + 1] = green;
      png.data[offset + 2] = blue;
      png.data[offset + 3] = 255;
    }),
  );
  return `data:image/png;base64,${PNG.sync.write(png).toString('base64')}`;
}

const MARK_COLORS = { none: '#cccccc', correct: '#2ca02c', wrong: '#d62728' } as const;

function renderImageGrid(figure: ImageGridFigure): string {
  const { width, height } = naturalSize(figure);
  const tile = tileSize(figure);
  const top = TITLE_HEIGHT + (figure.subtitle ? SUBTITLE_HEIGHT : 0);
  const parts = [svgOpen(width, height, figure.kind), title(figure.title, width)];
  if (figure.subtitle) parts.push(`<text x="${width / 2}" y="${TITLE_HEIGHT + 8}" text-anchor="middle" font-size="13" fill="#555555">${escapeHtml(figure.subtitle)}</text>`);
  figure.tiles.forEach((item, index) => {
    const x = MARGIN + (index % figure.columns) * tile.width;
    const y = top + Math.floor(index / figure.columns) * tile.height;
    const imageWidth = (item.pixels[0]?.length ?? 0) * tile.scale;
    const imageHeight = item.pixels.length * tile.scale;
    const frame = item.mark === 'wrong' ? 3 : 1;
    parts.push(
      `<g data-tile="${index}" data-mark="${item.mark}">` +
        `<rect x="${x + 6 - frame}" y="${y + 2 - frame}" width="${imageWidth + 2 * frame}" height="${imageHeight + 2 * frame}" fill="${MARK_COLORS[item.mark]}"/>` +
        `<image x="${x + 6}" y="${y + 2}" width="${imageWidth}" height="${imageHeight}" style="image-rendering:pixelated" preserveAspectRatio="none" href="${tileDataUri(item.pixels, figure)}"/>` +
        `<text x="${x + 6 + imageWidth / 2}" y="${y + imageHeight + 17}" text-anchor="middle" font-size="12" data-role="caption">${escapeHtml(item.caption)}</text>` +
        (item.detail
          ? `<text x="${x + 6 + imageWidth / 2}" y="${y + imageHeight + 32}" text-anchor="middle" font-size="12" font-weight="${item.mark === 'wrong' ? 'bold' : 'normal'}" fill="${item.mark === 'wrong' ? MARK_COLORS.wrong : '#333333'}" data-role="detail">${escapeHtml(item.detail)}</text>`
          : '') +
        '</g>',
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Round tick positions covering [min, max] (1-2-5 steps). */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((factor) => factor * power).find((candidate) => candidate >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let tick = Math.ceil(min / step) * step; tick <= max + step * 1e-9; tick += step) ticks.push(Number(tick.toPrecision(12)));
  return ticks;
}

function tickLabel(value: number, step: number): string {
  const decimals = Math.max(0, -Math.floor(Math.log10(step || 1)));
  return value.toFixed(Math.min(decimals, 6));
}

function renderPanel(panel: ChartPanel, xLabel: string, left: number, top: number, width: number, height: number, legendRows: number): string {
  const plotLeft = left + 60;
  const plotTop = top + 30;
  const plotWidth = width - 80;
  const plotHeight = height - 90 - Math.max(0, legendRows - 1) * 15;
  const xs = panel.series.flatMap((series) => series.x);
  const ys = panel.series.flatMap((series) => series.y).filter(Number.isFinite);
  const xMin = Math.min(...xs, 1);
  const xMax = Math.max(...xs, xMin + 1);
  let yMin = Math.min(...ys);
  let yMax = Math.max(...ys);
  if (!(yMax > yMin)) {
    yMin -= 0.5;
    yMax += 0.5;
  }
  const pad = (yMax - yMin) * 0.05;
  yMin -= pad;
  yMax += pad;
  const sx = (x: number) => plotLeft + ((x - xMin) / (xMax - xMin)) * plotWidth;
  const sy = (y: number) => plotTop + (1 - (y - yMin) / (yMax - yMin)) * plotHeight;
  const parts = [`<g data-panel="${escapeHtml(panel.title)}">`, `<text x="${left + width / 2}" y="${top + 18}" text-anchor="middle" font-size="14" font-weight="bold">${escapeHtml(panel.title)}</text>`];
  const yTicks = niceTicks(yMin, yMax);
  const yStep = yTicks.length > 1 ? yTicks[1] - yTicks[0] : 1;
  for (const tick of yTicks) {
    parts.push(`<line x1="${plotLeft}" x2="${plotLeft + plotWidth}" y1="${sy(tick)}" y2="${sy(tick)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${plotLeft - 6}" y="${sy(tick) + 4}" text-anchor="end" font-size="11">${tickLabel(tick, yStep)}</text>`);
  }
  const xTicks = niceTicks(xMin, xMax, Math.min(10, Math.max(1, Math.round(xMax - xMin)))).filter((tick) => Number.isInteger(tick));
  for (const tick of xTicks) parts.push(`<text x="${sx(tick)}" y="${plotTop + plotHeight + 16}" text-anchor="middle" font-size="11">${tick}</text>`);
  parts.push(`<rect x="${plotLeft}" y="${plotTop}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#888888"/>`);
  parts.push(`<text x="${plotLeft + plotWidth / 2}" y="${plotTop + plotHeight + 34}" text-anchor="middle" font-size="12">${escapeHtml(xLabel)}</text>`);
  parts.push(`<text transform="translate(${left + 14} ${plotTop + plotHeight / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escapeHtml(panel.yLabel)}</text>`);
  for (const gap of panel.gaps) {
    const upper = gap.x.map((x, i) => `${sx(x)},${sy(gap.upper[i])}`);
    const lower = gap.x.map((x, i) => `${sx(x)},${sy(gap.lower[i])}`).reverse();
    parts.push(`<polygon points="${[...upper, ...lower].join(' ')}" fill="${gap.color}" fill-opacity="0.12" stroke="none"/>`);
  }
  for (const series of panel.series) {
    const points = series.x.map((x, i) => `${sx(x)},${sy(series.y[i])}`).join(' ');
    parts.push(
      `<polyline points="${points}" fill="none" stroke="${series.color}" stroke-width="2" ${series.dash === 'dash' ? 'stroke-dasharray="6 4"' : ''} data-series="${escapeHtml(series.name)}"/>`,
    );
    if (series.x.length === 1) parts.push(`<circle cx="${sx(series.x[0])}" cy="${sy(series.y[0])}" r="3" fill="${series.color}"/>`);
  }
  for (const marker of panel.markers) {
    parts.push(`<circle cx="${sx(marker.x)}" cy="${sy(marker.y)}" r="6" fill="none" stroke="${marker.color}" stroke-width="2.5" data-marker="${escapeHtml(marker.label)}"/>`);
  }
  // Legend under the axes: one entry per series and marker, wrapped in two columns.
  const entries = [
    ...panel.series.map((series) => ({ label: series.name, color: series.color, dash: series.dash, kind: 'line' as const })),
    ...panel.markers.map((marker) => ({ label: marker.label, color: marker.color, dash: 'solid' as const, kind: 'marker' as const })),
  ];
  entries.forEach((entry, index) => {
    const x = plotLeft + (index % 2) * (plotWidth / 2);
    const y = plotTop + plotHeight + 52 + Math.floor(index / 2) * 15;
    parts.push(
      entry.kind === 'line'
        ? `<line x1="${x}" x2="${x + 22}" y1="${y - 4}" y2="${y - 4}" stroke="${entry.color}" stroke-width="2" ${entry.dash === 'dash' ? 'stroke-dasharray="6 4"' : ''}/>`
        : `<circle cx="${x + 11}" cy="${y - 4}" r="5" fill="none" stroke="${entry.color}" stroke-width="2"/>`,
    );
    parts.push(`<text x="${x + 28}" y="${y}" font-size="11">${escapeHtml(entry.label)}</text>`);
  });
  parts.push('</g>');
  return parts.join('');
}

function renderLineChart(figure: LineChartFigure): string {
  const legendRows = Math.max(0, ...figure.panels.map((panel) => Math.ceil((panel.series.length + panel.markers.length) / 2)));
  const size = naturalSize(figure);
  const height = size.height + Math.max(0, legendRows - 3) * 15;
  const panelWidth = (size.width - 40) / Math.max(1, figure.panels.length);
  const parts = [svgOpen(size.width, height, figure.kind), title(figure.title, size.width)];
  figure.panels.forEach((panel, index) => parts.push(renderPanel(panel, figure.xLabel, 20 + index * panelWidth, TITLE_HEIGHT, panelWidth, height - TITLE_HEIGHT, legendRows)));
  parts.push('</svg>');
  return parts.join('');
}

function renderHeatmap(figure: HeatmapFigure): string {
  const { width, height } = naturalSize(figure);
  const cell = 40;
  const left = 90;
  const top = 80;
  const parts = [svgOpen(width, height, figure.kind), title(figure.title, width)];
  parts.push(`<text x="${left + (cell * figure.columnLabels.length) / 2}" y="${top - 30}" text-anchor="middle" font-size="13">${escapeHtml(figure.columnTitle)}</text>`);
  parts.push(`<text transform="translate(${left - 50} ${top + (cell * figure.rowLabels.length) / 2}) rotate(-90)" text-anchor="middle" font-size="13">${escapeHtml(figure.rowTitle)}</text>`);
  figure.columnLabels.forEach((label, column) => parts.push(`<text x="${left + column * cell + cell / 2}" y="${top - 8}" text-anchor="middle" font-size="12">${escapeHtml(label.slice(0, 6))}</text>`));
  figure.values.forEach((row, rowIndex) => {
    const rowTotal = row.reduce((sum, value) => sum + value, 0) || 1;
    parts.push(`<text x="${left - 8}" y="${top + rowIndex * cell + cell / 2 + 4}" text-anchor="end" font-size="12">${escapeHtml(figure.rowLabels[rowIndex].slice(0, 10))}</text>`);
    row.forEach((value, column) => {
      // Colour by the share of the row, so rare mistakes of small classes still show.
      const share = value / rowTotal;
      const level = Math.sqrt(share);
      const fill = hex(255 - 224 * level, 255 - 136 * level, 255 - 75 * level);
      parts.push(`<rect x="${left + column * cell}" y="${top + rowIndex * cell}" width="${cell}" height="${cell}" fill="${fill}" stroke="#ffffff"/>`);
      parts.push(
        `<text x="${left + column * cell + cell / 2}" y="${top + rowIndex * cell + cell / 2 + 4}" text-anchor="middle" font-size="11" fill="${level > 0.6 ? '#ffffff' : '#000000'}" data-row="${rowIndex}" data-column="${column}">${value}</text>`,
      );
    });
  });
  if (figure.rowSummary) {
    const x = left + figure.columnLabels.length * cell + 16;
    parts.push(`<text x="${x}" y="${top - 8}" font-size="12" font-weight="bold">${escapeHtml(figure.rowSummary.title)}</text>`);
    figure.rowSummary.values.forEach((value, rowIndex) =>
      parts.push(`<text x="${x}" y="${top + rowIndex * cell + cell / 2 + 4}" font-size="12" data-summary-row="${rowIndex}">${(100 * value).toFixed(1)}%</text>`),
    );
  }
  parts.push('</svg>');
  return parts.join('');
}

function renderBarChart(figure: BarChartFigure): string {
  const { width, height } = naturalSize(figure);
  const left = 70;
  const top = 50;
  const plotWidth = width - left - 30;
  const plotHeight = height - top - 110;
  const [low, high] = figure.yRange;
  const sy = (value: number) => top + (1 - (Math.max(low, Math.min(high, value)) - low) / (high - low)) * plotHeight;
  const slot = plotWidth / figure.bars.length;
  const parts = [svgOpen(width, height, figure.kind), title(figure.title, width)];
  const ticks = niceTicks(low, high);
  const step = ticks.length > 1 ? ticks[1] - ticks[0] : 0.01;
  for (const tick of ticks) {
    parts.push(`<line x1="${left}" x2="${left + plotWidth}" y1="${sy(tick)}" y2="${sy(tick)}" stroke="#e5e5e5"/>`);
    const label = figure.format === 'percent' ? `${(tick * 100).toFixed(Math.max(0, -Math.floor(Math.log10(step * 100))))}%` : tickLabel(tick, step);
    parts.push(`<text x="${left - 6}" y="${sy(tick) + 4}" text-anchor="end" font-size="11">${label}</text>`);
  }
  parts.push(`<text transform="translate(18 ${top + plotHeight / 2}) rotate(-90)" text-anchor="middle" font-size="12">${escapeHtml(figure.yLabel)}</text>`);
  figure.bars.forEach((bar, index) => {
    const center = left + slot * index + slot / 2;
    const barWidth = Math.min(48, slot * 0.6);
    parts.push(
      `<rect x="${center - barWidth / 2}" y="${sy(bar.value)}" width="${barWidth}" height="${top + plotHeight - sy(bar.value)}" fill="#1f77b4" data-bar="${escapeHtml(bar.category)}" data-value="${bar.value}"/>`,
    );
    if (bar.error > 0) {
      parts.push(
        `<path d="M${center} ${sy(bar.value - bar.error)}V${sy(bar.value + bar.error)}M${center - 6} ${sy(bar.value - bar.error)}h12M${center - 6} ${sy(bar.value + bar.error)}h12" stroke="#000000" stroke-width="1.5"/>`,
      );
    }
    if (bar.reference !== null) {
      const y = sy(bar.reference);
      parts.push(`<path d="M${center} ${y - 7}l7 7l-7 7l-7 -7z" fill="#ff7f0e" stroke="#000000" data-reference="${bar.reference}"/>`);
    }
    parts.push(`<text transform="translate(${center} ${top + plotHeight + 14}) rotate(30)" font-size="11">${escapeHtml(bar.category)}</text>`);
  });
  parts.push(`<rect x="${left}" y="${top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#888888"/>`);
  parts.push(`<rect x="${left}" y="${height - 24}" width="14" height="10" fill="#1f77b4"/><text x="${left + 20}" y="${height - 15}" font-size="11">${escapeHtml(figure.valueLabel)}</text>`);
  if (figure.referenceLabel !== '') {
    parts.push(`<path d="M${left + 187} ${height - 25}l6 6l-6 6l-6 -6z" fill="#ff7f0e" stroke="#000000"/><text x="${left + 200}" y="${height - 15}" font-size="11">${escapeHtml(figure.referenceLabel)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

function renderTable(figure: TableFigure): string {
  const { width, height } = naturalSize(figure);
  const rowHeight = 28;
  const columnX = [20, 250, 380, 470];
  const parts = [svgOpen(width, height, figure.kind), title(figure.title, width)];
  const line = (y: number, weight: number) => parts.push(`<line x1="16" x2="${width - 16}" y1="${y}" y2="${y}" stroke="#333333" stroke-width="${weight}"/>`);
  line(TITLE_HEIGHT + 4, 2);
  figure.columns.forEach((column, index) => parts.push(`<text x="${columnX[index] ?? 20 + index * 150}" y="${TITLE_HEIGHT + 22}" font-size="13" font-weight="bold">${escapeHtml(column)}</text>`));
  line(TITLE_HEIGHT + rowHeight + 4, 1);
  figure.rows.forEach((row, rowIndex) => {
    const y = TITLE_HEIGHT + rowHeight * (rowIndex + 1) + 22;
    row.forEach((cell, index) => parts.push(`<text x="${columnX[index] ?? 20 + index * 150}" y="${y}" font-size="13" data-row="${rowIndex}" data-column="${index}">${escapeHtml(cell)}</text>`));
  });
  const footerTop = TITLE_HEIGHT + rowHeight * (figure.rows.length + 1) + 4;
  line(footerTop, 2);
  figure.footer.forEach((text, index) => parts.push(`<text x="20" y="${footerTop + 20 + index * rowHeight}" font-size="13">${escapeHtml(text)}</text>`));
  parts.push('</svg>');
  return parts.join('');
}

/** Any figure as an SVG document string. */
export function renderSvg(figure: Figure): string {
  switch (figure.kind) {
    case 'pixelGrid':
      return renderPixelGrid(figure);
    case 'imageGrid':
      return renderImageGrid(figure);
    case 'lineChart':
      return renderLineChart(figure);
    case 'heatmap':
      return renderHeatmap(figure);
    case 'barChart':
      return renderBarChart(figure);
    case 'table':
      return renderTable(figure);
  }
}

/** Width and height written in an SVG's root element. */
export function svgSize(svg: string): { width: number; height: number } {
  const match = /<svg[^>]*\swidth="([\d.]+)"[^>]*\sheight="([\d.]+)"/.exec(svg);
  return match ? { width: Number(match[1]), height: Number(match[2]) } : { width: 800, height: 600 };
}
