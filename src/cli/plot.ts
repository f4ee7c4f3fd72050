/** `mnist-lab plot runs/a runs/b --out curves.png`: training curves of saved runs on one chart. */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../errors';
import type { TrainingHistory } from '../train/types';
import { trainingCurves, type NamedHistory } from '../viz/figures';
import { saveFigure } from '../viz/save';
import { plotInBrowser } from '../viz/live';
import { wholeNumber } from './flags';

/** Read `history.json` of a run folder (or a history file itself), named after the run's id and seed. */
async function readRunHistory(input: string): Promise<NamedHistory> {
  let stat;
  try {
    stat = await fs.stat(input);
  } catch {
    throw new ConfigError('runDir', `${input} does not exist`, 'a run folder (with history.json) or a history.json file');
  }
  const dir = stat.isDirectory() ? input : path.dirname(input);
  const file = stat.isDirectory() ? path.join(input, 'history.json') : input;
  let history: TrainingHistory;
  try {
    history = JSON.parse(await fs.readFile(file, 'utf8')) as TrainingHistory;
  } catch (error) {
    throw new ConfigError('runDir', `cannot read ${file}: ${(error as Error).message}`, 'a run folder written by `mnist-lab train` (it holds history.json)');
  }
  if (!history?.history || !Array.isArray(history.history.loss)) {
    throw new ConfigError('runDir', `${file} is not a training history (no history.loss array)`, 'the history.json of a run folder');
  }
  let name = path.basename(path.resolve(dir));
  try {
    const config = JSON.parse(await fs.readFile(path.join(dir, 'config.json'), 'utf8')) as { id?: string; train?: { seed?: number }; seed?: number };
    // Older run folders kept the seed at the top of config.json as well.
    const seed = config.train?.seed ?? config.seed;
    if (config.id) name = seed !== undefined ? `${config.id} seed ${seed}` : config.id;
  } catch {
    // No config.json: the folder name is the run's name.
  }
  return { name, history };
}

interface PlotCommandOptions {
  out: string;
  title?: string;
  metrics: string;
  gap: boolean;
  browser?: boolean;
  width?: string;
  height?: string;
}

export function registerPlot(program: Command): void {
  program
    .command('plot')
    .description('training curves (loss, accuracy, train vs validation) of saved runs on one chart, as .html, .svg or .png')
    .argument('<runDir...>', 'run folders (each holds history.json) or history.json files')
    .option('--out <file>', 'chart file: .html (interactive, offline), .svg or .png', 'training-curves.html')
    .option('--title <text>', 'chart title')
    .option('--metrics <list>', 'panels, comma-separated: loss, acc', 'loss,acc')
    .option('--no-gap', 'do not shade the train/validation gap')
    .option('--browser', 'also open the chart in a browser tab (offline nodeplotlib page) when there is a display')
    .option('--width <px>', 'PNG width in pixels')
    .option('--height <px>', 'PNG height in pixels')
    .action(async (inputs: string[], options: PlotCommandOptions) => {
      const metrics = options.metrics.split(',').map((metric) => metric.trim());
      const unknown = metrics.filter((metric) => metric !== 'loss' && metric !== 'acc');
      if (unknown.length > 0) throw new ConfigError('--metrics', `unknown metric(s) ${unknown.join(', ')}`, 'loss, acc');
      const histories = await Promise.all(inputs.map(readRunHistory));
      const figure = trainingCurves(histories, {
        metrics: metrics as Array<'loss' | 'acc'>,
        showGap: options.gap,
        title: options.title ?? (histories.length === 1 ? `Training curves: ${histories[0].name}` : 'Training curves'),
      });
      const size = (value: string | undefined, flag: string) => (value === undefined ? undefined : wholeNumber(flag, value, 1, 'a whole number of pixels >= 1'));
      const file = await saveFigure(figure, options.out, { png: { width: size(options.width, '--width'), height: size(options.height, '--height') } });
      console.log(file);
      if (options.browser) await plotInBrowser(figure, { outFile: file });
    });
}
