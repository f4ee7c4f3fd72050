/**
 * Data sets from image files (issue "Your own data"): both layouts, the
 * export -> load round trip, the cache and every bad-input case.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs, existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import {
  loadData,
  loadImageFolder,
  ImageFolderError,
  BadImagesError,
  ConfigError,
} from '../src';
import { exportDataset, encodeGrayPng } from '../src/data/export';
import { allImages } from '../src/data/image-folder';
import { REAL_DATA_DIR, tempDir } from './helpers/fixtures';
import { photoOfDigit } from './helpers/photo';

const real = { skip: REAL_DATA_DIR ? false : 'MNIST_LAB_DATA is not set' };

/** A 28x28 PNG: a bright bar at row `row` on black. */
function barPng(row: number): Uint8Array {
  const pixels = new Uint8Array(784);
  for (let c = 4; c < 24; c++) for (let r = row; r < row + 3; r++) pixels[r * 28 + c] = 255;
  return encodeGrayPng(pixels, 28, 28);
}

async function write(root: string, files: Record<string, Uint8Array | string>): Promise<string> {
  for (const [name, content] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await fs.writeFile(path.join(root, name), content);
  }
  return root;
}

const cacheOf = () => ({ cacheDir: tempDir('mnist-lab-cache-') });

describe('loadImageFolder', () => {
  test('export -> load round trip gives the same pixels and labels, in both layouts (MNIST and Fashion-MNIST)', real, async () => {
    for (const [name, layout] of [['mnist', 'folders'], ['mnist', 'labels-file'], ['fashion-mnist', 'folders']] as const) {
      const out = tempDir('mnist-lab-export-');
      const written = await exportDataset(name, { out, split: 'test', limit: 60, layout, dataDir: REAL_DATA_DIR });
      assert.equal(written.count, 60);
      const loaded = await loadImageFolder(out, { mode: 'resize', ...cacheOf() });
      assert.equal(loaded.layout, layout);
      const [, [images, labels]] = await loadData(name, { dataDir: REAL_DATA_DIR });
      // Folders come back grouped by class; match each file to its index.
      loaded.files.train.forEach((file, i) => {
        const index = Number(path.basename(file, '.png'));
        assert.equal(loaded.train.labels.get(i), labels.get(index), `${name} ${layout} ${file}: label`);
        for (let p = 0; p < 784; p++) assert.equal(loaded.train.images.get(i, Math.floor(p / 28), p % 28), images.get(index, Math.floor(p / 28), p % 28), `${file} pixel ${p}`);
      });
      assert.equal(loaded.train.labels.shape[0], 60);
      assert.equal(loaded.classNames.length, 10);
      if (name === 'fashion-mnist' && layout === 'folders') assert.ok(existsSync(path.join(out, '0-T-shirt_top')), readdirSync(out).join(', '));
    }
  });

  test('one subfolder per class: classes sorted (Keras), digit folders keep their digit; train/ and test/ subfolders; testSplit', async () => {
    const root = await write(tempDir(), { 'cat/a.png': barPng(2), 'cat/b.png': barPng(4), 'dog/c.png': barPng(20) });
    const animals = await loadImageFolder(root, { mode: 'resize', shuffle: false, ...cacheOf() });
    assert.deepEqual(animals.classNames, ['cat', 'dog']);
    assert.deepEqual(Array.from(animals.train.labels.data), [0, 0, 1]);
    assert.deepEqual(animals.files.train, ['cat/a.png', 'cat/b.png', 'dog/c.png']);
    assert.equal(animals.test.labels.shape[0], 0);

    const digits = await write(tempDir(), { 'train/3/a.png': barPng(2), 'train/7/b.png': barPng(12), 'test/7/c.png': barPng(14) });
    const split = await loadImageFolder(digits, { mode: 'resize', shuffle: false, ...cacheOf() });
    assert.equal(split.classNames.length, 10);
    assert.deepEqual(Array.from(split.train.labels.data), [3, 7]);
    assert.deepEqual(Array.from(split.test.labels.data), [7]);
    assert.equal(allImages(split).labels.shape[0], 3);

    const many = await write(tempDir(), Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`${i % 2}/${i}.png`, barPng(i)])));
    const held = await loadImageFolder(many, { mode: 'resize', testSplit: 0.25, seed: 1, ...cacheOf() });
    assert.equal(held.test.labels.shape[0], 5);
    assert.equal(held.train.labels.shape[0], 15);
    const again = await loadImageFolder(many, { mode: 'resize', testSplit: 0.25, seed: 1, ...cacheOf() });
    assert.deepEqual(again.files.test, held.files.test);
  });

  test('images are shuffled by default (seeded, as Keras image_dataset_from_directory), so a validation split is not the last classes', async () => {
    const root = await write(tempDir(), Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`${Math.floor(i / 4)}/${i}.png`, barPng(i % 20)])));
    const shuffled = await loadImageFolder(root, { mode: 'resize', seed: 3, ...cacheOf() });
    const labels = Array.from(shuffled.train.labels.data);
    assert.notDeepEqual(labels, labels.slice().sort((a, b) => a - b), 'not in class order');
    // Keras's validationSplit takes the last fifth: it holds several classes, not only 8 and 9.
    assert.ok(new Set(labels.slice(-8)).size >= 4, `the last fifth holds classes ${labels.slice(-8).join(', ')}`);
    // Images and files follow their labels through the shuffle.
    shuffled.files.train.forEach((file, i) => assert.equal(Number(file.split('/')[0]), labels[i]));
    const again = await loadImageFolder(root, { mode: 'resize', seed: 3, cache: false });
    assert.deepEqual(again.files.train, shuffled.files.train, 'same seed, same order');
    assert.deepEqual(Array.from(again.train.images.data), Array.from(shuffled.train.images.data));
    const other = await loadImageFolder(root, { mode: 'resize', seed: 4, cache: false });
    assert.notDeepEqual(other.files.train, shuffled.files.train, 'another seed, another order');
  });

  test('decoding reports its progress (onProgress), and a cache hit decodes nothing', async () => {
    const root = await write(tempDir(), Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`${i % 3}/${i}.png`, barPng(i)])));
    const cache = cacheOf();
    const seen: [number, number][] = [];
    await loadImageFolder(root, { mode: 'resize', ...cache, onProgress: (done, total) => seen.push([done, total]) });
    assert.deepEqual(seen.map(([done]) => done), Array.from({ length: 12 }, (_, i) => i + 1));
    assert.ok(seen.every(([, total]) => total === 12));
    const again: number[] = [];
    const cached = await loadImageFolder(root, { mode: 'resize', ...cache, onProgress: (done) => again.push(done) });
    assert.equal(cached.source.fromCache, true);
    assert.deepEqual(again, []);
  });

  test('a labels file: `filename label` lines (the course) or a CSV with a header', async () => {
    const txt = await write(tempDir(), { 'a.png': barPng(2), 'b.png': barPng(9), 'labels.txt': 'a.png 4\n# a comment\nb.png 9\n' });
    const fromTxt = await loadImageFolder(txt, { mode: 'resize', ...cacheOf() });
    assert.deepEqual(Array.from(fromTxt.train.labels.data), [4, 9]);
    const csv = await write(tempDir(), { 'a.png': barPng(2), 'b.png': barPng(9), 'labels.csv': 'filename,label\na.png,cat\nb.png,dog\n' });
    const fromCsv = await loadImageFolder(csv, { mode: 'resize', ...cacheOf() });
    assert.deepEqual(fromCsv.classNames, ['cat', 'dog']);
    assert.deepEqual(Array.from(fromCsv.train.labels.data), [0, 1]);
  });

  test('mode mnist reads photo-like pictures of any size and colour as centred 28x28 digits', real, async () => {
    const [, [images, labels]] = await loadData('mnist', { dataDir: REAL_DATA_DIR });
    const files: Record<string, Uint8Array> = {};
    for (let i = 0; i < 6; i++) files[`${labels.get(i)}/photo-${i}.jpg`] = photoOfDigit(Array.from({ length: 784 }, (_, p) => images.get(i, Math.floor(p / 28), p % 28)), i);
    const loaded = await loadImageFolder(await write(tempDir(), files), cacheOf());
    assert.equal(loaded.train.labels.shape[0], 6);
    for (let i = 0; i < 6; i++) {
      let mass = 0;
      let row = 0;
      for (let p = 0; p < 784; p++) {
        mass += loaded.train.images.data[i * 784 + p];
        row += loaded.train.images.data[i * 784 + p] * Math.floor(p / 28);
      }
      assert.ok(Math.abs(row / mass - 14) < 1.5, `image ${i} centred (row ${row / mass})`);
    }
  });

  test('the cache: the second load comes from it; a changed file, or a damaged cache, makes a fresh load', async () => {
    const root = await write(tempDir(), { '0/a.png': barPng(2), '1/b.png': barPng(10) });
    const cache = cacheOf();
    const first = await loadImageFolder(root, { mode: 'resize', ...cache });
    assert.equal(first.source.fromCache, false);
    const second = await loadImageFolder(root, { mode: 'resize', ...cache });
    assert.equal(second.source.fromCache, true);
    assert.deepEqual(Array.from(second.train.images.data), Array.from(first.train.images.data));
    // Other options are another cache entry.
    assert.equal((await loadImageFolder(root, { mode: 'mnist', ...cache })).source.fromCache, false);

    await fs.writeFile(path.join(root, '1/b.png'), barPng(20));
    const changed = await loadImageFolder(root, { mode: 'resize', ...cache });
    assert.equal(changed.source.fromCache, false);
    assert.equal(changed.train.images.get(1, 21, 10), 255);
    assert.equal(changed.train.images.get(1, 11, 10), 0);

    const cacheFile = changed.source.cacheFile as string;
    const bytes = await fs.readFile(cacheFile);
    bytes[bytes.length - 5] ^= 0xff;
    await fs.writeFile(cacheFile, bytes);
    const rebuilt = await loadImageFolder(root, { mode: 'resize', ...cache });
    assert.equal(rebuilt.source.fromCache, false);
    assert.deepEqual(Array.from(rebuilt.train.images.data), Array.from(changed.train.images.data));
  });

  test('bad images: all of them are listed with the reason, nothing is cached; skipBad leaves them out and counts them', async () => {
    const root = await write(tempDir(), {
      '0/good.png': barPng(2),
      '0/notes.txt': 'not an image',
      '1/truncated.png': barPng(5).subarray(0, 40),
      '1/broken.jpg': Uint8Array.of(0xff, 0xd8, 0xff, 0xe0, 1, 2, 3),
      '1/good.png': barPng(12),
    });
    const cache = cacheOf();
    await assert.rejects(loadImageFolder(root, { mode: 'resize', ...cache }), (error: unknown) => {
      assert.ok(error instanceof BadImagesError);
      assert.match(error.message, /3 files in .* cannot be used as images/);
      assert.match(error.message, /0\/notes\.txt: .*not a PNG or JPEG/);
      assert.match(error.message, /1\/truncated\.png: .*starts like a PNG but does not decode/);
      assert.match(error.message, /1\/broken\.jpg: .*starts like a JPEG but does not decode/);
      assert.match(error.message, /skipBad: true \(CLI --skip-bad\)/);
      return true;
    });
    assert.deepEqual(readdirSync(cache.cacheDir), [], 'nothing cached after a failed load');
    const skipped = await loadImageFolder(root, { mode: 'resize', skipBad: true, ...cache });
    assert.equal(skipped.skipped.length, 3);
    assert.equal(skipped.train.labels.shape[0], 2);
  });

  test('folder problems: missing, empty, empty class, labels file naming a missing file or an unknown class', async () => {
    const cache = cacheOf();
    const rejects = (dir: string, pattern: RegExp, options = {}) =>
      assert.rejects(loadImageFolder(dir, { ...cache, mode: 'resize', ...options }), (error: unknown) => error instanceof ImageFolderError && pattern.test(error.message));
    await rejects(path.join(tempDir(), 'nope'), /does not exist/);
    await rejects(tempDir(), /\. is empty/);
    await rejects(await write(tempDir(), { 'a/x.png': barPng(1), 'b/.keep': '' }), /the class folder b has no images/);
    await rejects(await write(tempDir(), { 'x.png': barPng(1) }), /has files but no class subfolders and no labels file/);
    await rejects(await write(tempDir(), { 'a.png': barPng(1), 'labels.txt': 'a.png 1\nmissing.png 2\n' }), /labels\.txt line 2 names missing\.png, which does not exist/);
    await rejects(await write(tempDir(), { 'a.png': barPng(1), 'labels.txt': 'a.png 1 extra\n' }), /line 1: expected 'filename label'/);
    await rejects(await write(tempDir(), { 'a.png': barPng(1), 'labels.txt': 'a.png seven\n' }), /class 'seven' is not one of the known classes \(0, 1/, { classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] });
    await rejects(await write(tempDir(), { 'a.png': barPng(1), 'labels.csv': 'a.png,1\n' }), /starts with a header/);
    assert.deepEqual(readdirSync(cache.cacheDir), []);
    await assert.rejects(loadImageFolder(tempDir(), { testSplit: 1 }), ConfigError);
  });
});
