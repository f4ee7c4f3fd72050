/**
 * `npm run export -- --quick` on every notebook (01 has a results table,
 * 02 has figures and plotly charts, 04, 07 and 10 drawing pads): the files it
 * promises exist, every page says it is quick mode, cells are numbered,
 * Markdown links its figure files, the whole export fits its size budget
 * (what every page shares lives once in assets/), the HTML needs no network
 * (headless Chromium, offline, draws the charts), and handout.pdf has a table
 * of contents and pages that are not blank (pdftoppm).
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';
import {
  PROJECT_ROOT,
} from '../src';
import { findChromium } from '../src/viz/png';
import { REAL_DATA_DIR, tempDir } from './helpers/fixtures';

const PYTHON = path.join(PROJECT_ROOT, '.venv', 'bin', 'python');
const DATA_NOTEBOOK = '01-loading-the-data';
const FIGURE_NOTEBOOK = '02-looking-at-pixels';
const PAD_NOTEBOOK = '04-training-and-overfitting';
/** The budget for the whole export, all notebooks: small enough to mail or put on a course page. */
const EXPORT_BUDGET_BYTES = 15_000_000;

const canRun = !existsSync(PYTHON) ? 'the project .venv is missing (npm run setup)' : !REAL_DATA_DIR ? 'MNIST_LAB_DATA is not set' : false;

/** Share of pixels that are not (near) white, and how many distinct colours there are. */
function inkStatistics(png: Buffer): { inkShare: number; colours: number } {
  const image = PNG.sync.read(png);
  let ink = 0;
  const colours = new Set<number>();
  for (let offset = 0; offset < image.data.length; offset += 4) {
    const [red, green, blue] = [image.data[offset], image.data[offset + 1], image.data[offset + 2]];
    if (red < 235 || green < 235 || blue < 235) ink++;
    colours.add(((red >> 4) << 8) | ((green >> 4) << 4) | (blue >> 4));
  }
  return { inkShare: ink / (image.width * image.height), colours: colours.size };
}

describe('npm run export -- --quick', { skip: canRun }, () => {
  const out = path.join(tempDir('mnist-lab-export-'), 'export');
  let status: number | null = null;
  let log = '';

  before(() => {
    // --no-build: `npm test` builds first, and a rebuild here would race other test files.
    const result = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'scripts', 'export.mjs'), '--no-build', '--quick', '--out', out], {
      encoding: 'utf8',
      env: { ...process.env, MNIST_LAB_QUIET: '1' },
    });
    status = result.status;
    log = result.stdout + result.stderr;
  });

  test('runs the notebooks and exits 0', () => {
    assert.equal(status, 0, log);
    assert.match(log, /export: quick mode/);
    assert.match(log, /cell 1\/\d+/, 'progress per cell while notebooks run');
    assert.match(log, /wrote .*handout\.pdf/);
  });

  test('writes HTML, Markdown and the executed notebook for each, and an index linking them', () => {
    const index = readFileSync(path.join(out, 'index.html'), 'utf8');
    for (const name of [DATA_NOTEBOOK, FIGURE_NOTEBOOK]) {
      assert.ok(existsSync(path.join(out, `${name}.html`)), `${name}.html`);
      assert.ok(existsSync(path.join(out, `${name}.md`)), `${name}.md`);
      assert.ok(existsSync(path.join(out, 'notebooks', `${name}.ipynb`)), `notebooks/${name}.ipynb`);
      assert.match(index, new RegExp(`href="${name}\\.html"`));
      assert.match(index, new RegExp(`href="${name}\\.md"`));
    }
    assert.match(index, /Executed in <b>quick<\/b> mode/);
    const markdown = readFileSync(path.join(out, `${DATA_NOTEBOOK}.md`), 'utf8');
    assert.match(markdown, /# 1\. Loading the data/);
    assert.match(markdown, /train images: uint8 \[60000, 28, 28\]/);
    assert.doesNotMatch(markdown, /application\/json/, 'the exporter-only JSON is stripped from Markdown');
  });

  test('writes results tables as Markdown, CSV and JSON with exact numbers', () => {
    const base = path.join(out, 'tables', `${DATA_NOTEBOOK}--class-counts`);
    const csv = readFileSync(`${base}.csv`, 'utf8').trim().split('\n');
    assert.equal(csv[0], 'digit,train,test');
    assert.equal(csv[1], '0,5923,980');
    assert.equal(csv.length, 11);
    const json = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as { columns: string[]; rows: Record<string, number>[] };
    assert.deepEqual(json.columns, ['digit', 'train', 'test']);
    assert.equal(json.rows.reduce((sum, row) => sum + row.train, 0), 60000);
    assert.match(readFileSync(`${base}.md`, 'utf8'), /\| digit \| train \| test \|\n\| --- \| --- \| --- \|\n\| 0 \| 5923 \| 980 \|/);
  });

  test('writes every figure as a standalone SVG', () => {
    const dir = path.join(out, 'figures', FIGURE_NOTEBOOK);
    const svgs = readdirSync(dir).filter((name) => name.endsWith('.svg'));
    assert.ok(svgs.length >= 6, `only ${svgs.length} SVGs: ${svgs.join(', ')}`);
    for (const name of svgs) {
      const svg = readFileSync(path.join(dir, name), 'utf8');
      assert.match(svg, /^<\?xml[^>]*>\n<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, name);
      assert.match(svg, /<\/svg>\n$/, name);
    }
  });

  test('the HTML loads nothing from the network', () => {
    for (const name of [DATA_NOTEBOOK, FIGURE_NOTEBOOK]) {
      const page = readFileSync(path.join(out, `${name}.html`), 'utf8');
      assert.doesNotMatch(page, /<script[^>]+src="https?:/i, `${name}.html loads a script from the network`);
      assert.doesNotMatch(page, /<link[^>]+href="https?:/i, `${name}.html loads a stylesheet from the network`);
    }
    const charts = readFileSync(path.join(out, `${FIGURE_NOTEBOOK}.html`), 'utf8');
    assert.match(charts, /<script src="assets\/plotly\.min\.js"><\/script>/, 'charts load plotly.js from the export itself');
    assert.doesNotMatch(charts, /\* plotly\.js (\(cartesian[^)]*\) )?v/, 'plotly.js is not inlined into the page');
    assert.match(readFileSync(path.join(out, 'assets', 'plotly.min.js'), 'utf8').slice(0, 200), /plotly\.js \(cartesian[^)]*\) v\d/);
  });

  test('what every page shares is written once: the notebook CSS, TensorFlow.js and the pad code live in assets/', () => {
    const pages = readdirSync(out).filter((name) => /^\d\d-.*\.html$/.test(name));
    assert.ok(pages.length >= 10, `${pages.length} notebook pages`);
    for (const name of pages) {
      const page = readFileSync(path.join(out, name), 'utf8');
      const sheets = [...page.matchAll(/<link rel="stylesheet" href="(assets\/notebook-[0-9a-f]+\.css)">/g)].map((match) => match[1]);
      assert.ok(sheets.length >= 1, `${name} links the notebook CSS`);
      for (const sheet of sheets) assert.ok(existsSync(path.join(out, sheet)), `${sheet} exists`);
      assert.doesNotMatch(page, /\* TensorFlow\.js \(browser build\)/, `${name}: TensorFlow.js is not inlined`);
    }
    const padPage = readFileSync(path.join(out, `${PAD_NOTEBOOK}.html`), 'utf8');
    assert.match(padPage, /<script src="assets\/tfjs\.min\.js"><\/script>/);
    assert.match(padPage, /<script src="assets\/drawing-pad\.js"><\/script>/);
    assert.match(readFileSync(path.join(out, 'notebooks', `${PAD_NOTEBOOK}.ipynb`), 'utf8'), /Drawing pad: open \[/, 'the executed notebook points to the page instead of carrying the pad');
  });

  test('quick mode says so on every page: each HTML and Markdown file, the index and the PDF header', () => {
    for (const name of [DATA_NOTEBOOK, FIGURE_NOTEBOOK]) {
      for (const file of [`${name}.html`, `${name}.md`]) {
        const text = readFileSync(path.join(out, file), 'utf8');
        assert.match(text, /Quick mode: these are not the real results/, `${file} has the quick-mode banner`);
        if (file.endsWith('.md')) assert.match(text, /^> \*\*Quick mode/, `${file}: the banner comes first`);
      }
    }
    assert.match(readFileSync(path.join(out, 'index.html'), 'utf8'), /Quick mode: these are not the real results/);
  });

  test('cells are numbered as in a run notebook: In [1], In [2], ...', () => {
    const executed = JSON.parse(readFileSync(path.join(out, 'notebooks', `${DATA_NOTEBOOK}.ipynb`), 'utf8')) as { cells: Array<{ cell_type: string; execution_count: number | null }> };
    const counts = executed.cells.filter((cell) => cell.cell_type === 'code').map((cell) => cell.execution_count);
    assert.deepEqual(counts, counts.map((_, index) => index + 1));
    const page = readFileSync(path.join(out, `${DATA_NOTEBOOK}.html`), 'utf8');
    assert.match(page, /In(\s|&nbsp;)\[1\]:/);
    assert.doesNotMatch(page, /In(\s|&nbsp;)\[(\s|&nbsp;)*\]:/, 'no cell without its number');
  });

  test('Markdown links the figure files (no inlined plotly) and the export fits its size budget', () => {
    const markdown = readFileSync(path.join(out, `${FIGURE_NOTEBOOK}.md`), 'utf8');
    const links = [...markdown.matchAll(/!\[[^\]]*\]\((figures\/[^)]+\.svg)\)/g)].map((match) => match[1]);
    assert.ok(links.length >= 6, `only ${links.length} figure links`);
    for (const link of links) assert.ok(existsSync(path.join(out, link)), `${link} exists`);
    assert.doesNotMatch(markdown, /Plotly|<script/, 'no scripts in Markdown');
    assert.ok(statSync(path.join(out, `${FIGURE_NOTEBOOK}.md`)).size < 100_000, 'a Markdown file is text, not megabytes');
    // Quick mode has the same pages, figures and pads as full mode (whose curves only have more points); the README gives both sizes.
    const total = (dir: string): number => readdirSync(dir, { withFileTypes: true }).reduce((sum, entry) => sum + (entry.isDirectory() ? total(path.join(dir, entry.name)) : statSync(path.join(dir, entry.name)).size), 0);
    const bytes = total(out);
    console.log(`# whole quick export: ${(bytes / 1e6).toFixed(1)} MB`);
    assert.ok(bytes < EXPORT_BUDGET_BYTES, `the export of every notebook takes ${(bytes / 1e6).toFixed(1)} MB, over the ${EXPORT_BUDGET_BYTES / 1e6} MB budget`);
  });

  test('handout.pdf: one printable PDF with a table of contents, pages rendered by pdftoppm are not blank', { skip: process.env.CI !== 'true' && spawnSync('pdftoppm', ['-v']).error ? 'pdftoppm is not installed (apt-get install poppler-utils)' : false }, () => {
    const pdf = path.join(out, 'handout.pdf');
    assert.ok(existsSync(pdf), 'handout.pdf written');
    const text = spawnSync('pdftotext', ['-f', '1', '-l', '1', '-layout', pdf, '-'], { encoding: 'utf8' }).stdout;
    assert.match(text, /Contents/);
    assert.match(text, /1\. Loading the data/);
    assert.match(text, /2\. Looking at pixels/);
    assert.match(text, /QUICK MODE/, 'the quick-mode warning is printed on the page');
    const pages = Number(/Pages:\s+(\d+)/.exec(spawnSync('pdfinfo', [pdf], { encoding: 'utf8' }).stdout)?.[1] ?? 0);
    assert.ok(pages >= 4, `${pages} pages`);
    const prefix = path.join(tempDir('mnist-lab-pdf-'), 'page');
    const rendered = spawnSync('pdftoppm', ['-png', '-r', '40', '-f', '1', '-l', '3', pdf, prefix], { encoding: 'utf8' });
    assert.equal(rendered.status, 0, rendered.stderr);
    const files = readdirSync(path.dirname(prefix)).filter((name) => name.endsWith('.png'));
    assert.equal(files.length, 3);
    for (const file of files) {
      const { inkShare } = inkStatistics(readFileSync(path.join(path.dirname(prefix), file)));
      assert.ok(inkShare > 0.005, `${file} is blank (${(inkShare * 100).toFixed(2)}% ink)`);
    }
  });

  test('headless Chromium, offline, draws the charts and the page is not blank', { skip: findChromium() ? false : 'Chromium is not installed' }, async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: findChromium(), headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, offline: true });
      const requests: string[] = [];
      context.on('request', (request) => {
        if (!request.url().startsWith('file:') && !request.url().startsWith('data:')) requests.push(request.url());
      });
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(pathToFileURL(path.join(out, `${FIGURE_NOTEBOOK}.html`)).href, { waitUntil: 'load', timeout: 60_000 });
      await page.waitForSelector('[data-rendered="plotly"] .main-svg', { timeout: 60_000 });
      const chart = page.locator('[data-rendered="plotly"]').first();
      await chart.scrollIntoViewIfNeeded();
      const chartShot = inkStatistics(await chart.screenshot({ type: 'png' }));
      assert.ok(chartShot.inkShare > 0.02, `the chart is blank (${(chartShot.inkShare * 100).toFixed(2)}% ink)`);
      assert.ok(chartShot.colours > 4, `the chart has only ${chartShot.colours} colours`);
      await page.evaluate(() => window.scrollTo(0, 0));
      const pageShot = inkStatistics(await page.screenshot({ type: 'png' }));
      assert.ok(pageShot.inkShare > 0.01, `the page is blank (${(pageShot.inkShare * 100).toFixed(2)}% ink)`);
      assert.deepEqual(requests, [], 'the page tried to reach the network');
      assert.deepEqual(errors, [], 'the page threw script errors');
    } finally {
      await browser.close();
    }
  });
});
