/**
 * First-layer weight snapshots in a run folder: written after every epoch
 * (and for the random start), read back for the weights-over-epochs figure.
 *
 *   snapshots/first-layer.json          index: [{ epoch, file, shape }]
 *   snapshots/first-layer-epoch-003.f32 float32 little-endian, shape[0] x shape[1], row-major
 *
 * Only the first units are kept: they are what the figures show, and a run
 * folder stays small.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { tf } from '../backend';
import { DataFormatError } from '../errors';
import { pathExists, writeFileAtomic, writeJsonAtomic } from '../util/fs';
import { firstLayerKernel, type WeightSnapshot } from '../train/snapshots';

/** Units of the first layer kept per snapshot in a run folder. */
export const SNAPSHOT_UNITS = 32;
export const SNAPSHOT_DIR = 'snapshots';
export const SNAPSHOT_INDEX = 'first-layer.json';

interface SnapshotEntry {
  epoch: number;
  file: string;
  shape: [number, number];
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
