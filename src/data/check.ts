/**
 * `checkDataset(name)`: what `mnist-lab info` says about a data set, checked
 * rather than assumed. Cheap by default (every file present, its IDX header
 * read: magic number, dimensions, and the size it decompresses to from the
 * gzip trailer); with `verify: true` every payload is read and its SHA-256
 * compared with the registry.
 */
import { createGunzip } from 'node:zlib';
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { FILE_ROLES, getDatasetSpec, type DatasetSpec, type FileRole } from './registry';
import { IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC } from './idx-constants';
import { isGzip, readIdxFile } from './idx';
import { recogniseWrongFile } from './recognise';
import { loadDataset, locateDataset, type DataSource, type LoadDataOptions } from './load';
import { describeFsError } from '../util/fs-errors';

export interface FileCheck {
  role: FileRole;
  /** The file found for this role, or null when missing. */
  file: string | null;
  /** Size on disk in bytes. */
  bytes: number | null;
  /** Null when the file is fine; else what is wrong. */
  problem: string | null;
}

export interface DatasetCheck {
  name: string;
  /** Where the data set is read from; null when it is not here (it would be downloaded). */
  source: DataSource | null;
  /** 'ok', 'missing' (would be downloaded), or 'broken' (see problem / files). */
  status: 'ok' | 'missing' | 'broken';
  /** What is wrong, for a location or npz problem. */
  problem: string | null;
  files: FileCheck[];
  /** Whether the SHA-256 of every payload was checked too. */
  verified: boolean;
}

const HEADER_BYTES = 16;

/** The first `count` bytes of a file as stored. */
async function rawHead(file: string, count: number): Promise<Uint8Array> {
  const handle = await fs.open(file, 'r');
  try {
    const buffer = Buffer.alloc(count);
    const { bytesRead } = await handle.read(buffer, 0, count, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** The first `count` decompressed bytes of a file (gzip'd or not; at least 512 of a plain file, to recognise text). */
async function headBytes(file: string, count: number): Promise<Uint8Array> {
  const raw = await rawHead(file, Math.max(count, 512));
  if (!isGzip(raw)) return raw;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const stream = createReadStream(file).pipe(createGunzip());
    stream.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      total += chunk.length;
      if (total >= count) {
        stream.destroy();
        resolve(Buffer.concat(chunks).subarray(0, count));
      }
    });
    stream.on('error', reject);
    stream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

/** The decompressed size a gzip file announces in its trailer (modulo 2^32). */
async function gzipDeclaredSize(file: string, bytes: number): Promise<number> {
  const handle = await fs.open(file, 'r');
  try {
    const buffer = Buffer.alloc(4);
    await handle.read(buffer, 0, 4, bytes - 4);
    return buffer.readUInt32LE(0);
  } finally {
    await handle.close();
  }
}

async function checkIdxFile(file: string, role: FileRole, spec: DatasetSpec): Promise<string | null> {
  const images = role === 'trainImages' || role === 'testImages';
  const magic = images ? IDX_IMAGES_MAGIC : IDX_LABELS_MAGIC;
  const count = role.startsWith('train') ? spec.trainCount : spec.testCount;
  const shape = images ? [count, ...spec.imageShape] : [count];
  const payloadBytes = 4 + 4 * shape.length + shape.reduce((a, b) => a * b, 1);
  const { size } = await fs.stat(file);
  if (size === 0) return 'the file is empty (0 bytes; an interrupted copy or download?)';
  let head: Uint8Array;
  try {
    head = await headBytes(file, HEADER_BYTES);
  } catch (error) {
    return `the gzip stream is corrupt (${(error as Error).message})`;
  }
  const recognised = recogniseWrongFile(head, magic);
  if (recognised !== undefined) return recognised;
  if (head.length < 4 + 4 * shape.length) return `the IDX header is incomplete (${head.length} bytes)`;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const actualMagic = view.getUint32(0, false);
  if (actualMagic !== magic) return `wrong IDX magic number (expected 0x${magic.toString(16).padStart(8, '0')}, got 0x${actualMagic.toString(16).padStart(8, '0')})`;
  const dims = shape.map((_, axis) => view.getUint32(4 + 4 * axis, false));
  if (dims.join() !== shape.join()) return `the header announces shape [${dims.join(', ')}], expected [${shape.join(', ')}]`;
  const raw = await rawHead(file, 2);
  const actualBytes = isGzip(raw) ? await gzipDeclaredSize(file, size) : size;
  if (actualBytes !== payloadBytes % 2 ** 32) {
    return isGzip(raw)
      ? `decompresses to ${actualBytes} bytes by its gzip trailer, expected ${payloadBytes} (truncated or a different file)`
      : `${size} bytes, expected ${payloadBytes} (truncated?)`;
  }
  return null;
}

/** Check one data set where mnist-lab would read it from. */
export async function checkDataset(name: string, options: LoadDataOptions & { verify?: boolean } = {}): Promise<DatasetCheck> {
  const spec = getDatasetSpec(name);
  const verify = options.verify === true;
  let source: DataSource | undefined;
  try {
    source = await locateDataset(name, options);
  } catch (error) {
    return { name, source: null, status: 'broken', problem: (error as Error).message, files: [], verified: false };
  }
  if (source === undefined) return { name, source: null, status: 'missing', problem: null, files: [], verified: false };
  if (source.path.endsWith('.npz')) {
    if (!verify) return { name, source, status: 'ok', problem: null, files: [], verified: false };
    try {
      await loadDataset(name, { ...options, verify: true, download: false });
      return { name, source, status: 'ok', problem: null, files: [], verified: true };
    } catch (error) {
      return { name, source, status: 'broken', problem: (error as Error).message, files: [], verified: true };
    }
  }
  const files: FileCheck[] = [];
  for (const role of FILE_ROLES) {
    const standard = spec.files[role].fileName;
    let file: string | null = null;
    for (const candidate of [standard, standard.replace(/\.gz$/, '')]) {
      const full = path.join(source.path, candidate);
      if ((await fs.stat(full).catch(() => null))?.isFile()) {
        file = full;
        break;
      }
    }
    if (file === null) {
      files.push({ role, file: null, bytes: null, problem: `missing: ${path.join(source.path, standard)}` });
      continue;
    }
    let problem: string | null;
    try {
      problem = await checkIdxFile(file, role, spec);
      if (problem === null && verify) {
        const idx = await readIdxFile(file, role.endsWith('Images') ? IDX_IMAGES_MAGIC : IDX_LABELS_MAGIC);
        if (idx.sha256 !== spec.files[role].sha256) problem = `checksum mismatch (SHA-256 of the payload ${idx.sha256}, expected ${spec.files[role].sha256})`;
      }
    } catch (error) {
      const explained = describeFsError(error, { path: file, operation: 'read' });
      problem = explained instanceof Error ? explained.message : String(explained);
    }
    files.push({ role, file, bytes: (await fs.stat(file).catch(() => null))?.size ?? null, problem });
  }
  const broken = files.some((entry) => entry.problem !== null);
  return { name, source, status: broken ? 'broken' : 'ok', problem: null, files, verified: verify };
}

/** Lines for `mnist-lab info`. */
export function formatDatasetCheck(check: DatasetCheck): string[] {
  const label = `  ${check.name.padEnd(30)} `;
  if (check.status === 'missing') return [`${label}not found locally: downloaded into data/ on first use (offline: \`npx mnist-lab data add <folder>\`)`];
  if (check.source === null) return [`${label}PROBLEM: ${check.problem ?? 'unknown'}`.replace(/\n/g, '\n    ')];
  const where = `${check.source.path} (${check.source.kind})`;
  if (check.status === 'ok') {
    const what = check.files.length > 0 ? `${check.files.length} files, ${(check.files.reduce((sum, f) => sum + (f.bytes ?? 0), 0) / 1e6).toFixed(1)} MB` : 'npz';
    return [`${label}${where}: ${what}, ${check.verified ? 'SHA-256 verified' : 'headers and sizes checked (--verify checks SHA-256)'}`];
  }
  const lines = [`${label}${where}: PROBLEM`];
  if (check.problem) lines.push(`    ${check.problem.replace(/\n/g, '\n    ')}`);
  for (const file of check.files) if (file.problem) lines.push(`    ${file.file ? path.basename(file.file) + ': ' : ''}${file.problem}`);
  return lines;
}
