/**
 * `loadData(name)`: the Keras `load_data()` of mnist-lab. Finds the files
 * (explicit folder, project cache, Keras cache, Debian's folder, then a
 * download), checks them, and returns ndarray views over the raw bytes.
 */
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import ndarray from 'ndarray';
import type { NdArray } from 'ndarray';
import { ChecksumError, DataFormatError, DatasetNotFoundError } from '../errors';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, encodeIdxHeader, readIdxFile } from './idx';
import { readNpz } from './npz';
import { FILE_ROLES, NUM_CLASSES, getDatasetSpec, type DatasetName, type DatasetSpec, type FileRole } from './registry';
import { downloadDataset, type DownloadOptions } from './download';
import { PROJECT_ROOT, pathExists } from '../util/fs';
import { describeFsError } from '../util/fs-errors';
import { checkExplicitLocation, describeLocation, explicitDataLocation } from './location';

/** Images as loaded: `[count, rows, columns]` uint8, a view over the file's bytes. */
export type ImageArray = NdArray<Uint8Array>;
/** Labels as loaded: `[count]` uint8 class indices. */
export type LabelArray = NdArray<Uint8Array>;

/** One split of a data set. */
export interface Split {
  images: ImageArray;
  labels: LabelArray;
}

/** Where a data set was found. */
export interface DataSource {
  kind: 'explicit' | 'cache' | 'keras' | 'system' | 'download';
  /** Folder (or npz file) the data was read from. */
  path: string;
}

export interface Dataset {
  name: DatasetName;
  spec: DatasetSpec;
  train: Split;
  test: Split;
  source: DataSource;
}

/** Keras's `((x_train, y_train), (x_test, y_test))`. */
export type KerasData = [[ImageArray, LabelArray], [ImageArray, LabelArray]];

export interface LoadDataOptions {
  /**
   * A folder with one subfolder per data set (`mnist/`, `fashion-mnist/`). Default: env `MNIST_LAB_DATA`
   * (relative to where the command was typed). When given, it must hold the data set: no fall-through.
   * `null`: no explicit folder, MNIST_LAB_DATA ignored (search the cache, Keras's and Debian's folders).
   */
  dataDir?: string | null;
  /** Where `dataDir` came from, for error messages (the CLI passes '--data-dir'). */
  dataDirOrigin?: string;
  /** The project cache; downloads land here. Default: `data/` in the project, or env `MNIST_LAB_CACHE`. */
  cacheDir?: string;
  /** The Keras cache. Default: `~/.keras/datasets`. */
  kerasDir?: string;
  /** Debian's data-set folder. Default: `/usr/share/datasets`. */
  systemDir?: string;
  /** Download when no local copy exists (default true). */
  download?: boolean;
  /** Check every payload's SHA-256 against the registry (default true; env MNIST_LAB_VERIFY=0 turns it off, e.g. for the CLI). */
  verify?: boolean;
  /** Options for the downloader (mirrors, retries, quiet). */
  downloadOptions?: DownloadOptions;
}

export const DEFAULT_SYSTEM_DIR = '/usr/share/datasets';

export function defaultCacheDir(): string {
  return process.env.MNIST_LAB_CACHE ?? path.join(PROJECT_ROOT, 'data');
}

export function defaultKerasDir(): string {
  return path.join(os.homedir(), '.keras', 'datasets');
}

/** A candidate location, in search order. */
interface Candidate {
  kind: DataSource['kind'];
  /** The folder that holds the four IDX files, or the npz file. */
  path: string;
  format: 'idx' | 'npz';
}

function candidates(name: DatasetName, options: LoadDataOptions): Candidate[] {
  const list: Candidate[] = [];
  const explicit = explicitDataLocation(options);
  if (explicit) {
    // An explicit location is the only place looked at: checked here, never skipped.
    const spec = getDatasetSpec(name);
    return [{ kind: 'explicit', path: checkExplicitLocation(explicit, name, FILE_ROLES.map((role) => spec.files[role].fileName)), format: 'idx' }];
  }
  list.push({ kind: 'cache', path: path.resolve(options.cacheDir ?? defaultCacheDir(), name), format: 'idx' });
  const keras = options.kerasDir ?? defaultKerasDir();
  list.push(
    name === 'mnist'
      ? { kind: 'keras', path: path.join(keras, 'mnist.npz'), format: 'npz' }
      : { kind: 'keras', path: path.join(keras, name), format: 'idx' },
  );
  list.push({ kind: 'system', path: path.join(options.systemDir ?? DEFAULT_SYSTEM_DIR, name), format: 'idx' });
  return list;
}

/** Find the IDX file for a role in a folder: the standard `.gz` name, or the same without `.gz`. */
async function findIdxFile(dir: string, fileName: string): Promise<string | undefined> {
  for (const candidate of [fileName, fileName.replace(/\.gz$/, '')]) {
    const full = path.join(dir, candidate);
    if (await pathExists(full)) return full;
  }
  return undefined;
}

/** Locate a data set without reading it. Returns undefined when it would have to be downloaded. */
export async function locateDataset(name: string, options: LoadDataOptions = {}): Promise<DataSource | undefined> {
  const spec = getDatasetSpec(name);
  for (const candidate of candidates(spec.name as DatasetName, options)) {
    if (candidate.format === 'npz') {
      if (await pathExists(candidate.path)) return { kind: candidate.kind, path: candidate.path };
      continue;
    }
    const found = await Promise.all(FILE_ROLES.map((role) => findIdxFile(candidate.path, spec.files[role].fileName)));
    const present = found.filter((file) => file !== undefined).length;
    if (present === FILE_ROLES.length) return { kind: candidate.kind, path: candidate.path };
    if (candidate.kind === 'explicit') {
      const missing = FILE_ROLES.filter((_, index) => found[index] === undefined).map((role) => spec.files[role].fileName);
      const location = explicitDataLocation(options);
      throw new DatasetNotFoundError(
        name,
        [`${candidate.path} (from ${location ? describeLocation(location) : 'the dataDir option'})`],
        `That folder has ${present === 0 ? 'none' : `only ${present}`} of the 4 files; missing: ${missing.join(', ')}. ` +
          `Place all four (${FILE_ROLES.map((role) => spec.files[role].fileName).join(', ')}) in ${candidate.path}.`,
      );
    }
  }
  return undefined;
}

const memo = new Map<string, Promise<Dataset>>();

/**
 * Load a data set as `{train, test, source}`. Results are shared within a
 * process (the arrays are views over the same bytes), so treat them as read-only.
 */
export function loadDataset(name: string, options: LoadDataOptions = {}): Promise<Dataset> {
  const spec = getDatasetSpec(name);
  const key = JSON.stringify([name, explicitDataLocation(options)?.root, options.cacheDir, options.kerasDir, options.systemDir, verifyWanted(options)]);
  let pending = memo.get(key);
  if (pending === undefined) {
    pending = loadUncached(spec, options);
    memo.set(key, pending);
    pending.catch(() => memo.delete(key));
  }
  return pending;
}

/**
 * Keras-style loader:
 * `const [[trainImages, trainLabels], [testImages, testLabels]] = await loadData('mnist')`.
 */
export async function loadData(name: string, options: LoadDataOptions = {}): Promise<KerasData> {
  const { train, test } = await loadDataset(name, options);
  return [
    [train.images, train.labels],
    [test.images, test.labels],
  ];
}

async function loadUncached(spec: DatasetSpec, options: LoadDataOptions): Promise<Dataset> {
  const name = spec.name as DatasetName;
  let source = await locateDataset(name, options);
  if (source === undefined) {
    const searched = candidates(name, options).map((c) => `${c.path} (${c.kind})`);
    const cache = path.resolve(options.cacheDir ?? defaultCacheDir(), name);
    const hint =
      `Offline, or when downloads are blocked: \`npx mnist-lab data add <folder>\` checks a folder of the four files ` +
      `(${FILE_ROLES.map((role) => spec.files[role].fileName).join(', ')}) and puts them in ${cache}; ` +
      `or set MNIST_LAB_DATA to a folder that holds a ${name}/ subfolder with them.`;
    if (options.download === false) throw new DatasetNotFoundError(name, searched, hint + ' (Downloading was switched off.)');
    await downloadDataset(spec, cache, { verify: options.verify, ...options.downloadOptions });
    source = { kind: 'download', path: cache };
  }
  const verify = verifyWanted(options);
  const [train, test] =
    source.path.endsWith('.npz') ? await readKerasNpz(source.path, spec, verify) : await readIdxFolder(source.path, spec, verify, source.kind);
  return { name, spec, train, test, source };
}

/** Checksums on unless switched off by the option or, for the command line, MNIST_LAB_VERIFY=0. */
function verifyWanted(options: LoadDataOptions): boolean {
  return options.verify ?? process.env.MNIST_LAB_VERIFY !== '0';
}

/** What to do about a bad file, depending on where it was found (a download is the fix only for the cache). */
export function fixForBadFile(file: string, kind: DataSource['kind']): string {
  switch (kind) {
    case 'explicit':
      return `Replace it with the official file (\`npx mnist-lab data add <folder>\` checks a copy and puts it in the project's data/ cache).`;
    case 'cache':
    case 'download':
      return `Delete ${file} and load again: it is downloaded afresh where there is internet; offline, \`npx mnist-lab data add <folder>\` puts a checked copy there.`;
    default:
      return `That copy is not mnist-lab's: replace it with the official file, or delete it so the next place is used.`;
  }
}

async function readIdxFolder(dir: string, spec: DatasetSpec, verify: boolean, kind: DataSource['kind'] = 'cache'): Promise<[Split, Split]> {
  const read = async (role: FileRole, magic: number) => {
    const file = (await findIdxFile(dir, spec.files[role].fileName)) ?? path.join(dir, spec.files[role].fileName);
    const idx = await readIdxFile(file, magic).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') {
        throw new DatasetNotFoundError(spec.name, [dir], `${file} is missing. Place all four files of ${spec.name} in ${dir}.`);
      }
      if (error instanceof DataFormatError) throw new DataFormatError(error.file, error.problem, error.expected, error.actual, fixForBadFile(file, kind));
      throw describeFsError(error, { path: file, operation: 'read the data file' });
    });
    if (verify && idx.sha256 !== spec.files[role].sha256) throw new ChecksumError(file, spec.files[role].sha256, idx.sha256, fixForBadFile(file, kind));
    return { file, ...idx };
  };
  const trainImages = await read('trainImages', IDX_IMAGES_MAGIC);
  const trainLabels = await read('trainLabels', IDX_LABELS_MAGIC);
  const testImages = await read('testImages', IDX_IMAGES_MAGIC);
  const testLabels = await read('testLabels', IDX_LABELS_MAGIC);
  return [makeSplit(trainImages, trainLabels, spec), makeSplit(testImages, testLabels, spec)];
}

async function readKerasNpz(file: string, spec: DatasetSpec, verify: boolean): Promise<[Split, Split]> {
  const arrays = await readNpz(file);
  const pieces = {
    x_train: ['trainImages', arrays.x_train],
    y_train: ['trainLabels', arrays.y_train],
    x_test: ['testImages', arrays.x_test],
    y_test: ['testLabels', arrays.y_test],
  } as const;
  if (verify) {
    // The npz holds the same values as the IDX files, so rebuilding the IDX
    // header lets us check them against the same registry hashes.
    for (const [key, [role, array]] of Object.entries(pieces)) {
      const actual = createHash('sha256').update(encodeIdxHeader(array.shape)).update(array.data).digest('hex');
      if (actual !== spec.files[role].sha256) throw new ChecksumError(`${file}:${key}.npy`, spec.files[role].sha256, actual);
    }
  }
  const named = (key: keyof typeof pieces) => ({ file: `${file}:${key}.npy`, ...pieces[key][1] });
  return [makeSplit(named('x_train'), named('y_train'), spec), makeSplit(named('x_test'), named('y_test'), spec)];
}

interface NamedArray {
  file: string;
  shape: number[];
  data: Uint8Array;
}

function makeSplit(images: NamedArray, labels: NamedArray, spec: DatasetSpec): Split {
  const [rows, columns] = spec.imageShape;
  if (images.shape.length !== 3 || images.shape[1] !== rows || images.shape[2] !== columns) {
    throw new DataFormatError(images.file, 'images have the wrong shape', `[N, ${rows}, ${columns}]`, `[${images.shape.join(', ')}]`);
  }
  if (labels.shape.length !== 1) {
    throw new DataFormatError(labels.file, 'labels must be one-dimensional', '[N]', `[${labels.shape.join(', ')}]`);
  }
  if (images.shape[0] !== labels.shape[0]) {
    throw new DataFormatError(
      labels.file,
      `image and label counts differ (images in ${path.basename(images.file)})`,
      `${images.shape[0]} labels`,
      `${labels.shape[0]} labels`,
      'The two files come from different releases or one is truncated: replace both with the official pair.',
    );
  }
  const bad = labels.data.findIndex((label) => label >= NUM_CLASSES);
  if (bad >= 0) {
    throw new DataFormatError(labels.file, `label at index ${bad} is outside 0-${NUM_CLASSES - 1}`, `0-${NUM_CLASSES - 1}`, labels.data[bad]);
  }
  return {
    images: ndarray(images.data, images.shape),
    labels: ndarray(labels.data, labels.shape),
  };
}
