/**
 * File helpers shared by every module that writes results: a write either
 * lands whole or not at all, so a killed process never leaves half a file.
 */
import { promises as fs, writeFileSync, renameSync, mkdirSync, openSync, fsyncSync, closeSync } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { describeFsError, makeDirectory } from './fs-errors';

/** A temporary name next to `file` (same directory, so rename is atomic). */
export function tempPathFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Write `data` to `file` via a temp file + fsync + rename; on failure the temp is removed and the error explained. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const temp = tempPathFor(file);
  try {
    await makeDirectory(path.dirname(file));
    const handle = await fs.open(temp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw describeFsError(error, { path: file, operation: 'write' });
  }
}

/** Synchronous twin of {@link writeFileAtomic}, for exit handlers. */
export function writeFileAtomicSync(file: string, data: string | Uint8Array): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temp = tempPathFor(file);
  writeFileSync(temp, data);
  const fd = openSync(temp, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
}

/** Write JSON (pretty-printed, trailing newline) atomically. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

export async function pathExists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

/** The project root: the folder holding package.json, found from this file (src/util or dist/util). */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
