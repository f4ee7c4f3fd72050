/**
 * SVG for the "inside the network" figures (probabilities, activations) and
 * the parallel-coordinates view of an ablation grid. Same conventions as
 * `svg.ts`: self-contained SVG, values readable back from `data-*`
 * attributes, images as PNG data URIs.
 */
import {
  ACTIVATION_CELL,
  MARGIN,
  PROBABILITY_ROW,
  SUBTITLE_HEIGHT,
  TITLE_HEIGHT,
  naturalSize,
  type ActivationsFigure,
  type ParallelCoordinatesFigure,
  type ProbabilitiesFigure,
} from './figure';
import { escapeXml, hex, niceTicks, svgOpen, tileDataUri, title } from './svg';

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
    parts.push(`<text x="${left + (barWidth - 8) / 2}" y="${y + height + 14}" text-anchor="middle" font-size="${name.length > 3 ? 8 : 12}">${escapeXml(name.length > 6 ? name.slice(0, 6) : name)}</text>`);
    if (probability >= 0.05) parts.push(`<text x="${left + (barWidth - 8) / 2}" y="${y + height - barHeight - 3}" text-anchor="middle" font-size="9" fill="#333333">${percent(probability)}</text>`);
  });
  return parts.join('');
}

export function renderProbabilities(figure: ProbabilitiesFigure): string {
  const { width, height } = naturalSize(figure);
  const parts = [svgOpen(width, height, figure.kind), title(figure.title, width)];
  if (figure.subtitle) parts.push(`<text x="${width / 2}" y="${TITLE_HEIGHT + 8}" text-anchor="middle" font-size="13" fill="#555555">${escapeXml(figure.subtitle)}</text>`);
  figure.rows.forEach((row, index) => {
    const top = TITLE_HEIGHT + SUBTITLE_HEIGHT + index * PROBABILITY_ROW.height;
    const wrong = row.label !== null && row.label !== row.predicted;
    parts.push(`<g data-row="${index}" data-predicted="${row.predicted}" data-label="${row.label ?? ''}">`);
    parts.push(`<rect x="${MARGIN - 2}" y="${top - 2}" width="${PROBABILITY_ROW.image + 4}" height="${PROBABILITY_ROW.image + 4}" fill="${wrong ? RED : '#cccccc'}"/>`);
    parts.push(grayImage(MARGIN, top, PROBABILITY_ROW.image, row.pixels, figure.maxPixel));
    parts.push(`<text x="${MARGIN + PROBABILITY_ROW.image / 2}" y="${top + PROBABILITY_ROW.image + 15}" text-anchor="middle" font-size="11">${escapeXml(row.caption)}</text>`);
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
    parts.push(`<text x="${left}" y="${top + 12}" font-size="12" font-weight="bold">${escapeXml(heading)}</text>`);
    parts.push(`<g data-layer="${layerIndex}" data-name="${escapeXml(layer.name)}" data-role="${layer.role}">`);
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
    parts.push(`<polyline points="${points.join(' ')}" fill="none" stroke="${rampColor(t)}" stroke-width="2" stroke-opacity="0.8" data-line="${line}"><title>${escapeXml(`${name}: ${hover}`)}</title></polyline>`);
  });
  figure.axes.forEach((axis, index) => {
    const x = left + index * spacing;
    parts.push(`<g data-axis="${index}"><line x1="${x}" x2="${x}" y1="${top}" y2="${bottom}" stroke="#333333" stroke-width="1.5"/>`);
    parts.push(`<text x="${x}" y="${top - 14}" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(axis.label)}</text>`);
    for (const tick of scales[index].ticks) {
      const y = scales[index].y(tick.value);
      parts.push(`<line x1="${x - 4}" x2="${x}" y1="${y}" y2="${y}" stroke="#333333"/><text x="${x - 7}" y="${y + 4}" text-anchor="end" font-size="11" paint-order="stroke" stroke="#ffffff" stroke-width="3">${escapeXml(tick.label)}</text>`);
    }
    parts.push('</g>');
  });
  const legend = figure.axes[figure.colorAxis];
  if (legend) {
    parts.push(`<text x="${left}" y="${height - 16}" font-size="11">colour: ${escapeXml(legend.label)}, low</text>`);
    for (let step = 0; step <= 20; step++) parts.push(`<rect x="${left + 150 + step * 6}" y="${height - 26}" width="6" height="12" fill="${rampColor(step / 20)}"/>`);
    parts.push(`<text x="${left + 150 + 21 * 6 + 4}" y="${height - 16}" font-size="11">high</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}
