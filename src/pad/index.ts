/**
 * `drawingPad(model)`: draw a digit and watch the network answer, live.
 * The trained model travels inside the HTML (topology + weights) and runs in
 * the page with TensorFlow.js's browser build; the drawing is turned into the
 * 28x28 input by the same `preprocessImage` that `predict` uses. One HTML
 * fragment serves the notebook (tslab's `display.html`), exported notebook
 * pages, `mnist-lab draw --export` (a standalone page) and `mnist-lab draw`
 * (served, with saving into an own-data folder).
 */
import { randomBytes } from 'node:crypto';
import type * as tfTypes from '@tensorflow/tfjs';
// Float16Array for Node 20 (native only from Node 24), by the proposal's own champion: the pad's weights at half size.
import { Float16Array } from '@petamoriken/float16';
import { ConfigError, MnistLabError } from '../errors';
import { writeFileAtomic } from '../util/fs';
import { escapeHtml } from '../util/format';
import { scriptJson } from '../viz/plotly';
import { tslabKernel } from '../util/tslab';

/** Where `drawingPad` sends its HTML (tslab's `display`; tests pass their own). */
export interface HtmlDisplay {
  /** Show this HTML as the cell's output. */
  html(html: string): void;
}
import { padClientScript, tfjsScript, PAD_GLOBAL } from './bundle';
import { PAD_ROOT_ATTRIBUTE, PAD_ROOT_VALUE, type PadModelSpec, type PadSpec, type PadWeightSpec } from './spec';

export * from './spec';

/** Options of `drawingPad`. */
export interface DrawingPadOptions {
  /** Heading above the pad. */
  title: string;
  /** Side of the drawing canvas in CSS pixels. */
  canvasSize: number;
  /** Show the hidden layers' activations, updating with the drawing. */
  showActivations: boolean;
  /** Whether the model was trained on pixels divided by 255 (false for the "no /255" ablation). */
  scaleInputs: boolean;
  /** Class names by label (Fashion-MNIST); default the digits 0-9. */
  classNames?: readonly string[];
  /** Notebook output; default tslab's `display`. */
  display?: HtmlDisplay;
}

/** The defaults of {@link DrawingPadOptions}. */
export const DEFAULT_DRAWING_PAD: DrawingPadOptions = {
  title: 'Draw a digit',
  canvasSize: 280,
  showActivations: true,
  scaleInputs: true,
};

/**
 * The model as the page loads it: topology and weights, base64 (synchronous,
 * so `drawingPad` needs no await). The weights travel as float16, as tfjs's
 * converter quantizes them: half the bytes in every notebook and exported
 * page, and the pad's probabilities stay within a thousandth of the model's.
 */
export function padModelSpec(model: tfTypes.LayersModel, options: { scaleInputs?: boolean; classNames?: readonly string[] } = {}): PadModelSpec {
  const inputShape = model.inputs[0]?.shape.slice(1);
  if (!inputShape || inputShape.some((size) => size === null)) {
    throw new ConfigError('model', 'the drawing pad needs a model with a fixed input shape', 'a model built by createMlp (input [28, 28])');
  }
  const size = (inputShape as number[]).reduce((product, side) => product * side, 1);
  if (size !== 28 * 28) throw new ConfigError('model', `its input has ${size} values per example; a drawing gives 28x28 = 784`, 'a model trained on MNIST-shaped images');
  const outputUnits = (model.outputs[0].shape[1] ?? 0) as number;
  const classNames = options.classNames ? [...options.classNames] : Array.from({ length: outputUnits }, (_, label) => String(label));
  if (classNames.length !== outputUnits) throw new ConfigError('classNames', `${classNames.length} names for a model with ${outputUnits} outputs`, `${outputUnits} names`);
  const values = model.getWeights();
  const weightSpecs: PadWeightSpec[] = model.weights.map((weight, index) => {
    if (values[index].dtype !== 'float32') throw new ConfigError('model', `weight ${weight.originalName} is ${values[index].dtype}`, 'float32 weights');
    return { name: weight.originalName, shape: [...values[index].shape], dtype: 'float32', quantization: { dtype: 'float16' } };
  });
  const arrays = values.map((tensor) => tensor.dataSync() as Float32Array);
  const all = new Float16Array(arrays.reduce((sum, array) => sum + array.length, 0));
  let offset = 0;
  for (const array of arrays) {
    all.set(array, offset);
    offset += array.length;
  }
  // getWeights returns the live variables' values; nothing to dispose.
  return {
    modelTopology: model.toJSON(null, false) as object,
    weightSpecs,
    // Float16Array (the polyfill, like the native one on little-endian machines) stores little-endian halves.
    weightsBase64: Buffer.from(all.buffer, all.byteOffset, all.byteLength).toString('base64'),
    inputShape: inputShape as number[],
    scaleInputs: options.scaleInputs ?? true,
    classNames,
  };
}

/**
 * Marks the scripts every pad page carries, named as a file: `npm run export`
 * (scripts/notebooks/export.py) moves them into its assets/ folder once
 * instead of repeating them in every page.
 */
const PAD_ASSET_ATTRIBUTE = 'data-mnist-lab-asset';

/** The `<script>` elements a page needs once: TensorFlow.js and the pad code. */
function padScriptTags(): string {
  return (
    `<script type="text/javascript" ${PAD_ASSET_ATTRIBUTE}="tfjs.min.js">/* TensorFlow.js (browser build) from node_modules, inlined so the pad works offline */\n${tfjsScript()}\n</script>` +
    `<script type="text/javascript" ${PAD_ASSET_ATTRIBUTE}="drawing-pad.js">/* mnist-lab drawing pad, bundled by esbuild with src/predict/image.ts */\n${padClientScript()}\n</script>`
  );
}

/**
 * One pad as an HTML fragment. Without scripts (an untrusted notebook, a
 * viewer with scripts off) it says what is missing instead of a blank box.
 */
function padFragment(spec: PadSpec, options: { includeScripts: boolean }): string {
  const id = `mnist-lab-pad-${randomBytes(6).toString('hex')}`;
  const mount =
    `(function(){var tries=0;function go(){var root=document.getElementById(${scriptJson(id)});if(!root)return;` +
    `if(window.tf&&window.${PAD_GLOBAL}){window.${PAD_GLOBAL}.mountPad(root,${scriptJson(spec)}).catch(function(e){root.setAttribute('data-error',String(e));root.textContent='The drawing pad failed: '+e;});}` +
    `else if(++tries<400){setTimeout(go,50);}else{root.textContent='The drawing pad could not start: TensorFlow.js did not load. Re-run the cell (after clearing outputs, call resetNotebookPad()).';}}go();})();`;
  return (
    (options.includeScripts ? padScriptTags() : '') +
    `<div ${PAD_ROOT_ATTRIBUTE}="${PAD_ROOT_VALUE}" class="mnist-lab-pad" id="${id}">` +
    `<p>${escapeHtml(spec.title)}: this drawing pad runs the network in your browser and needs JavaScript (in JupyterLab, trust the notebook).</p></div>` +
    `<script type="text/javascript">${mount}</script>`
  );
}

function padSpec(model: tfTypes.LayersModel, options: Partial<DrawingPadOptions>, saveUrl: string | null): PadSpec {
  const settings = { ...DEFAULT_DRAWING_PAD, ...options };
  if (!Number.isInteger(settings.canvasSize) || settings.canvasSize < 56 || settings.canvasSize > 2000) {
    throw new ConfigError('canvasSize', `must be a whole number of pixels from 56 to 2000, got ${settings.canvasSize}`);
  }
  return {
    model: padModelSpec(model, { scaleInputs: settings.scaleInputs, classNames: settings.classNames }),
    title: settings.title,
    canvasSize: settings.canvasSize,
    showActivations: settings.showActivations,
    saveUrl,
  };
}

/** A standalone offline page with one pad (what `mnist-lab draw --export` writes and `mnist-lab draw` serves). */
export function drawingPadPage(model: tfTypes.LayersModel, options: Partial<DrawingPadOptions> & { saveUrl?: string | null } = {}): string {
  const spec = padSpec(model, options, options.saveUrl ?? null);
  return (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>${escapeHtml(spec.title)}</title><meta name="generator" content="mnist-lab">` +
    '<style>body{margin:16px;font-family:Helvetica,Arial,sans-serif;background:#fafafa}</style></head><body>\n' +
    padFragment(spec, { includeScripts: true }) +
    '\n</body></html>\n'
  );
}

/** Write the standalone pad page to `file` atomically; returns its size in bytes. */
export async function saveDrawingPad(model: tfTypes.LayersModel, file: string, options: Partial<DrawingPadOptions> = {}): Promise<number> {
  const html = drawingPadPage(model, options);
  await writeFileAtomic(file, html);
  return Buffer.byteLength(html);
}

// Kernel-wide, like plotly.js for charts: one tslab kernel is one notebook session.
let scriptsSent = false;

/** Send TensorFlow.js and the pad code again with the next pad (after clearing all outputs). */
export function resetNotebookPad(): void {
  scriptsSent = false;
}

/** The HTML `drawingPad` would send (the scripts included when this kernel has not sent them yet). */
export function drawingPadHtml(model: tfTypes.LayersModel, options: Partial<DrawingPadOptions> = {}): string {
  return padFragment(padSpec(model, options, null), { includeScripts: !scriptsSent });
}

function notebookDisplay(): HtmlDisplay {
  const display = tslabKernel()?.display;
  if (!display) {
    throw new MnistLabError('drawingPad(model) shows the pad in a notebook cell (tslab kernel). Outside a notebook, write a page with saveDrawingPad(model, "pad.html") or run `npx mnist-lab draw --model <run folder>`.');
  }
  return display;
}

/**
 * Show a drawing pad in the notebook: draw with mouse, finger or pen and see
 * the 28x28 input, the ten probabilities and the hidden units update live.
 * The model is copied into the output, so the pad keeps working in the
 * exported HTML after the kernel is gone.
 */
export function drawingPad(model: tfTypes.LayersModel, options: Partial<DrawingPadOptions> = {}): void {
  const html = drawingPadHtml(model, options);
  (options.display ?? notebookDisplay()).html(html);
  scriptsSent = true;
}
