/**
 * Figures to files, the format chosen by the file's extension, written
 * atomically so a killed export never leaves half a page behind.
 */
import * as path from 'node:path';
import { ConfigError } from '../errors';
import { writeFileAtomic } from '../util/fs';
import type { Figure } from './figure';
import { renderHtml } from './html';
import { renderPng, type PngOptions } from './png';
import { renderSvg } from './svg';

/** The file types `saveFigure` writes, by extension. */
export const FIGURE_FORMATS = ['html', 'svg', 'png', 'json'] as const;
/** One of {@link FIGURE_FORMATS}. */
export type FigureFormat = (typeof FIGURE_FORMATS)[number];

/** Options of `saveFigure`. */
export interface SaveFigureOptions {
  /** Override the format the extension implies. */
  format?: FigureFormat;
  /** HTML: draw charts with plotly.js (false = static SVG only, a much smaller file). */
  interactive: boolean;
  /** PNG size and pixel density. */
  png: Partial<PngOptions>;
}

/** The defaults of {@link SaveFigureOptions}. */
export const DEFAULT_SAVE_FIGURE: SaveFigureOptions = { interactive: true, png: {} };

/** The format a file name asks for. */
export function formatOf(file: string): FigureFormat {
  const extension = path.extname(file).slice(1).toLowerCase();
  const format = extension === 'htm' ? 'html' : extension;
  if (!(FIGURE_FORMATS as readonly string[]).includes(format)) {
    throw new ConfigError('out', `cannot tell the figure format from '${file}'`, `a file ending in ${FIGURE_FORMATS.map((name) => `.${name}`).join(', ')}`);
  }
  return format as FigureFormat;
}

/** The figure as the bytes of a file of the given format. */
async function figureBytes(figure: Figure, format: FigureFormat, options: Partial<SaveFigureOptions> = {}): Promise<string | Uint8Array> {
  const settings = { ...DEFAULT_SAVE_FIGURE, ...options };
  switch (format) {
    case 'html':
      return renderHtml(figure, { interactive: settings.interactive });
    case 'svg':
      return renderSvg(figure);
    case 'png':
      return renderPng(figure, settings.png);
    case 'json':
      return JSON.stringify(figure, null, 2) + '\n';
  }
}

/** Write a figure to `file` (.html, .svg, .png or .json); returns the absolute path. */
export async function saveFigure(figure: Figure, file: string, options: Partial<SaveFigureOptions> = {}): Promise<string> {
  const format = options.format ?? formatOf(file);
  const target = path.resolve(file);
  await writeFileAtomic(target, await figureBytes(figure, format, options));
  return target;
}
