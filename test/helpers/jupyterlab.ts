/**
 * JupyterLab in a test: start the project's JupyterLab (from `.venv`) on a
 * free port with a token, open a notebook in headless Chromium, run its
 * cells the way a learner does (select, Shift+Enter), read what the cells
 * show, and stop everything again.
 *
 * ```ts
 * const lab = await startJupyterLab();                        // temp notebook folder, tslab kernel
 * const file = writeNotebook(lab.rootDir, 'probe.ipynb', ['import * as lab from "mnist-lab";', 'lab.formatShape([2, 3])']);
 * const notebook = await openNotebook(lab, file);             // a Chromium page with the notebook open
 * await notebook.runCell(0);
 * await notebook.runCell(1);
 * assert.match(await notebook.outputText(1), /\[2, 3\]/);
 * await lab.stop();                                           // closes Chromium and JupyterLab
 * ```
 *
 * The notebook folder holds `node_modules/mnist-lab` linked to this checkout,
 * so cells import the built `dist/` exactly as the course notebooks do (run
 * `npm run build` first; `npm test` does). Skip a test with
 * {@link jupyterLabSkipReason} when `.venv` or Chromium is missing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, PROJECT_ROOT, findChromium } from '../../src';

const VENV = path.join(PROJECT_ROOT, '.venv');
const JUPYTER = path.join(VENV, 'bin', 'jupyter');
const START_TIMEOUT_MS = 180_000;

/** Why JupyterLab tests cannot run here, or false when they can (always false under CI=true: there they must run). */
export function jupyterLabSkipReason(): string | false {
  if (process.env.CI === 'true') return false;
  if (!existsSync(JUPYTER)) return 'JupyterLab is not installed in .venv (npm run setup)';
  if (!existsSync(path.join(VENV, 'share', 'jupyter', 'kernels', 'tslab', 'kernel.json'))) return 'the tslab kernel is not registered in .venv (npm run setup)';
  if (!findChromium()) return 'Chromium is not installed (apt-get install chromium)';
  return false;
}

export interface StartOptions {
  /** Folder JupyterLab serves; default a fresh temp folder with the `mnist-lab` link. */
  rootDir?: string;
  /** Extra environment for JupyterLab and so for its kernels (e.g. `{ MNIST_LAB_QUICK: '1' }`). */
  env?: Record<string, string>;
}

export interface JupyterLab {
  /** Base URL, e.g. `http://127.0.0.1:8931/`. */
  url: string;
  token: string;
  /** The served folder: write notebooks here. */
  rootDir: string;
  /** The headless Chromium the notebooks open in (started with the server). */
  browser: Browser;
  /** Everything JupyterLab printed so far (for assertion messages). */
  log(): string;
  /** Close Chromium, stop JupyterLab (and its kernels), remove a temp folder it made. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A temp folder whose notebooks can `import * as lab from "mnist-lab"` (linked to this checkout). */
export function makeNotebookFolder(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mnist-lab-jupyter-'));
  mkdirSync(path.join(dir, 'node_modules'));
  symlinkSync(PROJECT_ROOT, path.join(dir, 'node_modules', 'mnist-lab'), 'dir');
  return dir;
}

/** Write a tslab notebook of code cells (each string is one cell); returns its path. */
export function writeNotebook(dir: string, name: string, cells: readonly string[]): string {
  const notebook = {
    cells: cells.map((source) => ({ cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source })),
    metadata: {
      kernelspec: { display_name: 'TypeScript', language: 'typescript', name: 'tslab' },
      language_info: { name: 'typescript' },
    },
    nbformat: 4,
    nbformat_minor: 5,
  };
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(notebook, null, 1));
  return file;
}

/** Start JupyterLab from `.venv` (token, free port, 127.0.0.1) and a headless Chromium for it. */
export async function startJupyterLab(options: StartOptions = {}): Promise<JupyterLab> {
  const madeRoot = options.rootDir === undefined;
  const rootDir = options.rootDir ?? makeNotebookFolder();
  const state = mkdtempSync(path.join(os.tmpdir(), 'mnist-lab-jupyter-state-'));
  const kernelDir = path.join(state, 'data', 'kernels', 'tslab');
  mkdirSync(kernelDir, { recursive: true });
  const kernelSpec = { argv: [path.join(PROJECT_ROOT, 'bin', 'tslab-kernel.js'), 'kernel', '--config-path', '{connection_file}'], display_name: 'TypeScript', language: 'typescript' };
  writeFileSync(path.join(kernelDir, 'kernel.json'), JSON.stringify(kernelSpec));
  const port = await freePort();
  const token = randomBytes(12).toString('hex');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.env,
    // Our own kernelspec first (the launcher setup registers, pointing at this checkout), then .venv's (plotly's extension).
    JUPYTER_PATH: [path.join(state, 'data'), path.join(VENV, 'share', 'jupyter')].join(path.delimiter),
    JUPYTER_CONFIG_DIR: path.join(state, 'config'),
    JUPYTER_RUNTIME_DIR: path.join(state, 'runtime'),
    PATH: [path.join(VENV, 'bin'), path.dirname(process.execPath), path.join(PROJECT_ROOT, 'node_modules', '.bin'), process.env.PATH ?? ''].join(path.delimiter),
  };
  const args = [
    'lab',
    '--no-browser',
    '--ip=127.0.0.1',
    `--port=${port}`,
    '--ServerApp.port_retries=0',
    `--IdentityProvider.token=${token}`,
    `--ServerApp.root_dir=${rootDir}`,
    `--LabApp.user_settings_dir=${path.join(state, 'settings')}`,
    `--LabApp.workspaces_dir=${path.join(state, 'workspaces')}`,
    '--LabApp.news_url=',
    // window.jupyterapp, so a test reads the kernel status exactly as the status bar does.
    '--LabApp.expose_app_in_browser=True',
    '--LabServerApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate',
  ];
  if (typeof process.getuid === 'function' && process.getuid() === 0) args.push('--allow-root');
  const child: ChildProcess = spawn(JUPYTER, args, { cwd: rootDir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}/`;

  const stopServer = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      // The whole process group: JupyterLab and the kernels it started.
      try {
        process.kill(-(child.pid as number), 'SIGTERM');
      } catch {
        child.kill('SIGTERM');
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-(child.pid as number), 'SIGKILL');
        } catch {
          /* already gone */
        }
      }, 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(state, { recursive: true, force: true });
    if (madeRoot) rmSync(rootDir, { recursive: true, force: true });
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`JupyterLab exited with code ${child.exitCode} before it served ${url}:\n${output}`);
    try {
      const response = await fetch(`${url}api/status?token=${token}`);
      if (response.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stopServer();
      throw new Error(`JupyterLab did not answer on ${url} within ${START_TIMEOUT_MS / 1000} s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }

  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath: findChromium(), headless: true, args: [...CHROMIUM_ARGS] });
  } catch (error) {
    await stopServer();
    throw error;
  }
  return {
    url,
    token,
    rootDir,
    browser,
    log: () => output,
    stop: async () => {
      await browser.close().catch(() => undefined);
      await stopServer();
    },
  };
}

/** A notebook open in JupyterLab, with the actions a learner takes. */
export interface OpenNotebook {
  page: Page;
  /** Run one cell (0-based) and wait until it has finished (`[n]:` prompt); returns its output text. */
  runCell(index: number, options?: { timeoutMs?: number }): Promise<string>;
  /** Start running one cell and return at once (watch it with the other methods). */
  startCell(index: number): Promise<void>;
  /** Wait until a cell's prompt shows an execution count again (not `[*]`). */
  waitForCell(index: number, timeoutMs?: number): Promise<void>;
  /** The text of a cell's outputs (stdout, stderr, errors, HTML as text). */
  outputText(index: number): Promise<string>;
  /** The HTML of a cell's output area. */
  outputHtml(index: number): Promise<string>;
  /** The prompt left of a cell, e.g. `[3]:`, `[*]:` or `[ ]:`. */
  prompt(index: number): Promise<string>;
  /** The kernel state as JupyterLab shows it: 'idle', 'busy', 'starting', ... */
  kernelStatus(): Promise<string>;
  /** The kernel menu's Interrupt (SIGINT to the kernel process). */
  interruptKernel(): Promise<void>;
  /** Reload the browser tab and wait for the notebook and its (still running) kernel again. */
  reload(): Promise<void>;
}


/** Open a notebook file (inside `lab.rootDir`) in a new page and wait for its kernel to be idle. */
export async function openNotebook(lab: JupyterLab, file: string, options: { timeoutMs?: number } = {}): Promise<OpenNotebook> {
  const timeout = options.timeoutMs ?? START_TIMEOUT_MS;
  const relative = path.relative(lab.rootDir, file).split(path.sep).map(encodeURIComponent).join('/');
  const context = await lab.browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  // `reset`: a fresh workspace, so notebooks opened by earlier pages do not come back as hidden tabs.
  const address = `${lab.url}lab/tree/${relative}?reset&token=${lab.token}`;

  const kernelStatus = async (): Promise<string> =>
    page.evaluate(() => {
      // What the status bar's "TypeScript | Idle" shows: the session context's display status.
      const app = (window as unknown as { jupyterapp?: { shell: { currentWidget: { sessionContext?: { kernelDisplayStatus: string } } | null } } }).jupyterapp;
      return app?.shell.currentWidget?.sessionContext?.kernelDisplayStatus ?? 'unknown';
    });

  const ready = async (): Promise<void> => {
    await page.waitForSelector('.jp-Notebook .jp-Cell', { timeout });
    const deadline = Date.now() + timeout;
    // A kernel counts as ready once JupyterLab knows it (busy is fine after a reload).
    while (!['idle', 'busy'].includes(await kernelStatus())) {
      if (Date.now() > deadline) throw new Error(`the notebook's kernel did not start within ${timeout / 1000} s (status ${await kernelStatus()}):\n${lab.log()}`);
      await page.waitForTimeout(250);
    }
  };

  await page.goto(address, { timeout });
  await ready();
  // Scope every cell lookup to this notebook's panel.
  const panelSelector = async (): Promise<string> =>
    `#${await page.evaluate(() => (window as unknown as { jupyterapp: { shell: { currentWidget: { id: string } | null } } }).jupyterapp.shell.currentWidget?.id ?? '')} .jp-Notebook .jp-Cell`;
  let cells = await panelSelector();

  const cell = (index: number) => page.locator(cells).nth(index);
  const prompt = async (index: number): Promise<string> => ((await cell(index).locator('.jp-InputPrompt').textContent()) ?? '').trim();
  const startCell = async (index: number): Promise<void> => {
    // What clicking a cell and pressing Ctrl+Enter does, without depending on focus.
    await page.evaluate(async (cellIndex) => {
      const app = (window as unknown as { jupyterapp: { shell: { currentWidget: { content: { activeCellIndex: number; mode: string } } }; commands: { execute(id: string): Promise<unknown> } } }).jupyterapp;
      app.shell.currentWidget.content.activeCellIndex = cellIndex;
      app.shell.currentWidget.content.mode = 'command';
      void app.commands.execute('notebook:run-cell');
    }, index);
  };
  const waitForCell = async (index: number, timeoutMs = 300_000): Promise<void> => {
    // First wait for the cell to be queued/running, then for a number in its prompt.
    await page.waitForFunction(
      ([selector, selectorIndex]) => {
        const cell = document.querySelectorAll(selector)[selectorIndex];
        const text = cell?.querySelector('.jp-InputPrompt')?.textContent ?? '';
        return /\[\d+\]/.test(text);
      },
      [cells, index] as const,
      { timeout: timeoutMs, polling: 200 },
    );
  };
  const outputText = async (index: number): Promise<string> => (await cell(index).locator('.jp-OutputArea').innerText().catch(() => '')) ?? '';
  return {
    page,
    prompt,
    startCell,
    waitForCell,
    outputText,
    outputHtml: async (index) => (await cell(index).locator('.jp-OutputArea').innerHTML().catch(() => '')) ?? '',
    kernelStatus,
    runCell: async (index, runOptions = {}) => {
      await startCell(index);
      await page.waitForFunction(
        ([selector, selectorIndex]) => !/\[\d+\]/.test(document.querySelectorAll(selector)[selectorIndex]?.querySelector('.jp-InputPrompt')?.textContent ?? ''),
        [cells, index] as const,
        { timeout: 10_000, polling: 50 },
      ).catch(() => undefined);
      await waitForCell(index, runOptions.timeoutMs);
      return outputText(index);
    },
    interruptKernel: async () => {
      // The same command as the toolbar's stop button and Kernel > Interrupt Kernel.
      await page.evaluate(() => (window as unknown as { jupyterapp: { commands: { execute(id: string): Promise<unknown> } } }).jupyterapp.commands.execute('notebook:interrupt-kernel'));
    },
    reload: async () => {
      await page.reload({ timeout });
      await ready();
      cells = await panelSelector();
    },
  };
}
