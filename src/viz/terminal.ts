/**
 * Terminal renderer: a digit drawn with ANSI colours and half-block
 * characters (two pixel rows per text line, so pixels come out square), or
 * as numbers, always within the terminal width (80 columns by default).
 * Without colour (a pipe, NO_COLOR) it falls back to ASCII shades.
 */
import type { PixelGridFigure, ProbabilitiesFigure } from './figure';
import { formatValue } from './svg';

export interface TerminalOptions {
  /** Write each pixel's value instead of drawing blocks. */
  numbers: boolean;
  /** Use ANSI colours; default: stdout is a terminal and NO_COLOR is not set. */
  color: boolean;
  /** Widest line allowed, in columns. */
  maxWidth: number;
}

export function defaultTerminalOptions(): TerminalOptions {
  const isTerminal = process.stdout.isTTY === true;
  return {
    numbers: false,
    color: isTerminal && process.env.NO_COLOR === undefined && process.env.TERM !== 'dumb',
    maxWidth: Math.min(80, process.stdout.columns || 80),
  };
}

const RESET = '\x1b[0m';
const ASCII_SHADES = ' .:-=+*#%@';

/** xterm-256 colour index of a gray level 0-255 (the 24-step gray ramp plus pure black and white). */
function grayIndex(level: number): number {
  if (level < 4) return 16;
  if (level > 247) return 231;
  return 232 + Math.min(23, Math.round(((level - 8) / 238) * 23));
}

/** Text length as the terminal shows it (ANSI escapes take no columns). */
export function visibleLength(line: string): number {
  // eslint-disable-next-line no-control-regex
  return line.replace(/\x1b\[[0-9;]*m/g, '').length;
}

function level(value: number, figure: PixelGridFigure): number {
  return Math.max(0, Math.min(255, Math.round((value / figure.maxValue) * 255)));
}

function blocks(figure: PixelGridFigure, options: TerminalOptions): string[] {
  const rows = figure.values;
  const lines: string[] = [];
  if (!options.color) {
    for (const row of rows) lines.push(row.map((value) => ASCII_SHADES[Math.min(9, Math.floor((level(value, figure) / 256) * 10))].repeat(2)).join(''));
    return lines;
  }
  for (let top = 0; top < rows.length; top += 2) {
    const upper = rows[top];
    const lower = rows[top + 1];
    // The upper pixel is the glyph (foreground), the lower one the cell's background.
    let line = '';
    upper.forEach((value, column) => {
      const below = lower ? lower[column] : 0;
      line += `\x1b[38;5;${grayIndex(level(value, figure))}m\x1b[48;5;${grayIndex(level(below, figure))}m\u2580`;
    });
    lines.push(line + RESET);
  }
  return lines;
}

function numbers(figure: PixelGridFigure, options: TerminalOptions): string[] {
  const rows = figure.values;
  const format = (value: number) => (figure.decimals === 0 ? formatValue(value, 0) : value >= 1 ? '1.0' : formatValue(value, 2).replace(/^0/, ''));
  const cellWidth = Math.max(...rows.flat().map((value) => format(value).length));
  // Blank borders carry no information; cut them so the digit fits the width.
  const used = rows[0].map((_, column) => rows.some((row) => row[column] !== 0));
  const first = Math.max(0, used.indexOf(true));
  const last = used.lastIndexOf(true) < 0 ? rows[0].length - 1 : used.lastIndexOf(true);
  // With colour the cell background separates the values; without it they need a space.
  const step = options.color ? cellWidth : cellWidth + 1;
  const lineWidth = (prefix: number, count: number) => prefix + count * step - (options.color ? 0 : 1);
  const indexWidth = String(rows.length - 1).length + 1;
  // Row numbers are dropped before the digit is split across blocks.
  const prefixWidth = lineWidth(indexWidth, last - first + 1) <= options.maxWidth || lineWidth(0, last - first + 1) > options.maxWidth ? indexWidth : 0;
  const perBlock = Math.max(1, Math.floor((options.maxWidth - prefixWidth + (options.color ? 0 : 1)) / step));
  const lines: string[] = [];
  for (let start = first; start <= last; start += perBlock) {
    const end = Math.min(last, start + perBlock - 1);
    lines.push(`${' '.repeat(prefixWidth)}columns ${start}-${end}${first > 0 || last < rows[0].length - 1 ? ` (columns outside ${first}-${last} are all 0)` : ''}`.slice(0, options.maxWidth));
    rows.forEach((row, rowIndex) => {
      let line = prefixWidth > 0 ? String(rowIndex).padStart(prefixWidth - 1) + ' ' : '';
      for (let column = start; column <= end; column++) {
        const text = format(row[column]).padStart(cellWidth);
        if (options.color) {
          const shade = level(row[column], figure);
          const foreground = row[column] < figure.textThreshold ? 231 : 16;
          line += `\x1b[38;5;${foreground}m\x1b[48;5;${grayIndex(shade)}m${text}`;
        } else {
          line += text + (column < end ? ' ' : '');
        }
      }
      lines.push(options.color ? line + RESET : line.trimEnd());
    });
  }
  return lines;
}

/** A pixel grid as terminal text (lines joined with newlines, no trailing newline). */
export function renderTerminal(figure: PixelGridFigure, options: Partial<TerminalOptions> = {}): string {
  const settings = { ...defaultTerminalOptions(), ...options };
  const body = settings.numbers ? numbers(figure, settings) : blocks(figure, settings);
  return [figure.title.slice(0, settings.maxWidth), ...body].join('\n');
}

/** Widest text bar of a probability, in columns. */
const BAR_WIDTH = 24;

/** An image in 14 lines of 28 columns: half-blocks in colour, else ASCII shades of row pairs. */
function compactImage(pixels: number[][], maxValue: number, color: boolean): string[] {
  if (color) return blocks({ kind: 'pixelGrid', title: '', values: pixels, decimals: 0, textThreshold: 0, maxValue, showValues: false }, { numbers: false, color: true, maxWidth: 80 });
  const lines: string[] = [];
  for (let top = 0; top < pixels.length; top += 2) {
    const below = pixels[top + 1] ?? pixels[top].map(() => 0);
    lines.push(pixels[top].map((value, column) => ASCII_SHADES[Math.min(9, Math.floor((Math.max(0, Math.min(1, (value + below[column]) / 2 / maxValue)) * 255 / 256) * 10))]).join(''));
  }
  return lines;
}

/**
 * Output probabilities (one digit, or the most confident mistakes) as
 * terminal text: each image beside its ten bars; the answer marked `<`, the
 * true class `*`.
 */
export function renderProbabilitiesTerminal(figure: ProbabilitiesFigure, options: Partial<TerminalOptions> = {}): string {
  const settings = { ...defaultTerminalOptions(), ...options };
  const legend = `${figure.subtitle.split(';')[0]}; < marks the answer${figure.rows.some((row) => row.label !== null) ? ', * the true class' : ''}`;
  const lines = [figure.title.slice(0, settings.maxWidth), legend.slice(0, settings.maxWidth)];
  const nameWidth = Math.max(...figure.classNames.map((name) => name.length));
  for (const row of figure.rows) {
    const image = compactImage(row.pixels, figure.maxPixel, settings.color);
    const imageWidth = visibleLength(image[0] ?? '');
    const barWidth = Math.max(4, Math.min(BAR_WIDTH, settings.maxWidth - imageWidth - nameWidth - 14));
    const bars = row.probabilities.map((probability, label) => {
      const filled = Math.round(probability * barWidth);
      const mark = label === row.predicted ? '<' : ' ';
      const truth = label === row.label ? '*' : ' ';
      return `${truth}${figure.classNames[label].padStart(nameWidth)} ${'\u2588'.repeat(filled)}${' '.repeat(barWidth - filled)} ${(100 * probability).toFixed(1).padStart(5)}% ${mark}`;
    });
    lines.push('', row.caption);
    // Bars centred on the image.
    const offset = Math.max(0, Math.floor((image.length - bars.length) / 2));
    const height = Math.max(image.length, bars.length + offset);
    for (let line = 0; line < height; line++) lines.push(`${image[line] ?? ' '.repeat(imageWidth)}  ${bars[line - offset] ?? ''}`.trimEnd());
  }
  return lines.join('\n');
}
