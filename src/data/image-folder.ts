/**
 * `loadImageFolder(dir, options)`: a data set made from your own image
 * files, returned like `loadData`'s splits (uint8 `[n, 28, 28]` images and
 * labels as ndarray views) plus the class names.
 *
 * Two layouts, as in Keras and the course:
 * - one subfolder per class (`digits/0/a.png`, `digits/7/b.jpg`), classes
 *   sorted by name (Keras `image_dataset_from_directory`);
 * - a labels file (`labels.txt`: `filename label` per line, or `labels.csv`
 *   with a `filename,label` header) next to the images.
 * Either layout may sit in `train/` and `test/` subfolders; otherwise
 * `testSplit` holds out a seeded random fraction as the test split.
 *
 * Decoding every picture is slow for a large folder, so the arrays are
 * cached (project data folder, `image-folders/`), keyed by the file list,
 * sizes, modification times and options, checked on read, written atomically
 * and only after a load that succeeded.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import ndarray from 'ndarray';
import { ConfigError, MnistLabError } from '../errors';
import { decodeImage, preprocessImage, readImageBytes, PREPROCESS_MODES, type PreprocessMode } from './image-decode';
import { ImageError } from './image-errors';
import { SeededRandom } from '../util/random';
import { progressLine } from '../util/progress-line';
import { pathExists, writeFileAtomic } from '../util/fs';
import { defaultCacheDir, type Split } from './load';

/** Names of the labels file looked for when none is given. */
export const LABELS_FILE_NAMES = ['labels.txt', 'labels.csv'];
/** Cache file format: magic bytes, then a version. */
export const IMAGE_FOLDER_CACHE_MAGIC = 'MNLABIMG';
export const IMAGE_FOLDER_CACHE_VERSION = 2;
const IMAGE_SIDE = 28;

/** How `loadImageFolder` reads a folder of images. */
export interface ImageFolderOptions {
  /** `mnist` (default): find, crop and centre the digit as `predict` does, for photos and scans. `resize`: only scale, for MNIST-like pictures. */
  mode?: PreprocessMode;
  /** The labels file, relative to the folder (default: `labels.txt` or `labels.csv` if present, else one subfolder per class). */
  labelsFile?: string;
  /** Fraction of the images held out as the test split (seeded shuffle), when the folder has no `train/` and `test/` subfolders. Default 0. */
  testSplit?: number;
  /** Seed of the shuffle and of the `testSplit` hold-out. */
  seed?: number;
  /**
   * Shuffle the images (seeded), as Keras's `image_dataset_from_directory`
   * does by default. Default true: a folder is read class by class, and a
   * `validationSplit` (Keras's: the last fraction) of an unshuffled set
   * holds only the last classes. False keeps the file order.
   */
  shuffle?: boolean;
  /** Skip images that cannot be read (they are listed in `skipped`) instead of failing. Default false. */
  skipBad?: boolean;
  /** The classes, in label order. Default: the sorted subfolder names or labels; digit names `0`-`9` keep their digit as label. */
  classNames?: string[];
  /** Use and write the cache (default true). */
  cache?: boolean;
  /** Called while images are decoded (not on a cache hit): images done so far and in all. */
  onProgress?: (done: number, total: number) => void;
  /** No progress line (in a notebook cell or on the terminal) while decoding. Default false. */
  quiet?: boolean;
  /** Where cached arrays go (default: `<project data>/image-folders`, or env MNIST_LAB_CACHE). */
  cacheDir?: string;
}

/** The defaults of {@link ImageFolderOptions}. */
export const DEFAULT_IMAGE_FOLDER_OPTIONS = { mode: 'mnist' as PreprocessMode, testSplit: 0, seed: 42, shuffle: true, skipBad: false, cache: true };

/** An image that could not be used, and why. */
export interface BadImage {
  file: string;
  reason: string;
}

/** A folder of images as `loadImageFolder` returns it: splits, class names, images left out. */
export interface ImageFolderDataset {
  /** Images and labels of the training split (all images when there is no test split). */
  train: Split;
  /** The test split (empty when the folder has none and testSplit is 0). */
  test: Split;
  /** Class names in label order: label `i` is `classNames[i]`. */
  classNames: string[];
  /** The files behind each split, in array order (relative to the folder). */
  files: { train: string[]; test: string[] };
  /** Images skipped with `skipBad` (always empty otherwise). */
  skipped: BadImage[];
  /** Which layout was found. */
  layout: 'folders' | 'labels-file';
  source: { kind: 'folder'; path: string; fromCache: boolean; cacheFile: string | null };
}

/** Something is wrong with the folder itself: empty, an empty class, a labels file that names missing files or unknown classes. */
export class ImageFolderError extends MnistLabError {
  constructor(readonly folder: string, readonly problems: string[], hint: string) {
    super(`Cannot load the image folder ${folder}: ${problems.length === 1 ? problems[0] : `\n  - ${problems.join('\n  - ')}\n`} ${hint}`);
  }
}

/** Some images cannot be read or decoded: all of them are listed. */
export class BadImagesError extends MnistLabError {
  constructor(readonly folder: string, readonly bad: BadImage[]) {
    super(
      `${bad.length} file${bad.length === 1 ? '' : 's'} in ${folder} cannot be used as images:\n` +
        bad.map((entry) => `  - ${entry.file}: ${entry.reason}`).join('\n') +
        '\nFix or remove them (PNG or JPEG only), or pass skipBad: true (CLI --skip-bad) to leave them out and count them.',
    );
  }
}

/** One image and its class, before decoding. */
interface Entry {
  file: string;
  className: string;
}

interface Listing {
  layout: ImageFolderDataset['layout'];
  train: Entry[];
  test: Entry[];
  /** Files whose size and mtime key the cache (images and labels files). */
  watched: string[];
}

const isHidden = (name: string) => name.startsWith('.');

async function listDir(dir: string): Promise<{ name: string; isDir: boolean }[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  return entries.filter((entry) => !isHidden(entry.name)).map((entry) => ({ name: entry.name, isDir: entry.isDirectory() })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Parse `filename label` lines (labels.txt) or a `filename,label` CSV with a header. Problems are collected, not thrown. */
function parseLabels(text: string, csv: boolean, problems: string[], labelsFile: string): { file: string; label: string; line: number }[] {
  const rows: { file: string; label: string; line: number }[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || (csv && index === 0)) return;
    const parts = csv ? line.split(',').map((part) => part.trim().replace(/^"(.*)"$/, '$1')) : line.split(/\s+/);
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
      problems.push(`${labelsFile} line ${index + 1}: expected '${csv ? 'filename,label' : 'filename label'}', got '${line}'`);
      return;
    }
    rows.push({ file: parts[0], label: parts[1], line: index + 1 });
  });
  if (csv && lines.length > 0 && !/file/i.test(lines[0])) {
    problems.push(`${labelsFile} line 1: a CSV labels file starts with a header such as 'filename,label', got '${lines[0].trim()}'`);
  }
  return rows;
}

async function listSplit(root: string, dir: string, options: ImageFolderOptions, problems: string[]): Promise<{ layout: Listing['layout']; entries: Entry[]; watched: string[] }> {
  const relative = (file: string) => path.relative(root, file);
  const labelsName = options.labelsFile ?? (await Promise.all(LABELS_FILE_NAMES.map(async (name) => ((await pathExists(path.join(dir, name))) ? name : null)))).find((name) => name !== null) ?? null;
  if (labelsName !== null) {
    const labelsFile = path.join(dir, labelsName);
    let text: string;
    try {
      text = await fs.readFile(labelsFile, 'utf8');
    } catch {
      problems.push(`the labels file ${relative(labelsFile)} does not exist`);
      return { layout: 'labels-file', entries: [], watched: [] };
    }
    const rows = parseLabels(text, labelsName.endsWith('.csv'), problems, relative(labelsFile));
    const entries: Entry[] = [];
    for (const row of rows) {
      const file = path.resolve(dir, row.file);
      if (!(await pathExists(file))) problems.push(`${relative(labelsFile)} line ${row.line} names ${row.file}, which does not exist`);
      else entries.push({ file: relative(file), className: row.label });
    }
    if (rows.length === 0) problems.push(`the labels file ${relative(labelsFile)} lists no images`);
    return { layout: 'labels-file', entries, watched: [relative(labelsFile), ...entries.map((entry) => entry.file)] };
  }
  const children = await listDir(dir);
  const classes = children.filter((child) => child.isDir);
  if (classes.length === 0) {
    problems.push(
      children.length === 0
        ? `${relative(dir) || '.'} is empty`
        : `${relative(dir) || '.'} has files but no class subfolders and no labels file (${LABELS_FILE_NAMES.join(' or ')})`,
    );
    return { layout: 'folders', entries: [], watched: [] };
  }
  const entries: Entry[] = [];
  for (const cls of classes) {
    const files = (await listDir(path.join(dir, cls.name))).filter((child) => !child.isDir);
    if (files.length === 0) problems.push(`the class folder ${relative(path.join(dir, cls.name))} has no images`);
    for (const file of files) entries.push({ file: relative(path.join(dir, cls.name, file.name)), className: cls.name });
  }
  return { layout: 'folders', entries, watched: entries.map((entry) => entry.file) };
}

/** Class names in label order, and each entry's label. Digit classes `0`-`9` keep their digit. */
function assignLabels(entries: Entry[][], classNames: string[] | undefined, problems: string[]): { classNames: string[]; labels: (number | null)[][] } {
  const seen = [...new Set(entries.flat().map((entry) => entry.className))];
  const digits = seen.length > 0 && seen.every((name) => /^[0-9]$/.test(name));
  const names = classNames ?? (digits ? ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] : seen.slice().sort());
  const index = new Map(names.map((name, i) => [name, i]));
  const unknown = new Set<string>();
  const labels = entries.map((list) =>
    list.map((entry) => {
      const label = index.get(entry.className);
      if (label === undefined) {
        unknown.add(entry.className);
        return null;
      }
      return label;
    }),
  );
  for (const name of unknown) problems.push(`class '${name}' is not one of the known classes (${names.join(', ')})`);
  if (names.length > 256) problems.push(`${names.length} classes; at most 256 fit in uint8 labels`);
  return { classNames: names, labels };
}

async function listFolder(root: string, options: ImageFolderOptions): Promise<{ listing: Listing; problems: string[] }> {
  const problems: string[] = [];
  const [hasTrain, hasTest] = await Promise.all(['train', 'test'].map(async (name) => (await fs.stat(path.join(root, name)).catch(() => null))?.isDirectory() ?? false));
  if (hasTrain && hasTest) {
    const train = await listSplit(root, path.join(root, 'train'), options, problems);
    const test = await listSplit(root, path.join(root, 'test'), options, problems);
    return { listing: { layout: train.layout, train: train.entries, test: test.entries, watched: [...train.watched, ...test.watched] }, problems };
  }
  const all = await listSplit(root, root, options, problems);
  return { listing: { layout: all.layout, train: all.entries, test: [], watched: all.watched }, problems };
}

/** The cache key: folder, options and every watched file's size and modification time. */
async function cacheKey(root: string, listing: Listing, options: Required<Pick<ImageFolderOptions, 'mode' | 'testSplit' | 'seed' | 'shuffle' | 'skipBad'>> & ImageFolderOptions): Promise<string> {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ version: IMAGE_FOLDER_CACHE_VERSION, root, mode: options.mode, testSplit: options.testSplit, seed: options.seed, shuffle: options.shuffle, skipBad: options.skipBad, labelsFile: options.labelsFile ?? null, classNames: options.classNames ?? null }));
  for (const file of listing.watched) {
    const stat = await fs.stat(path.join(root, file));
    hash.update(`\n${file}\t${stat.size}\t${stat.mtimeMs}`);
  }
  return hash.digest('hex');
}

interface CachedArrays {
  key: string;
  classNames: string[];
  layout: Listing['layout'];
  files: { train: string[]; test: string[] };
  skipped: BadImage[];
  counts: { train: number; test: number };
  sha256: string;
}

function encodeCache(meta: CachedArrays, payload: Uint8Array): Uint8Array {
  const json = Buffer.from(JSON.stringify(meta), 'utf8');
  const header = Buffer.alloc(IMAGE_FOLDER_CACHE_MAGIC.length + 8);
  header.write(IMAGE_FOLDER_CACHE_MAGIC, 0, 'ascii');
  header.writeUInt32BE(IMAGE_FOLDER_CACHE_VERSION, IMAGE_FOLDER_CACHE_MAGIC.length);
  header.writeUInt32BE(json.length, IMAGE_FOLDER_CACHE_MAGIC.length + 4);
  return Buffer.concat([header, json, payload]);
}

/** The cached arrays if the file is intact and made for this key; null otherwise (a bad cache is rebuilt, never trusted). */
async function readCache(file: string, key: string): Promise<{ meta: CachedArrays; payload: Uint8Array } | null> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch {
    return null;
  }
  const start = IMAGE_FOLDER_CACHE_MAGIC.length + 8;
  if (bytes.length < start || bytes.toString('ascii', 0, IMAGE_FOLDER_CACHE_MAGIC.length) !== IMAGE_FOLDER_CACHE_MAGIC) return null;
  if (bytes.readUInt32BE(IMAGE_FOLDER_CACHE_MAGIC.length) !== IMAGE_FOLDER_CACHE_VERSION) return null;
  const jsonLength = bytes.readUInt32BE(IMAGE_FOLDER_CACHE_MAGIC.length + 4);
  try {
    const meta = JSON.parse(bytes.toString('utf8', start, start + jsonLength)) as CachedArrays;
    const payload = new Uint8Array(bytes.buffer, bytes.byteOffset + start + jsonLength, bytes.length - start - jsonLength);
    const expected = (meta.counts.train + meta.counts.test) * (IMAGE_SIDE * IMAGE_SIDE + 1);
    if (meta.key !== key || payload.length !== expected) return null;
    if (createHash('sha256').update(payload).digest('hex') !== meta.sha256) return null;
    return { meta, payload };
  } catch {
    return null;
  }
}

/** Images then labels of both splits, one buffer: `[train images | train labels | test images | test labels]`. */
function splitsFromPayload(payload: Uint8Array, counts: { train: number; test: number }): { train: Split; test: Split } {
  const pixels = IMAGE_SIDE * IMAGE_SIDE;
  let offset = 0;
  const take = (length: number) => {
    const part = payload.subarray(offset, offset + length);
    offset += length;
    return part;
  };
  const make = (count: number): Split => ({ images: ndarray(take(count * pixels), [count, IMAGE_SIDE, IMAGE_SIDE]), labels: ndarray(take(count), [count]) });
  const train = make(counts.train);
  const test = make(counts.test);
  return { train, test };
}

function checkOptions(options: ImageFolderOptions): void {
  if (options.mode !== undefined && !PREPROCESS_MODES.includes(options.mode)) throw new ConfigError('mode', `is '${options.mode}'`, PREPROCESS_MODES.join(' or '));
  if (options.testSplit !== undefined && !(options.testSplit >= 0 && options.testSplit < 1)) throw new ConfigError('testSplit', `must be in [0, 1), got ${options.testSplit}`, '0 (no test split) or e.g. 0.2');
}

/**
 * Load a folder of PNG/JPEG images as a data set (see the file comment for
 * the layouts). Throws ImageFolderError for a folder problem and
 * BadImagesError listing every unreadable image (unless `skipBad`).
 */
export async function loadImageFolder(dir: string, options: ImageFolderOptions = {}): Promise<ImageFolderDataset> {
  checkOptions(options);
  const settings = { ...DEFAULT_IMAGE_FOLDER_OPTIONS, ...Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) } as typeof DEFAULT_IMAGE_FOLDER_OPTIONS & ImageFolderOptions;
  const root = path.resolve(dir);
  const stat = await fs.stat(root).catch(() => null);
  if (stat === null) throw new ImageFolderError(root, ['it does not exist'], 'Check the path (make the folder with one subfolder per class, or images plus a labels.txt).');
  if (!stat.isDirectory()) throw new ImageFolderError(root, ['it is a file, not a folder'], 'Pass the folder that holds the class subfolders or the labels file.');

  const { listing, problems } = await listFolder(root, settings);
  const { classNames, labels } = assignLabels([listing.train, listing.test], settings.classNames, problems);
  if (problems.length === 0 && listing.train.length === 0) problems.push('it has no images');
  if (problems.length > 0) {
    throw new ImageFolderError(root, problems, 'Layouts: one subfolder per class (digits/0/a.png ...), or images plus labels.txt with `filename label` lines (or labels.csv with a filename,label header); optionally inside train/ and test/.');
  }

  const cacheDir = settings.cacheDir ?? path.join(defaultCacheDir(), 'image-folders');
  const key = await cacheKey(root, listing, settings);
  const cacheFile = settings.cache ? path.join(cacheDir, `${key.slice(0, 32)}.bin`) : null;
  if (cacheFile !== null) {
    const cached = await readCache(cacheFile, key);
    if (cached !== null) {
      const { train, test } = splitsFromPayload(cached.payload, cached.meta.counts);
      return { train, test, classNames: cached.meta.classNames, files: cached.meta.files, skipped: cached.meta.skipped, layout: cached.meta.layout, source: { kind: 'folder', path: root, fromCache: true, cacheFile } };
    }
  }

  // Decode everything, collecting every bad file before failing.
  const bad: BadImage[] = [];
  // Decoding a large folder takes a while: say how far it got (not for the few seconds a small one takes).
  const total = listing.train.length + listing.test.length;
  const progress = progressLine(`${path.basename(root)}: decoding images`, total, { quiet: settings.quiet === true, onProgress: settings.onProgress });
  const decodeAll = async (entries: Entry[], entryLabels: (number | null)[]) => {
    const images: Uint8Array[] = [];
    const kept: { file: string; label: number }[] = [];
    for (let i = 0; i < entries.length; i++) {
      const file = path.join(root, entries[i].file);
      try {
        const pixels = preprocessImage(decodeImage(await readImageBytes(file), entries[i].file), entries[i].file, settings.mode);
        images.push(Uint8Array.from(pixels, (value) => Math.round(value * 255)));
        kept.push({ file: entries[i].file, label: entryLabels[i] as number });
      } catch (error) {
        if (!(error instanceof ImageError)) throw error;
        bad.push({ file: entries[i].file, reason: error.message.replace(/^.*?: /, '') });
      }
      progress.tick();
    }
    return { images, kept };
  };
  let train: Awaited<ReturnType<typeof decodeAll>>;
  let test: Awaited<ReturnType<typeof decodeAll>>;
  try {
    train = await decodeAll(listing.train, labels[0]);
    test = await decodeAll(listing.test, labels[1]);
  } finally {
    progress.done();
  }
  if (bad.length > 0 && !settings.skipBad) throw new BadImagesError(root, bad);
  if (train.kept.length === 0) throw new ImageFolderError(root, ['none of its images could be used'], 'Add readable PNG or JPEG images.');

  const pick = (part: typeof train, indices: Int32Array) => ({ images: Array.from(indices, (i) => part.images[i]), kept: Array.from(indices, (i) => part.kept[i]) });
  const inOrder = (indices: Int32Array) => (settings.shuffle ? indices : indices.slice().sort());
  if (listing.test.length === 0 && settings.testSplit > 0) {
    // A seeded random hold-out, so the same seed gives the same split.
    const order = new SeededRandom(settings.seed).permutation(train.kept.length);
    const testCount = Math.max(1, Math.round(train.kept.length * settings.testSplit));
    const all = train;
    test = pick(all, inOrder(order.subarray(0, testCount)));
    train = pick(all, inOrder(order.subarray(testCount)));
  } else if (settings.shuffle) {
    // Seeded, so the same seed gives the same order (and the same validation split).
    train = pick(train, new SeededRandom(settings.seed).permutation(train.kept.length));
    test = pick(test, new SeededRandom(settings.seed).permutation(test.kept.length));
  }

  const pixels = IMAGE_SIDE * IMAGE_SIDE;
  const payload = new Uint8Array((train.kept.length + test.kept.length) * (pixels + 1));
  let offset = 0;
  for (const part of [train, test]) {
    for (const image of part.images) {
      payload.set(image, offset);
      offset += pixels;
    }
    for (const entry of part.kept) payload[offset++] = entry.label;
  }
  const counts = { train: train.kept.length, test: test.kept.length };
  const files = { train: train.kept.map((entry) => entry.file), test: test.kept.map((entry) => entry.file) };
  if (cacheFile !== null) {
    const meta: CachedArrays = { key, classNames, layout: listing.layout, files, skipped: bad, counts, sha256: createHash('sha256').update(payload).digest('hex') };
    await fs.mkdir(cacheDir, { recursive: true });
    await writeFileAtomic(cacheFile, encodeCache(meta, payload));
  }
  const splits = splitsFromPayload(payload, counts);
  return { ...splits, classNames, files, skipped: bad, layout: listing.layout, source: { kind: 'folder', path: root, fromCache: false, cacheFile } };
}

/** All images of a folder data set in one split (train then test), e.g. to evaluate a trained model on every image. */
export function allImages(dataset: ImageFolderDataset): Split {
  const { train, test } = dataset;
  const count = train.labels.shape[0] + test.labels.shape[0];
  const images = new Uint8Array(count * IMAGE_SIDE * IMAGE_SIDE);
  images.set(train.images.data.subarray(train.images.offset, train.images.offset + train.images.size));
  images.set(test.images.data.subarray(test.images.offset, test.images.offset + test.images.size), train.images.size);
  const labels = new Uint8Array(count);
  labels.set(train.labels.data.subarray(train.labels.offset, train.labels.offset + train.labels.size));
  labels.set(test.labels.data.subarray(test.labels.offset, test.labels.offset + test.labels.size), train.labels.size);
  return { images: ndarray(images, [count, IMAGE_SIDE, IMAGE_SIDE]), labels: ndarray(labels, [count]) };
}
