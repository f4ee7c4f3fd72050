/**
 * Drawing on a mnist-lab drawing pad from a test: strokes in coordinates
 * relative to the canvas (0-1), sent as real pointer events, and the pad's
 * answer read from its root element's data attributes.
 */
import type { Browser, BrowserContext, Frame, Page } from 'playwright-core';

export type Stroke = Array<[number, number]>;

/** Digits as a learner would draw them, in fractions of the canvas side. */
export const DIGIT_STROKES: Record<'1' | '7', Stroke[]> = {
  '1': [[[0.52, 0.15], [0.5, 0.5], [0.48, 0.85]]],
  '7': [[[0.25, 0.2], [0.5, 0.2], [0.75, 0.2], [0.6, 0.5], [0.45, 0.85]]],
};

/** What the pad says after an update. */
export interface PadAnswer {
  prediction: string;
  probabilities: number[];
  updates: number;
}

const PAD = '[data-mnist-lab="drawing-pad"][data-ready="true"]';

/** Wait until a pad on the page (or frame) has loaded its model. */
export async function waitForPad(target: Page | Frame, timeout = 60_000): Promise<void> {
  await target.waitForSelector(`${PAD} canvas.mlp-draw`, { timeout });
  // tsx compiles the test's page callbacks with esbuild's keepNames, which calls a `__name` helper the page lacks.
  await target.evaluate('window.__name = window.__name || function (f) { return f; }');
}

export async function readPad(target: Page | Frame, index = 0): Promise<PadAnswer> {
  return target.$$eval(
    PAD,
    (roots, at) => {
      const root = roots[at];
      const probabilities = root.getAttribute('data-probabilities');
      return { prediction: root.getAttribute('data-prediction') ?? '', probabilities: probabilities ? (JSON.parse(probabilities) as number[]) : [], updates: Number(root.getAttribute('data-updates')) };
    },
    index,
  );
}

/**
 * Draw strokes with pointer events dispatched on the canvas (pointerType
 * `pointerType`: mouse, touch or pen), `steps` moves between points, then
 * wait for the pad to finish the update that follows the last move.
 */
export async function drawStrokes(target: Page | Frame, strokes: Stroke[], options: { index?: number; steps?: number; pointerType?: 'mouse' | 'touch' | 'pen' } = {}): Promise<PadAnswer> {
  const { index = 0, steps = 8, pointerType = 'mouse' } = options;
  const before = await readPad(target, index);
  await target.$$eval(
    `${PAD} canvas.mlp-draw`,
    (canvases, args) => {
      const canvas = canvases[args.index] as HTMLCanvasElement;
      const rect = canvas.getBoundingClientRect();
      const fire = (type: string, x: number, y: number) =>
        canvas.dispatchEvent(
          new PointerEvent(type, { bubbles: true, cancelable: true, pointerId: 7, pointerType: args.pointerType, isPrimary: true, clientX: rect.left + x * rect.width, clientY: rect.top + y * rect.height, buttons: type === 'pointerup' ? 0 : 1, pressure: 0.5 }),
        );
      for (const stroke of args.strokes) {
        fire('pointerdown', stroke[0][0], stroke[0][1]);
        for (let i = 1; i < stroke.length; i++) {
          for (let step = 1; step <= args.steps; step++) {
            const t = step / args.steps;
            fire('pointermove', stroke[i - 1][0] + t * (stroke[i][0] - stroke[i - 1][0]), stroke[i - 1][1] + t * (stroke[i][1] - stroke[i - 1][1]));
          }
        }
        const last = stroke[stroke.length - 1];
        fire('pointerup', last[0], last[1]);
      }
    },
    { strokes, index, steps, pointerType },
  );
  await target.waitForFunction(
    (args) => Number(document.querySelectorAll('[data-mnist-lab="drawing-pad"]')[args.index].getAttribute('data-updates')) > args.before,
    { index, before: before.updates },
  );
  return readPad(target, index);
}

/** Press the pad's Clear button and wait for the empty answer. */
export async function clearPad(target: Page | Frame, index = 0): Promise<PadAnswer> {
  const buttons = await target.$$(`${PAD} button:text-is("Clear")`);
  await buttons[index].click();
  await target.waitForFunction((at) => document.querySelectorAll('[data-mnist-lab="drawing-pad"]')[at].getAttribute('data-prediction') === '', index);
  return readPad(target, index);
}

/** A context that may read files but reaches no network at all; every attempt is recorded. */
export async function offlineContext(browser: Browser, attempts: string[]): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, offline: true });
  await context.route('**/*', (route) => {
    if (route.request().url().startsWith('file:') || route.request().url().startsWith('data:')) return route.continue();
    attempts.push(route.request().url());
    return route.abort();
  });
  return context;
}

