/**
 * `mnist-lab draw --model runs/x`: draw digits and watch the trained network
 * answer, in a browser tab served on 127.0.0.1; each drawing can be saved
 * with its label into an own-data folder. `--export pad.html` writes the pad
 * as one standalone offline page instead.
 */
import * as path from 'node:path';
import type { Command } from 'commander';
import { initBackend } from '../backend';
import { getDatasetSpec } from '../data/registry';
import { ConfigError } from '../errors';
import { disposeWithOptimizer, loadCheckpoint, readRun } from '../runs/folder';
import { saveDrawingPad } from '../pad';
import { serveDrawingPad } from '../pad/serve';
import { detectDisplay, openInBrowser } from '../viz/live';
import { parseCheckpointKind } from './evaluate';

/** Where `mnist-lab draw` saves drawings unless told otherwise. */
export const DEFAULT_DRAWINGS_DIR = path.join('data', 'my-digits');

interface DrawCommandOptions {
  model: string;
  which?: string;
  export?: string;
  saveTo: string;
  save: boolean;
  port: string;
  open: boolean;
}

export function registerDraw(program: Command): void {
  program
    .command('draw')
    .description('draw digits in the browser and watch a trained run answer live; save labelled drawings as your own data set (or --export a standalone page)')
    .requiredOption('--model <runDir>', 'run folder written by `mnist-lab train --out`')
    .option('--which <checkpoint>', 'best or last (default: best when the run has it)')
    .option('--export <file.html>', 'write the pad as one offline HTML page (model inside) and exit')
    .option('--save-to <dir>', 'own-data folder for saved drawings, one subfolder per label', DEFAULT_DRAWINGS_DIR)
    .option('--no-save', 'serve the pad without the save buttons')
    .option('--port <port>', 'port on 127.0.0.1 (0 picks a free one)', '0')
    .option('--no-open', 'do not open a browser tab; just print the address')
    .action(async (options: DrawCommandOptions) => {
      const port = Number(options.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError('--port', `must be a whole number from 0 to 65535, got '${options.port}'`);
      await initBackend({ quiet: true });
      const run = await readRun(options.model);
      const which = parseCheckpointKind(options.which) ?? (run.checkpoints.includes('best') ? 'best' : 'last');
      const model = await loadCheckpoint(options.model, which);
      const dataset = run.config.dataset;
      const classNames = run.config.classNames ?? (typeof dataset === 'string' ? getDatasetSpec(dataset).classNames : getDatasetSpec('mnist').classNames);
      const padOptions = { scaleInputs: run.config.scaleInputs, classNames, title: `Draw a ${run.config.dataset === 'mnist' ? 'digit' : 'picture'}: ${path.basename(run.runDir)} (${which} checkpoint)` };
      if (options.export) {
        const bytes = await saveDrawingPad(model, options.export, padOptions);
        disposeWithOptimizer(model);
        console.log(`Wrote ${path.resolve(options.export)} (${(bytes / 1e6).toFixed(2)} MB, works offline: open it in any browser).`);
        return;
      }
      const saveTo = options.save ? path.resolve(options.saveTo) : null;
      const server = await serveDrawingPad(model, { ...padOptions, saveTo, port });
      console.log(`Drawing pad for ${run.runDir} at ${server.url}`);
      if (saveTo) console.log(`Saved drawings go to ${saveTo}/<label>/ (load them with loadImageFolder).`);
      const display = detectDisplay();
      if (options.open && display.available) openInBrowser(server.url, (line) => console.log(line));
      else if (options.open) console.log(`No browser opened (${display.reason}); open the address above yourself.`);
      console.log('Press Ctrl+C to stop.');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
      await server.close();
      disposeWithOptimizer(model);
      console.log(`Stopped. ${server.saved()} drawing${server.saved() === 1 ? '' : 's'} saved${saveTo ? ` to ${saveTo}` : ''}.`);
    });
}
