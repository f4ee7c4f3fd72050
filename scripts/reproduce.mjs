// `npm run reproduce`: every reference experiment (the tutorials' table and the
// keras.io convnet: all presets) on the full data, three seeds each, through the ablation runner
// (resumable: run it again after an interruption), then the table of our
// mean ± std beside the tutorials' numbers in results/reproduce/report.md.
//
//   npm run reproduce                      # all presets, 3 seeds
//   npm run reproduce -- --keras           # also run Keras (.venv) for a Keras column
//   npm run reproduce -- --dry-run         # list the runs and the estimated time
//   npm run reproduce -- --limit 2000 --epochs 1 --seeds 1   # a quick smoke run
//
// Other flags (--workers, --data-dir, --out, --shard, --dry-run, --limit,
// --epochs, --seeds) are passed on to `mnist-lab ablate`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveDataEnv } from './lib/common.mjs';

// Relative MNIST_LAB_DATA: relative to where the command was typed, for every process started below.
const dataNote = resolveDataEnv();
if (dataNote) console.error(`reproduce: ${dataNote}`);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const take = (flag) => {
  const index = args.indexOf(flag);
  if (index === -1) return false;
  args.splice(index, 1);
  return true;
};
const keras = take('--keras');
const noBuild = take('--no-build');
const dryRun = args.includes('--dry-run');
const valueOf = (flag, fallback) => {
  const index = args.indexOf(flag);
  return index === -1 ? fallback : args[index + 1];
};
const out = path.resolve(root, valueOf('--out', path.join('results', 'reproduce')));
if (!args.includes('--out')) args.push('--out', out);
if (!args.includes('--seeds')) args.push('--seeds', '3');

const cli = path.join(root, 'bin', 'mnist-lab.js');
const run = (commandArgs) => {
  console.error(`reproduce: mnist-lab ${commandArgs.join(' ')}`);
  const result = spawnSync(process.execPath, [cli, ...commandArgs], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error('reproduce: stopped. Fix the cause above and run `npm run reproduce` again: finished runs are kept and skipped.');
    process.exit(result.status ?? 1);
  }
};

if (!noBuild) {
  const build = spawnSync(process.execPath, [path.join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
run(['ablate', '--preset', 'reference', '--name', 'reproduce', ...args]);
if (keras) {
  if (!existsSync(path.join(root, '.venv', 'bin', 'python'))) {
    console.error('reproduce: --keras needs the Python environment in .venv (npm run setup); skipping the Keras column.');
  } else {
    run(['ablate', '--preset', 'reference', '--name', 'reproduce', '--engine', 'keras', ...args]);
  }
}
if (!dryRun) {
  const resultsFiles = args.includes('--shard') ? [out] : [path.join(out, 'results.jsonl')];
  run(['report', ...resultsFiles, '--out', out, '--title', 'Reproduction of the tutorials (mean ± std over seeds)']);
  console.error(`reproduce: table in ${path.join(out, 'report.md')} (also .csv, .json, .html)`);
}
