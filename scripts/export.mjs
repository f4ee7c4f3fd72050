// `npm run export [-- --quick] [-- --out DIR] [-- NOTEBOOK ...]`: execute the
// notebooks through Jupyter, then write teaching material to export/: one
// offline HTML and one Markdown file per notebook, the figures as SVG/PNG, the
// results tables as Markdown/CSV/JSON, an index.html linking them, and
// handout.pdf, every notebook in one printable PDF with a table of contents.
// Full mode (the real experiments) is the default, and it reuses finished
// full-mode runs and ablation grids (runs/, results/ablations/) instead of
// training them again; --quick is a first pass on small subsets, and every
// page it writes says so in a banner.
// The work is done by scripts/notebooks/run.py and export.py in the project's
// .venv; this wrapper builds first, chains them and prints the PDF with
// Chromium (playwright-core).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { resolveDataEnv } from './lib/common.mjs';

// Relative MNIST_LAB_DATA: relative to where the command was typed, for every process started below.
const dataNote = resolveDataEnv();
if (dataNote) console.error(`export: ${dataNote}`);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    quick: { type: 'boolean', default: false },
    // Accepted for old scripts: full mode is the default.
    full: { type: 'boolean', default: false },
    out: { type: 'string', default: path.join(root, 'export') },
    // For tests and re-exports: skip `npm run build` (dist/ must be fresh).
    'no-build': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log('usage: npm run export [-- --quick] [-- --out DIR] [-- --no-build] [-- NOTEBOOK ...]');
  process.exit(0);
}

const python = path.join(root, '.venv', process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python');
if (!existsSync(python)) {
  console.error(`export: ${python} is missing. Run \`npm run setup\` to create the project's Python environment (JupyterLab, nbclient, nbconvert).`);
  process.exit(1);
}

const quick = values.quick && !values.full;
// Full mode: notebooks pick up finished runs of their own run folders (see notebookSettings().reuseRuns).
const childEnv = quick ? process.env : { ...process.env, MNIST_LAB_REUSE_RUNS: '1' };
const run = (command, args) => spawnSync(command, args, { cwd: root, stdio: 'inherit', env: childEnv }).status ?? 1;

if (!values['no-build'] && run(process.execPath, [path.join(root, 'scripts', 'build.mjs')]) !== 0) process.exit(1);

const out = path.resolve(values.out);
const executed = path.join(out, 'notebooks');
// A previous export of other notebooks or another mode must not leak into
// this one; but never wipe a folder that is not an export (say, `--out .`).
if (existsSync(out) && readdirSync(out).length > 0 && !existsSync(path.join(out, 'manifest.json')) && !existsSync(path.join(out, 'notebooks'))) {
  console.error(`export: ${out} is not empty and holds no previous export; choose an empty folder or the default export/.`);
  process.exit(1);
}
rmSync(out, { recursive: true, force: true });
const started = Date.now();
const ran = run(python, [path.join(root, 'scripts', 'notebooks', 'run.py'), ...(quick ? [] : ['--full']), '--out', executed, ...positionals]);
const exported = run(python, [path.join(root, 'scripts', 'notebooks', 'export.py'), '--executed', executed, '--out', out]);
if (exported === 0) await printHandout(path.join(out, 'handout.html'), path.join(out, 'handout.pdf'), quick);
const seconds = ((Date.now() - started) / 1000).toFixed(0);
if (ran !== 0) {
  console.error(`export: some notebooks failed (see above); the rest were exported to ${out} in ${seconds} s.`);
  process.exit(1);
}
if (exported !== 0) process.exit(exported);
console.log(`export: ${quick ? 'quick' : 'full'} mode, ${seconds} s; open ${path.join(out, 'index.html')} (printable: ${path.join(out, 'handout.pdf')})`);

/** Chromium's print to PDF: A4, vector figures, page numbers, and in quick mode a warning on every page. */
async function printHandout(htmlFile, pdfFile, quickMode) {
  const { findChromium, CHROMIUM_ARGS } = await import(pathToFileURL(path.join(root, 'dist', 'viz', 'png.js')).href);
  const executablePath = findChromium();
  if (!executablePath) {
    console.error('export: no Chromium, so no handout.pdf (apt-get install chromium); handout.html prints the same from any browser.');
    return;
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath, headless: true, args: [...CHROMIUM_ARGS] });
  try {
    const context = await browser.newContext({ offline: true });
    const page = await context.newPage();
    await page.goto(pathToFileURL(htmlFile).href, { waitUntil: 'load', timeout: 120_000 });
    const temporary = `${pdfFile}.${process.pid}.tmp`;
    const small = 'font-size:8px;font-family:sans-serif;width:100%;margin:0 12mm;';
    await page.pdf({
      path: temporary,
      format: 'A4',
      printBackground: true,
      outline: true,
      margin: { top: '16mm', bottom: '16mm', left: '12mm', right: '12mm' },
      displayHeaderFooter: true,
      headerTemplate: quickMode
        ? `<div style="${small}color:#d62728">QUICK MODE: small subsets and 2 epochs, not the real results (npm run export for those)</div>`
        : '<div></div>',
      footerTemplate: `<div style="${small}text-align:right">mnist-lab &middot; <span class="pageNumber"></span>/<span class="totalPages"></span></div>`,
    });
    renameSync(temporary, pdfFile);
    console.log(`export: wrote ${pdfFile}`);
  } finally {
    await browser.close();
  }
}
