/**
 * The drawing pad, browser side. Bundled by esbuild (see `bundle.ts`) into
 * one script that defines `window.MnistLabPad`; TensorFlow.js's browser build
 * is on the page as `window.tf`. The picture the network gets is made by
 * `preprocessImage` from `src/predict/image.ts`, the very code `predict`
 * runs in Node, so the pad and `mnist-lab predict` agree on every drawing.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { preprocessImage, MNIST_IMAGE_SIZE } from '../predict/image';
import { EmptyImageError } from '../predict/errors';
import { PAD_PICTURE_SIZE, PAD_ROOT_ATTRIBUTE, PAD_ROOT_VALUE, type PadSaveResponse, type PadSpec } from './spec';

type Tf = typeof tfTypes;

/** Stroke width as a fraction of the canvas side: MNIST pens are about a tenth of the digit's 20-pixel box. */
const STROKE_FRACTION = 1 / 14;
/** Hidden-layer cells per row at most. */
const ACTIVATION_COLUMNS = 32;
/** Side of one activation cell in CSS pixels. */
const ACTIVATION_CELL = 10;

const STYLE = `
.mnist-lab-pad{font-family:Helvetica,Arial,sans-serif;font-size:13px;color:#222;display:inline-block;padding:8px;border:1px solid #ddd;border-radius:6px;background:#fff}
.mnist-lab-pad h3{margin:0 0 8px 0;font-size:15px}
.mnist-lab-pad .mlp-row{display:flex;gap:16px;align-items:flex-start;flex-wrap:wrap}
.mnist-lab-pad .mlp-draw{touch-action:none;border:1px solid #888;background:#fff;cursor:crosshair;display:block}
.mnist-lab-pad .mlp-input{image-rendering:pixelated;border:1px solid #888;background:#000;display:block}
.mnist-lab-pad button{margin:6px 6px 0 0;padding:3px 10px;font-size:13px;cursor:pointer}
.mnist-lab-pad .mlp-bars{display:grid;grid-template-columns:auto 160px 52px;gap:3px 6px;align-items:center}
.mnist-lab-pad .mlp-bar{height:14px;background:#eee;position:relative}
.mnist-lab-pad .mlp-bar>div{height:100%;background:#1f77b4;width:0}
.mnist-lab-pad .mlp-top>div{background:#d62728}
.mnist-lab-pad .mlp-pct{text-align:right;font-variant-numeric:tabular-nums}
.mnist-lab-pad .mlp-answer{font-size:22px;font-weight:bold;margin-top:6px;min-height:28px}
.mnist-lab-pad .mlp-caption{color:#666;margin-bottom:4px}
.mnist-lab-pad .mlp-layer{margin-top:10px}
.mnist-lab-pad canvas.mlp-units{display:block;border:1px solid #ccc}
.mnist-lab-pad .mlp-save{margin-top:10px;padding-top:8px;border-top:1px solid #eee}
.mnist-lab-pad .mlp-save .mlp-chosen{background:#1f77b4;color:#fff}
`;

function element<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, parent: HTMLElement, text = ''): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  parent.appendChild(node);
  return node;
}

function base64ToBuffer(base64: string): ArrayBuffer {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

/** A pad mounted on the page (for scripts: `MnistLabPad.pads`). */
export interface MountedPad {
  root: HTMLElement;
  /** The picture the last update handed to preprocessImage, as a PNG data URL. */
  picture(): string;
  /** Run the network on the current drawing now (normally scheduled by pointer events). */
  update(): void;
  clear(): void;
  undo(): void;
}

export const pads: MountedPad[] = [];

/** Build the pad inside `root` and load the model; resolves when it is ready to draw on. */
export async function mountPad(root: HTMLElement, spec: PadSpec): Promise<MountedPad> {
  const maybeTf = (window as unknown as { tf?: Tf }).tf;
  if (!maybeTf) throw new Error('TensorFlow.js is not on this page (window.tf is missing)');
  const tf: Tf = maybeTf;
  root.setAttribute(PAD_ROOT_ATTRIBUTE, PAD_ROOT_VALUE);
  root.classList.add('mnist-lab-pad');
  root.innerHTML = '';
  if (!document.getElementById('mnist-lab-pad-style')) {
    const style = document.createElement('style');
    style.id = 'mnist-lab-pad-style';
    style.textContent = STYLE;
    document.head.appendChild(style);
  }
  element('h3', '', root, spec.title);
  const row = element('div', 'mlp-row', root);

  const drawColumn = element('div', '', row);
  element('div', 'mlp-caption', drawColumn, 'Draw a digit (mouse, finger or pen)');
  const canvas = element('canvas', 'mlp-draw', drawColumn);
  canvas.width = spec.canvasSize;
  canvas.height = spec.canvasSize;
  canvas.style.width = `${spec.canvasSize}px`;
  canvas.style.height = `${spec.canvasSize}px`;
  const undoButton = element('button', '', drawColumn, 'Undo');
  const clearButton = element('button', '', drawColumn, 'Clear');
  undoButton.type = 'button';
  clearButton.type = 'button';

  const inputColumn = element('div', '', row);
  element('div', 'mlp-caption', inputColumn, `What the network gets (${MNIST_IMAGE_SIZE}x${MNIST_IMAGE_SIZE})`);
  const inputCanvas = element('canvas', 'mlp-input', inputColumn);
  inputCanvas.width = MNIST_IMAGE_SIZE;
  inputCanvas.height = MNIST_IMAGE_SIZE;
  inputCanvas.style.width = `${MNIST_IMAGE_SIZE * 5}px`;
  inputCanvas.style.height = `${MNIST_IMAGE_SIZE * 5}px`;
  const answer = element('div', 'mlp-answer', inputColumn);

  const barColumn = element('div', '', row);
  element('div', 'mlp-caption', barColumn, 'Probability of each class');
  const barGrid = element('div', 'mlp-bars', barColumn);
  const bars = spec.model.classNames.map((name) => {
    element('div', '', barGrid, name);
    const track = element('div', 'mlp-bar', barGrid);
    const fill = element('div', '', track);
    const percent = element('div', 'mlp-pct', barGrid, '');
    return { track, fill, percent };
  });

  const status = element('div', 'mlp-caption', root, 'Loading the network…');

  const drawing = canvas.getContext('2d')!;
  const pictureCanvas = document.createElement('canvas');
  pictureCanvas.width = PAD_PICTURE_SIZE;
  pictureCanvas.height = PAD_PICTURE_SIZE;
  const picture = pictureCanvas.getContext('2d', { willReadFrequently: true })!;
  picture.imageSmoothingEnabled = true;
  picture.imageSmoothingQuality = 'high';
  const inputContext = inputCanvas.getContext('2d')!;
  const inputImage = inputContext.createImageData(MNIST_IMAGE_SIZE, MNIST_IMAGE_SIZE);

  // One small input at a time: the plain-JavaScript backend answers in a few
  // milliseconds, where WebGL would wait on the GPU (or a software GL) at every read-back.
  if (tf.getBackend() !== 'cpu') await tf.setBackend('cpu');
  root.setAttribute('data-backend', tf.getBackend());
  // The model, and a twin that also returns every hidden Dense layer's output.
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({ modelTopology: spec.model.modelTopology, weightSpecs: spec.model.weightSpecs, weightData: base64ToBuffer(spec.model.weightsBase64) }),
  );
  const outputLayer = model.layers[model.layers.length - 1];
  const hiddenLayers = spec.showActivations
    ? model.layers.filter((layer) => layer !== outputLayer && layer.getClassName() === 'Dense')
    : [];
  const inside = tf.model({ inputs: model.inputs, outputs: [...hiddenLayers.map((layer) => layer.output as tfTypes.SymbolicTensor), model.outputs[0]] });

  const unitCanvases = hiddenLayers.map((layer) => {
    const box = element('div', 'mlp-layer', root);
    const units = (layer.outputShape as number[])[1];
    const columns = Math.min(ACTIVATION_COLUMNS, units);
    const rows = Math.ceil(units / columns);
    element('div', 'mlp-caption', box, `Hidden layer ${layer.name}: ${units} units (brighter = more active)`);
    const unitCanvas = element('canvas', 'mlp-units', box);
    unitCanvas.width = columns * ACTIVATION_CELL;
    unitCanvas.height = rows * ACTIVATION_CELL;
    return { canvas: unitCanvas, context: unitCanvas.getContext('2d')!, columns, units };
  });

  type Point = [number, number];
  const strokes: Point[][] = [];
  const lineWidth = Math.max(2, Math.round(spec.canvasSize * STROKE_FRACTION));
  let updates = 0;
  let scheduled = false;

  function blank(): void {
    drawing.fillStyle = '#fff';
    drawing.fillRect(0, 0, canvas.width, canvas.height);
  }
  function segment(from: Point, to: Point): void {
    drawing.strokeStyle = '#000';
    drawing.fillStyle = '#000';
    drawing.lineWidth = lineWidth;
    drawing.lineCap = 'round';
    drawing.lineJoin = 'round';
    drawing.beginPath();
    drawing.moveTo(from[0], from[1]);
    drawing.lineTo(to[0], to[1]);
    drawing.stroke();
  }
  function redraw(): void {
    blank();
    for (const stroke of strokes) for (let i = 0; i < stroke.length; i++) segment(stroke[Math.max(0, i - 1)], stroke[i]);
  }

  function showProbabilities(probabilities: number[] | null): void {
    const top = probabilities ? probabilities.indexOf(Math.max(...probabilities)) : -1;
    bars.forEach((bar, index) => {
      const value = probabilities ? probabilities[index] : 0;
      bar.fill.style.width = `${(100 * value).toFixed(1)}%`;
      bar.percent.textContent = probabilities ? `${(100 * value).toFixed(1)}%` : '';
      bar.track.classList.toggle('mlp-top', index === top);
    });
    answer.textContent = probabilities ? `→ ${spec.model.classNames[top]}` : '';
    root.setAttribute('data-prediction', top >= 0 ? String(top) : '');
    root.setAttribute('data-probabilities', probabilities ? JSON.stringify(probabilities) : '');
  }

  function showInput(pixels: Float32Array | null): void {
    for (let p = 0; p < MNIST_IMAGE_SIZE * MNIST_IMAGE_SIZE; p++) {
      const level = pixels ? Math.round(255 * pixels[p]) : 0;
      inputImage.data[p * 4] = level;
      inputImage.data[p * 4 + 1] = level;
      inputImage.data[p * 4 + 2] = level;
      inputImage.data[p * 4 + 3] = 255;
    }
    inputContext.putImageData(inputImage, 0, 0);
  }

  function showActivations(values: Float32Array[] | null): void {
    unitCanvases.forEach((target, layer) => {
      const activations = values?.[layer];
      const largest = activations ? Math.max(1e-6, ...activations) : 1;
      for (let unit = 0; unit < target.units; unit++) {
        // Black (silent) to yellow (the layer's most active unit), as in activationsFigure.
        const t = activations ? Math.max(0, Math.min(1, activations[unit] / largest)) : 0;
        target.context.fillStyle = `rgb(${Math.round(255 * Math.min(1, t * 1.4))},${Math.round(235 * t)},${Math.round(60 * t * t)})`;
        target.context.fillRect((unit % target.columns) * ACTIVATION_CELL, Math.floor(unit / target.columns) * ACTIVATION_CELL, ACTIVATION_CELL - 1, ACTIVATION_CELL - 1);
      }
    });
  }

  function update(): void {
    scheduled = false;
    const started = performance.now();
    let pixels: Float32Array | null = null;
    if (strokes.length > 0) {
      picture.drawImage(canvas, 0, 0, PAD_PICTURE_SIZE, PAD_PICTURE_SIZE);
      const { data, width, height } = picture.getImageData(0, 0, PAD_PICTURE_SIZE, PAD_PICTURE_SIZE);
      try {
        pixels = preprocessImage({ width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) }, 'the drawing');
      } catch (error) {
        // A dot too faint or tiny to be a digit yet: the same message `predict` gives.
        if (!(error instanceof EmptyImageError)) throw error;
      }
    }
    showInput(pixels);
    if (pixels === null) {
      showProbabilities(null);
      showActivations(null);
      status.textContent = strokes.length > 0 ? 'Keep drawing…' : 'Draw a digit in the white box.';
    } else {
      const input = pixels;
      const outputs = tf.tidy(() => {
        const tensor = tf.tensor(spec.model.scaleInputs ? input : input.map((value) => value * 255), [1, ...spec.model.inputShape]);
        const result = inside.predict(tensor);
        return (Array.isArray(result) ? result : [result]).map((output) => output.dataSync() as Float32Array);
      });
      const probabilities = Array.from(outputs[outputs.length - 1]);
      showProbabilities(probabilities);
      showActivations(outputs.slice(0, -1));
    }
    updates++;
    const milliseconds = performance.now() - started;
    root.setAttribute('data-updates', String(updates));
    root.setAttribute('data-update-ms', milliseconds.toFixed(2));
    if (pixels !== null) status.textContent = `Updated ${updates} times; the last update took ${milliseconds.toFixed(1)} ms.`;
  }

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(update);
  }

  function pointAt(event: PointerEvent): Point {
    const rect = canvas.getBoundingClientRect();
    return [((event.clientX - rect.left) * canvas.width) / rect.width, ((event.clientY - rect.top) * canvas.height) / rect.height];
  }
  let active: Point[] | null = null;
  canvas.addEventListener('pointerdown', (event) => {
    event.preventDefault();
    try {
      // Keep the stroke when the pen leaves the box; synthetic events have no pointer to capture.
      canvas.setPointerCapture(event.pointerId);
    } catch {
      /* drawing works without capture */
    }
    active = [pointAt(event)];
    strokes.push(active);
    segment(active[0], active[0]);
    schedule();
  });
  canvas.addEventListener('pointermove', (event) => {
    if (!active) return;
    event.preventDefault();
    const point = pointAt(event);
    segment(active[active.length - 1], point);
    active.push(point);
    schedule();
  });
  const end = (): void => {
    if (!active) return;
    active = null;
    schedule();
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  canvas.addEventListener('pointerleave', end);

  const pad: MountedPad = {
    root,
    picture: () => pictureCanvas.toDataURL('image/png'),
    update,
    clear() {
      strokes.length = 0;
      active = null;
      redraw();
      update();
    },
    undo() {
      strokes.pop();
      active = null;
      redraw();
      update();
    },
  };
  undoButton.addEventListener('click', () => pad.undo());
  clearButton.addEventListener('click', () => pad.clear());

  if (spec.saveUrl !== null) mountSaveControls(root, spec, strokes, pad);

  blank();
  update();
  root.setAttribute('data-ready', 'true');
  pads.push(pad);
  return pad;
}

/** `mnist-lab draw` only: pick the label you drew, save the drawing into the own-data folder. */
function mountSaveControls(root: HTMLElement, spec: PadSpec, strokes: unknown[], pad: MountedPad): void {
  const saveUrl = spec.saveUrl!;
  const box = element('div', 'mlp-save', root);
  element('div', 'mlp-caption', box, 'Collect your own handwriting: choose what you drew, then save it.');
  let chosen: number | null = null;
  const labelButtons = spec.model.classNames.map((name, label) => {
    const button = element('button', 'mlp-label', box, name);
    button.type = 'button';
    button.setAttribute('data-label', String(label));
    button.addEventListener('click', () => {
      chosen = label;
      labelButtons.forEach((other, index) => other.classList.toggle('mlp-chosen', index === label));
    });
    return button;
  });
  const saveButton = element('button', 'mlp-save-button', box, 'Save drawing');
  saveButton.type = 'button';
  const saved = element('div', 'mlp-caption mlp-saved', box);
  saveButton.addEventListener('click', async () => {
    if (chosen === null) {
      saved.textContent = 'Choose the label of your drawing first.';
      return;
    }
    if (strokes.length === 0) {
      saved.textContent = 'Draw something first.';
      return;
    }
    try {
      const response = await fetch(saveUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ label: chosen, png: pad.picture() }) });
      if (!response.ok) throw new Error(await response.text());
      const result = (await response.json()) as PadSaveResponse;
      saved.textContent = `Saved ${result.file} (${result.count} drawing${result.count === 1 ? '' : 's'} of ${spec.model.classNames[chosen]}).`;
      root.setAttribute('data-saved', result.file);
      pad.clear();
    } catch (error) {
      saved.textContent = `Could not save: ${(error as Error).message}`;
    }
  });
}
