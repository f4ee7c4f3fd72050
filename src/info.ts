/**
 * What `mnist-lab info` reports: the active backend and why, library
 * versions, and where each data set would be read from.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { initBackend, tf, type BackendInfo } from './backend';
import { DATASET_NAMES, checkDataset, formatDatasetCheck, type DataSource, type DatasetCheck, type LoadDataOptions } from './data';
import { PROJECT_ROOT } from './util/fs';
import { selectTrainStep, type TrainStepEngine } from './train/graph-step';

export interface LabInfo {
  backend: BackendInfo;
  /** How `fit` runs its training step here (for createMlp's optimizers), and why. */
  trainStep: { name: TrainStepEngine; reason: string };
  versions: Record<string, string>;
  /** Per data set: where it was found, or null when it would be downloaded (or its location is broken). */
  datasets: Record<string, DataSource | null>;
  /** Per data set: what was checked there (files, headers, sizes; checksums with `verify`) and any problem. */
  dataChecks: Record<string, DatasetCheck>;
  /** The project's Python environment (JupyterLab, Keras), if set up. */
  pythonEnvironment: string | null;
}

function packageVersion(name: string): string | undefined {
  try {
    const file = require.resolve(`${name}/package.json`, { paths: [PROJECT_ROOT] });
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
}

/** Collect the facts `mnist-lab info` prints. */
export async function labInfo(options: LoadDataOptions & { verify?: boolean } = {}): Promise<LabInfo> {
  const backend = await initBackend({ quiet: true });
  const versions: Record<string, string> = { node: process.versions.node, 'tfjs-core': tf.version_core };
  for (const name of ['mnist-lab', '@tensorflow/tfjs', '@tensorflow/tfjs-node', '@tensorflow/tfjs-backend-wasm', 'tslab', 'nodeplotlib', 'ndarray']) {
    const version = name === 'mnist-lab' ? readMnistLabVersion() : packageVersion(name);
    if (version !== undefined) versions[name] = version;
  }
  if (backend.name === 'tensorflow') {
    const tfVersion = (tf as unknown as { version: Record<string, string> }).version['tfjs-node'];
    if (tfVersion) versions['tfjs-node (loaded)'] = tfVersion;
  }
  const datasets: Record<string, DataSource | null> = {};
  const dataChecks: Record<string, DatasetCheck> = {};
  for (const name of DATASET_NAMES) {
    dataChecks[name] = await checkDataset(name, options);
    datasets[name] = dataChecks[name].source;
  }
  const venv = path.join(PROJECT_ROOT, '.venv');
  return { backend, trainStep: selectTrainStep(null), versions, datasets, dataChecks, pythonEnvironment: existsSync(path.join(venv, 'bin', 'python')) ? venv : null };
}

function readMnistLabVersion(): string {
  return (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Human-readable form of {@link labInfo}. */
export function formatLabInfo(info: LabInfo): string {
  const lines = [`backend: ${info.backend.name} (${info.backend.reason})`, `training step: ${info.trainStep.name} (${info.trainStep.reason})`, 'versions:'];
  for (const [name, version] of Object.entries(info.versions)) lines.push(`  ${name.padEnd(30)} ${version}`);
  lines.push('datasets:');
  for (const check of Object.values(info.dataChecks)) lines.push(...formatDatasetCheck(check));
  lines.push(`python environment: ${info.pythonEnvironment ?? 'none (run `npm run setup`)'}`);
  return lines.join('\n');
}
