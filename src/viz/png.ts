/**
 * PNG export through a real headless browser (Chromium driven by
 * playwright-core), so a PNG looks exactly like the SVG/HTML a learner sees.
 * Playwright's own browser download cannot run offline, so we use the
 * system's Chromium: on Debian/Ubuntu `sudo apt-get install chromium`, or
 * point MNIST_LAB_CHROMIUM at any Chromium/Chrome binary.
 */
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { ConfigError, MnistLabError } from '../errors';
import { naturalSize, type Figure } from './figure';
import { renderSvg } from './svg';

/** Where Chromium is looked for, after env MNIST_LAB_CHROMIUM. */
const CHROMIUM_PATHS: readonly string[] = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable', '/snap/bin/chromium'];

/** Flags for a quiet, offline, sandbox-free headless run (containers have no user namespaces). */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];

/** No Chromium to render PNGs (or to screenshot a chart page). */
class BrowserNotFoundError extends MnistLabError {
  constructor(readonly searched: readonly string[]) {
    super(
      `PNG export needs Chromium, and none was found (looked at ${searched.join(', ')}). ` +
        'Install it with `sudo apt-get install chromium` (Debian/Ubuntu), or set MNIST_LAB_CHROMIUM to a Chrome/Chromium binary; ' +
        'meanwhile export .svg or .html, which need no browser.',
    );
  }
}

/** The Chromium binary to use, or undefined when there is none. */
export function findChromium(): string | undefined {
  const explicit = process.env.MNIST_LAB_CHROMIUM;
  if (explicit) return existsSync(explicit) ? explicit : undefined;
  return CHROMIUM_PATHS.find((candidate) => existsSync(candidate));
}

function requireChromium(): string {
  const found = findChromium();
  if (found === undefined) throw new BrowserNotFoundError(process.env.MNIST_LAB_CHROMIUM ? [process.env.MNIST_LAB_CHROMIUM] : CHROMIUM_PATHS);
  return found;
}

/** Size and scale of a PNG figure. */
export interface PngOptions {
  /** Output width in CSS pixels; default the figure's natural width (the height follows the aspect ratio when only one is given). */
  width?: number;
  height?: number;
  /** Device pixels per CSS pixel (2 for sharp slides). */
  scale: number;
}

const DEFAULT_PNG: PngOptions = { scale: 1 };

/** How long a page may take to draw (plotly.js is large). */
const PAGE_TIMEOUT_MS = 30_000;

/** A headless Chromium kept open for several renders; `close()` when done. */
export interface BrowserSession {
  /** A figure as PNG bytes, drawn from its SVG. */
  png(figure: Figure, options?: Partial<PngOptions>): Promise<Buffer>;
  /**
   * Screenshot of an HTML page (a string of HTML, or a file:// URL). Waits
   * for `waitFor` (a CSS selector) when given, e.g. `.main-svg` for plotly.
   */
  screenshot(page: { html: string } | { url: string }, options: { width: number; height: number; waitFor?: string }): Promise<Buffer>;
  close(): Promise<void>;
}

/** Start headless Chromium; throws {@link BrowserNotFoundError} when it is not installed. */
export async function openBrowser(): Promise<BrowserSession> {
  const executablePath = requireChromium();
  const { chromium } = await import('playwright-core');
  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath, headless: true, args: [...CHROMIUM_ARGS], timeout: PAGE_TIMEOUT_MS });
  } catch (error) {
    throw new MnistLabError(`Chromium at ${executablePath} did not start: ${(error as Error).message.split('\n')[0]}. Try running it by hand (\`${executablePath} --headless --no-sandbox --version\`).`);
  }
  const screenshot: BrowserSession['screenshot'] = async (page, options) => {
    const context = await browser.newContext({ viewport: { width: options.width, height: options.height }, deviceScaleFactor: 1, offline: true });
    try {
      const tab = await context.newPage();
      if ('html' in page) await tab.setContent(page.html, { waitUntil: 'load', timeout: PAGE_TIMEOUT_MS });
      else await tab.goto(page.url, { waitUntil: 'load', timeout: PAGE_TIMEOUT_MS });
      if (options.waitFor) await tab.waitForSelector(options.waitFor, { timeout: PAGE_TIMEOUT_MS });
      return await tab.screenshot({ type: 'png', fullPage: false });
    } finally {
      await context.close();
    }
  };
  const png: BrowserSession['png'] = async (figure, options = {}) => {
    const settings = { ...DEFAULT_PNG, ...options };
    const natural = naturalSize(figure);
    const svg = renderSvg(figure);
    const svgWidth = Number(/\swidth="([\d.]+)"/.exec(svg)?.[1] ?? natural.width);
    const svgHeight = Number(/\sheight="([\d.]+)"/.exec(svg)?.[1] ?? natural.height);
    const width = Math.round(settings.width ?? (settings.height ? (settings.height * svgWidth) / svgHeight : svgWidth));
    const height = Math.round(settings.height ?? (settings.width ? (settings.width * svgHeight) / svgWidth : svgHeight));
    if (!(width > 0 && height > 0 && settings.scale > 0)) throw new ConfigError('png size', `width ${width}, height ${height}, scale ${settings.scale} must all be positive`);
    // The SVG is stretched to the requested box (aspect kept, centred on white).
    const sized = svg.replace(/<svg([^>]*?)\swidth="[\d.]+"\sheight="[\d.]+"/, `<svg$1 width="${width}" height="${height}" preserveAspectRatio="xMidYMid meet"`);
    const html = `<!DOCTYPE html><html><head><meta charset="utf-8"><style>html,body{margin:0;padding:0;background:#fff;overflow:hidden}svg{display:block}</style></head><body>${sized}</body></html>`;
    const context = await browser.newContext({ viewport: { width, height }, deviceScaleFactor: settings.scale, offline: true });
    try {
      const tab = await context.newPage();
      await tab.setContent(html, { waitUntil: 'load', timeout: PAGE_TIMEOUT_MS });
      return await tab.screenshot({ type: 'png', fullPage: false });
    } finally {
      await context.close();
    }
  };
  return { png, screenshot, close: () => browser.close() };
}

/** One figure as PNG bytes (starts and stops Chromium; use {@link openBrowser} for many). */
export async function renderPng(figure: Figure, options: Partial<PngOptions> = {}): Promise<Buffer> {
  const session = await openBrowser();
  try {
    return await session.png(figure, options);
  } finally {
    await session.close();
  }
}

