import { readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../errors';
import { readResults } from '../experiments/results';
import { formatMarkdown, summarizeResults, writeReport, DEFAULT_REPORT_OPTIONS } from '../experiments/report';

/** Files given on the command line; a folder stands for every .jsonl file in it (all shards). */
function expandResultPaths(inputs: readonly string[]): string[] {
  return inputs.flatMap((input) => {
    let isFolder: boolean;
    try {
      isFolder = statSync(input).isDirectory();
    } catch {
      throw new ConfigError('results', `${input} does not exist`, 'results .jsonl files written by `mnist-lab ablate`, or their folder');
    }
    if (!isFolder) return [input];
    return readdirSync(input)
      .filter((name) => name.endsWith('.jsonl'))
      .sort()
      .map((name) => path.join(input, name));
  });
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('merge ablation results files (all shards, deduplicated by run key) into Markdown, CSV, JSON and an offline HTML page')
    .argument('<results...>', 'results .jsonl files, or folders holding them')
    .option('--out <dir>', 'where to write report.{md,csv,json,html} (default: the folder of the first file)')
    .option('--name <name>', 'base name of the report files', 'report')
    .option('--title <text>', 'report heading', DEFAULT_REPORT_OPTIONS.title)
    .option('--baseline <label>', 'configuration the differences are taken from (default: the grid baseline)')
    .option('--json', 'print the report as JSON instead of Markdown')
    .action(async (inputs: string[], options: { out?: string; name: string; title: string; baseline?: string; json?: boolean }) => {
      const files = expandResultPaths(inputs);
      const read = readResults(files);
      if (read.rows.length === 0) {
        throw new ConfigError('results', `no finished runs in ${files.join(', ') || inputs.join(', ')}`, 'results .jsonl files written by `mnist-lab ablate`');
      }
      const report = summarizeResults(read.rows, { title: options.title, baseline: options.baseline });
      const outDir = options.out ?? path.dirname(path.resolve(files[0]));
      const written = await writeReport(report, outDir, options.name);
      if (options.json) console.log(JSON.stringify(report, null, 2));
      else console.log(formatMarkdown(report));
      process.stderr.write(
        `Merged ${files.length} file(s): ${read.rows.length} runs` +
          (read.duplicates ? `, ${read.duplicates} duplicate row(s) dropped` : '') +
          (read.skipped.length ? `, ${read.skipped.length} torn line(s) skipped` : '') +
          `. Wrote ${written.markdown} (also .csv, .json, .html).\n`,
      );
    });
}
