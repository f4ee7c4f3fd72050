#!/usr/bin/env node
// `npm start`: JupyterLab from .venv, serving notebooks/, on 127.0.0.1 only.
// Extra arguments are passed on to `jupyter lab`, e.g. `npm start -- --port=9999`.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, VENV, VENV_BIN, IS_WIN, makeLogger, exists, resolveDataEnv } from './lib/common.mjs';

const log = makeLogger('[mnist-lab start]');
// The kernels run in notebooks/: a relative MNIST_LAB_DATA must mean where `npm start` was typed.
const dataNote = resolveDataEnv();
if (dataNote) log(dataNote);
const jupyter = path.join(VENV_BIN, IS_WIN ? 'jupyter.exe' : 'jupyter');
const kernels = path.join(VENV, 'share', 'jupyter', 'kernels');

if (!exists(jupyter)) {
  log.warn('JupyterLab is not installed: .venv/bin/jupyter is missing. Run `npm run setup` (needs python3 >= 3.9 with venv), then `npm start` again.');
  process.exit(1);
}
if (!exists(path.join(kernels, 'tslab', 'kernel.json'))) {
  log.warn('the tslab (TypeScript) kernel is not registered in .venv; run `npm run setup`. Starting JupyterLab anyway.');
}

const notebooks = path.join(ROOT, 'notebooks');
fs.mkdirSync(notebooks, { recursive: true });

// notebooks/node_modules only holds the link that lets notebooks import
// "mnist-lab"; keep it out of the learner's file browser.
const hideGlobs = ['__pycache__', '*.pyc', '*.pyo', '.DS_Store', '*~', 'node_modules'];
const args = ['lab', `--notebook-dir=${notebooks}`, '--ip=127.0.0.1', `--ContentsManager.hide_globs=${JSON.stringify(hideGlobs)}`];
const headless = process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY;
if (headless) args.push('--no-browser');
// Jupyter refuses to run as root without this (containers, CI, teaching VMs).
if (typeof process.getuid === 'function' && process.getuid() === 0) args.push('--allow-root');
args.push(...process.argv.slice(2));

const sep = path.delimiter;
const prepend = (dirs, current) => [...dirs, ...(current ? current.split(sep) : [])].filter(Boolean).join(sep);
const env = {
  ...process.env,
  // .venv's kernelspecs (tslab, jslab) first, ahead of any stale user-level ones.
  JUPYTER_PATH: prepend([path.join(VENV, 'share', 'jupyter')], process.env.JUPYTER_PATH),
  // the kernelspec runs node_modules/.bin/tslab (`#!/usr/bin/env node`): make sure this node is on PATH.
  PATH: prepend([VENV_BIN, path.dirname(process.execPath), path.join(ROOT, 'node_modules', '.bin')], process.env.PATH),
  VIRTUAL_ENV: VENV,
};

log(`jupyter lab on http://127.0.0.1 serving notebooks/${headless ? ' (no DISPLAY: open the URL with the token printed below)' : ''}; Ctrl-C to stop`);
const child = spawn(jupyter, args, { cwd: ROOT, env, stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (child.exitCode === null) child.kill(sig);
  });
}
// `kill <npm pid>` does not reach us through npm: if our parent goes away, stop Jupyter
// instead of leaving it orphaned on the port.
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid && child.exitCode === null) child.kill('SIGTERM');
}, 2000).unref();
child.on('error', (err) => {
  log.warn(`could not start ${jupyter}: ${err.message}. Run \`npm run setup\`.`);
  process.exit(1);
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
