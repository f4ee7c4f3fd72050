import type { Command } from 'commander';
import { ConfigError } from '../errors';
import { evaluateRun, formatRunEvaluation } from '../evaluate/run';
import type { CheckpointKind } from '../runs/folder';
import { PREPROCESS_MODES, type PreprocessMode } from '../predict/image';

/** Parse `--which`; commander passes strings through unchecked. */
export function parseCheckpointKind(value: string | undefined): CheckpointKind | undefined {
  if (value === undefined || value === 'best' || value === 'last') return value;
  throw new ConfigError('--which', `unknown checkpoint '${value}'`, 'best, last');
}

/** Parse `--mode` for image folders. */
export function parsePreprocessMode(value: string): PreprocessMode {
  if ((PREPROCESS_MODES as readonly string[]).includes(value)) return value as PreprocessMode;
  throw new ConfigError('--mode', `unknown mode '${value}'`, PREPROCESS_MODES.join(', '));
}

export function registerEvaluate(program: Command): void {
  program
    .command('evaluate <runDir>')
    .description("test a trained run: loss and accuracy, per-class accuracy, confusion matrix, most confident mistakes, overfitting report")
    .option('--which <checkpoint>', 'best or last (default: best when the run has it)')
    .option('--mistakes <count>', 'how many of the most confident mistakes to list', '5')
    .option('--full-test-set', 'use every test example even if the run was trained in quick mode on a subset')
    .option('--data-dir <dir>', 'folder with one subfolder per data set (default: env MNIST_LAB_DATA)')
    .option('--data-folder <dir>', 'test on every image in this folder instead (one subfolder per class, or a labels.txt); see `mnist-lab dataset export`')
    .option('--mode <mode>', 'how folder images become 28x28: mnist (find, crop, centre: photos) or resize (MNIST-like pictures)', 'mnist')
    .option('--skip-bad', 'leave out unreadable images in --data-folder (and say how many)')
    .option('--json', 'print JSON instead of text')
    .action(async (runDir: string, options: { which?: string; mistakes: string; fullTestSet?: boolean; dataDir?: string; json?: boolean; dataFolder?: string; mode: string; skipBad?: boolean }) => {
      const mistakes = Number(options.mistakes);
      if (!Number.isInteger(mistakes) || mistakes < 0) throw new ConfigError('--mistakes', `must be a whole number, got '${options.mistakes}'`);
      const evaluation = await evaluateRun(runDir, { which: parseCheckpointKind(options.which), mistakes, fullTestSet: options.fullTestSet, dataDir: options.dataDir, dataFolder: options.dataFolder !== undefined ? { folder: options.dataFolder, mode: parsePreprocessMode(options.mode), skipBad: options.skipBad } : undefined });
      console.log(options.json ? JSON.stringify(evaluation, null, 2) : formatRunEvaluation(evaluation));
    });
}
