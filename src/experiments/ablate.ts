/**
 * One call for a whole ablation, used by `mnist-lab ablate`, the reproduction
 * script and the ablation notebook: expand the grid, keep this shard's part,
 * run what the results file does not have yet, and write the report.
 */
import * as path from 'node:path';
import { PROJECT_ROOT } from '../util/fs';
import { costModelFor, estimateRunSeconds, type CostModel } from './cost';
import { expandGrid, type GridRun, type GridSpec } from './grid';
import { readResults } from './results';
import { defaultWorkerCount, runGrid, type RunnerOptions, type RunnerSummary } from './runner';
import { notebookGridProgress } from './progress-table';
import { selectShard, shardTag, type Shard } from './shard';
import { summarizeResults, writeReport, type AblationReport, type ReportFiles } from './report';

export interface AblationOptions {
  /** Output folder: results file(s), run folders, report. Default `results/ablations/<grid name>` in the project. */
  outDir?: string;
  /** Run only this shard of the grid (its own results file). */
  shard?: Shard;
  /** Worker processes (0 = in this process). Default from the cores and the backend. */
  workers?: number;
  /** Data folder (default env MNIST_LAB_DATA and the usual places). */
  dataDir?: string;
  /** Write report.{md,csv,json,html} when the runs are done. */
  report: boolean;
  /** Passed through to the runner (tests, progress display). */
  runModule?: RunnerOptions['runModule'];
  runFunction?: RunnerOptions['runFunction'];
  onProgress?: RunnerOptions['onProgress'];
  costModel?: CostModel;
  /** tfjs (default) or Keras (the reproduction's cross-check, rows in the same results file). */
  engine?: RunnerOptions['engine'];
}

export const DEFAULT_ABLATION_OPTIONS: AblationOptions = { report: true };

/** Where an ablation keeps its files. */
export interface AblationPaths {
  outDir: string;
  resultsFile: string;
  runsDir: string;
  /** Base name of the report files (report, or report.shard-i-of-n). */
  reportName: string;
}

export function ablationPaths(spec: GridSpec, options: Pick<AblationOptions, 'outDir' | 'shard'> = {}): AblationPaths {
  const outDir = path.resolve(options.outDir ?? path.join(PROJECT_ROOT, 'results', 'ablations', spec.name));
  const tag = options.shard && options.shard.count > 1 ? `.${shardTag(options.shard)}` : '';
  return { outDir, resultsFile: path.join(outDir, `results${tag}.jsonl`), runsDir: path.join(outDir, 'runs'), reportName: `report${tag}` };
}

/** The runs this invocation is responsible for (the whole grid, or one shard of it). */
export function plannedRuns(spec: GridSpec, shard?: Shard): GridRun[] {
  const runs = expandGrid(spec);
  return shard ? selectShard(runs, shard) : runs;
}

export interface DryRunPlan {
  runs: Array<{ label: string; seed: number; key: string; epochs: number; batchSize: number; estimatedSeconds: number; done: boolean }>;
  /** Runs still to do. */
  pending: number;
  workers: number;
  /** Estimated wall-clock seconds for the pending runs on `workers` workers. */
  estimatedSeconds: number;
  costModel: CostModel;
  paths: AblationPaths;
}

/** What `--dry-run` shows: every run, whether the results file has it, and the estimated time. */
export function planAblation(spec: GridSpec, options: Partial<AblationOptions> & { backend?: string } = {}): DryRunPlan {
  const backend = options.backend ?? 'tensorflow';
  const costModel = options.costModel ?? costModelFor(backend);
  const paths = ablationPaths(spec, options);
  const finished = new Set(readResults([paths.resultsFile]).rows.map((row) => row.key));
  const runs = plannedRuns(spec, options.shard).map((run) => ({
    label: run.label,
    seed: run.seed,
    key: run.key,
    epochs: run.experiment.train.epochs,
    batchSize: run.experiment.train.batchSize,
    estimatedSeconds: estimateRunSeconds(run.experiment, costModel),
    done: finished.has(run.key),
  }));
  const pending = runs.filter((run) => !run.done);
  const workers = Math.max(1, Math.min(options.workers ?? defaultWorkerCount(backend), Math.max(pending.length, 1)));
  const total = pending.reduce((sum, run) => sum + run.estimatedSeconds, 0);
  // Whole runs go to workers, so the longest run bounds the wall time from below.
  const longest = Math.max(0, ...pending.map((run) => run.estimatedSeconds));
  return { runs, pending: pending.length, workers, estimatedSeconds: Math.max(total / workers, longest), costModel, paths };
}

export interface AblationOutcome {
  summary: RunnerSummary;
  report: AblationReport | null;
  reportFiles: ReportFiles | null;
  paths: AblationPaths;
}

/** Run an ablation grid end to end (resumable: finished runs in the results file are skipped). */
export async function runAblation(spec: GridSpec, options: Partial<AblationOptions> = {}): Promise<AblationOutcome> {
  const settings = { ...DEFAULT_ABLATION_OPTIONS, ...options };
  const paths = ablationPaths(spec, settings);
  const runs = plannedRuns(spec, settings.shard);
  // In a notebook cell, without a listener of the caller's: the grid as a table that fills in run by run.
  const live = settings.onProgress ? undefined : notebookGridProgress(runs, readResults([paths.resultsFile]).rows.filter((row) => (row.engine ?? 'tfjs') === (settings.engine ?? 'tfjs')));
  let summary: RunnerSummary;
  try {
    summary = await runGrid(runs, {
      resultsFile: paths.resultsFile,
      runsDir: paths.runsDir,
      gridName: spec.name,
      workers: settings.workers,
      dataDir: settings.dataDir,
      runModule: settings.runModule,
      runFunction: settings.runFunction,
      costModel: settings.costModel,
      onProgress: settings.onProgress ?? live?.listener,
      engine: settings.engine,
    });
  } finally {
    live?.close();
  }
  let report: AblationReport | null = null;
  let reportFiles: ReportFiles | null = null;
  // Both engines' rows of this grid: Keras runs become the report's Keras column.
  const keys = new Set(runs.map((run) => run.key));
  const rows = readResults([paths.resultsFile]).rows.filter((row) => keys.has(row.key));
  if (settings.report && rows.length > 0) {
    report = summarizeResults(rows, { title: `Ablation '${spec.name}'${settings.shard ? ` (${shardTag(settings.shard)})` : ''}` });
    reportFiles = await writeReport(report, paths.outDir, paths.reportName);
  }
  return { summary, report, reportFiles, paths };
}
