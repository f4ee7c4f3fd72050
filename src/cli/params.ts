import * as path from 'node:path';
import type { Command } from 'commander';
import { initBackend } from '../backend';
import { ConfigError, MnistLabError } from '../errors';
import { exportParams, importParams } from '../params';
import { disposeWithOptimizer, loadCheckpoint, readCheckpointState, readRun, saveCheckpoint, writeRunConfig } from '../runs/folder';
import { parseCheckpointKind } from './evaluate';

export function registerParams(program: Command): void {
  const params = program.command('params').description("look at a model's weights and biases as JSON and CSV, and load edited ones back");
  params
    .command('export <runDir>')
    .description('write every layer\'s weights and biases to a folder: params.json, one CSV per tensor, README.txt')
    .requiredOption('--out <dir>', 'folder to write')
    .option('--which <checkpoint>', 'best or last (default: best when the run has it)')
    .option('--json', 'print JSON instead of text')
    .action(async (runDir: string, options: { out: string; which?: string; json?: boolean }) => {
      await initBackend();
      const run = await readRun(runDir);
      const which = parseCheckpointKind(options.which) ?? (run.checkpoints.includes('best') ? 'best' : 'last');
      const model = await loadCheckpoint(runDir, which);
      try {
        const result = await exportParams(model, options.out);
        if (options.json) console.log(JSON.stringify({ runDir: run.runDir, which, ...result }, null, 2));
        else console.log(`Wrote ${result.totalParams} parameters of ${run.runDir} (${which}) to ${path.resolve(options.out)}:\n${result.files.map((file) => `  ${path.basename(file)}`).join('\n')}`);
      } finally {
        disposeWithOptimizer(model);
      }
    });
  params
    .command('import <paramsDir>')
    .description('load parameters (possibly edited) into a run\'s model and save the result as a new run you can evaluate or predict with')
    .requiredOption('--model <runDir>', 'run whose architecture and config the parameters belong to')
    .requiredOption('--out <runDir>', 'new run folder to write (the source run is left untouched)')
    .option('--which <checkpoint>', 'checkpoint of --model to start from (default: best when the run has it)')
    .option('--from <source>', 'json (params.json) or csv (the CSV files, e.g. after editing them in a spreadsheet)', 'json')
    .option('--json', 'print JSON instead of text')
    .action(async (paramsDir: string, options: { model: string; out: string; which?: string; from: string; json?: boolean }) => {
      if (options.from !== 'json' && options.from !== 'csv') throw new ConfigError('--from', `unknown source '${options.from}'`, 'json, csv');
      if (path.resolve(options.out) === path.resolve(options.model)) {
        throw new ConfigError('--out', 'is the same folder as --model', 'a new folder, so the trained run stays as it was');
      }
      await initBackend();
      const run = await readRun(options.model);
      const which = parseCheckpointKind(options.which) ?? (run.checkpoints.includes('best') ? 'best' : 'last');
      const model = await loadCheckpoint(options.model, which);
      try {
        await importParams(model, paramsDir, { source: options.from });
        const state = await readCheckpointState(options.model, which);
        const { seed, ...config } = run.config;
        await writeRunConfig(options.out, config, seed ?? config.model.seed);
        if (state === null) throw new MnistLabError(`The '${which}' checkpoint of ${run.runDir} has no state.json; train the run again (or resume it) so its checkpoints are complete.`);
        // Both checkpoints hold the imported weights, so every command's default finds them.
        await saveCheckpoint(options.out, 'best', model, state);
        await saveCheckpoint(options.out, 'last', model, state);
        const result = { paramsDir: path.resolve(paramsDir), from: options.from, source: run.runDir, which, out: path.resolve(options.out) };
        if (options.json) console.log(JSON.stringify(result, null, 2));
        else console.log(`Loaded ${result.paramsDir} (${options.from}) into the model of ${run.runDir} and saved it as ${result.out}.\nTry: mnist-lab evaluate ${options.out}`);
      } finally {
        disposeWithOptimizer(model);
      }
    });
}
