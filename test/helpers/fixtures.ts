/**
 * Synthetic data sets the tests make themselves: tiny MNIST-shaped IDX files
 * with known contents, so every bad-input case can be built on purpose.
 */
import { existsSync, mkdtempSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeIdxFile, sha256Hex, encodeIdx, defaultCacheDir, type DatasetSpec, type FileRole, FILE_ROLES } from '../../src';

export const STANDARD_NAMES: Record<FileRole, string> = {
  trainImages: 'train-images-idx3-ubyte.gz',
  trainLabels: 'train-labels-idx1-ubyte.gz',
  testImages: 't10k-images-idx3-ubyte.gz',
  testLabels: 't10k-labels-idx1-ubyte.gz',
};

/** Does `root` hold both real data sets' four files (as `npx mnist-lab data add` leaves them in data/)? */
function holdsRealData(root: string): boolean {
  return ['mnist', 'fashion-mnist'].every((name) =>
    Object.values(STANDARD_NAMES).every((file) => existsSync(path.join(root, name, file)) || existsSync(path.join(root, name, file.replace(/\.gz$/, '')))),
  );
}

/**
 * Where the real-data tests read MNIST and Fashion-MNIST: env MNIST_LAB_DATA
 * (made absolute by `npm test`), else the project cache data/ once
 * `npx mnist-lab data add <folder>` has filled it; undefined skips them.
 */
export const REAL_DATA_DIR: string | undefined = process.env.MNIST_LAB_DATA
  ? path.resolve(process.env.MNIST_LAB_DATA)
  : holdsRealData(defaultCacheDir())
    ? defaultCacheDir()
    : undefined;

/** The skip reason of a real-data test without data (run-tests.mjs counts these; under CI they fail the run). */
export const REAL_DATA_SKIP = 'no real data: run `npx mnist-lab data add <folder>` or set MNIST_LAB_DATA';

export function tempDir(prefix = 'mnist-lab-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface TinyDataset {
  trainImages: Uint8Array;
  trainLabels: Uint8Array;
  testImages: Uint8Array;
  testLabels: Uint8Array;
  trainCount: number;
  testCount: number;
}

/** Images whose pixel (r, c) of example i is (i + r + c) % 256; labels i % 10. */
export function makeTinyDataset(trainCount = 12, testCount = 5): TinyDataset {
  const images = (count: number) => {
    const data = new Uint8Array(count * 28 * 28);
    for (let i = 0; i < count; i++) for (let p = 0; p < 784; p++) data[i * 784 + p] = (i + Math.floor(p / 28) + (p % 28)) % 256;
    return data;
  };
  const labels = (count: number) => Uint8Array.from({ length: count }, (_, i) => i % 10);
  return { trainImages: images(trainCount), trainLabels: labels(trainCount), testImages: images(testCount), testLabels: labels(testCount), trainCount, testCount };
}


/** Write a tiny data set as `<root>/<name>/` with the four standard gzip'd files. */
export async function writeTinyDataset(root: string, name = 'mnist', tiny = makeTinyDataset()): Promise<string> {
  const dir = path.join(root, name);
  await fs.mkdir(dir, { recursive: true });
  await writeIdxFile(path.join(dir, STANDARD_NAMES.trainImages), [tiny.trainCount, 28, 28], tiny.trainImages);
  await writeIdxFile(path.join(dir, STANDARD_NAMES.trainLabels), [tiny.trainCount], tiny.trainLabels);
  await writeIdxFile(path.join(dir, STANDARD_NAMES.testImages), [tiny.testCount, 28, 28], tiny.testImages);
  await writeIdxFile(path.join(dir, STANDARD_NAMES.testLabels), [tiny.testCount], tiny.testLabels);
  return dir;
}

/** A registry entry describing the tiny data set (real hashes of its payloads). */
export function tinySpec(tiny = makeTinyDataset(), mirrors: string[] = []): DatasetSpec {
  const payload: Record<FileRole, Uint8Array> = {
    trainImages: encodeIdx([tiny.trainCount, 28, 28], tiny.trainImages),
    trainLabels: encodeIdx([tiny.trainCount], tiny.trainLabels),
    testImages: encodeIdx([tiny.testCount, 28, 28], tiny.testImages),
    testLabels: encodeIdx([tiny.testCount], tiny.testLabels),
  };
  const files = {} as DatasetSpec['files'];
  for (const role of FILE_ROLES) files[role] = { fileName: STANDARD_NAMES[role], sha256: sha256Hex(payload[role]) };
  return {
    name: 'tiny',
    description: 'test fixture',
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    files,
    mirrors,
    imageShape: [28, 28],
    trainCount: tiny.trainCount,
    testCount: tiny.testCount,
  };
}
