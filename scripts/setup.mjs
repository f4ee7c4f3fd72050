#!/usr/bin/env node
// mnist-lab setup: package.json "postinstall" and `npm run setup`.
//
// Idempotent and fast when everything is already in place. Never fails the
// npm install: every problem is reported in plain words and we exit 0, so the
// Node side (wasm backend) keeps working.
//
//   1. Python env   .venv/ + `pip install -r requirements.txt` (stamp-guarded)
//                   skip with MNIST_LAB_SKIP_PYTHON=1
//   2. tslab kernel registered into .venv/share/jupyter/kernels (not user-global)
//   3. native TensorFlow backend: @tensorflow/tfjs-node built offline against the
//                   TensorFlow C library shipped in the tensorflow-cpu wheel
//                   skip with MNIST_LAB_SKIP_NATIVE=1
//   4. graph binding native/tf_graph.cc (node-gyp, against tfjs-node's libtensorflow):
//                   `fit` runs its training step as one TensorFlow graph with it,
//                   eager ops without it (slower, still correct)
//   (notebooks import the package by name through the committed link
//    notebooks/node_modules/mnist-lab -> ../.., which npm never touches)
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import {
  ROOT,
  VENV,
  VENV_PYTHON,
  VENV_BIN,
  LOG_DIR,
  IS_WIN,
  makeLogger,
  seconds,
  exists,
  lstatOrNull,
  runCapture,
  runToLog,
  indent,
} from './lib/common.mjs';

const log = makeLogger('[mnist-lab setup]');
const env = process.env;
const truthy = (v) => !!v && !['0', 'false', 'no', 'off', ''].includes(String(v).toLowerCase());

const REQUIREMENTS = path.join(ROOT, 'requirements.txt');
const STAMP = path.join(VENV, '.mnist-lab-requirements.sha256');
const TFJS_NODE = '@tensorflow/tfjs-node';
const TFJS_NODE_DIR = path.join(ROOT, 'node_modules', '@tensorflow', 'tfjs-node');
const MIN_PY = [3, 9];

// ---------------------------------------------------------------------------
// 0. guards
// ---------------------------------------------------------------------------
if (truthy(env.MNIST_LAB_SETUP_NESTED)) {
  // We are inside the `npm install --ignore-scripts` that setup itself runs;
  // --ignore-scripts already prevents this, but never recurse regardless.
  process.exit(0);
}
{
  const parent = path.basename(path.dirname(ROOT));
  const grand = path.basename(path.dirname(path.dirname(ROOT)));
  if (parent === 'node_modules' || (parent.startsWith('@') && grand === 'node_modules')) {
    // Installed as someone else's dependency: the lab environment is not ours to build.
    process.exit(0);
  }
}

const summary = [];
const t0 = Date.now();

async function step(name, fn) {
  const t = Date.now();
  let result;
  try {
    result = await fn();
  } catch (err) {
    log.warn(`${name}: unexpected error: ${err && err.stack ? err.stack : err}`);
    result = 'failed (unexpected error)';
  }
  const took = seconds(Date.now() - t);
  summary.push(`${name}: ${result} (${took})`);
  log(`${name}: ${result} [${took}]`);
  return result;
}

// ---------------------------------------------------------------------------
// 1. Python environment
// ---------------------------------------------------------------------------
function sha256(file) {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function pythonVersion(cmd) {
  const r = runCapture(cmd, ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'], { timeout: 30000 });
  if (!r.ok) return null;
  const v = r.stdout.trim().split('.').map(Number);
  return v.length === 3 && v.every(Number.isFinite) ? v : null;
}

function findPython() {
  const candidates = [env.MNIST_LAB_PYTHON, 'python3', IS_WIN ? 'python' : null].filter(Boolean);
  let tooOld = null;
  for (const cmd of candidates) {
    const v = pythonVersion(cmd);
    if (!v) continue;
    if (v[0] > MIN_PY[0] || (v[0] === MIN_PY[0] && v[1] >= MIN_PY[1])) return { cmd, version: v.join('.') };
    tooOld = `${cmd} is ${v.join('.')}`;
  }
  return { cmd: null, tooOld };
}

const PY_SKIP_WHAT =
  'JupyterLab notebooks, the Keras comparison columns and the native TensorFlow backend (built from the tensorflow-cpu wheel) are unavailable; the Node library, CLI and tests still work with the wasm backend';

async function pythonEnv() {
  if (truthy(env.MNIST_LAB_SKIP_PYTHON)) return 'skipped (MNIST_LAB_SKIP_PYTHON=1)';
  if (!exists(REQUIREMENTS)) return 'skipped (no requirements.txt)';
  const wanted = sha256(REQUIREMENTS);
  const venvOk = exists(VENV_PYTHON) && pythonVersion(VENV_PYTHON) !== null;
  if (venvOk && exists(STAMP) && fs.readFileSync(STAMP, 'utf8').trim() === wanted) {
    return 'up to date (.venv matches requirements.txt)';
  }

  if (!venvOk) {
    const py = findPython();
    if (!py.cmd) {
      log.warn(
        `Python >= ${MIN_PY.join('.')} not found${py.tooOld ? ` (${py.tooOld})` : ''}: skipping the Python environment. ` +
          `${PY_SKIP_WHAT}. To fix: \`apt-get install python3 python3-venv\` (or set MNIST_LAB_PYTHON=/path/to/python3), then \`npm run setup\`.`,
      );
      return 'skipped (no python3)';
    }
    const clear = exists(VENV) ? ['--clear'] : [];
    log(`creating .venv with ${py.cmd} ${py.version}${clear.length ? ' (existing .venv is broken, recreating)' : ''}`);
    const r = runCapture(py.cmd, ['-m', 'venv', ...clear, VENV], { cwd: ROOT, timeout: 300000 });
    if (!r.ok || !exists(VENV_PYTHON)) {
      log.warn(
        `could not create .venv with \`${py.cmd} -m venv\`:\n${indent((r.stderr || r.stdout || String(r.error)).trim())}\n` +
          `  ${PY_SKIP_WHAT}. To fix on Debian/Ubuntu: \`apt-get install python3-venv\`, then \`npm run setup\`.`,
      );
      return 'failed (venv creation)';
    }
  }

  const logFile = path.join(LOG_DIR, 'pip.log');
  fs.mkdirSync(LOG_DIR, { recursive: true });
  fs.writeFileSync(logFile, '');
  log(`pip install -r requirements.txt into .venv (first time ~1 min; log: ${path.relative(ROOT, logFile)})`);
  const r = await runToLog(
    VENV_PYTHON,
    ['-m', 'pip', 'install', '--retries', '0', '--disable-pip-version-check', '--progress-bar', 'off', '-r', REQUIREMENTS],
    logFile,
    { cwd: ROOT, env: { ...env, PIP_RETRIES: '0', PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1' } },
  );
  if (!r.ok) {
    log.warn(
      `pip install failed (exit ${r.status}) [${r.firstError}]; full log: ${path.relative(ROOT, logFile)}.\n` +
        `  ${PY_SKIP_WHAT} until this is fixed. Retry with \`npm run setup\`.`,
    );
    return 'failed (pip install)';
  }
  fs.writeFileSync(STAMP, wanted + '\n');
  return 'installed requirements.txt into .venv';
}

// ---------------------------------------------------------------------------
// 2. tslab kernel, registered into .venv only
// ---------------------------------------------------------------------------
function tslabPaths() {
  const req = createRequire(path.join(ROOT, 'package.json'));
  let pkgDir;
  try {
    pkgDir = path.dirname(req.resolve('tslab/package.json'));
  } catch {
    return null;
  }
  const script = path.join(pkgDir, 'bin', 'tslab');
  // The kernelspec calls the project's launcher by absolute path (a `#!/usr/bin/env node` script):
  // tslab itself, with the fix that keeps JupyterLab's status Busy while queued cells run
  // (src/util/kernel-status.ts). On Windows, where a shebang script cannot be a kernel's argv[0], tslab's own.
  const launcher = path.join(ROOT, 'bin', 'tslab-kernel.js');
  const dotBin = path.join(ROOT, 'node_modules', '.bin', IS_WIN ? 'tslab.cmd' : 'tslab');
  return { script, binary: !IS_WIN && exists(launcher) ? launcher : exists(dotBin) ? dotBin : script };
}

function kernelArgv0(name) {
  try {
    const spec = JSON.parse(fs.readFileSync(path.join(VENV, 'share', 'jupyter', 'kernels', name, 'kernel.json'), 'utf8'));
    return spec.argv && spec.argv[0];
  } catch {
    return null;
  }
}

function warnUserKernels() {
  const dirs = [path.join(os.homedir(), '.local', 'share', 'jupyter', 'kernels')];
  if (env.JUPYTER_DATA_DIR) dirs.push(path.join(env.JUPYTER_DATA_DIR, 'kernels'));
  for (const d of dirs) {
    for (const k of ['tslab', 'jslab']) {
      if (exists(path.join(d, k))) {
        log.warn(
          `note: a user-level "${k}" kernel exists in ${d}; \`npm start\` puts .venv first on JUPYTER_PATH, other Jupyter front-ends may pick the user-level one.`,
        );
      }
    }
  }
}

async function tslabKernel() {
  if (!exists(VENV_PYTHON)) return 'skipped (no .venv; needs the Python environment)';
  if (!exists(path.join(VENV_BIN, IS_WIN ? 'jupyter.exe' : 'jupyter'))) return 'skipped (Jupyter is not installed in .venv; see the python env step)';
  const t = tslabPaths();
  if (!t) return 'skipped (tslab is not installed in node_modules)';
  if (kernelArgv0('tslab') === t.binary && kernelArgv0('jslab') === t.binary) {
    warnUserKernels();
    return 'up to date (.venv/share/jupyter/kernels/{tslab,jslab})';
  }
  const r = runCapture(
    process.execPath,
    [t.script, 'install', `--python=${VENV_PYTHON}`, `--prefix=${VENV}`, `--binary=${t.binary}`],
    { cwd: ROOT, timeout: 120000 },
  );
  if (!r.ok || kernelArgv0('tslab') !== t.binary) {
    log.warn(
      `registering the tslab kernel failed:\n${indent((r.stdout + r.stderr).trim() || String(r.error))}\n` +
        '  Notebooks will have no TypeScript kernel. Retry with `npm run setup`.',
    );
    return 'failed';
  }
  warnUserKernels();
  return 'registered tslab + jslab kernels in .venv/share/jupyter/kernels';
}

// ---------------------------------------------------------------------------
// 3. native TensorFlow backend (@tensorflow/tfjs-node), built offline
// ---------------------------------------------------------------------------
const VERIFY_JS = `
const tf = require('@tensorflow/tfjs-node');
const backend = tf.getBackend();
const a = tf.tensor2d([[1, 2], [3, 4]]);
const r = Array.from(tf.matMul(a, a).dataSync());
if (backend !== 'tensorflow') throw new Error('backend is ' + backend + ', expected tensorflow');
if (r.join(',') !== '7,10,15,22') throw new Error('matMul gave ' + r.join(','));
console.log(JSON.stringify({ backend, tfjs: tf.version.tfjs, tfjsNode: tf.version['tfjs-node'] }));
`;

/**
 * Run a check script in a fresh Node process with TensorFlow's start-up lines
 * quiet: { ok, last line of stdout } or { ok: false, the first error line }.
 */
function runNodeCheck(js, timeout) {
  const r = runCapture(process.execPath, ['-e', js], { cwd: ROOT, timeout, env: { ...env, TF_CPP_MIN_LOG_LEVEL: env.TF_CPP_MIN_LOG_LEVEL ?? '2' } });
  if (r.ok) return { ok: true, last: r.stdout.trim().split('\n').pop() };
  const lines = (r.stderr || '').trim().split('\n');
  // The thrown error's own line ("Error: ...", "TypeError: ...") before a source line that merely mentions one.
  const error = lines.find((line) => /^\w*Error\b/.test(line)) ?? lines.find((line) => /Error|error:|Cannot find/.test(line)) ?? (lines.pop() || String(r.error || `exit ${r.status}`));
  return { ok: false, error: error.trim() };
}

function verifyNative() {
  const r = runNodeCheck(VERIFY_JS, 180000);
  if (r.ok) {
    try {
      return { ok: true, info: JSON.parse(r.last) };
    } catch {
      return { ok: false, error: `unexpected output: ${r.last}` };
    }
  }
  return r;
}

function declaredSpec() {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    return (pkg.optionalDependencies && pkg.optionalDependencies[TFJS_NODE]) || (pkg.dependencies && pkg.dependencies[TFJS_NODE]) || null;
  } catch {
    return null;
  }
}

function npmCommand() {
  const execpath = env.npm_execpath;
  if (execpath && /\.[cm]?js$/.test(execpath) && exists(execpath)) return { cmd: process.execPath, pre: [execpath] };
  return { cmd: IS_WIN ? 'npm.cmd' : 'npm', pre: [] };
}

/** Install tfjs-node and its dependencies exactly as package.json/package-lock.json say, without scripts. */
async function installTfjsNodeFiles(logFile) {
  const lockFile = path.join(ROOT, 'package-lock.json');
  const lockBefore = exists(lockFile) ? fs.readFileSync(lockFile) : null;
  const npm = npmCommand();
  const r = await runToLog(
    npm.cmd,
    [...npm.pre, 'install', '--no-save', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=warn'],
    logFile,
    { cwd: ROOT, env: { ...env, MNIST_LAB_SETUP_NESTED: '1' }, shell: IS_WIN },
  );
  // --no-save leaves package-lock.json alone; don't "restore" it ourselves (a concurrent
  // `npm install <pkg>` may legitimately have rewritten it meanwhile), just say so.
  if (lockBefore) {
    const lockAfter = exists(lockFile) ? fs.readFileSync(lockFile) : null;
    if (!lockAfter || !lockBefore.equals(lockAfter)) log.warn('note: package-lock.json changed while setup ran `npm install --no-save`.');
  }
  return r;
}

function pythonTensorflowDir() {
  if (!exists(VENV_PYTHON)) return null;
  const r = runCapture(
    VENV_PYTHON,
    ['-c', 'import importlib.util, os; s = importlib.util.find_spec("tensorflow"); print(os.path.dirname(s.origin) if s and s.origin else "")'],
    { timeout: 60000 },
  );
  const dir = r.ok ? r.stdout.trim() : '';
  return dir && exists(dir) ? dir : null;
}

function nodeHeadersDir() {
  const ok = (d) => d && exists(path.join(d, 'include', 'node', 'node_api.h')) && exists(path.join(d, 'include', 'node', 'common.gypi'));
  if (ok(env.npm_config_nodedir)) return env.npm_config_nodedir;
  const prefix = path.resolve(path.dirname(process.execPath), '..'); // /usr for /usr/bin/node, nvm/official tarballs alike
  if (ok(prefix)) return prefix;
  return null; // let node-gyp use its cache or download headers
}

/** deps/lib + deps/include of tfjs-node -> the TensorFlow C library inside the tensorflow-cpu wheel. */
function linkTensorflowDeps(tfDir) {
  const deps = path.join(TFJS_NODE_DIR, 'deps');
  const lib = path.join(deps, 'lib');
  const cc = path.join(tfDir, 'libtensorflow_cc.so.2');
  const fw = path.join(tfDir, 'libtensorflow_framework.so.2');
  const inc = path.join(tfDir, 'include');
  for (const f of [cc, fw, path.join(inc, 'tensorflow', 'c', 'c_api.h'), path.join(inc, 'tensorflow', 'c', 'eager', 'c_api.h')]) {
    if (!exists(f)) throw new Error(`missing ${f} in the tensorflow wheel`);
  }
  // scripts/deps-constants.js of tfjs-node checks deps/lib/libtensorflow.so.<LIBTENSORFLOW_VERSION>;
  // providing it makes a later `npm rebuild` skip the (online) download too.
  let libtfVersion = '2.9.1';
  try {
    const src = fs.readFileSync(path.join(TFJS_NODE_DIR, 'scripts', 'deps-constants.js'), 'utf8');
    libtfVersion = (src.match(/LIBTENSORFLOW_VERSION\s*=\s*'([^']+)'/) || [])[1] || libtfVersion;
  } catch {}
  fs.rmSync(deps, { recursive: true, force: true });
  fs.mkdirSync(lib, { recursive: true });
  const rel = (target, from) => path.relative(from, target);
  const links = {
    // the binding links -ltensorflow -ltensorflow_framework; the resulting DT_NEEDED
    // entries are the sonames (libtensorflow_cc.so.2, libtensorflow_framework.so.2),
    // found at run time through the binding's rpath $ORIGIN/../../deps/lib.
    'libtensorflow.so': cc,
    'libtensorflow.so.2': cc,
    [`libtensorflow.so.${libtfVersion}`]: cc,
    'libtensorflow_cc.so.2': cc,
    'libtensorflow_framework.so': fw,
    'libtensorflow_framework.so.2': fw,
    [`libtensorflow_framework.so.${libtfVersion}`]: fw,
  };
  for (const [name, target] of Object.entries(links)) fs.symlinkSync(rel(target, lib), path.join(lib, name));
  fs.symlinkSync(rel(inc, deps), path.join(deps, 'include'), 'dir');
}

const NATIVE_FALLBACK =
  'Training will fall back to the wasm backend (about 10x slower); everything else works. Fix the cause and retry with `npm run setup` (MNIST_LAB_SKIP_NATIVE=1 silences this step).';

function nativeFailed(short, what, logFile) {
  log.warn(
    `native TensorFlow backend NOT available: ${what}${logFile ? ` (log: ${path.relative(ROOT, logFile)})` : ''}. ${NATIVE_FALLBACK}`,
  );
  return `NOT available (${short}); using wasm`;
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** Cross-process lock (a directory) so two setups never build tfjs-node at the same time. */
async function withLock(name, fn, maxWaitMs = 10 * 60 * 1000) {
  const dir = path.join(LOG_DIR, `${name}.lock`);
  fs.mkdirSync(LOG_DIR, { recursive: true });
  const start = Date.now();
  let said = false;
  for (;;) {
    try {
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      let holder = NaN;
      try {
        holder = Number(fs.readFileSync(path.join(dir, 'pid'), 'utf8'));
      } catch {}
      const stale = Number.isInteger(holder) ? !pidAlive(holder) : Date.now() - (lstatOrNull(dir)?.mtimeMs ?? 0) > 60000;
      if (stale) {
        fs.rmSync(dir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() - start > maxWaitMs) return null;
      if (!said) log(`  waiting for another setup (pid ${holder}) to finish the ${name} step ...`);
      said = true;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function nativeBackend() {
  if (truthy(env.MNIST_LAB_SKIP_NATIVE)) return 'skipped (MNIST_LAB_SKIP_NATIVE=1)';
  const r = await withLock('native', nativeBackendLocked);
  return r ?? nativeFailed('busy', 'another `npm run setup` has held the build lock for 10 minutes');
}

async function nativeBackendLocked() {
  const spec = declaredSpec();
  if (!spec) return `skipped (${TFJS_NODE} is not declared in package.json)`;

  // Normal path (e.g. with internet, tfjs-node's own install script fetched libtensorflow) or already built.
  if (exists(path.join(TFJS_NODE_DIR, 'package.json'))) {
    const v = verifyNative();
    if (v.ok) return `up to date (backend "${v.info.backend}", tfjs-node ${v.info.tfjsNode})`;
  }

  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return nativeFailed(
      'unsupported platform',
      `the offline build from the tensorflow-cpu wheel supports linux-x64 only (this is ${process.platform}-${process.arch}) and ${TFJS_NODE} does not load`,
    );
  }
  const logFile = path.join(LOG_DIR, 'native-build.log');
  fs.mkdirSync(LOG_DIR, { recursive: true });
  fs.writeFileSync(logFile, '');

  const tfDir = pythonTensorflowDir();
  if (!tfDir) {
    return nativeFailed(
      'no tensorflow wheel in .venv',
      'the tensorflow-cpu wheel is not installed in .venv (it provides the TensorFlow C library the offline build needs; see the python env step)',
    );
  }

  // a) package files (npm drops the optional dependency when its download-based install script fails offline)
  if (!exists(path.join(TFJS_NODE_DIR, 'package.json'))) {
    const t = Date.now();
    const r = await installTfjsNodeFiles(logFile);
    if (!r.ok || !exists(path.join(TFJS_NODE_DIR, 'package.json'))) {
      return nativeFailed(
        'npm install failed',
        r.ok
          ? `npm did not install ${TFJS_NODE} (optional dependencies omitted?)`
          : `\`npm install --ignore-scripts\` of ${TFJS_NODE} failed (exit ${r.status}) [${r.firstError}]`,
        logFile,
      );
    }
    log(`  installed ${TFJS_NODE} files without install scripts [${seconds(Date.now() - t)}]`);
  }
  const req = createRequire(path.join(TFJS_NODE_DIR, 'package.json'));
  let nodePreGyp;
  try {
    nodePreGyp = req.resolve('@mapbox/node-pre-gyp/bin/node-pre-gyp');
  } catch {
    return nativeFailed('node-pre-gyp missing', `@mapbox/node-pre-gyp (a dependency of ${TFJS_NODE}) is missing; run \`npm install\``, logFile);
  }

  // b) TensorFlow C library + headers from the wheel
  try {
    linkTensorflowDeps(tfDir);
  } catch (err) {
    return nativeFailed('linking libtensorflow failed', `could not link the TensorFlow C library into ${TFJS_NODE}/deps: ${err.message}`);
  }
  log(`  linked ${path.relative(ROOT, tfDir)}/{libtensorflow_cc,libtensorflow_framework}.so.2 + include into ${TFJS_NODE}/deps`);

  // c) compile the N-API binding (node-gyp; Node headers from the local install, no download)
  const t = Date.now();
  const nodedir = nodeHeadersDir();
  log(`  compiling tfjs_binding.node with node-gyp${nodedir ? ` (Node headers: ${nodedir}/include/node)` : ''}, ~15 s ...`);
  const args = [nodePreGyp, 'install', '--build-from-source'];
  if (nodedir) args.push(`--nodedir=${nodedir}`);
  const buildEnv = { ...env };
  if (nodedir) buildEnv.npm_config_nodedir = nodedir;
  const b = await runToLog(process.execPath, args, logFile, { cwd: TFJS_NODE_DIR, env: buildEnv });
  if (!b.ok) {
    return nativeFailed(
      'compile failed',
      `compiling the binding failed [${b.firstError}]; it needs python3, make and a C++ compiler (\`apt-get install build-essential\`)`,
      logFile,
    );
  }
  log(`  compiled ${TFJS_NODE}/lib/napi-v*/tfjs_binding.node [${seconds(Date.now() - t)}]`);

  // d) verify in a fresh process
  const v = verifyNative();
  if (!v.ok) return nativeFailed('binding does not load', `the built binding does not load: ${v.error}`, logFile);
  return `built offline against the tensorflow-cpu wheel; backend "${v.info.backend}", tfjs-node ${v.info.tfjsNode}`;
}

// ---------------------------------------------------------------------------
// 4. graph binding
// ---------------------------------------------------------------------------
const GRAPH_DIR = path.join(ROOT, 'native');
const GRAPH_BINDING = path.join(GRAPH_DIR, 'build', 'Release', 'tf_graph.node');
const GRAPH_STAMP = path.join(GRAPH_DIR, 'build', 'mnist-lab-source.sha256');

function graphSourceHash() {
  const hash = crypto.createHash('sha256');
  for (const file of ['binding.gyp', 'tf_graph.cc', 'fused_ops.cc']) hash.update(fs.readFileSync(path.join(GRAPH_DIR, file)));
  return hash.digest('hex');
}

/** npm's own node-gyp (npm sets npm_config_node_gyp for scripts; else next to npm-cli.js). */
function nodeGypScript() {
  const candidates = [env.npm_config_node_gyp];
  if (env.npm_execpath) candidates.push(path.join(path.dirname(env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push(path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((file) => file && exists(file)) ?? null;
}

const VERIFY_GRAPH_JS = `
require('@tensorflow/tfjs-node');
const binding = require(${JSON.stringify(GRAPH_BINDING)});
const g = new binding.Graph();
const c = g.addOp('Const', 'c', [], [{ name: 'dtype', kind: 'type', value: 'float32' }, { name: 'value', kind: 'tensor', value: { dtype: 'float32', shape: [2], data: Float32Array.of(3, 4) } }], []);
const sq = g.addOp('Square', 'sq', [[c, 0]], [{ name: 'T', kind: 'type', value: 'float32' }], []);
const s = new binding.Session(g);
const [out] = s.run([], [[sq, 0]], []);
s.close();
if (out.data.join(',') !== '9,16') throw new Error('Square gave ' + out.data.join(','));
console.log(binding.tensorflowVersion);
`;

function verifyGraph() {
  const r = runNodeCheck(VERIFY_GRAPH_JS, 120000);
  return r.ok ? { ok: true, version: r.last } : r;
}

async function graphBinding() {
  const eager = 'training falls back to eager steps (same results, about 1.7x slower)';
  if (truthy(env.MNIST_LAB_SKIP_NATIVE)) return 'skipped (MNIST_LAB_SKIP_NATIVE=1)';
  if (!exists(path.join(TFJS_NODE_DIR, 'deps', 'include', 'tensorflow', 'c', 'c_api.h'))) {
    return `skipped (no native TensorFlow backend with C headers in ${TFJS_NODE}/deps)`;
  }
  const hash = graphSourceHash();
  if (exists(GRAPH_BINDING) && exists(GRAPH_STAMP) && fs.readFileSync(GRAPH_STAMP, 'utf8').trim() === hash) {
    const v = verifyGraph();
    if (v.ok) return `up to date (TensorFlow ${v.version})`;
  }
  const nodeGyp = nodeGypScript();
  if (!nodeGyp) {
    log.warn(`graph binding: npm's node-gyp was not found; ${eager}. Run \`npm run setup\` through npm to build it.`);
    return 'not built (node-gyp not found)';
  }
  const logFile = path.join(LOG_DIR, 'graph-build.log');
  fs.mkdirSync(LOG_DIR, { recursive: true });
  fs.writeFileSync(logFile, '');
  const nodedir = nodeHeadersDir();
  const args = [nodeGyp, 'rebuild'];
  if (nodedir) args.push(`--nodedir=${nodedir}`);
  log(`  compiling native/tf_graph.cc with node-gyp, ~10 s ...`);
  const b = await runToLog(process.execPath, args, logFile, { cwd: GRAPH_DIR, env: { ...env, ...(nodedir ? { npm_config_nodedir: nodedir } : {}) } });
  if (!b.ok) {
    log.warn(`graph binding: compiling failed [${b.firstError}] (log: ${path.relative(ROOT, logFile)}); ${eager}. It needs make and a C++17 compiler.`);
    return 'not built (compile failed)';
  }
  const v = verifyGraph();
  if (!v.ok) {
    log.warn(`graph binding: built but does not work: ${v.error}; ${eager}.`);
    fs.rmSync(GRAPH_BINDING, { force: true });
    return 'not built (does not load)';
  }
  const ops = await fusedOps();
  fs.writeFileSync(GRAPH_STAMP, hash + '\n');
  return `built against TensorFlow ${v.version}; ${ops}`;
}

// The op library native/fused_ops.cc (RMSprop's update in one pass, dropout
// masks per piece of the batch, the data upload in chunks, the image
// transform of augmentation), compiled
// against the headers and libtensorflow_framework of the tensorflow-cpu wheel
// that tfjs-node's libtensorflow comes from. Optional: without it the graph
// step uses TensorFlow's own kernels (same results, slower).
const FUSED_OPS = path.join(GRAPH_DIR, 'build', 'Release', 'mnist_lab_fused_ops.so');

async function fusedOps() {
  fs.rmSync(FUSED_OPS, { force: true });
  const framework = path.join(TFJS_NODE_DIR, 'deps', 'lib', 'libtensorflow_framework.so.2');
  if (!exists(framework)) return 'fused ops skipped (no libtensorflow_framework.so.2)';
  const wheel = path.dirname(fs.realpathSync(framework));
  const include = path.join(wheel, 'include');
  if (!exists(path.join(include, 'tensorflow', 'core', 'framework', 'op_kernel.h'))) return `fused ops skipped (no TensorFlow C++ headers in ${include})`;
  const logFile = path.join(LOG_DIR, 'fused-ops-build.log');
  fs.writeFileSync(logFile, '');
  log('  compiling native/fused_ops.cc against the tensorflow-cpu wheel, ~10 s ...');
  // The wheel's own flags (tf.sysconfig.get_compile_flags / get_link_flags); no contraction into FMAs, so the rounding is TensorFlow's.
  const args = [
    '-std=c++17', '-shared', '-fPIC', '-O3', '-ffp-contract=off', '-fno-math-errno', '-D_GLIBCXX_USE_CXX11_ABI=1', '-DEIGEN_MAX_ALIGN_BYTES=64',
    `-I${include}`, path.join(GRAPH_DIR, 'fused_ops.cc'), '-o', FUSED_OPS, `-L${wheel}`, '-l:libtensorflow_framework.so.2', '-l:libtensorflow_cc.so.2', `-Wl,-rpath,${wheel}`,
  ];
  const b = await runToLog(env.CXX || 'g++', args, logFile, { cwd: GRAPH_DIR });
  if (!b.ok) {
    fs.rmSync(FUSED_OPS, { force: true });
    log.warn(`fused ops: compiling failed [${b.firstError}] (log: ${path.relative(ROOT, logFile)}); the graph step uses TensorFlow's own RMSprop kernel (same results, slower).`);
    return 'fused ops not built (compile failed)';
  }
  const v = runNodeCheck(VERIFY_FUSED_OPS_JS, 120000);
  if (!v.ok) {
    fs.rmSync(FUSED_OPS, { force: true });
    log.warn(`fused ops: built but do not load: ${v.error}; the graph step uses TensorFlow's own kernels (same results, slower).`);
    return 'fused ops not built (do not load)';
  }
  return 'fused ops built';
}

// Load the op library into tfjs-node's TensorFlow and take one RMSprop step with it.
const VERIFY_FUSED_OPS_JS = `
require('@tensorflow/tfjs-node');
const binding = require(${JSON.stringify(GRAPH_BINDING)});
binding.loadOpLibrary(${JSON.stringify(FUSED_OPS)});
const g = new binding.Graph();
const float = [{ name: 'dtype', kind: 'type', value: 'float32' }];
const constant = (name, value) => g.addOp('Const', name, [], [...float, { name: 'value', kind: 'tensor', value: { dtype: 'float32', shape: [1], data: Float32Array.of(value) } }], []);
const variable = (name, value) => {
  const handle = g.addOp('VarHandleOp', name, [], [...float, { name: 'shape', kind: 'shape', value: [1] }, { name: 'shared_name', kind: 'string', value: 'mnist_lab_setup_' + name }], []);
  return [handle, g.addOp('AssignVariableOp', name + '_init', [[handle, 0], [constant(name + '_value', value), 0]], float, [])];
};
const [w, wInit] = variable('w', 1), [ms, msInit] = variable('ms', 0), [mom, momInit] = variable('mom', 0);
const scalar = (name, value) => g.addOp('Const', name, [], [...float, { name: 'value', kind: 'tensor', value: { dtype: 'float32', shape: [], data: Float32Array.of(value) } }], []);
const update = g.addOp('MnistLabApplyRMSProp', 'update', [[w, 0], [ms, 0], [mom, 0], [scalar('lr', 0.5), 0], [scalar('rho', 0), 0], [scalar('momentum', 0), 0], [scalar('epsilon', 0), 0], [[constant('grad', 2), 0]]], [{ name: 'T', kind: 'type', value: 'float32' }, { name: 'N', kind: 'int', value: 1 }], []);
const read = g.addOp('ReadVariableOp', 'read', [[w, 0]], float, [update]);
const s = new binding.Session(g);
s.run([], [], [wInit, msInit, momInit]);
const [out] = s.run([], [[read, 0]], []);
s.close();
// rho 0: ms = grad^2 = 4, w = 1 - 0.5 * 2 / sqrt(4) = 0.5.
if (out.data[0] !== 0.5) throw new Error('MnistLabApplyRMSProp gave ' + out.data[0] + ', expected 0.5');
`;

// ---------------------------------------------------------------------------
await step('python env', pythonEnv);
await step('tslab kernel', tslabKernel);
await step('native backend', nativeBackend);
await step('graph binding', graphBinding);
log(`done in ${seconds(Date.now() - t0)}`);
process.exit(0);
