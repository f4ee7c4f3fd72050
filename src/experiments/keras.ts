/**
 * The Keras cross-check: run an ExperimentConfig in Python Keras (the
 * project's .venv, scripts/keras/run_experiment.py) and read back its
 * RunResult-like JSON, so the reproduction table can put Keras's numbers
 * beside ours from the same runner and results file.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { MnistLabError } from '../errors';
import { PROJECT_ROOT, writeJsonAtomic } from '../util/fs';
import type { RunFunction } from './protocol';
import type { RunResult } from '../runs/types';

/** The Python of the project's virtual environment (created by `npm run setup`). */
export const KERAS_PYTHON = path.join(PROJECT_ROOT, '.venv', 'bin', 'python');
export const KERAS_SCRIPT = path.join(PROJECT_ROOT, 'scripts', 'keras', 'run_experiment.py');

/** Whether the Keras cross-check can run here (the .venv and the script exist). */
export function kerasAvailable(): boolean {
  return existsSync(KERAS_PYTHON) && existsSync(KERAS_SCRIPT);
}

/** A RunFunction that trains in Keras instead of tfjs (one Python process per run). */
export const runKerasExperiment: RunFunction = (experiment, options) => {
  if (!kerasAvailable()) {
    return Promise.reject(new MnistLabError(`The Keras cross-check needs ${KERAS_PYTHON} and ${KERAS_SCRIPT}; run \`npm run setup\` to create the Python environment.`));
  }
  const seed = options.seed ?? experiment.model.seed;
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(KERAS_PYTHON, [KERAS_SCRIPT, '--seed', String(seed)], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...(options.dataDir ? { MNIST_LAB_DATA: options.dataDir } : {}), TF_CPP_MIN_LOG_LEVEL: '2' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', async (code) => {
      if (code !== 0) {
        reject(new MnistLabError(`Keras run of '${experiment.id}' seed ${seed} failed (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' / ')}`));
        return;
      }
      try {
        const lastLine = stdout.trim().split('\n').pop() ?? '';
        const parsed = JSON.parse(lastLine) as Partial<RunResult>;
        const result = { ...parsed, id: experiment.id, seed, config: experiment, runDir: options.runDir ?? null } as RunResult;
        if (options.runDir) await writeJsonAtomic(path.join(options.runDir, 'keras-metrics.json'), result);
        resolve(result);
      } catch (error) {
        reject(new MnistLabError(`Keras run of '${experiment.id}' printed no RunResult JSON: ${(error as Error).message}`));
      }
    });
    child.stdin.end(JSON.stringify(experiment));
  });
};
