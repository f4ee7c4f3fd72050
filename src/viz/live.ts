/**
 * Live charts from scripts: `mnist-lab train --plot` streams the training
 * curves to a browser tab, epoch by epoch, as nodeplotlib does.
 *
 * nodeplotlib's own server fetches plotly.js from a CDN (its issue #55: a
 * blank page offline) and keeps the process alive until every tab closes.
 * So we reuse its web page and its socket protocol (the page sends
 * `readplots`, the server answers with `plotdata` events fed by an RxJS
 * Observable) from a small server of our own that serves plotly.js from
 * node_modules and stops when the work is done. Without a display (CI, SSH)
 * no server starts: we say so and write the chart file at the end.
 */
import { spawn, spawnSync } from 'node:child_process';
import { promises as fs, existsSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { BehaviorSubject, type Observable, type Subscription } from 'rxjs';
import { Server as SocketServer } from 'socket.io';
import { MnistLabError } from '../errors';
import type { TrainingHistory } from '../train/types';
import { isChart, type Figure } from './figure';
import { trainingCurves } from './figures';
import { plotlyPath, toPlotly, type PlotlyObject } from './plotly';
import { saveFigure } from './save';

/** One plot on nodeplotlib's page: what its `plotdata` event carries. */
export interface LivePlotData {
  id: number;
  data: PlotlyObject[];
  layout: PlotlyObject;
  config: PlotlyObject;
}

/** Whether a browser can be shown, and why not. */
export interface DisplayCheck {
  available: boolean;
  reason: string;
}

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** Can we open a browser window here? Env MNIST_LAB_PLOT=browser|file overrides the guess. */
export function detectDisplay(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): DisplayCheck {
  if (env.MNIST_LAB_PLOT === 'file') return { available: false, reason: 'MNIST_LAB_PLOT=file' };
  if (env.MNIST_LAB_PLOT === 'browser') return { available: true, reason: 'MNIST_LAB_PLOT=browser' };
  if (env.CI === 'true' || env.CI === '1') return { available: false, reason: 'running under CI' };
  if (platform === 'darwin' || platform === 'win32') {
    return env.SSH_CONNECTION ? { available: false, reason: 'an SSH session has no display' } : { available: true, reason: `desktop ${platform}` };
  }
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return { available: false, reason: 'no display (DISPLAY and WAYLAND_DISPLAY are not set)' };
  if (!onPath('xdg-open')) return { available: false, reason: 'xdg-open is not installed, so no browser can be opened' };
  return { available: true, reason: `display ${env.WAYLAND_DISPLAY ?? env.DISPLAY}` };
}

/** Open a URL in the desktop's browser without tying the process to it. */
export function openInBrowser(url: string, log: (line: string) => void): void {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'cmd' : 'xdg-open';
  const args = process.platform === 'win32' ? ['/c', 'start', '', url] : [url];
  try {
    const child = spawn(command, args, { detached: true, stdio: 'ignore' });
    child.on('error', () => log(`mnist-lab: could not start a browser; open ${url} yourself`));
    child.unref();
  } catch {
    log(`mnist-lab: could not start a browser; open ${url} yourself`);
  }
}

/** nodeplotlib's prebuilt web page (Angular app) and its assets. */
export function nodeplotlibWebDir(): string {
  try {
    return path.join(path.dirname(require.resolve('nodeplotlib/package.json')), 'src', 'lib', 'server', 'web');
  } catch {
    throw new MnistLabError('nodeplotlib is not installed. Run `npm install` in the mnist-lab folder.');
  }
}

const PLOTLY_ROUTE = '/plotly.min.js';

/** nodeplotlib's index.html with plotly.js (and web fonts) taken from this server instead of the internet. */
export function offlineIndexHtml(original: string): string {
  const local = `<script type="text/javascript" src="${PLOTLY_ROUTE.slice(1)}"></script>`;
  const cdnScript = /<script[^>]*src="https?:\/\/[^"]*plot\.ly[^"]*"[^>]*>\s*<\/script>/i;
  const withPlotly = cdnScript.test(original) ? original.replace(cdnScript, local) : original.replace(/<script/i, `${local}<script`);
  // Font downloads would only fail offline; the page falls back to Helvetica/Arial.
  return withPlotly.replace(/<link rel="preconnect"[^>]*>/gi, '').replace(/@font-face\{[^}]*\}/g, '');
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/** A running live-plot server. */
export interface LivePlotServer {
  url: string;
  /** Browser tabs connected right now. */
  clientCount(): number;
  /** Resolves true when a tab connects, false after `timeoutMs`. */
  waitForClient(timeoutMs: number): Promise<boolean>;
  /** Resolves when no tab is connected (at once if none is). */
  waitForNoClients(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Serve nodeplotlib's page offline, feeding it from `plots$`: every value
 * the Observable emits replaces the plots on every open tab.
 */
export async function serveLivePlots(plots$: Observable<LivePlotData[]>, options: { port?: number } = {}): Promise<LivePlotServer> {
  const webDir = nodeplotlibWebDir();
  const index = offlineIndexHtml(await fs.readFile(path.join(webDir, 'index.html'), 'utf8'));
  const plotly = plotlyPath();
  const server = http.createServer((request, response) => {
    const urlPath = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    const send = (status: number, type: string, body: string | Buffer) => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      response.end(body);
    };
    if (urlPath === PLOTLY_ROUTE) {
      fs.readFile(plotly).then((body) => send(200, CONTENT_TYPES['.js'], body), () => send(500, 'text/plain', 'plotly.js missing'));
      return;
    }
    const file = path.normalize(path.join(webDir, urlPath));
    const extension = path.extname(urlPath);
    // The page is a single-page app: any route without a file extension is the index.
    if (extension === '' || urlPath === '/index.html' || !file.startsWith(webDir + path.sep)) {
      send(200, CONTENT_TYPES['.html'], index);
      return;
    }
    fs.readFile(file).then(
      (body) => send(200, CONTENT_TYPES[extension] ?? 'application/octet-stream', body),
      () => send(404, 'text/plain', 'not found'),
    );
  });
  // nodeplotlib's page connects with the polling transport only.
  const io = new SocketServer(server, { transports: ['polling'], cors: { origin: false } });
  const clients = new Set<string>();
  const connected = new BehaviorSubject<number>(0);
  const subscriptions: Subscription[] = [];
  io.on('connection', (socket) => {
    clients.add(socket.id);
    connected.next(clients.size);
    socket.on('readplots', () => {
      const subscription = plots$.subscribe((plots) => {
        for (const plot of plots) socket.emit('plotdata', plot);
      });
      subscriptions.push(subscription);
      socket.on('disconnect', () => subscription.unsubscribe());
    });
    socket.on('disconnect', () => {
      clients.delete(socket.id);
      connected.next(clients.size);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const url = `http://localhost:${(server.address() as AddressInfo).port}/`;
  const waitFor = (predicate: (count: number) => boolean, timeoutMs?: number) =>
    new Promise<boolean>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const subscription = connected.subscribe((count) => {
        if (predicate(count)) {
          if (timer) clearTimeout(timer);
          queueMicrotask(() => subscription.unsubscribe());
          resolve(true);
        }
      });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          subscription.unsubscribe();
          resolve(false);
        }, timeoutMs);
        timer.unref();
      }
    });
  let closed = false;
  return {
    url,
    clientCount: () => clients.size,
    waitForClient: (timeoutMs) => waitFor((count) => count > 0, timeoutMs),
    waitForNoClients: () => waitFor((count) => count === 0).then(() => undefined),
    close: async () => {
      if (closed) return;
      closed = true;
      subscriptions.forEach((subscription) => subscription.unsubscribe());
      connected.complete();
      // io.close() ends with httpServer.close(), which waits for every open
      // connection: a page's pending long-poll would hold it forever. Cut the
      // connections right away, not after io.close() has (never) finished.
      const ioClosed = new Promise<void>((resolve) => io.close(() => resolve()));
      server.closeAllConnections();
      await ioClosed;
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Metrics of one epoch as training reports them: training's `EpochLogs` fits,
 * and so do Keras-style logs that spell accuracy out (`accuracy`, `val_accuracy`).
 */
export interface LiveEpochLogs {
  loss?: number;
  acc?: number;
  accuracy?: number;
  val_loss?: number;
  val_acc?: number;
  val_accuracy?: number;
  /** Wall-clock seconds of the epoch. */
  seconds?: number;
}

export interface LivePlotOptions {
  /** Chart title. */
  title: string;
  /** The chart file written when the plot closes (.html, .svg or .png). */
  outFile: string;
  /** `auto` opens a browser when there is a display, `browser` insists, `file` never starts a server. */
  mode: 'auto' | 'browser' | 'file';
  /** Open a browser tab ourselves (false: print the URL only). */
  openBrowser: boolean;
  /** After `close()`, keep serving until the last tab is closed (nodeplotlib's behaviour). */
  waitForTabs: boolean;
  /** Where status lines go. */
  log: (line: string) => void;
}

export function defaultLivePlotOptions(): LivePlotOptions {
  return {
    title: 'Training curves (live)',
    outFile: path.resolve('training-curves.html'),
    mode: 'auto',
    openBrowser: true,
    waitForTabs: false,
    log: (line) => process.stderr.write(line + '\n'),
  };
}

/** What a live plot leaves behind. */
export interface LivePlotResult {
  /** Absolute path of the chart file, or null when no epoch was reported. */
  file: string | null;
  /** The server's address when a browser was used. */
  url: string | null;
  history: TrainingHistory;
}

/** Wire `onEpoch` to training's epoch callback and `await close()` when training ends. */
export interface LivePlot {
  /** `browser` when charts stream to a tab, `file` when only the file is written. */
  readonly mode: 'browser' | 'file';
  /** Why this mode (e.g. "no display (DISPLAY is not set)"). */
  readonly reason: string;
  onEpoch(epoch: number, logs: LiveEpochLogs): void;
  close(): Promise<LivePlotResult>;
}

/** How long the last epoch gets to reach an open tab before the server stops. */
const FLUSH_MS = 1500;
/** How long to wait for the browser before telling the user to open the URL. */
const CONNECT_HINT_MS = 15_000;

/**
 * A live training-curve chart: `const live = await createLivePlot({outFile})`,
 * `onEpoch: live.onEpoch`, then `await live.close()`.
 */
export async function createLivePlot(options: Partial<LivePlotOptions> = {}): Promise<LivePlot> {
  const settings = { ...defaultLivePlotOptions(), ...options };
  const display: DisplayCheck =
    settings.mode === 'file' ? { available: false, reason: 'file mode' } : settings.mode === 'browser' ? { available: true, reason: 'browser mode' } : detectDisplay();
  const history: TrainingHistory = { epoch: [], history: { loss: [], acc: [], seconds: [] } };
  const figure = () => trainingCurves([{ name: 'run', history }], { title: settings.title });
  const plots$ = new BehaviorSubject<LivePlotData[]>([]);
  let server: LivePlotServer | undefined;
  if (display.available) {
    try {
      server = await serveLivePlots(plots$);
      settings.log(`mnist-lab: live training curves at ${server.url}`);
      if (settings.openBrowser) openInBrowser(server.url, settings.log);
      const current = server;
      void current.waitForClient(CONNECT_HINT_MS).then((ok) => {
        if (!ok && current.clientCount() === 0) settings.log(`mnist-lab: no browser tab connected yet; open ${current.url} to watch (the chart is also written to ${settings.outFile})`);
      });
    } catch (error) {
      settings.log(`mnist-lab: live chart unavailable (${(error as Error).message}); the chart will be written to ${settings.outFile}`);
      server = undefined;
    }
  } else {
    settings.log(`mnist-lab: ${display.reason}: no live chart; the training curves will be written to ${settings.outFile} when training ends`);
  }
  const record = history.history;
  return {
    mode: server ? 'browser' : 'file',
    reason: display.reason,
    onEpoch(epoch, logs) {
      history.epoch.push(epoch);
      record.loss.push(logs.loss ?? NaN);
      record.acc.push(logs.acc ?? logs.accuracy ?? NaN);
      const valLoss = logs.val_loss;
      const valAcc = logs.val_acc ?? logs.val_accuracy;
      if (valLoss !== undefined) (record.val_loss ??= []).push(valLoss);
      if (valAcc !== undefined) (record.val_acc ??= []).push(valAcc);
      record.seconds.push(logs.seconds ?? NaN);
      if (server) {
        const spec = toPlotly(figure());
        plots$.next([{ id: 0, ...spec }]);
      }
    },
    async close() {
      let file: string | null = null;
      if (history.epoch.length > 0) {
        file = await saveFigure(figure(), settings.outFile);
        settings.log(`mnist-lab: training curves written to ${file}`);
      }
      const url = server?.url ?? null;
      if (server) {
        if (settings.waitForTabs && server.clientCount() > 0) {
          settings.log('mnist-lab: close the chart tab to finish');
          await server.waitForNoClients();
        } else if (server.clientCount() > 0) {
          // Polling clients pick up the last epoch on their next request.
          await new Promise((resolve) => setTimeout(resolve, FLUSH_MS));
        }
        await server.close();
      }
      plots$.complete();
      return { file, url, history };
    },
  };
}

/** True when nodeplotlib's page is installed where {@link serveLivePlots} expects it. */
export function nodeplotlibPageAvailable(): boolean {
  try {
    return existsSync(path.join(nodeplotlibWebDir(), 'index.html'));
  } catch {
    return false;
  }
}

/**
 * nodeplotlib's `plot()` for any chart figure, offline: with a display the
 * chart opens in a browser tab and the call resolves when the tab is closed;
 * without one it writes `outFile` (an HTML page) and says so.
 */
export async function plotInBrowser(figureToShow: Figure, options: Partial<Pick<LivePlotOptions, 'outFile' | 'openBrowser' | 'log' | 'mode'>> = {}): Promise<{ file: string | null; url: string | null }> {
  const settings = { ...defaultLivePlotOptions(), outFile: path.resolve('figure.html'), ...options };
  const display = settings.mode === 'file' ? { available: false, reason: 'file mode' } : settings.mode === 'browser' ? { available: true, reason: 'browser mode' } : detectDisplay();
  if (!display.available || !isChart(figureToShow)) {
    const file = await saveFigure(figureToShow, settings.outFile);
    settings.log(`mnist-lab: ${display.available ? 'not an interactive chart' : display.reason}; figure written to ${file}`);
    return { file, url: null };
  }
  const server = await serveLivePlots(new BehaviorSubject<LivePlotData[]>([{ id: 0, ...toPlotly(figureToShow) }]));
  settings.log(`mnist-lab: chart at ${server.url} (close the tab to continue)`);
  if (settings.openBrowser) openInBrowser(server.url, settings.log);
  if (await server.waitForClient(CONNECT_HINT_MS)) await server.waitForNoClients();
  else settings.log(`mnist-lab: no browser tab connected within ${CONNECT_HINT_MS / 1000} s; stopping`);
  await server.close();
  return { file: null, url: server.url };
}
