import type { Command } from 'commander';
import { formatLabInfo, labInfo } from '../info';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('show the active backend (and why), library versions, and where each data set is found')
    .option('--json', 'print JSON instead of text')
    .option('--data-dir <dir>', 'folder with one subfolder per data set (default: env MNIST_LAB_DATA)')
    .option('--verify', "also read every data file and check its SHA-256 (a few seconds); without it, headers and sizes are checked")
    .action(async (options: { json?: boolean; dataDir?: string; verify?: boolean }) => {
      const info = await labInfo({ dataDir: options.dataDir, verify: options.verify === true });
      console.log(options.json ? JSON.stringify(info, null, 2) : formatLabInfo(info));
      // A data location that is set but broken, or a damaged file, fails the command (scripts can test it).
      if (Object.values(info.dataChecks).some((check) => check.status === 'broken')) process.exitCode = 1;
    });
}
