/**
 * A stand-in for runExperiment in the runner tests: no training, a result
 * computed from the config and the seed in a few milliseconds (or after
 * MNIST_LAB_FAKE_RUN_MS, so a test can kill the runner mid-grid). It writes
 * its pid into the run folder so a test can check that workers do not outlive
 * a killed runner.
 */
import type { MlpConfig } from '../src/model/config';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ExperimentConfig, RunResult } from '../src/runs/types';
import type { RunOptions } from '../src/experiments/protocol';

export async function runExperiment(experiment: ExperimentConfig, options: RunOptions): Promise<RunResult> {
  const seed = options.seed ?? experiment.train.seed;
  if (options.runDir) {
    mkdirSync(options.runDir, { recursive: true });
    writeFileSync(path.join(options.runDir, 'fake-worker.pid'), String(process.pid));
  }
  const delay = Number(process.env.MNIST_LAB_FAKE_RUN_MS ?? 0);
  const epochs = experiment.train.epochs;
  for (let epoch = 0; epoch < epochs; epoch++) {
    await new Promise((resolve) => setTimeout(resolve, delay / epochs));
    options.onEpoch?.(epoch, { loss: 0.1, acc: 0.9, seconds: 0 });
  }
  // Accuracy: a per-configuration level (wider = better) plus seed noise of about ±0.2 points.
  const noise = createHash('sha256').update(`${experiment.id}:${seed}`).digest().readUInt16BE(0) / 65535 - 0.5;
  const level = 0.95 + 0.01 * Math.log2((experiment.model as MlpConfig).hiddenUnits[0] / 128) + (experiment.scaleInputs ? 0 : -0.4);
  const acc = level + noise * 0.004;
  const history = { epoch: [0], history: { loss: [0.2], acc: [acc + 0.01], val_loss: [0.25], val_acc: [acc], seconds: [0.01] } };
  return {
    id: experiment.id,
    seed,
    config: experiment,
    history,
    test: { loss: 0.2, acc },
    finalTrainAcc: acc + 0.01,
    bestEpoch: 0,
    bestValLoss: 0.25,
    bestValAcc: acc,
    overfitGap: 0.01,
    epochSeconds: 0.01,
    totalSeconds: delay / 1000,
    backend: 'fake',
    runDir: options.runDir ?? null,
    finishedAt: new Date().toISOString(),
  };
}
