/**
 * `mnist-lab dataset export`: write MNIST or Fashion-MNIST as PNG files in a
 * layout `loadImageFolder` (and `--data-folder`) reads.
 */
import type { Command } from 'commander';
import { ConfigError } from '../errors';
import { DATASET_NAMES, isDatasetName } from '../data/registry';
import { EXPORT_LAYOUTS, exportDataset, type ExportLayout } from '../data/export';

export function registerDataset(program: Command): void {
  const dataset = program.command('dataset').description('data sets as image files: export one to PNG files you can look at and load back');
  dataset
    .command('export <name>')
    .description(`write a data set (${DATASET_NAMES.join(', ')}) as PNG files: one subfolder per class, or the images plus labels.txt`)
    .requiredOption('--out <dir>', 'folder to write into')
    .option('--split <split>', 'train or test', 'test')
    .option('--limit <n>', 'only the first n images')
    .option('--layout <layout>', `${EXPORT_LAYOUTS.join(' (one subfolder per class) or ')} (images + labels.txt with \`filename label\` lines)`, 'folders')
    .option('--data-dir <dir>', 'folder with one subfolder per data set (default: env MNIST_LAB_DATA)')
    .action(async (name: string, options: { out: string; split: string; limit?: string; layout: string; dataDir?: string }) => {
      if (!isDatasetName(name)) throw new ConfigError('dataset', `unknown data set '${name}'`, DATASET_NAMES.join(', '));
      if (options.split !== 'train' && options.split !== 'test') throw new ConfigError('--split', `unknown split '${options.split}'`, 'train, test');
      if (!(EXPORT_LAYOUTS as readonly string[]).includes(options.layout)) throw new ConfigError('--layout', `unknown layout '${options.layout}'`, EXPORT_LAYOUTS.join(', '));
      const limit = options.limit === undefined ? undefined : Number(options.limit);
      if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new ConfigError('--limit', `must be a whole number >= 1, got '${options.limit}'`);
      const result = await exportDataset(name, {
        out: options.out,
        split: options.split,
        limit,
        layout: options.layout as ExportLayout,
        dataDir: options.dataDir,
        onProgress: (written, total) => process.stderr.write(`\r${written}/${total} images`),
      });
      if (result.count >= 1000) process.stderr.write('\n');
      console.log(`wrote ${result.count} ${name} ${options.split} images to ${result.out} (${result.layout === 'folders' ? 'one subfolder per class' : 'labels.txt'})`);
    });
}
