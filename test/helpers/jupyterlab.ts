/**
 * JupyterLab for browser tests: start it the way `npm start` does
 * (scripts/start-lab.mjs) on a free port with a known token, open a notebook
 * in headless Chromium, run its cells, stop it. `npm start` serves
 * notebooks/, so test notebooks go to a temporary subfolder of it
 * (`notebooks/test-tmp-*`, git-ignored, removed by `removeNotebookDir`),
 * where `import * as lab from "mnist-lab"` resolves as in every notebook.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { PROJECT_ROOT } from '../../src';

export const JUPYTER = path.join(PROJECT_ROOT, '.venv', 'bin', 'jupyter');

/** Why JupyterLab tests cannot run here, or false when they can. */
export function jupyterLabSkip(): string | false {
  if (!existsSync(JUPYTER)) return '.venv/bin/jupyter is missing (run `npm run setup`)';
  if (!existsSync(path.join(PROJECT_ROOT, '.venv', 'share', 'jupyter', 'kernels', 'tslab', 'kernel.json'))) return 'the tslab kernel is not registered in .venv (run `npm run setup`)';
  return false;
}

export interface RunningLab {
  /** Base URL, e.g. http://127.0.0.1:8899/ */
  url: string;
  token: string;
  output(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export const NOTEBOOK_DIR = path.join(PROJECT_ROOT, 'notebooks');

/** A fresh folder under notebooks/ for a test's notebooks; returns its path relative to notebooks/ and its absolute path. */
export async function makeNotebookDir(): Promise<{ relative: string; dir: string }> {
  const relative = `test-tmp-${randomBytes(4).toString('hex')}`;
  const dir = path.join(NOTEBOOK_DIR, relative);
  await fs.mkdir(dir, { recursive: true });
  return { relative, dir };
}

export async function removeNotebookDir(dir: string): Promise<void> {
  if (path.dirname(dir) === NOTEBOOK_DIR && path.basename(dir).startsWith('test-tmp-')) await fs.rm(dir, { recursive: true, force: true });
}

/** Write a tslab notebook of code cells. */
export async function writeNotebook(file: string, cells: string[]): Promise<void> {
  const notebook = {
    cells: cells.map((source, index) => ({ cell_type: 'code', execution_count: null, id: `cell-${index}`, metadata: {}, outputs: [], source })),
    metadata: { kernelspec: { display_name: 'TypeScript', language: 'typescript', name: 'tslab' } },
    nbformat: 4,
    nbformat_minor: 5,
  };
  await fs.writeFile(file, JSON.stringify(notebook, null, 1));
}

/** Start JupyterLab through scripts/start-lab.mjs (what `npm start` runs after building), serving notebooks/. */
export async function startJupyterLab(timeoutMs = 120_000): Promise<RunningLab> {
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const child: ChildProcess = spawn(
    process.execPath,
    [
      path.join(PROJECT_ROOT, 'scripts', 'start-lab.mjs'),
      `--port=${port}`,
      '--ServerApp.port_retries=0',
      `--IdentityProvider.token=${token}`,
      '--no-browser',
      // Lets the test run cells through JupyterLab's own commands.
      '--LabApp.expose_app_in_browser=True',
    ],
    { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DISPLAY: '' } },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}/`;
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`JupyterLab exited with ${child.exitCode}:\n${output}`);
    try {
      const response = await fetch(`${url}api/status?token=${token}`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > timeoutMs) {
      child.kill('SIGTERM');
      throw new Error(`JupyterLab did not answer within ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return {
    url,
    token,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Open a notebook (path relative to notebooks/) of the running lab in a new page and wait until its kernel is idle. */
export async function openNotebook(browser: Browser, lab: RunningLab, name: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  await page.goto(`${lab.url}lab/tree/${name.split('/').map(encodeURIComponent).join('/')}?token=${lab.token}`);
  await page.waitForFunction(() => (window as unknown as { jupyterapp?: unknown }).jupyterapp !== undefined, undefined, { timeout: 120_000 });
  await page.waitForSelector('.jp-Notebook .jp-Cell', { timeout: 120_000 });
  await page.waitForFunction(
    () => {
      const app = (window as unknown as { jupyterapp: { shell: { currentWidget: { sessionContext?: { session?: { kernel?: { status: string } } } } | null } } }).jupyterapp;
      return app.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle';
    },
    undefined,
    { timeout: 120_000 },
  );
  return page;
}

/** Run every cell of the open notebook and wait until the kernel is idle again (or throw on a cell error). */
export async function runAllCells(page: Page, timeoutMs = 300_000): Promise<void> {
  await page.evaluate(() => (window as unknown as { jupyterapp: { commands: { execute(id: string): Promise<unknown> } } }).jupyterapp.commands.execute('notebook:run-all-cells'));
  await page.waitForFunction(
    () => {
      const app = (window as unknown as { jupyterapp: { shell: { currentWidget: { sessionContext?: { session?: { kernel?: { status: string } } } } | null } } }).jupyterapp;
      const prompts = Array.from(document.querySelectorAll('.jp-InputArea-prompt')).map((node) => node.textContent ?? '');
      return app.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle' && prompts.length > 0 && prompts.every((text) => /\[\d+\]/.test(text));
    },
    undefined,
    { timeout: timeoutMs, polling: 500 },
  );
  const errors = await page.$$eval('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"], .jp-RenderedText[data-mime-type="application/vnd.jupyter.error"]', (nodes) => nodes.map((node) => node.textContent ?? ''));
  if (errors.some((text) => /Error/.test(text))) throw new Error(`a cell failed:\n${errors.join('\n')}`);
}
