import type { Command } from 'commander';
import { MnistLabError, ConfigError } from '../errors';
import { initBackend } from '../backend';
import { calibrateCostModel } from '../experiments/cost';
import { GRID_MODES, GRID_PRESETS } from '../experiments/grid';
import { gridSpecFromFlags, wholeNumber, type GridFlags } from './flags';
import { planAblation, runAblation } from '../experiments/ablate';
import { formatProgress } from '../experiments/runner';
import { formatDuration } from '../util/format';
import { parseShard } from '../experiments/shard';

interface AblateFlags extends GridFlags {
  workers?: string;
  shard?: string;
  out?: string;
  dataDir?: string;
  dryRun?: boolean;
  calibrate?: boolean;
  report: boolean;
  json?: boolean;
  engine?: string;
}

function workerCount(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  return wholeNumber('--workers', text, 0, '0 (train in this process), 1, 2, ...');
}

export function registerAblate(program: Command): void {
  program
    .command('ablate')
    .description('run an ablation grid (one factor at a time around a baseline, or cartesian) with several seeds; resumable, shardable')
    .option('--preset <name>', `a named grid: ${GRID_PRESETS.join(', ')} (tutorial001 = the nine S1 rows of the tutorials' table)`)
    .option('--spec <file>', 'a grid spec in JSON or YAML (flags given as well override it)')
    .option('--name <name>', 'grid name: names the output folder and the report')
    .option('--mode <mode>', `how factors combine: ${GRID_MODES.join(', ')}`)
    .option('--baseline <id>', 'preset the factors vary around (default S1-base; convnet for a CNN)')
    .option('--architecture <list>', 'networks in one grid: mlp:512-512 (hidden widths), mlp: (none), cnn:32-64 (Conv2D filters), e.g. mlp:512-512,cnn:16-32,cnn:32-64')
    .option('--filters <list>', 'CNN baselines (--baseline convnet): Conv2D filters, e.g. 16,32 (16-32 = two layers of 16 and 32)')
    .option('--hidden <list>', 'hidden widths, e.g. 128,512,2048 (256-128 = two layers of 256 and 128)')
    .option('--dropout <list>', 'dropout rates, e.g. 0,0.2')
    .option('--batch-size <list>', 'batch sizes, e.g. 32,128,512')
    .option('--optimizer <list>', 'optimizers: rmsprop, adam, sgd')
    .option('--activation <list>', 'hidden activations: relu, linear, sigmoid, tanh')
    .option('--scale <list>', 'divide pixels by 255: on, off')
    .option('--learning-rate <list>', 'learning rates, e.g. 0.001,0.01')
    .option('--augment <list>', 'data augmentation: off, on (on = rotation 10, width/height shift 0.1, zoom 0.1)')
    .option('--data-folder <dir>', 'train and test on a folder of images (one subfolder per class, or a labels.txt) instead of --dataset')
    .option('--seeds <n|list>', 'repeats per configuration (seeds 1..n) or an explicit list, e.g. 7,8,9')
    .option('--epochs <n>', 'override the epochs of every run')
    .option('--dataset <name>', 'mnist or fashion-mnist')
    .option('--limit <n>', 'use only the first n training and test examples (quick runs)')
    .option('--workers <n>', 'parallel worker processes (0 = in this process); default from the cores and the backend')
    .option('--shard <i/n>', 'run only shard i (0-based) of n, e.g. $SLURM_ARRAY_TASK_ID/4 or $JOB_COMPLETION_INDEX/4')
    .option('--out <dir>', 'output folder (default results/ablations/<name>)')
    .option('--data-dir <dir>', 'folder with one subfolder per data set (default: env MNIST_LAB_DATA)')
    .option('--dry-run', 'list the runs and the estimated time; train nothing')
    .option('--calibrate', 'with --dry-run: measure this machine first (a few seconds) instead of the stored constants')
    .option('--engine <name>', 'tfjs (default) or keras: train in Python Keras (.venv) for a cross-check column in the report')
    .option('--no-report', 'do not write report.{md,csv,json,html} at the end')
    .option('--json', 'print JSON instead of text')
    .action(async (flags: AblateFlags) => {
      // Everything is validated before any training starts.
      const spec = gridSpecFromFlags(flags);
      const shard = flags.shard !== undefined ? parseShard(flags.shard) : undefined;
      const workers = workerCount(flags.workers);
      if (flags.engine !== undefined && flags.engine !== 'tfjs' && flags.engine !== 'keras') {
        throw new ConfigError('--engine', `unknown engine '${flags.engine}'`, 'tfjs, keras');
      }
      const engine = flags.engine as 'tfjs' | 'keras' | undefined;
      if (flags.dryRun) {
        const backend = await initBackend({ quiet: true });
        const costModel = flags.calibrate ? await calibrateCostModel() : undefined;
        const plan = planAblation(spec, { shard, workers, outDir: flags.out, backend: backend.name, costModel });
        if (flags.json) {
          console.log(JSON.stringify({ spec, ...plan }, null, 2));
          return;
        }
        console.log(`Grid '${spec.name}': ${plan.runs.length} runs${shard ? ` in shard ${shard.index}/${shard.count}` : ''}, ${plan.pending} to do, results in ${plan.paths.resultsFile}`);
        for (const run of plan.runs) {
          console.log(`  ${run.done ? 'done' : '    '}  ${run.label.padEnd(28)} seed ${String(run.seed).padEnd(4)} ${run.key}  epochs ${String(run.epochs).padEnd(4)} batch ${String(run.batchSize).padEnd(5)} ~${formatDuration(run.estimatedSeconds)}`);
        }
        console.log(`Estimated time: ${formatDuration(plan.estimatedSeconds)} on ${plan.workers} worker(s) (${plan.costModel.source}).`);
        return;
      }
      const outcome = await runAblation(spec, {
        shard,
        workers,
        outDir: flags.out,
        dataDir: flags.dataDir,
        report: flags.report,
        engine,
        onProgress: (progress) => {
          if (progress.event !== 'epoch' && progress.event !== 'run') process.stderr.write(formatProgress(progress) + '\n');
        },
      });
      const { summary } = outcome;
      if (flags.json) {
        const { rows: _rows, ...rest } = summary;
        console.log(JSON.stringify({ ...rest, paths: outcome.paths, reportFiles: outcome.reportFiles }, null, 2));
      } else {
        console.log(
          `Grid '${spec.name}': ${summary.completed} run(s) finished now, ${summary.skipped} already done, ${summary.failed.length} failed; ` +
            `${formatDuration(summary.seconds)} ${summary.workers === 0 ? 'in this process' : `on ${summary.workers} worker(s)`}. Results: ${outcome.paths.resultsFile}`,
        );
        if (outcome.reportFiles) console.log(`Report: ${outcome.reportFiles.markdown} (also .csv, .json, .html)`);
      }
      if (summary.failed.length > 0) {
        throw new MnistLabError(
          `${summary.failed.length} run(s) failed:\n` +
            summary.failed.map((run) => `  - ${run.label} seed ${run.seed}: ${run.message}`).join('\n') +
            '\nFix the cause and run the same command again: finished runs are kept and skipped.',
        );
      }
    });
}
