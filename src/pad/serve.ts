/**
 * `mnist-lab draw`: the drawing pad served on 127.0.0.1, with a save button
 * that files each drawing under its label in an own-data folder, one
 * subfolder per class (the layout `loadImageFolder` reads, Keras's
 * `image_dataset_from_directory`), so learners can collect their own
 * handwriting and then test the network on it.
 */
import { promises as fs } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type * as tfTypes from '@tensorflow/tfjs';
import { ConfigError } from '../errors';
import { writeFileAtomic } from '../util/fs';
import { decodeImage } from '../predict/image';
import { drawingPadPage, DEFAULT_DRAWING_PAD, type DrawingPadOptions } from './index';
import type { PadSaveRequest, PadSaveResponse } from './spec';

/** Where the page posts drawings. */
export const PAD_SAVE_ROUTE = '/save';
/** Largest request body accepted (a 280x280 PNG data URL is far below). */
const MAX_BODY_BYTES = 8 * 1024 * 1024;
const PNG_DATA_URL = 'data:image/png;base64,';

/**
 * Folder name of a class in an own-data folder. Digits are named by their
 * label; other class names get the label in front (`0-T-shirt_top`), so the
 * sorted folder names keep the label order and contain no path separators.
 */
export function classFolderName(label: number, className: string): string {
  if (className === String(label)) return className;
  return `${label}-${className.replace(/[^A-Za-z0-9._-]+/g, '_')}`;
}

/** Save one PNG drawing under its class; returns where it went and how many that class has now. */
export async function saveDrawing(dataDir: string, classNames: readonly string[], label: number, png: Uint8Array): Promise<PadSaveResponse> {
  if (!Number.isInteger(label) || label < 0 || label >= classNames.length) {
    throw new ConfigError('label', `${label} is not a class of this model`, `a whole number from 0 to ${classNames.length - 1}`);
  }
  const image = decodeImage(png, 'the drawing');
  if (image.width < 8 || image.height < 8) throw new ConfigError('png', `the drawing is ${image.width}x${image.height} pixels`, 'at least 8x8 pixels');
  const folder = classFolderName(label, classNames[label]);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  const name = `drawing-${stamp}-${randomBytes(3).toString('hex')}.png`;
  await writeFileAtomic(path.join(dataDir, folder, name), png);
  const count = (await fs.readdir(path.join(dataDir, folder))).filter((file) => file.toLowerCase().endsWith('.png')).length;
  return { file: `${folder}/${name}`, count };
}

export interface DrawingPadServerOptions extends Partial<DrawingPadOptions> {
  /** Own-data folder the drawings are saved into; null serves the pad without saving. */
  saveTo: string | null;
  /** Port on 127.0.0.1; 0 picks a free one. */
  port: number;
}

/** A running pad server. */
export interface DrawingPadServer {
  url: string;
  /** Drawings saved since the server started. */
  saved(): number;
  close(): Promise<void>;
}

async function readBody(request: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new ConfigError('request', `the drawing is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Serve the pad (and the save endpoint when `saveTo` is set) on 127.0.0.1. */
export async function serveDrawingPad(model: tfTypes.LayersModel, options: Partial<DrawingPadServerOptions> = {}): Promise<DrawingPadServer> {
  const saveTo = options.saveTo ?? null;
  const classNames = options.classNames ?? Array.from({ length: (model.outputs[0].shape[1] ?? 10) as number }, (_, label) => String(label));
  const page = drawingPadPage(model, {
    ...options,
    title: options.title ?? (saveTo ? `${DEFAULT_DRAWING_PAD.title}, then save it with its label` : DEFAULT_DRAWING_PAD.title),
    saveUrl: saveTo ? PAD_SAVE_ROUTE : null,
  });
  let saved = 0;
  let host = '';
  const server = http.createServer((request, response) => {
    const send = (status: number, type: string, body: string) => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      response.end(body);
    };
    // Only pages of this server (not another site the browser has open) may use it.
    if (request.headers.host !== host) return send(403, 'text/plain; charset=utf-8', `use http://${host}/`);
    const route = new URL(request.url ?? '/', `http://${host}`).pathname;
    if (request.method === 'GET' && (route === '/' || route === '/index.html')) return send(200, 'text/html; charset=utf-8', page);
    if (request.method === 'POST' && route === PAD_SAVE_ROUTE && saveTo) {
      readBody(request)
        .then(async (body) => {
          const payload = JSON.parse(body) as Partial<PadSaveRequest>;
          if (typeof payload.png !== 'string' || !payload.png.startsWith(PNG_DATA_URL)) throw new ConfigError('png', 'the request carries no PNG data URL');
          const result = await saveDrawing(saveTo, classNames, Number(payload.label), Buffer.from(payload.png.slice(PNG_DATA_URL.length), 'base64'));
          saved++;
          send(200, 'application/json', JSON.stringify(result));
        })
        .catch((error: Error) => send(400, 'text/plain; charset=utf-8', error.message));
      return;
    }
    send(404, 'text/plain; charset=utf-8', 'not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'EADDRINUSE' ? new ConfigError('--port', `port ${options.port} on 127.0.0.1 is already in use`, 'another port, or 0 to pick a free one') : error),
    );
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `http://${host}/`,
    saved: () => saved,
    close: async () => {
      server.closeAllConnections();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
