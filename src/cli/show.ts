/** `mnist-lab show mnist --index 0 [--numbers] [--split test]`: a digit in the terminal (or a file). */
import type { Command } from 'commander';
import { ConfigError } from '../errors';
import { loadDataset } from '../data/load';
import { pixelGrid } from '../viz/figures';
import { renderTerminal, defaultTerminalOptions } from '../viz/terminal';
import { saveFigure } from '../viz/save';
import { wholeNumber } from './flags';

interface ShowCommandOptions {
  index: string;
  split: string;
  numbers?: boolean;
  scaled?: boolean;
  color?: boolean;
  width?: string;
  out?: string;
  dataDir?: string;
}

export function registerShow(program: Command): void {
  program
    .command('show')
    .description('draw one image of a data set in the terminal (half-blocks, or its pixel values with --numbers), or save its pixel grid')
    .argument('<dataset>', 'mnist or fashion-mnist')
    .option('--index <n>', 'which image', '0')
    .option('--split <split>', 'train or test', 'train')
    .option('--numbers', 'write each pixel value (blank border columns are cut to fit the width)')
    .option('--scaled', 'show values divided by 255, as the network sees them')
    .option('--no-color', 'plain text, no ANSI colours (also when NO_COLOR is set or output is not a terminal)')
    .option('--width <columns>', 'widest line allowed (default: the terminal width, at most 80)')
    .option('--out <file>', 'also save the pixel grid as .svg, .html or .png')
    .option('--data-dir <dir>', 'folder with one subfolder per data set (default: env MNIST_LAB_DATA)')
    .action(async (dataset: string, options: ShowCommandOptions) => {
      if (options.split !== 'train' && options.split !== 'test') throw new ConfigError('--split', `unknown split '${options.split}'`, 'train, test');
      const index = Number(options.index);
      const loaded = await loadDataset(dataset, { dataDir: options.dataDir });
      const split = loaded[options.split];
      const count = split.images.shape[0];
      if (!Number.isInteger(index) || index < 0 || index >= count) throw new ConfigError('--index', `${options.index} is not an image of the ${options.split} split`, `0-${count - 1}`);
      const label = split.labels.get(index);
      const className = loaded.spec.classNames[label];
      const figure = pixelGrid(split.images, {
        index,
        scaled: options.scaled === true,
        title: `${dataset} ${options.split}[${index}]: label ${label}${className !== String(label) ? ` (${className})` : ''}`,
      });
      const defaults = defaultTerminalOptions();
      const width = options.width === undefined ? defaults.maxWidth : wholeNumber('--width', options.width, 20);
      console.log(renderTerminal(figure, { numbers: options.numbers === true, color: options.color !== false && defaults.color, maxWidth: width }));
      if (options.out) process.stderr.write(`mnist-lab: pixel grid written to ${await saveFigure(figure, options.out)}\n`);
    });
}
