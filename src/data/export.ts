/**
 * `exportDataset`: write MNIST or Fashion-MNIST as PNG files in one of the
 * layouts `loadImageFolder` reads, so a learner sees the format with real
 * data (and tests can round-trip it: export, load, same pixels and labels).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { ConfigError } from '../errors';
import { writeFileAtomic } from '../util/fs';
import { loadDataset, type LoadDataOptions } from './load';

export const EXPORT_LAYOUTS = ['folders', 'labels-file'] as const;
export type ExportLayout = (typeof EXPORT_LAYOUTS)[number];

export interface ExportOptions extends LoadDataOptions {
  /** Folder to write into (created; existing files of the same names are replaced). */
  out: string;
  /** Which split (default `test`). */
  split?: 'train' | 'test';
  /** Only the first N images (default all). */
  limit?: number;
  /** `folders`: `<out>/<class>/<index>.png` (Keras image_dataset_from_directory); `labels-file`: `<out>/<index>.png` plus `labels.txt`. */
  layout?: ExportLayout;
  /** Called every 1,000 images with the count written so far. */
  onProgress?: (written: number, total: number) => void;
}

/** A folder name for a class: its label first (so sorted folders keep label order), then a file-system-safe version of its name. */
export function classFolderName(label: number, className: string): string {
  const safe = className.replace(/[^A-Za-z0-9._-]+/g, '_');
  return safe === String(label) ? safe : `${label}-${safe}`;
}

/** A 28x28 grayscale PNG of uint8 pixels. */
export function encodeGrayPng(pixels: Uint8Array, width: number, height: number): Uint8Array {
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, inputHasAlpha: false });
  png.data = Buffer.from(pixels);
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false });
}

/** Write a split of a data set as PNG files; returns the number of images written. */
export async function exportDataset(name: string, options: ExportOptions): Promise<{ count: number; out: string; layout: ExportLayout }> {
  const layout = options.layout ?? 'folders';
  const split = options.split ?? 'test';
  if (!EXPORT_LAYOUTS.includes(layout)) throw new ConfigError('layout', `is '${layout}'`, EXPORT_LAYOUTS.join(', '));
  if (split !== 'train' && split !== 'test') throw new ConfigError('split', `is '${split}'`, 'train, test');
  if (options.limit !== undefined && !(Number.isInteger(options.limit) && options.limit > 0)) throw new ConfigError('limit', `must be a positive whole number, got ${options.limit}`);
  const dataset = await loadDataset(name, options);
  const { images, labels } = dataset[split];
  const total = Math.min(labels.shape[0], options.limit ?? Infinity);
  const [rows, columns] = [images.shape[1], images.shape[2]];
  const out = path.resolve(options.out);
  await fs.mkdir(out, { recursive: true });
  const digits = String(total - 1).length;
  const lines: string[] = [];
  for (let i = 0; i < total; i++) {
    const label = labels.get(i);
    const fileName = `${String(i).padStart(Math.max(5, digits), '0')}.png`;
    const pixels = images.data.subarray(images.offset + i * rows * columns, images.offset + (i + 1) * rows * columns);
    const relative = layout === 'folders' ? path.join(classFolderName(label, dataset.spec.classNames[label]), fileName) : fileName;
    if (layout === 'folders') await fs.mkdir(path.join(out, path.dirname(relative)), { recursive: true });
    await writeFileAtomic(path.join(out, relative), encodeGrayPng(pixels, columns, rows));
    lines.push(`${fileName} ${label}`);
    if ((i + 1) % 1000 === 0) options.onProgress?.(i + 1, total);
  }
  if (layout === 'labels-file') await writeFileAtomic(path.join(out, 'labels.txt'), lines.join('\n') + '\n');
  return { count: total, out, layout };
}
