// Shared helpers for scripts/setup.mjs and scripts/start-lab.mjs.
// Plain Node ESM, Node built-ins only.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const VENV = path.join(ROOT, '.venv');
export const IS_WIN = process.platform === 'win32';
export const VENV_BIN = path.join(VENV, IS_WIN ? 'Scripts' : 'bin');
export const VENV_PYTHON = path.join(VENV_BIN, IS_WIN ? 'python.exe' : 'python');
export const LOG_DIR = path.join(ROOT, 'node_modules', '.cache', 'mnist-lab');

export function makeLogger(prefix) {
  const log = (msg) => console.log(`${prefix} ${msg}`);
  log.warn = (msg) => console.warn(`${prefix} ${msg}`);
  return log;
}

export function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

export function exists(p) {
  try {
    fs.accessSync(p);
    return true;
  } catch {
    return false;
  }
}

/** lstat that returns null instead of throwing. */
export function lstatOrNull(p) {
  try {
    return fs.lstatSync(p);
  } catch {
    return null;
  }
}

/** Synchronous run, output captured. Never throws; returns {ok, status, stdout, stderr, error}. */
export function runCapture(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    ...opts,
  });
  return {
    ok: !r.error && r.status === 0,
    status: r.status,
    signal: r.signal,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? '',
    error: r.error,
  };
}

/**
 * Async run with stdout+stderr appended to logFile (so long, chatty tools like
 * pip or node-gyp don't flood the terminal). Resolves {ok, status, tail}.
 */
export function runToLog(cmd, args, logFile, opts = {}) {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  fs.appendFileSync(logFile, `\n$ ${[cmd, ...args].join(' ')}\n`);
  const fd = fs.openSync(logFile, 'a');
  return new Promise((resolve) => {
    let child;
    const done = (ok, status, err) => {
      try {
        fs.closeSync(fd);
      } catch {}
      if (err) fs.appendFileSync(logFile, `spawn error: ${err.message}\n`);
      resolve({ ok, status, tail: tailOf(logFile, 15), firstError: firstErrorOf(logFile), error: err });
    };
    try {
      child = spawn(cmd, args, { stdio: ['ignore', fd, fd], ...opts });
    } catch (err) {
      done(false, null, err);
      return;
    }
    child.on('error', (err) => done(false, null, err));
    child.on('close', (code) => done(code === 0, code, null));
  });
}

/** The most telling error line of a build/install log (compiler error, make, gyp, npm), shortened. */
export function firstErrorOf(file) {
  let lines;
  try {
    lines = fs.readFileSync(file, 'utf8').split('\n');
  } catch {
    return '';
  }
  const patterns = [
    /\b(fatal )?error:/i, // compiler / linker
    /cannot find -l|undefined reference/i,
    /^make: \*\*\*/,
    /gyp ERR! stack Error:/,
    /^npm (ERR!|error)/,
    /spawn error:|ENOENT|EACCES/,
    /ERR!|Error/,
  ];
  for (const re of patterns) {
    const hit = lines.find((l) => re.test(l));
    if (hit) {
      const t = hit.trim();
      return t.length > 240 ? t.slice(0, 237) + '...' : t;
    }
  }
  return lines.filter((l) => l.trim()).pop() || '';
}

export function tailOf(file, n) {
  try {
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    return lines.slice(-n).join('\n');
  } catch {
    return '';
  }
}

/** Indent a multi-line block for display under a log line. */
export function indent(text, pad = '    ') {
  return text
    .split('\n')
    .map((l) => pad + l)
    .join('\n');
}

/**
 * A relative MNIST_LAB_DATA means relative to where the user typed the command.
 * npm runs scripts in the project root but sets INIT_CWD to that folder, and
 * kernels, workers and tests run in yet other folders: so every npm script makes
 * it absolute here, before starting anything. Returns a line for the log, or null.
 */
export function resolveDataEnv(env = process.env) {
  const value = env.MNIST_LAB_DATA;
  if (!value || path.isAbsolute(value)) return null;
  const base = env.INIT_CWD && path.isAbsolute(env.INIT_CWD) ? env.INIT_CWD : process.cwd();
  env.MNIST_LAB_DATA = path.resolve(base, value);
  return `MNIST_LAB_DATA=${value} is relative to ${base} (where the command was typed): using ${env.MNIST_LAB_DATA}`;
}
