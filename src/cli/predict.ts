import type { Command } from 'commander';
import { initBackend } from '../backend';
import { getDatasetSpec } from '../data/registry';
import { ConfigError } from '../errors';
import { predictImageFile } from '../predict';
import { disposeWithOptimizer, loadCheckpoint, readRun } from '../runs/folder';
import { parseCheckpointKind } from './evaluate';

export function registerPredict(program: Command): void {
  program
    .command('predict <image>')
    .description('classify a PNG or JPEG picture of a digit with a trained run (MNIST-style preprocessing, top classes with probabilities)')
    .requiredOption('--model <runDir>', 'run folder written by `mnist-lab train --out`')
    .option('--which <checkpoint>', 'best or last (default: best when the run has it)')
    .option('--top <count>', 'how many classes to list', '3')
    .option('--json', 'print JSON instead of text')
    .action(async (image: string, options: { model: string; which?: string; top: string; json?: boolean }) => {
      const topK = Number(options.top);
      if (!Number.isInteger(topK) || topK < 1) throw new ConfigError('--top', `must be a positive whole number, got '${options.top}'`);
      await initBackend();
      const run = await readRun(options.model);
      const which = parseCheckpointKind(options.which) ?? (run.checkpoints.includes('best') ? 'best' : 'last');
      const model = await loadCheckpoint(options.model, which);
      try {
        const top = await predictImageFile(model, image, { topK, scaleInputs: run.config.scaleInputs });
        const names = run.config.dataset === 'mnist' ? undefined : getDatasetSpec(run.config.dataset).classNames;
        if (options.json) {
          console.log(JSON.stringify({ image, runDir: run.runDir, which, top: top.map((entry) => ({ ...entry, ...(names ? { className: names[entry.label] } : {}) })) }, null, 2));
        } else {
          console.log(`${image}: ${names ? names[top[0].label] : top[0].label} (${(top[0].probability * 100).toFixed(1)}%)`);
          for (const entry of top) console.log(`  ${String(entry.label).padStart(2)}${names ? ` ${names[entry.label].padEnd(12)}` : ''} ${(entry.probability * 100).toFixed(2).padStart(6)}%`);
        }
      } finally {
        disposeWithOptimizer(model);
      }
    });
}
