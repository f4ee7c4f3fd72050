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
  ACTIVATION_CELL,
  PROBABILITY_ROW,
  type ActivationsFigure,
  type ParallelCoordinatesFigure,
  type ProbabilitiesFigure,
} from './figure';
import { escapeHtml } from '../util/format';

const FONT = 'font-family="Helvetica, Arial, sans-serif"';

export function svgOpen(width: number, height: number, kind: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" data-figure="${kind}" ${FONT}>` +
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`
  );
}

export function title(text: string, width: number): string {
  return `<text x="${width / 2}" y="26" text-anchor="middle" font-size="17" font-weight="bold">${escapeHtml(text)}</text>`;
}

/** Format a number with `decimals` places, dropping a leading zero the way the seed's round() shows fractions. */
export function formatValue(value: number, decimals: number): string {
  return decimals === 0 ? String(Math.round(value)) : value.toFixed(decimals);
}

const byte = (value: number) => Math.max(0, Math.min(255, Math.round(value)));
export const hex = (red: number, green: number, blue: number) => `#${[red, green, blue].map((c) => byte(c).toString(16).padStart(2, '0')).join('')}`;

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
    // Centred: a narrow grid under a long title sits in the middle (MARGIN when the grid is the widest part).
    const x = (width - figure.columns * tile.width) / 2 + (index % figure.columns) * tile.width;
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

// ---------------------------------------------- inside the network, ablation grids

const BLUE = '#1f77b4';
const RED = '#d62728';
const GREEN = '#2ca02c';

function grayImage(x: number, y: number, side: number, pixels: number[][], maxPixel: number): string {
  return `<image x="${x}" y="${y}" width="${side}" height="${side}" style="image-rendering:pixelated" preserveAspectRatio="none" href="${tileDataUri(pixels, { colorScale: 'gray', minValue: 0, maxValue: maxPixel })}"/>`;
}

function percent(value: number): string {
  return `${(100 * value).toFixed(value >= 0.995 || value < 0.01 ? 0 : 1)}%`;
}

/** Vertical probability bars, one per class, with the class names under them. */
function probabilityBars(x: number, y: number, height: number, probabilities: number[], classNames: string[], label: number | null, predicted: number): string {
  const parts: string[] = [];
  const barWidth = PROBABILITY_ROW.bar;
  parts.push(`<line x1="${x}" x2="${x + probabilities.length * barWidth}" y1="${y + height}" y2="${y + height}" stroke="#999999"/>`);
  probabilities.forEach((probability, index) => {
    const barHeight = Math.max(0, probability) * height;
    const left = x + index * barWidth + 4;
    const color = index === predicted ? (label === null || label === predicted ? BLUE : RED) : '#9ecae1';
    parts.push(
      `<rect x="${left}" y="${y + height - barHeight}" width="${barWidth - 8}" height="${barHeight}" fill="${color}" data-class="${index}" data-probability="${probability}"/>`,
    );
    if (index === label) parts.push(`<rect x="${left - 2}" y="${y - 2}" width="${barWidth - 4}" height="${height + 4}" fill="none" stroke="${GREEN}" stroke-width="2" data-role="true-label"/>`);
    const name = classNames[index] ?? String(index);
    parts.push(`<text x="${left + (barWidth - 8) / 2}" y="${y + height + 14}" text-anchor="middle" font-size="${name.length > 3 ? 8 : 12}">${escapeHtml(name.length > 6 ? name.slice(0, 6) : name)}</text>`);
    if (probability >= 0.05) parts.push(`<text x="${left + (barWidth - 8) / 2}" y="${y + height - barHeight - 3}" text-anchor="middle" font-size="9" fill="#333333">${percent(probability)}</text>`);
  });
  return parts.join('');
}

export function renderProbabilities(figure: ProbabilitiesFigure): string {
  const { width, height } = naturalSize(figure);
  const parts = [svgOpen(width, height, figure.kind), title(figure.title, width)];
  if (figure.subtitle) parts.push(`<text x="${width / 2}" y="${TITLE_HEIGHT + 8}" text-anchor="middle" font-size="13" fill="#555555">${escapeHtml(figure.subtitle)}</text>`);
  figure.rows.forEach((row, index) => {
    const top = TITLE_HEIGHT + SUBTITLE_HEIGHT + index * PROBABILITY_ROW.height;
    const wrong = row.label !== null && row.label !== row.predicted;
    parts.push(`<g data-row="${index}" data-predicted="${row.predicted}" data-label="${row.label ?? ''}">`);
    parts.push(`<rect x="${MARGIN - 2}" y="${top - 2}" width="${PROBABILITY_ROW.image + 4}" height="${PROBABILITY_ROW.image + 4}" fill="${wrong ? RED : '#cccccc'}"/>`);
    parts.push(grayImage(MARGIN, top, PROBABILITY_ROW.image, row.pixels, figure.maxPixel));
    parts.push(`<text x="${MARGIN + PROBABILITY_ROW.image / 2}" y="${top + PROBABILITY_ROW.image + 15}" text-anchor="middle" font-size="11">${escapeHtml(row.caption)}</text>`);
    parts.push(probabilityBars(MARGIN + PROBABILITY_ROW.image + PROBABILITY_ROW.gap, top, PROBABILITY_ROW.image - 4, row.probabilities, figure.classNames, row.label, row.predicted));
    parts.push('</g>');
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Shade of a hidden unit: black (silent) to bright yellow (most active in its layer). */
function activationColor(value: number, largest: number): string {
  const t = largest > 0 ? Math.max(0, Math.min(1, value / largest)) : 0;
  return hex(255 * Math.min(1, t * 1.4), 235 * t, 60 * t * t);
}

export function renderActivations(figure: ActivationsFigure): string {
  const { width, height } = naturalSize(figure);
  const parts = [svgOpen(width, height, figure.kind), title(figure.title, width)];
  const inputSide = 28 * 5;
  parts.push(`<text x="${MARGIN}" y="${TITLE_HEIGHT + 12}" font-size="12" font-weight="bold">input (${figure.input.length}x${figure.input[0]?.length ?? 0})</text>`);
  parts.push(grayImage(MARGIN, TITLE_HEIGHT + 20, inputSide, figure.input, figure.maxPixel));
  const left = MARGIN + inputSide + 30;
  let top = TITLE_HEIGHT;
  figure.layers.forEach((layer, layerIndex) => {
    const active = layer.values.filter((value) => value > 0).length;
    const largest = Math.max(0, ...layer.values);
    const heading =
      layer.role === 'hidden'
        ? `${layer.name} (${layer.activation}): ${layer.values.length} units, ${active} active, largest ${largest.toFixed(2)}`
        : `${layer.name} (${layer.activation}): the answer is ${figure.classNames[layer.values.indexOf(largest)] ?? ''}`;
    parts.push(`<text x="${left}" y="${top + 12}" font-size="12" font-weight="bold">${escapeHtml(heading)}</text>`);
    parts.push(`<g data-layer="${layerIndex}" data-name="${escapeHtml(layer.name)}" data-role="${layer.role}">`);
    if (layer.role === 'hidden') {
      layer.values.forEach((value, unit) => {
        const x = left + (unit % layer.columns) * ACTIVATION_CELL;
        const y = top + 20 + Math.floor(unit / layer.columns) * ACTIVATION_CELL;
        parts.push(`<rect x="${x}" y="${y}" width="${ACTIVATION_CELL - 1}" height="${ACTIVATION_CELL - 1}" fill="${activationColor(value, largest)}" data-unit="${unit}" data-value="${value}"><title>unit ${unit}: ${value.toFixed(3)}</title></rect>`);
      });
      top += 34 + Math.ceil(layer.values.length / layer.columns) * ACTIVATION_CELL;
    } else {
      const predicted = layer.values.indexOf(largest);
      parts.push(probabilityBars(left, top + 22, 100, layer.values, figure.classNames, null, predicted));
      top += 150;
    }
    parts.push('</g>');
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Viridis-like colour ramp for a value in [0, 1]. */
function rampColor(t: number): string {
  const stops: Array<[number, number, number]> = [
    [68, 1, 84],
    [59, 82, 139],
    [33, 145, 140],
    [94, 201, 98],
    [253, 231, 37],
  ];
  const position = Math.max(0, Math.min(1, t)) * (stops.length - 1);
  const index = Math.min(stops.length - 2, Math.floor(position));
  const f = position - index;
  const [a, b] = [stops[index], stops[index + 1]];
  return hex(a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2]));
}

function axisText(value: number, format: 'number' | 'percent', step: number): string {
  if (format === 'percent') return `${(100 * value).toFixed(step < 0.01 ? 1 : 0)}%`;
  return Math.abs(value) >= 1000 ? value.toExponential(1) : String(Number(value.toFixed(step < 1 ? Math.min(4, Math.ceil(-Math.log10(step))) : 0)));
}

export function renderParallelCoordinates(figure: ParallelCoordinatesFigure): string {
  const { width, height } = naturalSize(figure);
  const parts = [svgOpen(width, height, figure.kind), title(figure.title, width)];
  const top = TITLE_HEIGHT + 40;
  const bottom = height - 50;
  const left = 70;
  const spacing = figure.axes.length > 1 ? (width - 2 * left) / (figure.axes.length - 1) : 0;
  // Each axis maps its own range to the height: categories evenly, numbers over nice ticks.
  const scales = figure.axes.map((axis) => {
    if (axis.categories) {
      const count = Math.max(1, axis.categories.length - 1);
      return { y: (value: number) => bottom - ((bottom - top) * value) / count, ticks: axis.categories.map((label, index) => ({ value: index, label })) };
    }
    const finite = axis.values.filter(Number.isFinite);
    let low = Math.min(...finite);
    let high = Math.max(...finite);
    if (!(high > low)) {
      low -= 0.5 * (Math.abs(low) || 1);
      high += 0.5 * (Math.abs(high) || 1);
    }
    const ticks = niceTicks(low, high, 5).filter((tick) => tick >= low - 1e-12 && tick <= high + 1e-12);
    const step = ticks.length > 1 ? ticks[1] - ticks[0] : high - low;
    return { y: (value: number) => bottom - ((bottom - top) * (value - low)) / (high - low), ticks: ticks.map((value) => ({ value, label: axisText(value, axis.format, step) })) };
  });
  const colorValues = figure.axes[figure.colorAxis]?.values ?? [];
  const colorLow = Math.min(...colorValues);
  const colorHigh = Math.max(...colorValues);
  figure.lineNames.forEach((name, line) => {
    const points = figure.axes.map((axis, index) => `${(left + index * spacing).toFixed(1)},${scales[index].y(axis.values[line]).toFixed(1)}`);
    const t = colorHigh > colorLow ? (colorValues[line] - colorLow) / (colorHigh - colorLow) : 1;
    const hover = figure.axes.map((axis) => `${axis.label}: ${axis.categories ? axis.categories[axis.values[line]] : axisText(axis.values[line], axis.format, 0.0001)}`).join(', ');
    parts.push(`<polyline points="${points.join(' ')}" fill="none" stroke="${rampColor(t)}" stroke-width="2" stroke-opacity="0.8" data-line="${line}"><title>${escapeHtml(`${name}: ${hover}`)}</title></polyline>`);
  });
  figure.axes.forEach((axis, index) => {
    const x = left + index * spacing;
    parts.push(`<g data-axis="${index}"><line x1="${x}" x2="${x}" y1="${top}" y2="${bottom}" stroke="#333333" stroke-width="1.5"/>`);
    parts.push(`<text x="${x}" y="${top - 14}" text-anchor="middle" font-size="13" font-weight="bold">${escapeHtml(axis.label)}</text>`);
    for (const tick of scales[index].ticks) {
      const y = scales[index].y(tick.value);
      parts.push(`<line x1="${x - 4}" x2="${x}" y1="${y}" y2="${y}" stroke="#333333"/><text x="${x - 7}" y="${y + 4}" text-anchor="end" font-size="11" paint-order="stroke" stroke="#ffffff" stroke-width="3">${escapeHtml(tick.label)}</text>`);
    }
    parts.push('</g>');
  });
  const legend = figure.axes[figure.colorAxis];
  if (legend) {
    parts.push(`<text x="${left}" y="${height - 16}" font-size="11">colour: ${escapeHtml(legend.label)}, low</text>`);
    for (let step = 0; step <= 20; step++) parts.push(`<rect x="${left + 150 + step * 6}" y="${height - 26}" width="6" height="12" fill="${rampColor(step / 20)}"/>`);
    parts.push(`<text x="${left + 150 + 21 * 6 + 4}" y="${height - 16}" font-size="11">high</text>`);
  }
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
    case 'probabilities':
      return renderProbabilities(figure);
    case 'activations':
      return renderActivations(figure);
    case 'parallelCoordinates':
      return renderParallelCoordinates(figure);
  }
}

/** Width and height written in an SVG's root element. */
export function svgSize(svg: string): { width: number; height: number } {
  const match = /<svg[^>]*\swidth="([\d.]+)"[^>]*\sheight="([\d.]+)"/.exec(svg);
  return match ? { width: Number(match[1]), height: Number(match[2]) } : { width: 800, height: 600 };
}
