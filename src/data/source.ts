/**
 * Where an experiment's data comes from: a registered data set by name
 * (`'mnist'`), or a folder of your own images (`{ folder: 'my-digits' }`,
 * read by loadImageFolder). Configs, grid specs and run folders store this.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../errors';
import type { PreprocessMode } from './image-decode';
import { DATASET_NAMES, getDatasetSpec, isDatasetName, type DatasetName } from './registry';
import { loadDataset, type LoadDataOptions, type Split } from './load';
import { loadImageFolder } from './image-folder';

/** A folder of images as an experiment's data set (see loadImageFolder for the layouts). */
export interface ImageFolderSource {
  /** The folder (relative paths are resolved from the current folder when used). */
  folder: string;
  /** `mnist` (default) for photos and scans, `resize` for MNIST-like pictures. */
  mode?: PreprocessMode;
  /** Fraction held out as the test split when the folder has no train/ and test/ subfolders (default for training: 0.2). */
  testSplit?: number;
  /** Leave out unreadable images instead of failing. */
  skipBad?: boolean;
}

/** A registered data set's name, or a folder of images. */
export type DatasetSource = DatasetName | ImageFolderSource;

/** When training on a folder without a test/ subfolder, this fraction is held out for testing. */
export const DEFAULT_FOLDER_TEST_SPLIT = 0.2;

/** True when a data set source is a folder of images rather than a named data set. */
export function isFolderSource(source: DatasetSource): source is ImageFolderSource {
  return typeof source === 'object' && source !== null;
}

/** A short name for messages and tables: the data set's name, or `folder:<path>`. */
export function describeSource(source: DatasetSource): string {
  return isFolderSource(source) ? `folder:${source.folder}` : source;
}

/** Check a `dataset` field from a config or grid spec. */
export function validateDatasetSource(value: unknown, field = 'dataset'): DatasetSource {
  if (typeof value === 'string') {
    if (!isDatasetName(value)) throw new ConfigError(field, `unknown data set '${value}'`, `${DATASET_NAMES.join(', ')}, or { "folder": "path/to/images" }`);
    return value;
  }
  if (typeof value !== 'object' || value === null || typeof (value as { folder?: unknown }).folder !== 'string' || (value as { folder: string }).folder === '') {
    throw new ConfigError(field, `must be a data set name or { "folder": "..." }, got ${JSON.stringify(value)}`, `${DATASET_NAMES.join(', ')}, or { "folder": "path/to/images" }`);
  }
  const extra = Object.keys(value).filter((key) => !['folder', 'mode', 'testSplit', 'skipBad'].includes(key));
  if (extra.length > 0) throw new ConfigError(`${field}.${extra[0]}`, 'is not a folder data-set setting', 'folder, mode, testSplit, skipBad');
  return value as ImageFolderSource;
}

/** An experiment's data: both splits and the class names. */
export interface ExperimentData {
  train: Split;
  test: Split;
  classNames: string[];
}

const plannedCounts = new Map<string, { train: number; test: number } | null>();

/**
 * How many images a folder source will give each split, for planning (ETAs,
 * dry runs) before anything is decoded: files are counted, not read, so an
 * unreadable image still counts and a labels file counts as one image less.
 * Null when the folder cannot be listed. Counted once per folder per process.
 */
export function plannedFolderCounts(source: ImageFolderSource): { train: number; test: number } | null {
  const root = path.resolve(source.folder);
  const key = `${root}\0${source.testSplit ?? DEFAULT_FOLDER_TEST_SPLIT}`;
  if (plannedCounts.has(key)) return plannedCounts.get(key) ?? null;
  const countFiles = (dir: string): number =>
    fs.readdirSync(dir, { withFileTypes: true }).reduce((sum, entry) => {
      if (entry.name.startsWith('.')) return sum;
      return sum + (entry.isDirectory() ? countFiles(path.join(dir, entry.name)) : 1);
    }, 0);
  let counts: { train: number; test: number } | null;
  try {
    const isDir = (name: string) => fs.statSync(path.join(root, name), { throwIfNoEntry: false })?.isDirectory() ?? false;
    if (isDir('train') && isDir('test')) counts = { train: countFiles(path.join(root, 'train')), test: countFiles(path.join(root, 'test')) };
    else {
      const all = countFiles(root);
      const test = Math.round(all * (source.testSplit ?? DEFAULT_FOLDER_TEST_SPLIT));
      counts = { train: all - test, test };
    }
  } catch {
    counts = null;
  }
  plannedCounts.set(key, counts);
  return counts;
}

/** Load a data source: the registered data set, or the image folder (with a test split held out when it has none). */
export async function loadSourceData(source: DatasetSource, options: LoadDataOptions & { testSplit?: number } = {}): Promise<ExperimentData> {
  if (!isFolderSource(source)) {
    const dataset = await loadDataset(source, options);
    return { train: dataset.train, test: dataset.test, classNames: [...getDatasetSpec(source).classNames] };
  }
  const loaded = await loadImageFolder(path.resolve(source.folder), {
    mode: source.mode,
    skipBad: source.skipBad,
    testSplit: source.testSplit ?? options.testSplit ?? DEFAULT_FOLDER_TEST_SPLIT,
  });
  if (loaded.skipped.length > 0) process.stderr.write(`mnist-lab: skipped ${loaded.skipped.length} unreadable image(s) in ${loaded.source.path}\n`);
  return { train: loaded.train, test: loaded.test, classNames: loaded.classNames };
}
