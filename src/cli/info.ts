import type { Command } from 'commander';
import { formatLabInfo, labInfo } from '../info';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('show the active backend (and why), library versions, and where each data set is found')
    .option('--json', 'print JSON instead of text')
    .option('--data-dir <dir>', 'folder with one subfolder per data set (default: env MNIST_LAB_DATA)')
    .action(async (options: { json?: boolean; dataDir?: string }) => {
      const info = await labInfo({ dataDir: options.dataDir });
      console.log(options.json ? JSON.stringify(info, null, 2) : formatLabInfo(info));
    });
}
