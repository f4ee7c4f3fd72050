// `npm run export [-- --full] [-- --out DIR] [-- NOTEBOOK ...]`: execute the
// notebooks (quick mode by default, the real experiments with --full) through
// Jupyter, then write teaching material to export/: one self-contained HTML
// and one Markdown file per notebook, the figures as SVG/PNG, the results
// tables as Markdown/CSV/JSON, and an index.html linking them.
// The work is done by scripts/notebooks/run.py and export.py in the project's
// .venv; this wrapper builds first and chains them.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { resolveDataEnv } from './lib/common.mjs';

// Relative MNIST_LAB_DATA: relative to where the command was typed, for every process started below.
const dataNote = resolveDataEnv();
if (dataNote) console.error(`export: ${dataNote}`);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    full: { type: 'boolean', default: false },
    out: { type: 'string', default: path.join(root, 'export') },
    // For tests and re-exports: skip `npm run build` (dist/ must be fresh).
    'no-build': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log('usage: npm run export [-- --full] [-- --out DIR] [-- --no-build] [-- NOTEBOOK ...]');
  process.exit(0);
}

const python = path.join(root, '.venv', process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python');
if (!existsSync(python)) {
  console.error(`export: ${python} is missing. Run \`npm run setup\` to create the project's Python environment (JupyterLab, nbclient, nbconvert).`);
  process.exit(1);
}

const run = (command, args) => spawnSync(command, args, { cwd: root, stdio: 'inherit', env: process.env }).status ?? 1;

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
const ran = run(python, [path.join(root, 'scripts', 'notebooks', 'run.py'), ...(values.full ? ['--full'] : []), '--out', executed, ...positionals]);
const exported = run(python, [path.join(root, 'scripts', 'notebooks', 'export.py'), '--executed', executed, '--out', out]);
const seconds = ((Date.now() - started) / 1000).toFixed(0);
if (ran !== 0) {
  console.error(`export: some notebooks failed (see above); the rest were exported to ${out} in ${seconds} s.`);
  process.exit(1);
}
if (exported !== 0) process.exit(exported);
console.log(`export: ${values.full ? 'full' : 'quick'} mode, ${seconds} s; open ${path.join(out, 'index.html')}`);
