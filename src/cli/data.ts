/**
 * `mnist-lab data add <folder>`: the offline set-up step. Checks the data
 * files in a folder (SHA-256 of every payload) and hard-links or copies them
 * into the project cache data/, where everything finds them with no
 * environment variable.
 */
import type { Command } from 'commander';
import { addToCache } from '../data/cache';
import { defaultCacheDir } from '../data/load';

export function registerData(program: Command): void {
  const data = program.command('data').description("manage the project's data cache (data/)");
  data
    .command('add <folder>')
    .description('check the data sets in a folder (the four files, or mnist/ and fashion-mnist/ subfolders) and add them to data/')
    .option('--json', 'print what was added as JSON')
    .action(async (folder: string, options: { json?: boolean }) => {
      const cache = defaultCacheDir();
      const added = await addToCache(folder, { cacheDir: cache, onFile: options.json ? undefined : (file) => process.stderr.write(`checking ${file}\n`) });
      if (options.json) {
        console.log(JSON.stringify(added, null, 2));
        return;
      }
      for (const entry of added) {
        console.log(`${entry.name}: 4 files checked (SHA-256) and ${entry.method} into ${entry.folder} (${(entry.bytes / 1e6).toFixed(1)} MB${entry.method === 'linked' ? ', hard links: no extra space' : ''})`);
      }
      console.log(`Notebooks, the mnist-lab command and the tests now find ${added.map((entry) => entry.name).join(' and ')} in ${cache} with no environment variable.`);
    });
}
