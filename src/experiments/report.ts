/**
 * Ablation reports: per configuration, mean ± std (and min/max) over seeds of
 * the numbers a learner compares, the difference from the baseline with a
 * Welch t interval (is it bigger than run-to-run noise?), and the seed
 * tutorial's number beside ours. Written as Markdown, CSV, JSON and an
 * offline HTML page with the comparison chart. The ablation notebook calls
 * these same functions.
 */
import * as path from 'node:path';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import { ConfigError } from '../errors';
import { writeFileAtomic, writeJsonAtomic } from '../util/fs';
import { ablationChart, type AblationRow } from '../viz/figures';
import { renderSvg } from '../viz/svg';
import type { FactorName } from './grid';
import type { Engine, ResultRow } from './results';
import type { ReferenceResult } from '../runs/types';
import { escapeHtml, percent } from '../util/format';
import type { TableRow } from '../viz/table';
import { architectureLabel, parameterCount } from '../model/factory';
import { describeSource } from '../data/source';
import { ablationParallelCoordinates, runSettings, type AblationRunPoint } from './parallel';

/** Summary statistics of one number over the seeds of a configuration. */
export interface Stats {
  mean: number;
  /** Sample standard deviation (n - 1); 0 for a single run. */
  std: number;
  min: number;
  max: number;
  count: number;
}

/** Difference of a configuration's mean from the baseline's, with a Welch t interval. */
export interface Difference {
  /** Configuration mean minus baseline mean. */
  mean: number;
  low: number;
  high: number;
  /** Confidence level of [low, high], e.g. 0.95. */
  confidence: number;
  /** Welch-Satterthwaite degrees of freedom. */
  degreesOfFreedom: number;
  /** True when the interval excludes 0: the difference is bigger than run-to-run noise. */
  exceedsNoise: boolean;
}

/** One configuration of an ablation report: test accuracy over seeds, its difference from the baseline, the tutorial's number. */
export interface ConfigurationSummary {
  label: string;
  configKey: string;
  baseline: boolean;
  factors: Partial<Record<FactorName, unknown>>;
  /** The network in a few words, e.g. `mlp 512-512` or `cnn 32-64`. */
  architecture: string;
  /** Trainable parameters of the network (Keras's summary() total). */
  params: number;
  /** Seeds that ran. */
  seeds: number[];
  testAcc: Stats;
  finalTrainAcc: Stats;
  /** Null when the runs had no validation data. */
  bestValAcc: Stats | null;
  /** finalTrainAcc - test acc. */
  overfitGap: Stats;
  epochSeconds: Stats;
  /** Test accuracy minus the baseline's; null for the baseline itself or with fewer than two runs on either side. */
  testAccDifference: Difference | null;
  /** What the tutorial reported, when this configuration is one of its rows. */
  reference: ReferenceResult | null;
  /** Our mean test accuracy minus the tutorial's. */
  referenceDelta: number | null;
  /** The same configuration run by Keras (the reproduction's cross-check), when present. */
  keras: Stats | null;
  /** Backends that ran it. */
  backends: string[];
}

/** The summary of an ablation: one row per configuration, ready for Markdown, CSV, HTML or a chart. */
export interface AblationReport {
  title: string;
  generatedAt: string;
  /** Label of the configuration the differences are taken from, or null. */
  baselineLabel: string | null;
  confidence: number;
  /** Tolerance used to mark a reproduction as matching the seed (fraction, e.g. 0.005 = half a point). */
  referenceTolerance: number;
  configurations: ConfigurationSummary[];
  /** Runs summarised (our engine only). */
  runCount: number;
  /** Every run summarised, in grid order (our engine only). */
  runs: AblationRunPoint[];
  /** The data sets the runs trained on (`mnist`, `folder:<path>`), in grid order. */
  datasets: string[];
}

/** Options of `summarizeResults`. */
export interface ReportOptions {
  /** Heading of the report. */
  title: string;
  /** Label of the baseline configuration; default the one the grid marked. */
  baseline?: string;
  /** Confidence level of the difference intervals. */
  confidence: number;
  /** Largest |ours - seed| that counts as reproduced. */
  referenceTolerance: number;
}

export const DEFAULT_REPORT_OPTIONS: ReportOptions = {
  title: 'Ablation report',
  confidence: 0.95,
  // The seed table's own run-to-run spread is about ±0.2 points; half a point is the project's bar.
  referenceTolerance: 0.005,
};

export function statsOf(values: readonly number[]): Stats {
  if (values.length === 0) return { mean: NaN, std: NaN, min: NaN, max: NaN, count: 0 };
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  const variance = values.length > 1 ? values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1) : 0;
  return { mean, std: Math.sqrt(variance), min: Math.min(...values), max: Math.max(...values), count: values.length };
}

/** Welch's t interval for the difference of two means; null when either side has fewer than two runs. */
export function welchInterval(sample: Stats, baseline: Stats, confidence = 0.95): Difference | null {
  if (sample.count < 2 || baseline.count < 2) return null;
  const varianceSample = sample.std ** 2 / sample.count;
  const varianceBaseline = baseline.std ** 2 / baseline.count;
  const standardError = Math.sqrt(varianceSample + varianceBaseline);
  const mean = sample.mean - baseline.mean;
  if (standardError === 0) {
    return { mean, low: mean, high: mean, confidence, degreesOfFreedom: Infinity, exceedsNoise: mean !== 0 };
  }
  const degreesOfFreedom =
    (varianceSample + varianceBaseline) ** 2 / (varianceSample ** 2 / (sample.count - 1) + varianceBaseline ** 2 / (baseline.count - 1));
  const half = tQuantile(1 - (1 - confidence) / 2, degreesOfFreedom) * standardError;
  return { mean, low: mean - half, high: mean + half, confidence, degreesOfFreedom, exceedsNoise: mean - half > 0 || mean + half < 0 };
}

/** Summarise result rows (from any number of merged files) per configuration. */
export function summarizeResults(rows: readonly ResultRow[], options: Partial<ReportOptions> = {}): AblationReport {
  const settings = { ...DEFAULT_REPORT_OPTIONS, ...options };
  const groups = new Map<string, { engine: Engine; rows: ResultRow[] }[]>();
  const order: string[] = [];
  // Grid order, whatever order workers finished in or shards were merged in.
  const sorted = [...rows].sort((a, b) => (a.position ?? Infinity) - (b.position ?? Infinity));
  for (const row of sorted) {
    if (!groups.has(row.configKey)) {
      groups.set(row.configKey, []);
      order.push(row.configKey);
    }
    const byEngine = groups.get(row.configKey)!;
    const engine = row.engine ?? 'tfjs';
    const entry = byEngine.find((item) => item.engine === engine);
    if (entry) entry.rows.push(row);
    else byEngine.push({ engine, rows: [row] });
  }
  const configurations: ConfigurationSummary[] = [];
  const runs: AblationRunPoint[] = [];
  for (const key of order) {
    const byEngine = groups.get(key)!;
    const ours = byEngine.find((item) => item.engine === 'tfjs')?.rows ?? [];
    const keras = byEngine.find((item) => item.engine === 'keras')?.rows ?? [];
    if (ours.length === 0) continue;
    const results = ours.map((row) => row.result);
    for (const row of ours) runs.push({ label: row.label, seed: row.seed, settings: runSettings(row.result.config), testAcc: row.result.test.acc, overfitGap: row.result.overfitGap });
    const valAccs = results.map((result) => result.bestValAcc).filter((value): value is number => value !== null);
    const testAcc = statsOf(results.map((result) => result.test.acc));
    const reference = results[0].config.reference ?? null;
    configurations.push({
      label: ours[0].label,
      configKey: key,
      baseline: ours[0].baseline,
      factors: ours[0].factors,
      architecture: architectureLabel(results[0].config.model),
      params: parameterCount(results[0].config.model),
      seeds: ours.map((row) => row.seed).sort((a, b) => a - b),
      testAcc,
      finalTrainAcc: statsOf(results.map((result) => result.finalTrainAcc)),
      bestValAcc: valAccs.length > 0 ? statsOf(valAccs) : null,
      overfitGap: statsOf(results.map((result) => result.overfitGap)),
      epochSeconds: statsOf(results.map((result) => result.epochSeconds)),
      testAccDifference: null,
      reference,
      referenceDelta: reference ? testAcc.mean - reference.testAcc : null,
      keras: keras.length > 0 ? statsOf(keras.map((row) => row.result.test.acc)) : null,
      backends: [...new Set(results.map((result) => result.backend))],
    });
  }
  let baseline: ConfigurationSummary | undefined;
  if (settings.baseline !== undefined) {
    baseline = configurations.find((item) => item.label === settings.baseline);
    if (!baseline) throw new ConfigError('baseline', `no configuration is labelled '${settings.baseline}'`, configurations.map((item) => item.label).join(', '));
  } else {
    baseline = configurations.find((item) => item.baseline);
  }
  for (const item of configurations) {
    item.baseline = item === baseline;
    if (baseline && item !== baseline) item.testAccDifference = welchInterval(item.testAcc, baseline.testAcc, settings.confidence);
  }
  return {
    title: settings.title,
    generatedAt: new Date().toISOString(),
    baselineLabel: baseline?.label ?? null,
    confidence: settings.confidence,
    referenceTolerance: settings.referenceTolerance,
    configurations,
    runCount: configurations.reduce((sum, item) => sum + item.testAcc.count, 0),
    runs,
    datasets: [...new Set(sorted.map((row) => describeSource(row.result.config.dataset)))],
  };
}

// ------------------------------------------------------------------ formats

const percentCell = (value: number) => percent(value, { unit: '', missing: '' });
const points = (value: number) => `${value >= 0 ? '+' : '−'}${Math.abs(value * 100).toFixed(2)}`;
// One run has no spread: its value alone, not '± 0.00'.
const meanStd = (value: Stats | null) => (!value || value.count === 0 ? '–' : value.count === 1 ? percentCell(value.mean) : `${percentCell(value.mean)} ± ${percentCell(value.std)}`);

function differenceText(item: ConfigurationSummary): string {
  if (item.baseline) return 'baseline';
  const difference = item.testAccDifference;
  if (!difference) return item.testAcc.count < 2 ? 'n<2' : '–';
  return `${points(difference.mean)} [${points(difference.low)}, ${points(difference.high)}]${difference.exceedsNoise ? ' **' : ''}`;
}

function referenceText(item: ConfigurationSummary, tolerance: number): string {
  if (!item.reference || item.referenceDelta === null) return '–';
  const mark = Math.abs(item.referenceDelta) <= tolerance ? '✓' : '✗';
  return `${percentCell(item.reference.testAcc)} (${points(item.referenceDelta)} ${mark})`;
}

/**
 * One row per configuration for a notebook's results table (`showTable`):
 * accuracies in percent with two decimals, the difference from the baseline
 * with its interval, and the tutorial's own number.
 */
export function ablationTableRows(report: AblationReport): TableRow[] {
  const inPercent = (value: number | null | undefined) => (value === null || value === undefined || !Number.isFinite(value) ? null : Number((value * 100).toFixed(2)));
  return report.configurations.map((item) => ({
    configuration: item.label,
    runs: item.testAcc.count,
    'test acc %': inPercent(item.testAcc.mean),
    'std %': item.testAcc.count > 1 ? inPercent(item.testAcc.std) : null,
    'vs baseline %': inPercent(item.testAccDifference?.mean),
    '95% interval': item.testAccDifference ? `${inPercent(item.testAccDifference.low)} to ${inPercent(item.testAccDifference.high)}` : '',
    'beyond noise': item.testAccDifference ? item.testAccDifference.exceedsNoise : null,
    'tutorial %': inPercent(item.reference?.testAcc),
    'train-test gap %': inPercent(item.overfitGap.mean),
  }));
}

/** A Markdown table (percent, mean ± std over seeds) with a legend. */
export function formatMarkdown(report: AblationReport): string {
  const withKeras = report.configurations.some((item) => item.keras !== null);
  const header = [
    'Configuration',
    'Network',
    'Params',
    'Runs',
    'Test acc %',
    'Min–max',
    'Seed reported (Δ)',
    ...(withKeras ? ['Keras test acc %'] : []),
    `Δ vs baseline [${Math.round(report.confidence * 100)}% CI]`,
    'Final train acc %',
    'Best val acc %',
    'Overfit gap',
    'Epoch s',
  ];
  const data = report.datasets.length > 0 ? [`Data: ${report.datasets.join(', ')}.`, ''] : [];
  const lines = [`## ${report.title}`, '', ...data, `| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`];
  for (const item of report.configurations) {
    const cells = [
      item.baseline ? `**${item.label}**` : item.label,
      item.architecture,
      item.params.toLocaleString('en-US'),
      String(item.testAcc.count),
      meanStd(item.testAcc),
      `${percentCell(item.testAcc.min)}–${percentCell(item.testAcc.max)}`,
      referenceText(item, report.referenceTolerance),
      ...(withKeras ? [meanStd(item.keras)] : []),
      differenceText(item),
      meanStd(item.finalTrainAcc),
      meanStd(item.bestValAcc),
      meanStd(item.overfitGap),
      item.epochSeconds.mean.toFixed(1),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  lines.push(
    '',
    `Mean ± sample standard deviation over seeds, in percent. Δ vs baseline: difference of means in points with a Welch t interval; ` +
      `** marks a difference whose interval excludes 0 (bigger than run-to-run noise). ` +
      `Seed reported: the tutorial's single run (keras.io's number for convnet); ✓ when our mean is within ${(report.referenceTolerance * 100).toFixed(1)} points of it. ` +
      `Overfit gap: final train accuracy minus test accuracy. Params: trainable parameters; Epoch s: median seconds per epoch, so accuracy reads beside size and cost.`,
    '',
  );
  return lines.join('\n');
}

const CSV_COLUMNS = [
  'label', 'architecture', 'params', 'baseline', 'runs', 'seeds',
  'test_acc_mean', 'test_acc_std', 'test_acc_min', 'test_acc_max',
  'final_train_acc_mean', 'final_train_acc_std', 'best_val_acc_mean', 'best_val_acc_std',
  'overfit_gap_mean', 'overfit_gap_std', 'epoch_seconds_mean', 'epoch_seconds_std',
  'diff_vs_baseline', 'diff_low', 'diff_high', 'diff_exceeds_noise',
  'seed_reported_test_acc', 'diff_vs_seed', 'keras_test_acc_mean', 'keras_test_acc_std', 'backends',
] as const;

function csvCell(value: unknown): string {
  if (value === null || value === undefined || (typeof value === 'number' && !Number.isFinite(value))) return '';
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One CSV row per configuration; accuracies as fractions (0-1), as the JSON holds them. */
export function formatCsv(report: AblationReport): string {
  const rows = report.configurations.map((item) => [
    item.label, item.architecture, item.params, item.baseline, item.testAcc.count, item.seeds.join(' '),
    item.testAcc.mean, item.testAcc.std, item.testAcc.min, item.testAcc.max,
    item.finalTrainAcc.mean, item.finalTrainAcc.std, item.bestValAcc?.mean, item.bestValAcc?.std,
    item.overfitGap.mean, item.overfitGap.std, item.epochSeconds.mean, item.epochSeconds.std,
    item.testAccDifference?.mean, item.testAccDifference?.low, item.testAccDifference?.high, item.testAccDifference?.exceedsNoise,
    item.reference?.testAcc, item.referenceDelta, item.keras?.mean, item.keras?.std, item.backends.join(' '),
  ]);
  return [CSV_COLUMNS.join(','), ...rows.map((row) => row.map(csvCell).join(','))].join('\n') + '\n';
}

/** The rows of the comparison chart (the visualization module's ablationChart input). */
export function chartRows(report: AblationReport): AblationRow[] {
  return report.configurations.map((item) => ({
    name: item.label,
    mean: item.testAcc.mean,
    std: item.testAcc.std,
    count: item.testAcc.count,
    reference: item.reference?.testAcc ?? null,
  }));
}

/** A self-contained page (inline SVG chart, no scripts, no network) with the chart and the table. */
export function formatHtml(report: AblationReport): string {
  const svg = report.configurations.length > 0 ? renderSvg(ablationChart(chartRows(report), { title: report.title })) : '<p>No runs yet.</p>';
  const markdown = formatMarkdown(report).split('\n');
  const tableLines = markdown.filter((line) => line.startsWith('|'));
  const legend = markdown.filter((line) => line !== '' && !line.startsWith('|') && !line.startsWith('#') && !line.startsWith('Data: ')).join(' ');
  const cells = (line: string) => line.slice(1, -1).split(' | ').map((cell) => cell.trim());
  const header = cells(tableLines[0]);
  const body = tableLines.slice(2).map(cells);
  const inline = (cell: string) => escapeHtml(cell).replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>').replace(/ \*\*$/, ' <strong>**</strong>');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(report.title)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.legend { max-width: 60em; color: #555; font-size: 0.9em; }
</style>
</head>
<body>
<h1>${escapeHtml(report.title)}</h1>
<p>${report.runCount} runs${report.datasets.length > 0 ? ` on ${escapeHtml(report.datasets.join(', '))}` : ''}, generated ${escapeHtml(report.generatedAt)}.</p>
${svg}
${report.runs.length > 1 ? `<h2>Every run at a glance</h2>\n<p class="legend">One line per run: its settings on the left axes, its test accuracy and overfitting gap on the right; hover a line for the run.</p>\n${renderSvg(ablationParallelCoordinates(report))}` : ''}
<table>
<thead><tr>${header.map((cell) => `<th>${escapeHtml(cell)}</th>`).join('')}</tr></thead>
<tbody>
${body.map((row) => `<tr>${row.map((cell) => `<td>${inline(cell)}</td>`).join('')}</tr>`).join('\n')}
</tbody>
</table>
<p class="legend">${escapeHtml(legend)}</p>
</body>
</html>
`;
}

/** Where {@link writeReport} put each format. */
export interface ReportFiles {
  markdown: string;
  csv: string;
  json: string;
  html: string;
}

/** Write report.md, report.csv, report.json and report.html into `outDir` (atomically). */
export async function writeReport(report: AblationReport, outDir: string, baseName = 'report'): Promise<ReportFiles> {
  const files: ReportFiles = {
    markdown: path.join(outDir, `${baseName}.md`),
    csv: path.join(outDir, `${baseName}.csv`),
    json: path.join(outDir, `${baseName}.json`),
    html: path.join(outDir, `${baseName}.html`),
  };
  await writeFileAtomic(files.markdown, formatMarkdown(report));
  await writeFileAtomic(files.csv, formatCsv(report));
  await writeJsonAtomic(files.json, report);
  await writeFileAtomic(files.html, formatHtml(report));
  return files;
}
