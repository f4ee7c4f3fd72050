/**
 * The downloader for users with internet: each file is fetched into a temp
 * file, checked (gzip readable, payload SHA-256 as in the registry) and only
 * then renamed into the cache, so a bad or interrupted download never counts.
 * On failure it retries, then moves to the next mirror.
 */
import { createWriteStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { tslabKernel } from '../util/tslab';
import { SingleBar, Presets } from 'cli-progress';
import { DownloadError, MnistLabError } from '../errors';
import { FILE_ROLES, type DatasetSpec } from './registry';
import { gunzipFile, isGzip, sha256Hex } from './idx';
import { tempPathFor } from '../util/fs';

export interface DownloadOptions {
  /** Base URLs to try in order; default: the registry's mirrors. */
  mirrors?: readonly string[];
  /** Extra attempts per mirror after the first, for transient errors. */
  retries?: number;
  /** Milliseconds to wait before a retry (doubled each time). */
  retryDelayMs?: number;
  /** Milliseconds without progress before a request is abandoned. */
  timeoutMs?: number;
  /** Check each payload against the registry's SHA-256 (default true). */
  verify?: boolean;
  /** Suppress the progress bar and messages. */
  quiet?: boolean;
}

export const DEFAULT_DOWNLOAD_OPTIONS = {
  retries: 2,
  retryDelayMs: 500,
  timeoutMs: 30_000,
} as const;

/** Download whichever of the data set's four files are missing from `destDir`. */
export async function downloadDataset(spec: DatasetSpec, destDir: string, options: DownloadOptions = {}): Promise<void> {
  await fs.mkdir(destDir, { recursive: true });
  for (const role of FILE_ROLES) {
    const file = spec.files[role];
    const target = path.join(destDir, file.fileName);
    try {
      await fs.access(target);
      continue;
    } catch {
      // missing: download it below
    }
    await downloadFile(file.fileName, file.sha256, target, options.mirrors ?? spec.mirrors, options);
  }
}

async function downloadFile(
  fileName: string,
  sha256: string,
  target: string,
  mirrors: readonly string[],
  options: DownloadOptions,
): Promise<void> {
  const retries = options.retries ?? DEFAULT_DOWNLOAD_OPTIONS.retries;
  const attempts: string[] = [];
  // In a notebook cell the terminal bar would not show: one line, rewritten in place.
  const cell = options.quiet === true ? undefined : tslabKernel()?.newDisplay();
  const say = (line: string) => cell?.html(`<pre>${line.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</pre>`);
  for (const mirror of mirrors) {
    const url = new URL(fileName, mirror.endsWith('/') ? mirror : mirror + '/').toString();
    for (let attempt = 0; attempt <= retries; attempt++) {
      const temp = tempPathFor(target);
      try {
        say(`${fileName}: connecting to ${url}${attempt > 0 ? ` (try ${attempt + 1} of ${retries + 1})` : ''}`);
        await fetchToFile(url, temp, fileName, options, say);
        const raw = new Uint8Array(await fs.readFile(temp));
        const payload = isGzip(raw) ? gunzipFile(raw, url) : raw;
        const actual = sha256Hex(payload);
        if (options.verify !== false && actual !== sha256) {
          // A wrong file will not get better by asking the same mirror again.
          attempts.push(`${url}: checksum mismatch (expected ${sha256}, got ${actual})`);
          break;
        }
        await fs.rename(temp, target);
        say(`${fileName}: downloaded from ${url} and checked`);
        return;
      } catch (error) {
        const reason = error instanceof MnistLabError ? error.message.split('. ')[0] : (error as Error).message;
        attempts.push(`${url} (try ${attempt + 1}): ${reason}`);
        say(`${fileName}: ${url} (try ${attempt + 1} of ${retries + 1}) failed: ${reason}${attempt < retries ? '; trying again' : ''}`);
        if (attempt < retries) await sleep((options.retryDelayMs ?? DEFAULT_DOWNLOAD_OPTIONS.retryDelayMs) * 2 ** attempt);
      } finally {
        await fs.rm(temp, { force: true });
      }
    }
  }
  throw new DownloadError(
    fileName,
    attempts,
    `Nothing was written to ${path.dirname(target)}. If this machine is offline, copy the four files ` +
      `(${path.basename(target)} and its siblings) from a machine that has them into ${path.dirname(target)}, ` +
      'or point MNIST_LAB_DATA at a folder holding one subfolder per data set (mnist/, fashion-mnist/).',
  );
}

async function fetchToFile(url: string, file: string, label: string, options: DownloadOptions, say: (line: string) => void = () => undefined): Promise<void> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_DOWNLOAD_OPTIONS.timeoutMs;
  const controller = new AbortController();
  let timer = setTimeout(() => controller.abort(), timeoutMs);
  const response = await fetch(url, { signal: controller.signal }).catch((error: Error) => {
    clearTimeout(timer);
    throw new Error(`request failed (${(error.cause as Error | undefined)?.message ?? error.message})`);
  });
  if (!response.ok || response.body === null) {
    clearTimeout(timer);
    throw new Error(`HTTP ${response.status} ${response.statusText}`);
  }
  const total = Number(response.headers.get('content-length') ?? 0);
  const showBar = options.quiet !== true && process.stderr.isTTY === true;
  const bar = showBar
    ? new SingleBar({ format: `${label} [{bar}] {percentage}% {value}/{total} bytes`, stream: process.stderr }, Presets.shades_classic)
    : undefined;
  bar?.start(total || 1, 0);
  let received = 0;
  let shown = 0;
  const megabytes = (bytes: number) => (bytes / 1e6).toFixed(1);
  const body = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>);
  body.on('data', (chunk: Buffer) => {
    received += chunk.length;
    bar?.update(total ? received : 0);
    if (Date.now() - shown > 250) {
      shown = Date.now();
      say(`${label}: ${megabytes(received)}${total ? ` of ${megabytes(total)} MB (${Math.floor((100 * received) / total)}%)` : ' MB'} from ${url}`);
    }
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(), timeoutMs);
  });
  try {
    await pipeline(body, createWriteStream(file));
  } finally {
    clearTimeout(timer);
    bar?.stop();
  }
  if (total && received !== total) {
    throw new Error(`connection closed after ${received} of ${total} bytes`);
  }
  if (options.quiet !== true && !showBar) process.stderr.write(`Downloaded ${url} (${received} bytes)\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
