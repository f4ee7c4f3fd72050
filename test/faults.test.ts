/**
 * Faults become messages: a full disk (a small tmpfs), a missing permission
 * (a non-root user), a read-only mount, a file where a folder belongs and the
 * reverse, a missing spec file. Each is one or two lines naming the path, the
 * operation and what to do, with a non-zero exit and no stack trace unless
 * --verbose or DEBUG asks for it. Real faults where the machine allows them;
 * skipped with the reason otherwise.
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, promises as fs, readdirSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT, describeFsError, FileSystemError, writeFileAtomic } from '../src';
import { REAL_DATA_DIR, REAL_DATA_SKIP, tempDir, writeTinyDataset } from './helpers/fixtures';

const BIN = path.join(PROJECT_ROOT, 'bin', 'mnist-lab.js');
const env = { ...process.env, MNIST_LAB_QUIET: '1', TF_CPP_MIN_LOG_LEVEL: '2', MNIST_LAB_DATA: REAL_DATA_DIR, DEBUG: '' };
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function cli(args: string[], options: { env?: NodeJS.ProcessEnv; asNobody?: boolean } = {}) {
  const command = options.asNobody ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, ...args] : [process.execPath, BIN, ...args];
  return spawnSync(command[0], command.slice(1), { cwd: PROJECT_ROOT, env: { ...env, ...options.env }, encoding: 'utf8' });
}

/** One or two lines of message after the library's own start-up notes; no stack trace. */
function assertMessage(result: ReturnType<typeof cli>, pattern: RegExp): void {
  assert.notEqual(result.status, 0, 'non-zero exit');
  const lines = result.stderr.split('\n').filter((line) => line.startsWith('mnist-lab: ') || (line !== '' && !/^(WARNING|I0000|E0000|W0000)/.test(line)));
  const message = lines.filter((line) => !/backend tensorflow/.test(line)).join('\n');
  assert.match(message, pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at /, `no stack trace:\n${result.stderr}`);
  assert.ok(message.split('\n').length <= 2, `one or two lines:\n${message}`);
}

const mounts: string[] = [];
function mountTmpfs(options: string): string | null {
  const dir = tempDir('mnist-lab-tmpfs-');
  const result = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { encoding: 'utf8' });
  if (result.status !== 0) return null;
  mounts.push(dir);
  return dir;
}
after(() => {
  for (const dir of mounts) spawnSync('umount', [dir]);
});

const canMount = (() => {
  if (!isRoot) return 'needs root to mount a small tmpfs';
  const probe = mountTmpfs('size=64k');
  return probe === null ? 'mount -t tmpfs is not allowed here' : false;
})();
const canSwitchUser = (() => {
  if (!isRoot) return 'needs root to run a command as another user';
  const probe = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'true']);
  return probe.status === 0 ? false : 'setpriv cannot switch to the nobody user here';
})();

describe('a full disk (ENOSPC) during a checkpoint', { skip: REAL_DATA_DIR ? canMount : REAL_DATA_SKIP }, () => {
  test('says which checkpoint, the path and what to do; leaves no temp behind', () => {
    const disk = mountTmpfs('size=3m')!;
    const runDir = path.join(disk, 'run');
    // S1-base's checkpoint (weights + Adam's two moments) is about 4.9 MB: it cannot fit.
    const result = cli(['train', '--preset', 'S1-base', '--limit', '2000', '--epochs', '1', '--out', runDir]);
    assertMessage(result, /^mnist-lab: cannot write the '(best|last)' checkpoint: \S+: the disk is full \(ENOSPC\)\.\nFree some space on that disk .* then run the same command again: it resumes from the last completed epoch\.$/);
    const left = readdirSync(path.join(runDir, 'checkpoints'));
    assert.deepEqual(left.filter((name) => name.endsWith('.tmp')), [], 'the temp folder is removed');
    assert.ok(!existsSync(path.join(runDir, 'run.lock')), 'the lock is released');
  });

  test('a swap needs at most one extra checkpoint of free space', () => {
    // Size one S1-h128 checkpoint, then give a run room for best + last + one more (plus the JSON files).
    const probe = path.join(tempDir(), 'probe');
    const args = ['train', '--preset', 'S1-h128', '--limit', '3000', '--epochs', '4', '--seed', '1'];
    assert.equal(cli([...args, '--epochs', '1', '--out', probe, '--quiet']).status, 0);
    const checkpoint = readdirSync(path.join(probe, 'checkpoints', 'last')).reduce((sum, file) => sum + statSync(path.join(probe, 'checkpoints', 'last', file)).size, 0);
    const room = 3 * checkpoint + 256 * 1024;
    const disk = mountTmpfs(`size=${Math.ceil(room / 4096) * 4096}`)!;
    const result = cli([...args, '--out', path.join(disk, 'run'), '--quiet']);
    assert.equal(result.status, 0, `4 epochs in ${(room / 1e6).toFixed(1)} MB (checkpoint ${(checkpoint / 1e6).toFixed(2)} MB):\n${result.stderr}`);
  });
});

describe('permissions (EACCES) as a non-root user', { skip: canSwitchUser }, () => {
  test('an unreadable data file: the file, "read", and what to check', async () => {
    const root = tempDir();
    const dir = await writeTinyDataset(root);
    chmodSync(root, 0o755);
    chmodSync(dir, 0o755);
    for (const file of readdirSync(dir)) chmodSync(path.join(dir, file), 0o644);
    chmodSync(path.join(dir, 'train-labels-idx1-ubyte.gz'), 0o600);
    const result = cli(['show', 'mnist', '--index', '0'], { asNobody: true, env: { MNIST_LAB_DATA: root, MNIST_LAB_VERIFY: '0' } });
    assertMessage(result, /^mnist-lab: cannot read the data file \S+train-labels-idx1-ubyte\.gz: permission denied \(EACCES\)\.\nCheck the owner and permissions \(`ls -ld \S+`\), or choose a location you can read\.$/);
  });

  test('--out in a folder the user cannot write to', () => {
    const parent = tempDir();
    chmodSync(parent, 0o755);
    const result = cli(['train', '--epochs', '1', '--limit', '100', '--out', path.join(parent, 'run')], { asNobody: true, env: { MNIST_LAB_DATA: '/nonexistent-not-needed' } });
    assertMessage(result, /^mnist-lab: cannot create the run folder \S+\/run: permission denied \(EACCES\)\.\nChoose another --out folder/);
  });
});

describe('a read-only file system (EROFS)', { skip: canMount }, () => {
  test('--out on a read-only mount', () => {
    const disk = mountTmpfs('size=1m')!;
    mkdirSync(path.join(disk, 'runs'));
    spawnSync('mount', ['-o', 'remount,ro', disk]);
    const result = cli(['train', '--epochs', '1', '--limit', '100', '--out', path.join(disk, 'runs', 'x')]);
    assertMessage(result, /^mnist-lab: cannot create the run folder \S+: the file system is read-only \(EROFS\)\.\nChoose another --out folder/);
  });
});

describe('a file where a folder belongs, and the reverse', () => {
  test('--out is a file', () => {
    const file = path.join(tempDir(), 'notes.txt');
    writeFileSync(file, 'hello');
    const result = cli(['train', '--epochs', '1', '--out', file]);
    assertMessage(result, /^mnist-lab: cannot create the run folder \S+notes\.txt: it is a file, where a folder is expected \(EEXIST\)\.\nChoose another --out folder/);
  });

  test('--out lies under a file', () => {
    const file = path.join(tempDir(), 'notes.txt');
    writeFileSync(file, 'hello');
    const result = cli(['train', '--epochs', '1', '--out', path.join(file, 'run')]);
    assertMessage(result, new RegExp(`^mnist-lab: cannot create the run folder \\S+: ${file.replace(/[/.]/g, '\\$&')} is a file, where a folder is expected \\(ENOTDIR\\)`));
  });

  test('a folder where a file is expected (EISDIR), through the same explanation', async () => {
    const dir = tempDir();
    const error = await fs.readFile(dir).catch((caught: unknown) => caught);
    const explained = describeFsError(error, { path: dir, operation: 'read' });
    assert.ok(explained instanceof FileSystemError);
    assert.equal(explained.message, `cannot read ${dir}: it is a folder, where a file is expected (EISDIR).\nGive the path of a file inside it, or choose another path.`);
  });

  test('an atomic write into a folder that is a file names the file and removes its temp', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'results'), 'not a folder');
    await assert.rejects(writeFileAtomic(path.join(dir, 'results', 'table.json'), '{}'), (error: unknown) => {
      assert.ok(error instanceof FileSystemError);
      assert.match(error.message, /cannot write \S+results\/table\.json: \S+results is a file, where a folder is expected \(E(NOTDIR|EXIST)\)/);
      return true;
    });
    assert.deepEqual(readdirSync(dir), ['results']);
  });
});

describe('a missing file given on the command line', () => {
  test('ablate --spec that does not exist', () => {
    const result = cli(['ablate', '--spec', 'no-such-grid.yaml']);
    assertMessage(result, new RegExp(`^mnist-lab: cannot read the grid spec \\(--spec\\) ${path.join(PROJECT_ROOT, 'no-such-grid.yaml').replace(/[/.]/g, '\\$&')}: it does not exist \\(ENOENT\\)\\.\\nCheck the file name`));
  });

  test('--verbose (or DEBUG=1) adds the stack trace', () => {
    for (const extra of [{ args: ['--verbose'], env: {} }, { args: [], env: { DEBUG: '1' } }]) {
      const result = cli(['ablate', '--spec', 'no-such-grid.yaml', ...extra.args], { env: extra.env });
      assert.equal(result.status, 1);
      assert.match(result.stderr, /cannot read the grid spec/);
      assert.match(result.stderr, /\n\s+at .*grid\.js/, 'the stack is there on request');
    }
  });
});
