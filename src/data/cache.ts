/**
 * `addToCache(folder)`: the offline way in. Takes a folder holding data sets
 * (one subfolder per data set, like the shared datasets folder, or the four
 * files of one data set directly), identifies each by the SHA-256 of its
 * payloads, checks all four files, and hard-links (or, across disks, copies)
 * them into the project cache `data/<name>/`, where notebooks, the command
 * line and the tests find them with no environment variable.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { MnistLabError } from '../errors';
import { DATASETS, FILE_ROLES, type DatasetSpec, type FileRole } from './registry';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC } from './idx-constants';
import { readIdxFile } from './idx';
import { defaultCacheDir } from './load';
import { explainFsErrors } from '../util/fs-errors';

export interface AddedDataset {
  name: string;
  /** The cache folder the files are now in. */
  folder: string;
  /** The source files, by role. */
  sources: Record<FileRole, string>;
  /** 'linked' (hard links, no extra space) or 'copied'. */
  method: 'linked' | 'copied';
  bytes: number;
}

export interface AddToCacheOptions {
  /** The project cache (default `data/`, or env MNIST_LAB_CACHE). */
  cacheDir?: string;
  /** Called before each file is checked (a full read and hash; about a second for MNIST's training images). */
  onFile?: (file: string) => void;
}

/** The file for each role in `folder` (standard name, `.gz` or not), or undefined when one is missing. */
async function filesIn(folder: string): Promise<Record<FileRole, string> | undefined> {
  const found = {} as Record<FileRole, string>;
  const spec = DATASETS.mnist;
  for (const role of FILE_ROLES) {
    const standard = spec.files[role].fileName;
    let hit: string | undefined;
    for (const name of [standard, standard.replace(/\.gz$/, '')]) {
      if ((await fs.stat(path.join(folder, name)).catch(() => null))?.isFile()) hit = path.join(folder, name);
    }
    if (hit === undefined) return undefined;
    found[role] = hit;
  }
  return found;
}

/** Which registered data set these four files are, checked file by file; throws naming the first bad file. */
async function identify(files: Record<FileRole, string>, onFile?: (file: string) => void): Promise<DatasetSpec> {
  const specs = Object.values(DATASETS) as DatasetSpec[];
  const hashes = {} as Record<FileRole, string>;
  for (const role of FILE_ROLES) {
    onFile?.(files[role]);
    const idx = await explainFsErrors({ path: files[role], operation: 'read' }, () =>
      readIdxFile(files[role], role.endsWith('Images') ? IDX_IMAGES_MAGIC : IDX_LABELS_MAGIC),
    );
    hashes[role] = idx.sha256;
  }
  const spec = specs.find((candidate) => candidate.files.trainImages.sha256 === hashes.trainImages) ?? specs.find((candidate) => candidate.files.testImages.sha256 === hashes.testImages);
  if (spec === undefined) {
    throw new MnistLabError(
      `${path.dirname(files.trainImages)}: these files are not a data set mnist-lab knows (${specs.map((s) => s.name).join(', ')}): ` +
        `the SHA-256 of ${path.basename(files.trainImages)} matches none. Use the official files.`,
    );
  }
  for (const role of FILE_ROLES) {
    if (hashes[role] !== spec.files[role].sha256) {
      throw new MnistLabError(
        `${files[role]}: checksum mismatch for ${spec.name} (SHA-256 of the payload ${hashes[role]}, expected ${spec.files[role].sha256}). ` +
          'The file is corrupt, truncated or from another data set: replace it with the official file. Nothing was added.',
      );
    }
  }
  return spec;
}

/** Link `source` to `target` (a copy across disks), through a temp name so the target is never half there. */
async function placeFile(source: string, target: string): Promise<'linked' | 'copied'> {
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let method: 'linked' | 'copied' = 'linked';
  try {
    await fs.link(source, temp).catch(async (error: NodeJS.ErrnoException) => {
      if (!['EXDEV', 'EPERM', 'ENOTSUP', 'EMLINK', 'EACCES'].includes(error.code ?? '')) throw error;
      method = 'copied';
      await fs.copyFile(source, temp);
    });
    await fs.rename(temp, target);
    return method;
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
}

/** Check the data set(s) in `folder` and put them into the project cache. */
export async function addToCache(folderIn: string, options: AddToCacheOptions = {}): Promise<AddedDataset[]> {
  const folder = path.resolve(folderIn);
  const stat = await fs.stat(folder).catch((error: NodeJS.ErrnoException) => error);
  if (stat instanceof Error) {
    throw new MnistLabError(`${folder} ${stat.code === 'ENOENT' ? 'does not exist' : `cannot be read (${stat.code})`}. Give the folder that holds the data files (or their mnist/, fashion-mnist/ subfolders).`);
  }
  if (!stat.isDirectory()) throw new MnistLabError(`${folder} is a file, not a folder. Give the folder that holds the four files (or their mnist/, fashion-mnist/ subfolders).`);
  const groups: Record<FileRole, string>[] = [];
  const direct = await filesIn(folder);
  if (direct !== undefined) groups.push(direct);
  const entries = await explainFsErrors({ path: folder, operation: 'list the folder' }, () => fs.readdir(folder, { withFileTypes: true }));
  for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const files = await filesIn(path.join(folder, entry.name));
    if (files !== undefined) groups.push(files);
  }
  if (groups.length === 0) {
    const names = FILE_ROLES.map((role) => DATASETS.mnist.files[role].fileName).join(', ');
    throw new MnistLabError(`${folder} holds no data set: expected the four files (${names}) in it or in a subfolder such as mnist/.`);
  }
  const cacheDir = path.resolve(options.cacheDir ?? defaultCacheDir());
  const added: AddedDataset[] = [];
  for (const files of groups) {
    const spec = await identify(files, options.onFile);
    const target = path.join(cacheDir, spec.name);
    await explainFsErrors({ path: target, operation: 'write into the data cache' }, async () => {
      await fs.mkdir(target, { recursive: true });
      const methods = new Set<string>();
      let bytes = 0;
      for (const role of FILE_ROLES) {
        const name = path.basename(files[role]);
        methods.add(await placeFile(files[role], path.join(target, name)));
        bytes += (await fs.stat(files[role])).size;
        // The other spelling (with or without .gz) would shadow or confuse: keep only this one.
        const other = name.endsWith('.gz') ? name.slice(0, -3) : `${name}.gz`;
        await fs.rm(path.join(target, other), { force: true });
      }
      added.push({ name: spec.name, folder: target, sources: files, method: methods.has('copied') ? 'copied' : 'linked', bytes });
    });
  }
  return added;
}
