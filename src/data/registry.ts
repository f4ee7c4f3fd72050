/**
 * The data sets mnist-lab knows: standard file names, the public mirrors users
 * normally download from, and the SHA-256 of each decompressed IDX payload.
 * Gzip wrappers differ between mirrors; the payloads do not, so that is what
 * we check.
 */
import { ConfigError } from '../errors';

/** The four files of an MNIST-style data set, by role. */
export type FileRole = 'trainImages' | 'trainLabels' | 'testImages' | 'testLabels';
/** The four files of a data set, in the order Keras loads them. */
export const FILE_ROLES: readonly FileRole[] = ['trainImages', 'trainLabels', 'testImages', 'testLabels'];

/** One file of a data set: its name and the SHA-256 of its decompressed contents. */
export interface DatasetFile {
  /** Standard file name, as the mirrors serve it. */
  fileName: string;
  /** SHA-256 of the decompressed IDX payload (header included), hex. */
  sha256: string;
}

/** What the lab knows about a data set: its files, where to get them and what its labels mean. */
export interface DatasetSpec {
  name: string;
  /** One-line description for `mnist-lab info` and the notebooks. */
  description: string;
  /** Human-readable class names, index = label. */
  classNames: readonly string[];
  files: Record<FileRole, DatasetFile>;
  /** Base URLs (ending in '/'), tried in order; each serves the four `fileName`s. */
  mirrors: readonly string[];
  /** Image size in pixels (rows, columns). */
  imageShape: readonly [number, number];
  /** Number of training and test examples of the official release. */
  trainCount: number;
  testCount: number;
}

/** Classes of MNIST and Fashion-MNIST (digits 0-9, ten kinds of clothing). */
export const NUM_CLASSES = 10;

const STANDARD_FILE_NAMES: Record<FileRole, string> = {
  trainImages: 'train-images-idx3-ubyte.gz',
  trainLabels: 'train-labels-idx1-ubyte.gz',
  testImages: 't10k-images-idx3-ubyte.gz',
  testLabels: 't10k-labels-idx1-ubyte.gz',
};

function files(sha256: Record<FileRole, string>): Record<FileRole, DatasetFile> {
  const out = {} as Record<FileRole, DatasetFile>;
  for (const role of FILE_ROLES) out[role] = { fileName: STANDARD_FILE_NAMES[role], sha256: sha256[role] };
  return out;
}

/** Every data set the lab knows, by name: its files, checksums, mirrors and class names. */
export const DATASETS = {
  mnist: {
    name: 'mnist',
    description: 'MNIST handwritten digits (LeCun, Cortes, Burges): 60,000 train + 10,000 test, 28x28 grayscale',
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    files: files({
      trainImages: 'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db',
      trainLabels: '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5',
      testImages: '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7',
      testLabels: 'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2',
    }),
    mirrors: [
      'https://storage.googleapis.com/cvdf-datasets/mnist/',
      'https://ossci-datasets.s3.amazonaws.com/mnist/',
      'http://yann.lecun.com/exdb/mnist/',
    ],
    imageShape: [28, 28],
    trainCount: 60000,
    testCount: 10000,
  },
  'fashion-mnist': {
    name: 'fashion-mnist',
    description: 'Fashion-MNIST (Zalando Research): 60,000 train + 10,000 test, 28x28 grayscale clothing images',
    classNames: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
    files: files({
      trainImages: 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888',
      trainLabels: 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9',
      testImages: '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b',
      testLabels: '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34',
    }),
    mirrors: [
      'https://storage.googleapis.com/tensorflow/tf-keras-datasets/',
      'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
    ],
    imageShape: [28, 28],
    trainCount: 60000,
    testCount: 10000,
  },
} as const satisfies Record<string, DatasetSpec>;

/** Names accepted by `loadData`. */
export type DatasetName = keyof typeof DATASETS;
/** The names `loadData` accepts. */
export const DATASET_NAMES = Object.keys(DATASETS) as DatasetName[];

export function isDatasetName(name: string): name is DatasetName {
  return Object.prototype.hasOwnProperty.call(DATASETS, name);
}

/** Look a data set up by name, with an error that lists the known names. */
export function getDatasetSpec(name: string): DatasetSpec {
  if (!isDatasetName(name)) {
    throw new ConfigError('dataset', `unknown data set '${name}'`, DATASET_NAMES.join(', '));
  }
  return DATASETS[name];
}
