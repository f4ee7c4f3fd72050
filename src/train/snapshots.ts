/**
 * First-layer weight snapshots: the kernel of the first Dense layer (its
 * first units) after every epoch, so learners can watch the weights form
 * (`weightsOverEpochs`). In a run folder they sit in `snapshots/`:
 *
 *   snapshots/first-layer.json          index: [{ epoch, file, shape }]
 *   snapshots/first-layer-epoch-003.f32 float32 little-endian, shape[0] x shape[1], row-major
 *
 * Epoch 0 is the random start. Only the first units are kept: they are
 * what the figures show, and a run folder stays small.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { tf } from '../backend';
import { ConfigError, DataFormatError } from '../errors';
import { pathExists, writeFileAtomic, writeJsonAtomic } from '../util/fs';

/** Units of the first layer kept per snapshot in a run folder. */
export const SNAPSHOT_UNITS = 32;
export const SNAPSHOT_DIR = 'snapshots';
export const SNAPSHOT_INDEX = 'first-layer.json';

/** First-layer weights at one point of training. */
export interface WeightSnapshot {
  /** Epochs completed when it was taken (0 = the initial random weights). */
  epoch: number;
  /** The first Dense kernel (or its first units): `shape[0]` inputs by `shape[1]` units, row-major. */
  data: Float32Array;
  shape: [number, number];
}

interface SnapshotEntry {
  epoch: number;
  file: string;
  shape: [number, number];
}

/** The first Dense kernel of a model, copied (its first `units` units). */
export function firstLayerKernel(model: tf.LayersModel, units = Infinity): { data: Float32Array; shape: [number, number] } {
  const dense = model.layers.find((layer) => layer.getClassName() === 'Dense');
  if (!dense) throw new ConfigError('model', 'has no Dense layer', 'a model built by createMlp');
  const kernel = dense.getWeights()[0];
  const [inputs, allUnits] = kernel.shape as [number, number];
  const keep = Math.min(units, allUnits);
  const full = kernel.dataSync() as Float32Array;
  if (keep === allUnits) return { data: Float32Array.from(full), shape: [inputs, allUnits] };
  const data = new Float32Array(inputs * keep);
  for (let row = 0; row < inputs; row++) data.set(full.subarray(row * allUnits, row * allUnits + keep), row * keep);
  return { data, shape: [inputs, keep] };
}

async function readIndex(runDir: string): Promise<SnapshotEntry[]> {
  const file = path.join(runDir, SNAPSHOT_DIR, SNAPSHOT_INDEX);
  if (!(await pathExists(file))) return [];
  return JSON.parse(await fs.readFile(file, 'utf8')) as SnapshotEntry[];
}

/** Save the first-layer snapshot after `epoch` epochs (replacing one of the same epoch, as a resumed run redoes it). */
export async function saveWeightSnapshot(runDir: string, model: tf.LayersModel, epoch: number): Promise<void> {
  const { data, shape } = firstLayerKernel(model, SNAPSHOT_UNITS);
  const file = `first-layer-epoch-${String(epoch).padStart(3, '0')}.f32`;
  await writeFileAtomic(path.join(runDir, SNAPSHOT_DIR, file), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  const index = (await readIndex(runDir)).filter((entry) => entry.epoch !== epoch);
  index.push({ epoch, file, shape });
  index.sort((a, b) => a.epoch - b.epoch);
  await writeJsonAtomic(path.join(runDir, SNAPSHOT_DIR, SNAPSHOT_INDEX), index);
}

/** The first-layer snapshots of a run folder, by epoch (empty for runs trained before snapshots existed). */
export async function readWeightSnapshots(runDir: string): Promise<WeightSnapshot[]> {
  const index = await readIndex(runDir);
  return Promise.all(
    index.map(async (entry) => {
      const file = path.join(runDir, SNAPSHOT_DIR, entry.file);
      const bytes = await fs.readFile(file);
      const expected = entry.shape[0] * entry.shape[1] * 4;
      if (bytes.length !== expected) throw new DataFormatError(file, 'a weight snapshot of the wrong size (bytes)', expected, bytes.length, `Delete ${path.join(runDir, SNAPSHOT_DIR)} to drop the snapshots of this run (the weights-over-epochs figure then has none), or train it again.`);
      const data = new Float32Array(expected / 4);
      new Uint8Array(data.buffer).set(bytes);
      return { epoch: entry.epoch, data, shape: entry.shape };
    }),
  );
}
