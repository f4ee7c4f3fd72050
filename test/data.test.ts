import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as http from 'node:http';
import { gzipSync } from 'node:zlib';
import {
  loadData,
  loadDataset,
  locateDataset,
  downloadDataset,
  encodeNpz,
  encodeIdx,
  writeIdxFile,
  readIdxFile,
  FILE_ROLES,
  ChecksumError,
  ConfigError,
  DataFormatError,
  DatasetNotFoundError,
  DownloadError,
} from '../src';
import { REAL_DATA_DIR, makeTinyDataset, tempDir, tinySpec, writeTinyDataset, STANDARD_NAMES } from './helpers/fixtures';

const real = { skip: REAL_DATA_DIR ? false : 'MNIST_LAB_DATA is not set (npm test sets it to ../shared/datasets when present)' };
/** Options that keep a test away from the real caches of this machine. */
const isolated = () => ({ cacheDir: tempDir(), kerasDir: tempDir(), systemDir: tempDir(), download: false });

describe('real MNIST from MNIST_LAB_DATA', real, () => {
  test('shapes, dtypes and the source', async () => {
    const dataset = await loadDataset('mnist', { dataDir: REAL_DATA_DIR });
    assert.deepEqual(dataset.train.images.shape, [60000, 28, 28]);
    assert.deepEqual(dataset.train.labels.shape, [60000]);
    assert.deepEqual(dataset.test.images.shape, [10000, 28, 28]);
    assert.deepEqual(dataset.test.labels.shape, [10000]);
    assert.ok(dataset.train.images.data instanceof Uint8Array);
    assert.equal(dataset.source.kind, 'explicit');
  });

  test('Keras-style destructuring, row 5 of the first image, first labels', async () => {
    const [[trainImages, trainLabels], [, testLabels]] = await loadData('mnist', { dataDir: REAL_DATA_DIR });
    const row5 = Array.from({ length: 28 }, (_, column) => trainImages.get(0, 5, column));
    assert.equal(row5.join(' '), '0 0 0 0 0 0 0 0 0 0 0 0 3 18 18 18 126 136 175 26 166 255 247 127 0 0 0 0');
    assert.equal(Array.from(trainLabels.data.subarray(0, 10)).join(' '), '5 0 4 1 9 2 1 3 1 4');
    assert.equal(Array.from(testLabels.data.subarray(0, 20)).join(' '), '7 2 1 0 4 1 4 9 5 9 0 6 9 0 1 5 9 7 3 4');
  });

  test('label counts per class', async () => {
    const [[, trainLabels], [, testLabels]] = await loadData('mnist', { dataDir: REAL_DATA_DIR });
    const counts = (labels: Uint8Array) => labels.reduce((acc, label) => (acc[label]++, acc), new Array<number>(10).fill(0));
    assert.deepEqual(counts(trainLabels.data), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    assert.deepEqual(counts(testLabels.data), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  });

  test('images are views over the raw bytes, not copies', async () => {
    const { train } = await loadDataset('mnist', { dataDir: REAL_DATA_DIR });
    const images = train.images.data;
    // The pixels start right after the 16-byte IDX header of the decompressed
    // payload they share a buffer with; a copy would start at offset 0.
    assert.equal(images.length, 60000 * 784);
    assert.equal(images.byteOffset, 16, 'the view starts after the IDX header');
    assert.equal(images.buffer.byteLength, 16 + images.length, 'and ends where the payload ends');
    const [[viewImages]] = await loadData('mnist', { dataDir: REAL_DATA_DIR });
    assert.equal(viewImages.data, images, 'loadData hands out the same bytes, not a copy');
  });

  test('Fashion-MNIST loads with its shapes and class names', async () => {
    const dataset = await loadDataset('fashion-mnist', { dataDir: REAL_DATA_DIR });
    assert.deepEqual(dataset.train.images.shape, [60000, 28, 28]);
    assert.deepEqual(dataset.test.images.shape, [10000, 28, 28]);
    assert.equal(dataset.spec.classNames[9], 'Ankle boot');
    const counts = new Array<number>(10).fill(0);
    for (const label of dataset.train.labels.data) counts[label]++;
    assert.deepEqual(counts, new Array(10).fill(6000));
  });
});

describe('where data comes from', () => {
  test('a folder of the four standard files (explicit dir) wins', async () => {
    const root = tempDir();
    await writeTinyDataset(root);
    const options = { ...isolated(), dataDir: root, verify: false };
    const [[trainImages, trainLabels], [testImages]] = await loadData('mnist', options);
    assert.deepEqual(trainImages.shape, [12, 28, 28]);
    assert.deepEqual(testImages.shape, [5, 28, 28]);
    assert.equal(trainLabels.get(11), 1);
    assert.equal(trainImages.get(3, 2, 1), 6);
    assert.deepEqual(await locateDataset('mnist', options), { kind: 'explicit', path: path.join(root, 'mnist') });
  });

  test('the Keras cache mnist.npz, on a small npz the test writes', async () => {
    const tiny = makeTinyDataset(7, 3);
    const kerasDir = tempDir();
    await fs.writeFile(
      path.join(kerasDir, 'mnist.npz'),
      encodeNpz({
        x_train: { shape: [7, 28, 28], data: tiny.trainImages },
        y_train: { shape: [7], data: tiny.trainLabels },
        x_test: { shape: [3, 28, 28], data: tiny.testImages },
        y_test: { shape: [3], data: tiny.testLabels },
      }),
    );
    const options = { ...isolated(), kerasDir, dataDir: null, verify: false };
    const dataset = await loadDataset('mnist', options);
    assert.equal(dataset.source.kind, 'keras');
    assert.deepEqual(dataset.train.images.shape, [7, 28, 28]);
    assert.equal(dataset.train.images.get(6, 27, 27), (6 + 27 + 27) % 256);
    assert.deepEqual(Array.from(dataset.test.labels.data), [0, 1, 2]);
    // With verification on, the same small npz is recognised as not the real MNIST.
    await assert.rejects(loadDataset('mnist', { ...options, verify: true }), (error: unknown) => {
      assert.ok(error instanceof ChecksumError);
      assert.match(error.message, /mnist\.npz:x_train\.npy: checksum mismatch \(expected SHA-256 ba891046/);
      return true;
    });
  });

  test('the project cache comes before the Keras cache, and the Debian folder after', async () => {
    const cacheDir = tempDir();
    const systemDir = tempDir();
    await writeTinyDataset(systemDir, 'fashion-mnist');
    const base = { kerasDir: tempDir(), systemDir, cacheDir, download: false, dataDir: null };
    assert.equal((await locateDataset('fashion-mnist', base))?.kind, 'system');
    await writeTinyDataset(cacheDir, 'fashion-mnist');
    assert.equal((await locateDataset('fashion-mnist', base))?.kind, 'cache');
  });
});

describe('bad input gets a clear message', () => {
  test('unknown data set name lists the known ones', async () => {
    await assert.rejects(loadData('cifar10'), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /dataset: unknown data set 'cifar10' \(allowed: mnist, fashion-mnist\)/);
      return true;
    });
  });

  test('nothing found and downloads off: says where it looked and which four files to place where', async () => {
    const options = { ...isolated(), dataDir: null };
    await assert.rejects(loadData('mnist', options), (error: unknown) => {
      assert.ok(error instanceof DatasetNotFoundError);
      assert.match(error.message, /Data set 'mnist' was not found\. Looked in:/);
      assert.match(error.message, /train-images-idx3-ubyte\.gz, train-labels-idx1-ubyte\.gz, t10k-images-idx3-ubyte\.gz, t10k-labels-idx1-ubyte\.gz/);
      assert.ok(error.message.includes(path.join(options.cacheDir, 'mnist')));
      return true;
    });
  });

  test('a folder with a missing file names the missing file', async () => {
    const root = tempDir();
    const dir = await writeTinyDataset(root);
    await fs.rm(path.join(dir, STANDARD_NAMES.testLabels));
    await assert.rejects(loadData('mnist', { ...isolated(), dataDir: root }), /only 3 of the 4 files; missing: t10k-labels-idx1-ubyte\.gz/);
  });

  test('a truncated gzip (interrupted download)', async () => {
    const root = tempDir();
    const dir = await writeTinyDataset(root);
    const file = path.join(dir, STANDARD_NAMES.trainImages);
    const bytes = await fs.readFile(file);
    await fs.writeFile(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await assert.rejects(loadData('mnist', { ...isolated(), dataDir: root, verify: false }), (error: unknown) => {
      assert.ok(error instanceof DataFormatError);
      assert.match(error.message, /train-images-idx3-ubyte\.gz: the gzip stream is truncated .*Replace it with the official file \(`npx mnist-lab data add <folder>`/);
      assert.doesNotMatch(error.message, /downloaded/, 'an explicit folder is not fixed by a download');
      return true;
    });
  });

  test('a corrupt gzip', async () => {
    const root = tempDir();
    const dir = await writeTinyDataset(root);
    const file = path.join(dir, STANDARD_NAMES.trainLabels);
    const bytes = await fs.readFile(file);
    bytes.fill(0x55, 10, 20);
    await fs.writeFile(file, bytes);
    await assert.rejects(loadData('mnist', { ...isolated(), dataDir: root, verify: false }), /train-labels-idx1-ubyte\.gz: the gzip stream is corrupt/);
  });

  test('wrong IDX magic (a label file where images belong)', async () => {
    const root = tempDir();
    const dir = await writeTinyDataset(root);
    await writeIdxFile(path.join(dir, STANDARD_NAMES.testImages), [5], new Uint8Array(5));
    await assert.rejects(
      loadData('mnist', { ...isolated(), dataDir: root, verify: false }),
      /t10k-images-idx3-ubyte\.gz: this is a label file \(IDX magic 0x00000801\) where the images belong: the images and labels files look swapped/,
    );
  });

  test('header and payload size disagree', async () => {
    const root = tempDir();
    const dir = await writeTinyDataset(root);
    const payload = encodeIdx([12], new Uint8Array(12)).subarray(0, 8 + 10);
    await fs.writeFile(path.join(dir, STANDARD_NAMES.trainLabels), gzipSync(payload));
    await assert.rejects(
      loadData('mnist', { ...isolated(), dataDir: root, verify: false }),
      /train-labels-idx1-ubyte\.gz: IDX size mismatch.*\(expected 12 values, got 10 values\)/,
    );
  });

  test('image and label counts differ', async () => {
    const root = tempDir();
    const dir = await writeTinyDataset(root);
    await writeIdxFile(path.join(dir, STANDARD_NAMES.trainLabels), [11], new Uint8Array(11));
    await assert.rejects(
      loadData('mnist', { ...isolated(), dataDir: root, verify: false }),
      /train-labels-idx1-ubyte\.gz: image and label counts differ .*\(expected 12 labels, got 11 labels\)/,
    );
  });

  test('a label outside 0-9', async () => {
    const root = tempDir();
    const dir = await writeTinyDataset(root);
    const labels = new Uint8Array(5);
    labels[3] = 10;
    await writeIdxFile(path.join(dir, STANDARD_NAMES.testLabels), [5], labels);
    await assert.rejects(
      loadData('mnist', { ...isolated(), dataDir: root, verify: false }),
      /t10k-labels-idx1-ubyte\.gz: label at index 3 is outside 0-9 \(expected 0-9, got 10\)/,
    );
  });

  test('a checksum mismatch against the registry', async () => {
    const root = tempDir();
    await writeTinyDataset(root);
    await assert.rejects(loadData('mnist', { ...isolated(), dataDir: root }), (error: unknown) => {
      assert.ok(error instanceof ChecksumError);
      assert.equal(error.expected, 'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db');
      assert.match(error.message, /train-images-idx3-ubyte\.gz: checksum mismatch/);
      return true;
    });
  });
});

/** A local HTTP server whose routes the test scripts: path prefix -> handler. */
async function withServer<T>(routes: Record<string, (res: http.ServerResponse, file: string) => void>, body: (base: string) => Promise<T>): Promise<T> {
  const server = http.createServer((req, res) => {
    const [, prefix, file] = (req.url ?? '').split('/');
    const handler = routes[prefix];
    if (handler) handler(res, file);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  try {
    return await body(`http://127.0.0.1:${port}`);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('the downloader', () => {
  test('falls through a failing and a truncating mirror, checks, and lands files atomically', async () => {
    const source = tempDir();
    const dir = await writeTinyDataset(source, 'tiny');
    let truncatedServed = 0;
    await withServer(
      {
        broken: (res) => res.writeHead(500).end('server error'),
        truncating: (res, file) => {
          truncatedServed++;
          fs.readFile(path.join(dir, file)).then((bytes) => {
            res.writeHead(200, { 'content-length': String(bytes.length) });
            res.write(bytes.subarray(0, 10));
            res.destroy();
          });
        },
        good: (res, file) => {
          fs.readFile(path.join(dir, file)).then((bytes) => res.writeHead(200).end(bytes), () => res.writeHead(404).end());
        },
      },
      async (base) => {
        const dest = tempDir();
        const spec = tinySpec(makeTinyDataset(), [`${base}/broken/`, `${base}/truncating/`, `${base}/good/`]);
        await downloadDataset(spec, dest, { retries: 1, retryDelayMs: 1, quiet: true });
        const files = (await fs.readdir(dest)).sort();
        assert.deepEqual(files, Object.values(STANDARD_NAMES).sort(), 'exactly the four files, no temp files left');
        assert.ok(truncatedServed >= 4, 'the truncating mirror was tried (and retried)');
        for (const role of FILE_ROLES) {
          const idx = await readIdxFile(path.join(dest, spec.files[role].fileName));
          assert.equal(idx.sha256, spec.files[role].sha256, `${role} arrived intact`);
        }
      },
    );
  });

  test('a download that fails its checksum never lands in the cache', async () => {
    const source = tempDir();
    const dir = await writeTinyDataset(source, 'mnist');
    await withServer(
      { m: (res, file) => fs.readFile(path.join(dir, file)).then((bytes) => res.writeHead(200).end(bytes)) },
      async (base) => {
        const cacheDir = tempDir();
        const options = { ...isolated(), cacheDir, dataDir: null, download: true, downloadOptions: { mirrors: [`${base}/m/`], retries: 0, quiet: true } };
        await assert.rejects(loadData('mnist', options), (error: unknown) => {
          assert.ok(error instanceof DownloadError);
          assert.match(error.message, /Could not download train-images-idx3-ubyte\.gz:\n {2}- http:\/\/127\.0\.0\.1:\d+\/m\/train-images-idx3-ubyte\.gz: checksum mismatch/);
          assert.match(error.message, /Nothing was written to/);
          return true;
        });
        const left = await fs.readdir(path.join(cacheDir, 'mnist')).catch(() => []);
        assert.deepEqual(left, [], 'no file (and no temp file) in the cache');
      },
    );
  });
});
