/**
 * Data locations fail loudly: an explicit location that is missing, a file,
 * unreadable or incomplete is an error naming the resolved absolute path and
 * where the value came from (never a silent fall-through to the cache); a
 * relative MNIST_LAB_DATA means relative to where the command was typed, also
 * through npm scripts; `info` checks what it reports; wrong files say what
 * they are; `mnist-lab data add` fills the project cache.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, promises as fs, readdirSync, writeFileSync, copyFileSync } from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT, loadData, explicitDataLocation, DataLocationError, writeIdxFile } from '../src';
import { REAL_DATA_DIR, REAL_DATA_SKIP, STANDARD_NAMES, tempDir, writeTinyDataset } from './helpers/fixtures';

const BIN = path.join(PROJECT_ROOT, 'bin', 'mnist-lab.js');
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const real = { skip: REAL_DATA_DIR ? false : REAL_DATA_SKIP };
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** The CLI with a cache that holds a (tiny) data set, so a fall-through would silently succeed. */
async function cli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; asNobody?: boolean } = {}) {
  const cache = tempDir();
  await writeTinyDataset(cache, 'mnist');
  const command = options.asNobody ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, ...args] : [process.execPath, BIN, ...args];
  const env: NodeJS.ProcessEnv = { ...process.env, MNIST_LAB_QUIET: '1', TF_CPP_MIN_LOG_LEVEL: '2', MNIST_LAB_CACHE: cache, MNIST_LAB_VERIFY: '0', DEBUG: '', ...options.env };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
  return spawnSync(command[0], command.slice(1), { cwd: options.cwd ?? PROJECT_ROOT, env, encoding: 'utf8' });
}

function assertLoud(result: { status: number | null; stderr: string }, pattern: RegExp): void {
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stderr, pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  assert.doesNotMatch(result.stderr, /mnist train\[0\]/, 'nothing was loaded from elsewhere');
}

describe('an explicit data location is checked, never skipped', () => {
  test('MNIST_LAB_DATA that does not exist', async () => {
    const missing = path.join(tempDir(), 'datasets');
    const result = await cli(['show', 'mnist', '--index', '0'], { env: { MNIST_LAB_DATA: missing } });
    assertLoud(result, new RegExp(`^mnist-lab: MNIST_LAB_DATA=${escape(missing)}: ${escape(missing)} does not exist\\.\\nPoint it at a folder holding mnist/ .* or unset MNIST_LAB_DATA to use the project's data/ cache\\.`, 'm'));
  });

  test('--data-dir that is a file', async () => {
    const file = path.join(tempDir(), 'mnist.tar');
    writeFileSync(file, 'x');
    const result = await cli(['show', 'mnist', '--index', '0', '--data-dir', file], { env: { MNIST_LAB_DATA: undefined } });
    assertLoud(result, new RegExp(`mnist-lab: --data-dir ${escape(file)}: ${escape(file)} is a file, not a folder\\.`));
    assert.doesNotMatch(result.stderr, /unset MNIST_LAB_DATA/, 'the advice fits where the value came from');
  });

  test('a location without the data set, and one holding the files itself', async () => {
    const root = tempDir();
    await writeTinyDataset(root, 'fashion-mnist');
    const result = await cli(['show', 'mnist', '--index', '0'], { env: { MNIST_LAB_DATA: root } });
    assertLoud(result, new RegExp(`${escape(root)} has no mnist/ subfolder\\.\\nPut the four files of mnist in ${escape(path.join(root, 'mnist'))}/`));
    const flat = path.join(root, 'fashion-mnist');
    const flatResult = await cli(['show', 'mnist', '--index', '0'], { env: { MNIST_LAB_DATA: flat } });
    assertLoud(flatResult, /It holds the data files itself: move them into .*\/mnist\/ \(the location holds one subfolder per data set\)/);
  });

  test('an incomplete folder names what is missing', async () => {
    const root = tempDir();
    const dir = await writeTinyDataset(root);
    await fs.rm(path.join(dir, STANDARD_NAMES.trainLabels));
    const result = await cli(['show', 'mnist', '--index', '0'], { env: { MNIST_LAB_DATA: root } });
    assertLoud(result, /That folder has only 3 of the 4 files; missing: train-labels-idx1-ubyte\.gz/);
    assert.match(result.stderr, new RegExp(`\\(from MNIST_LAB_DATA=${escape(root)}\\)`));
  });

  test('an unreadable location (as a non-root user)', { skip: isRoot ? false : 'needs root to run a command as another user' }, async () => {
    const root = tempDir();
    await writeTinyDataset(root);
    chmodSync(root, 0o755);
    chmodSync(path.join(root, 'mnist'), 0o700);
    const result = await cli(['show', 'mnist', '--index', '0'], { env: { MNIST_LAB_DATA: root }, asNobody: true });
    assertLoud(result, new RegExp(`MNIST_LAB_DATA=${escape(root)}: ${escape(path.join(root, 'mnist'))} cannot be read \\(EACCES\\)\\.\\nCheck its permissions`));
  });

  test('in the library too: loadData rejects with DataLocationError naming the option', async () => {
    const missing = path.join(tempDir(), 'nope');
    await assert.rejects(loadData('mnist', { dataDir: missing }), (error: unknown) => {
      assert.ok(error instanceof DataLocationError);
      assert.match(error.message, new RegExp(`^the dataDir option ${escape(missing)}: ${escape(missing)} does not exist`));
      return true;
    });
  });
});

describe('a relative MNIST_LAB_DATA is relative to where the command was typed', () => {
  test('resolved against INIT_CWD (npm) or the working directory', () => {
    const typedIn = tempDir();
    const location = explicitDataLocation({}, { MNIST_LAB_DATA: '../shared/datasets', INIT_CWD: typedIn });
    assert.equal(location?.root, path.resolve(typedIn, '../shared/datasets'));
    assert.equal(location?.relativeTo, typedIn);
  });

  test('the CLI names the folder it was resolved against', async () => {
    const typedIn = tempDir();
    const result = await cli(['show', 'mnist', '--index', '0'], { cwd: typedIn, env: { MNIST_LAB_DATA: 'datasets', INIT_CWD: undefined } });
    assertLoud(result, new RegExp(`MNIST_LAB_DATA=datasets \\(relative to ${escape(typedIn)}, where the command ran\\): ${escape(path.join(typedIn, 'datasets'))} does not exist`));
  });

  test('npm start makes it absolute before the kernels (in notebooks/) see it', real, () => {
    const typedIn = tempDir();
    const relative = path.relative(typedIn, REAL_DATA_DIR!);
    // `jupyter lab --version` prints and exits: enough to see the environment start-lab.mjs hands on.
    const result = spawnSync('npm', ['--prefix', PROJECT_ROOT, 'start', '--', '--version'], { cwd: typedIn, env: { ...process.env, MNIST_LAB_DATA: relative }, encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout + result.stderr, new RegExp(`MNIST_LAB_DATA=${escape(relative)} is relative to ${escape(typedIn)} \\(where the command was typed\\): using ${escape(REAL_DATA_DIR!)}`));
  });
  // The notebook tests (notebooks.test.ts) run every notebook with a relative MNIST_LAB_DATA and npm's INIT_CWD.
});

describe('wrong files say what they are', () => {
  test('an HTML page saved as a data file: a blocked download', async () => {
    const root = tempDir();
    const dir = await writeTinyDataset(root);
    writeFileSync(path.join(dir, STANDARD_NAMES.trainImages), '<!DOCTYPE html>\n<html><head><title>Access denied</title></head><body>Proxy</body></html>\n');
    const result = await cli(['show', 'mnist', '--index', '0'], { env: { MNIST_LAB_DATA: root } });
    assertLoud(result, /train-images-idx3-ubyte\.gz: this is an HTML web page, not the data: the download was blocked or redirected/);
    assert.match(result.stderr, /Replace it with the official file \(`npx mnist-lab data add <folder>`/, 'advice for an explicit folder: no download');
  });

  test('a label file where the images belong: swapped files', async () => {
    const root = tempDir();
    const dir = await writeTinyDataset(root);
    copyFileSync(path.join(dir, STANDARD_NAMES.trainLabels), path.join(dir, STANDARD_NAMES.trainImages));
    const result = await cli(['show', 'mnist', '--index', '0'], { env: { MNIST_LAB_DATA: root } });
    assertLoud(result, /this is a label file \(IDX magic 0x00000801\) where the images belong: the images and labels files look swapped/);
  });

  test('a checksum mismatch gives advice the command line can follow', async () => {
    const root = tempDir();
    await writeTinyDataset(root);
    const result = await cli(['show', 'mnist', '--index', '0'], { env: { MNIST_LAB_DATA: root, MNIST_LAB_VERIFY: undefined } });
    assertLoud(result, /checksum mismatch/);
    assert.match(result.stderr, /MNIST_LAB_VERIFY=0 for the mnist-lab command/);
    const off = await cli(['show', 'mnist', '--index', '0'], { env: { MNIST_LAB_DATA: root, MNIST_LAB_VERIFY: '0' } });
    assert.equal(off.status, 0, off.stderr);
  });
});

describe('mnist-lab info checks what it reports', () => {
  test('files, headers and sizes; a truncated file and a missing one are problems, with exit code 1', async () => {
    const root = tempDir();
    const dir = await writeTinyDataset(root);
    const result = await cli(['info'], { env: { MNIST_LAB_DATA: root } });
    assert.equal(result.status, 1, 'the tiny files are not the official sizes');
    assert.match(result.stdout, /mnist +\S+ \(explicit\): PROBLEM\n {4}train-images-idx3-ubyte\.gz: the header announces shape \[12, 28, 28\], expected \[60000, 28, 28\]/);
    assert.match(result.stdout, /fashion-mnist +PROBLEM: MNIST_LAB_DATA=\S+: \S+ has no fashion-mnist\/ subfolder/);
    await fs.rm(path.join(dir, STANDARD_NAMES.testLabels));
    const missing = await cli(['info', '--json'], { env: { MNIST_LAB_DATA: root } });
    const info = JSON.parse(missing.stdout) as { dataChecks: Record<string, { status: string; files: { problem: string | null }[] }> };
    assert.equal(info.dataChecks.mnist.status, 'broken');
  });

  test('the real data: OK by headers and sizes, and by SHA-256 with --verify; a truncated copy is caught by its gzip trailer', real, async () => {
    const ok = await cli(['info', '--verify'], { env: { MNIST_LAB_DATA: REAL_DATA_DIR } });
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /mnist +\S+mnist \(explicit\): 4 files, 11\.\d MB, SHA-256 verified/);
    const root = tempDir();
    mkdirSync(path.join(root, 'mnist'));
    for (const file of Object.values(STANDARD_NAMES)) copyFileSync(path.join(REAL_DATA_DIR!, 'mnist', file), path.join(root, 'mnist', file));
    const labels = path.join(root, 'mnist', STANDARD_NAMES.testLabels);
    const bytes = await fs.readFile(labels);
    await fs.writeFile(labels, bytes.subarray(0, bytes.length - 100));
    const truncated = await cli(['info'], { env: { MNIST_LAB_DATA: root } });
    assert.equal(truncated.status, 1);
    assert.match(truncated.stdout, /t10k-labels-idx1-ubyte\.gz: decompresses to \d+ bytes by its gzip trailer, expected 10008 \(truncated or a different file\)/);
  });
});

describe('mnist-lab data add <folder>', real, () => {
  test('checks and links the data sets into the cache, where info finds them with no environment variable', async () => {
    const cache = tempDir();
    const env = { MNIST_LAB_CACHE: cache, MNIST_LAB_DATA: undefined, MNIST_LAB_VERIFY: undefined };
    const added = spawnSync(process.execPath, [BIN, 'data', 'add', REAL_DATA_DIR!], { cwd: PROJECT_ROOT, env: { ...process.env, ...env, MNIST_LAB_DATA: '' }, encoding: 'utf8' });
    assert.equal(added.status, 0, added.stderr);
    assert.match(added.stdout, new RegExp(`mnist: 4 files checked \\(SHA-256\\) and (linked|copied) into ${escape(path.join(cache, 'mnist'))}`));
    assert.match(added.stdout, /fashion-mnist: 4 files checked/);
    const info = spawnSync(process.execPath, [BIN, 'info', '--verify'], { cwd: PROJECT_ROOT, env: { ...process.env, MNIST_LAB_CACHE: cache, MNIST_LAB_DATA: '', TF_CPP_MIN_LOG_LEVEL: '2' }, encoding: 'utf8' });
    assert.equal(info.status, 0, info.stderr);
    assert.match(info.stdout, new RegExp(`mnist +${escape(path.join(cache, 'mnist'))} \\(cache\\): 4 files, .*SHA-256 verified`));
  });

  test('a damaged copy is refused and nothing is added', async () => {
    const source = tempDir();
    mkdirSync(path.join(source, 'mnist'));
    for (const file of Object.values(STANDARD_NAMES)) copyFileSync(path.join(REAL_DATA_DIR!, 'mnist', file), path.join(source, 'mnist', file));
    await writeIdxFile(path.join(source, 'mnist', STANDARD_NAMES.testLabels), [10000], new Uint8Array(10000));
    const cache = tempDir();
    const result = spawnSync(process.execPath, [BIN, 'data', 'add', source], { cwd: PROJECT_ROOT, env: { ...process.env, MNIST_LAB_CACHE: cache }, encoding: 'utf8' });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /t10k-labels-idx1-ubyte\.gz: checksum mismatch for mnist .* Nothing was added\./);
    assert.deepEqual(readdirSync(cache), []);
  });
});

describe('npm test reports skipped tests', () => {
  test('it says how many were skipped and why; under CI a skipped real-data test fails the run', () => {
    const run = (ci: boolean) => {
      const env: NodeJS.ProcessEnv = { ...process.env, MNIST_LAB_CACHE: tempDir(), CI: ci ? 'true' : 'false' };
      delete env.MNIST_LAB_DATA;
      delete env.NODE_TEST_CONTEXT; // a nested `node --test` would otherwise report to us instead of printing
      return spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'run-tests.mjs'), 'resume.test'], { cwd: PROJECT_ROOT, env, encoding: 'utf8' });
    };
    const local = run(false);
    assert.equal(local.status, 0, local.stdout + local.stderr);
    assert.match(local.stdout, /npm test: \d+ test\(s\) or suite\(s\) skipped:\n {2}\d+ × .*(MNIST_LAB_DATA|real data).* \(test\/resume\.test\.ts\)/);
    assert.match(local.stdout, /`npx mnist-lab data add <folder>`/);
    const ci = run(true);
    assert.equal(ci.status, 1);
    assert.match(ci.stderr, /npm test: under CI, \d+ real-data test\(s\) were skipped: that fails the run\./);
  });
});
