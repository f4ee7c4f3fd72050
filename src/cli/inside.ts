/**
 * `mnist-lab inside runs/x --figure <what> [--out file]`: look inside a
 * trained run. Probabilities and mistakes print in the terminal; every
 * figure saves as .svg, .png, .html or .json with --out.
 */
import type { Command } from 'commander';
import { initBackend } from '../backend';
import { loadSourceData } from '../data/source';
import { scaleImages, subset } from '../data/preprocess';
import { ConfigError } from '../errors';
import { activationsFigure, confidentMistakes, outputProbabilities } from '../evaluate/inside';
import { disposeWithOptimizer, loadCheckpoint, readRun } from '../runs/folder';
import { readWeightSnapshots } from '../runs/snapshots';
import { firstLayerWeights } from '../viz/figures';
import type { Figure } from '../viz/figure';
import { weightsOverEpochs } from '../viz/inside';
import { saveFigure } from '../viz/save';
import { defaultTerminalOptions, renderProbabilitiesTerminal } from '../viz/terminal';
import { parseCheckpointKind } from './evaluate';

export const INSIDE_FIGURES = ['weights', 'epochs', 'activations', 'probabilities', 'mistakes'] as const;
export type InsideFigure = (typeof INSIDE_FIGURES)[number];

interface InsideCommandOptions {
  figure: string;
  which?: string;
  index: string;
  count: string;
  units: string;
  out?: string;
  dataDir?: string;
  color?: boolean;
}

function positiveInteger(flag: string, value: string, allowZero = false): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < (allowZero ? 0 : 1)) throw new ConfigError(flag, `must be a whole number${allowZero ? '' : ' of at least 1'}, got '${value}'`);
  return number;
}

export function registerInside(program: Command): void {
  program
    .command('inside <runDir>')
    .description("look inside a trained run: first-layer weights, the weights over epochs, one test digit layer by layer, output probabilities, the most confident mistakes")
    .option('--figure <what>', INSIDE_FIGURES.join(', '), 'mistakes')
    .option('--which <checkpoint>', 'best or last (default: best when the run has it)')
    .option('--index <n>', 'test image for activations and probabilities', '0')
    .option('--count <n>', 'how many images (probabilities, mistakes) or hidden units (weights, epochs)', '8')
    .option('--units <list>', 'hidden units for --figure epochs, e.g. 0,1,2,3 (default: the first --count)', '')
    .option('--out <file>', 'save the figure as .svg, .png, .html or .json (needed for weights, epochs, activations)')
    .option('--no-color', 'plain text in the terminal')
    .option('--data-dir <dir>', 'folder with one subfolder per data set (default: env MNIST_LAB_DATA)')
    .action(async (runDir: string, options: InsideCommandOptions) => {
      if (!(INSIDE_FIGURES as readonly string[]).includes(options.figure)) throw new ConfigError('--figure', `unknown figure '${options.figure}'`, INSIDE_FIGURES.join(', '));
      const what = options.figure as InsideFigure;
      const count = positiveInteger('--count', options.count);
      const index = positiveInteger('--index', options.index, true);
      const terminal = what === 'probabilities' || what === 'mistakes';
      if (!terminal && !options.out) throw new ConfigError('--out', `--figure ${what} is an image: give a file to save it to`, 'e.g. --out weights.png (.svg, .png, .html, .json)');
      await initBackend({ quiet: true });
      const run = await readRun(runDir);
      let figure: Figure;
      if (what === 'epochs') {
        const snapshots = await readWeightSnapshots(runDir);
        if (snapshots.length === 0) throw new ConfigError('runDir', `${run.runDir} has no weight snapshots (it was trained before runs kept them)`, 'a run trained again with `mnist-lab train --out`');
        const units = options.units ? options.units.split(',').map((unit) => positiveInteger('--units', unit.trim(), true)) : Array.from({ length: count }, (_, unit) => unit);
        figure = weightsOverEpochs(snapshots, { units, title: `First-layer weights forming over the epochs: ${run.config.id}` });
      } else {
        const which = parseCheckpointKind(options.which) ?? (run.checkpoints.includes('best') ? 'best' : 'last');
        const model = await loadCheckpoint(runDir, which);
        try {
          if (what === 'weights') {
            figure = firstLayerWeights(model.layers.find((layer) => layer.getClassName() === 'Dense')!.getWeights()[0], { units: count, title: `First-layer weights of ${run.config.id} (${which} checkpoint)` });
          } else {
            const dataset = await loadSourceData(run.config.dataset, { dataDir: options.dataDir });
            const [images, labels] = subset(dataset.test.images, dataset.test.labels, run.config.testLimit ?? dataset.test.images.shape[0]);
            const inputs = scaleImages(images, run.config.scaleInputs ? 255 : 1);
            const classNames = run.config.classNames ?? dataset.classNames;
            if (index >= images.shape[0]) throw new ConfigError('--index', `${index} is not one of the ${images.shape[0]} test images of this run`, `0-${images.shape[0] - 1}`);
            if (what === 'activations') figure = activationsFigure(model, inputs, { index, classNames, scaleInputs: false });
            else if (what === 'probabilities') figure = outputProbabilities(model, inputs, { indices: Array.from({ length: Math.min(count, images.shape[0] - index) }, (_, i) => index + i), labels, classNames, title: `Output probabilities of ${run.config.id}` });
            else figure = confidentMistakes(model, inputs, labels, { count, classNames, title: `Most confident mistakes of ${run.config.id} (${which} checkpoint)` });
          }
        } finally {
          disposeWithOptimizer(model);
        }
      }
      if (terminal && figure.kind === 'probabilities') console.log(renderProbabilitiesTerminal(figure, { color: options.color !== false && defaultTerminalOptions().color }));
      if (options.out) process.stderr.write(`mnist-lab: ${figure.kind} figure written to ${await saveFigure(figure, options.out)}\n`);
    });
}
