import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { initBackend } from '../backend';
import { getDatasetSpec } from '../data/registry';
import { ConfigError } from '../errors';
import { ImageError, predictImage, preprocessImageFile, type ClassProbability } from '../predict';
import { disposeWithOptimizer, loadCheckpoint, readRun } from '../runs/folder';
import { pixelGrid } from '../viz/figures';
import { renderTerminal } from '../viz/terminal';
import { parseCheckpointKind, parsePreprocessMode } from './evaluate';

/** Picture files named on the command line: files as given, folders searched (sorted, hidden files skipped) for .png/.jpg/.jpeg. */
export async function expandImageArguments(args: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = (await fs.readdir(dir, { withFileTypes: true })).filter((entry) => !entry.name.startsWith('.')).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (/\.(png|jpe?g)$/i.test(entry.name)) files.push(full);
    }
  };
  for (const arg of args) {
    const stat = await fs.stat(arg).catch(() => null);
    if (stat?.isDirectory()) {
      const before = files.length;
      await walk(arg);
      if (files.length === before) throw new ConfigError(arg, 'is a folder without .png or .jpg pictures', 'a folder of PNG/JPEG files, or the files themselves');
    } else files.push(arg);
  }
  return files;
}

interface PredictFlags {
  model: string;
  which?: string;
  top: string;
  json?: boolean;
  show?: boolean;
  mode: string;
}

export function registerPredict(program: Command): void {
  program
    .command('predict <images...>')
    .description('classify PNG or JPEG pictures of digits (files or folders) with a trained run: MNIST-style preprocessing, top classes with probabilities')
    .requiredOption('--model <runDir>', 'run folder written by `mnist-lab train --out`')
    .option('--which <checkpoint>', 'best or last (default: best when the run has it)')
    .option('--top <count>', 'how many classes to list', '3')
    .option('--show', 'draw the 28x28 image the network actually sees, under each answer')
    .option('--mode <mode>', 'mnist (find, crop and centre the digit: photos, scans) or resize (MNIST-like pictures)', 'mnist')
    .option('--json', 'print JSON instead of text')
    .action(async (images: string[], options: PredictFlags) => {
      const topK = Number(options.top);
      if (!Number.isInteger(topK) || topK < 1) throw new ConfigError('--top', `must be a positive whole number, got '${options.top}'`);
      const mode = parsePreprocessMode(options.mode);
      const files = await expandImageArguments(images);
      await initBackend();
      const run = await readRun(options.model);
      const which = parseCheckpointKind(options.which) ?? (run.checkpoints.includes('best') ? 'best' : 'last');
      const model = await loadCheckpoint(options.model, which);
      const dataset = run.config.dataset;
      const names = run.config.classNames ?? (typeof dataset === 'string' && dataset !== 'mnist' ? getDatasetSpec(dataset).classNames : undefined);
      const digitNames = names === undefined || names.every((name, index) => name === String(index));
      const nameOf = (label: number) => (digitNames || names === undefined ? String(label) : names[label]);
      const results: { image: string; top?: ClassProbability[]; error?: string }[] = [];
      try {
        for (const file of files) {
          let pixels: Float32Array;
          try {
            pixels = await preprocessImageFile(file, mode);
          } catch (error) {
            // One bad picture among many: say why and go on with the others.
            if (!(error instanceof ImageError) || files.length === 1) throw error;
            results.push({ image: file, error: error.message });
            if (!options.json) console.log(`${file}: ${error.message}`);
            continue;
          }
          const top = predictImage(model, pixels, { topK, scaleInputs: run.config.scaleInputs });
          results.push({ image: file, top });
          if (options.json) continue;
          console.log(`${file}: ${nameOf(top[0].label)} (${(top[0].probability * 100).toFixed(1)}%)`);
          for (const entry of top) console.log(`  ${String(entry.label).padStart(2)}${digitNames ? '' : ` ${nameOf(entry.label).padEnd(12)}`} ${(entry.probability * 100).toFixed(2).padStart(6)}%`);
          if (options.show) {
            const rows = Array.from({ length: 28 }, (_, r) => Array.from(pixels.subarray(r * 28, r * 28 + 28), (value) => Math.round(value * 255)));
            console.log(renderTerminal(pixelGrid(rows, { title: `what the network sees (28x28) for ${path.basename(file)}`, showValues: false })));
          }
        }
      } finally {
        disposeWithOptimizer(model);
      }
      if (options.json) {
        const named = results.map((result) => ({ ...result, top: result.top?.map((entry) => ({ ...entry, ...(digitNames ? {} : { className: nameOf(entry.label) }) })) }));
        console.log(JSON.stringify(files.length === 1 && images.length === 1 && named[0].top ? { image: named[0].image, runDir: run.runDir, which, top: named[0].top } : { runDir: run.runDir, which, results: named }, null, 2));
      }
      if (results.some((result) => result.error !== undefined)) process.exitCode = 1;
    });
}
