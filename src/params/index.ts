/**
 * A model's parameters as text a learner can open: one JSON file with every
 * layer's weights, and one CSV file per weight tensor for a spreadsheet.
 * `importParams` reads them back into a model of the same architecture, so a
 * weight edited in a spreadsheet changes the model's predictions.
 *
 * Folder layout (also written to README.txt in the folder):
 *   params.json              {format, version, exportedAt, totalParams, layers: {layerName: {className, kernel: {shape, values}, bias: {shape, values}}}}
 *                            values nest like the shape: kernel.values[input][unit]
 *   <layer>.kernel.csv       wide: header `input,unit_0,unit_1,...`; one row per input, one column per unit
 *   <layer>.bias.csv         header `unit,bias`; one row per unit
 * Numbers are written with the fewest digits that read back as the same
 * float32, so export then import reproduces the model exactly.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { tf } from '../backend';
import { writeFileAtomic } from '../util/fs';
import { ParamsFormatError, ParamsMismatchError } from './errors';


const PARAMS_FORMAT = 'mnist-lab-params';
const PARAMS_VERSION = 1;
export const PARAMS_JSON_FILE = 'params.json';
const PARAMS_README_FILE = 'README.txt';

/** One weight tensor: its shape and its values nested like the shape (`values[input][unit]` for a kernel). */
export interface ParamsTensor {
  shape: number[];
  values: NestedNumbers;
}

/** Numbers nested as deep as the tensor's rank. */
export type NestedNumbers = number | NestedNumbers[];

/** One layer's weights by short name (`kernel`, `bias` for Dense). */
export interface ParamsLayer {
  /** tfjs class name of the layer, e.g. 'Dense'. */
  className: string;
  [weightName: string]: ParamsTensor | string;
}

/** The content of params.json. */
export interface ParamsFile {
  format: typeof PARAMS_FORMAT;
  version: number;
  exportedAt: string;
  /** Sum of all weight sizes, as `model.summary()` counts them. */
  totalParams: number;
  /** Layers with weights, in model order. */
  layers: Record<string, ParamsLayer>;
}

/** What `exportParams` wrote. */
export interface ExportParamsResult {
  /** The folder written. */
  dir: string;
  /** Every file written, JSON first. */
  files: string[];
  totalParams: number;
}

/** Options of `importParams`. */
export interface ImportParamsOptions {
  /** Read params.json (default), or the CSV files (to pick up edits made in a spreadsheet). */
  source?: 'json' | 'csv';
}

/** The shortest decimal that reads back as exactly this float32 (so files stay small and round-trip exactly). */
export function shortestFloat32(value: number): number {
  const target = Math.fround(value);
  if (!Number.isFinite(target) || target === 0) return target;
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(target.toPrecision(digits));
    if (Math.fround(candidate) === target) return candidate;
  }
  // Nine significant digits always identify a float32.
  return Number(target.toPrecision(9));
}

/** Weight name without the layer prefix and uniqueness suffix tfjs adds ('dense_Dense1/kernel' → 'kernel'). */
function shortWeightName(variable: tf.LayerVariable): string {
  const original = variable.originalName;
  return original.slice(original.lastIndexOf('/') + 1);
}

function weightedLayers(model: tf.LayersModel): tf.layers.Layer[] {
  return model.layers.filter((layer) => layer.weights.length > 0);
}

/** Safe file-name part for a layer name (tfjs names are already safe; user names may not be). */
function fileStem(layerName: string): string {
  return layerName.replace(/[^A-Za-z0-9_.-]/g, '_');
}

function nest(values: ArrayLike<number>, shape: readonly number[], offset = 0): NestedNumbers {
  if (shape.length === 0) return shortestFloat32(values[offset]);
  const [size, ...rest] = shape;
  const stride = rest.reduce((a, b) => a * b, 1);
  return Array.from({ length: size }, (_, i) => nest(values, rest, offset + i * stride));
}

function flattenNested(values: NestedNumbers, out: number[] = []): number[] {
  if (Array.isArray(values)) for (const value of values) flattenNested(value, out);
  else out.push(values);
  return out;
}

/** params.json text: structure indented, one line per kernel row, so it reads in any editor. */
function paramsJsonText(file: ParamsFile): string {
  const lines = ['{'];
  lines.push(`  "format": ${JSON.stringify(file.format)},`, `  "version": ${file.version},`);
  lines.push(`  "exportedAt": ${JSON.stringify(file.exportedAt)},`, `  "totalParams": ${file.totalParams},`, '  "layers": {');
  const layerEntries = Object.entries(file.layers);
  layerEntries.forEach(([layerName, layer], layerIndex) => {
    lines.push(`    ${JSON.stringify(layerName)}: {`, `      "className": ${JSON.stringify(layer.className)},`);
    const weights = Object.entries(layer).filter(([key]) => key !== 'className') as [string, ParamsTensor][];
    weights.forEach(([weightName, tensor], weightIndex) => {
      const comma = weightIndex < weights.length - 1 ? ',' : '';
      const head = `      ${JSON.stringify(weightName)}: { "shape": ${JSON.stringify(tensor.shape)}, "values": `;
      if (Array.isArray(tensor.values) && tensor.shape.length >= 2) {
        lines.push(head + '[');
        tensor.values.forEach((row, i) => lines.push(`        ${JSON.stringify(row)}${i < (tensor.values as NestedNumbers[]).length - 1 ? ',' : ''}`));
        lines.push(`      ] }${comma}`);
      } else {
        lines.push(`${head}${JSON.stringify(tensor.values)} }${comma}`);
      }
    });
    lines.push(`    }${layerIndex < layerEntries.length - 1 ? ',' : ''}`);
  });
  lines.push('  }', '}');
  return lines.join('\n') + '\n';
}

/** A weight tensor as CSV: wide for a kernel, `unit,bias` for a bias, long (indices then value) for other ranks. */
function tensorCsv(weightName: string, shape: readonly number[], values: ArrayLike<number>): string {
  const number = (i: number) => String(shortestFloat32(values[i]));
  if (shape.length === 2) {
    const [inputs, units] = shape;
    const lines = ['input,' + Array.from({ length: units }, (_, unit) => `unit_${unit}`).join(',')];
    for (let input = 0; input < inputs; input++) {
      const row = [String(input)];
      for (let unit = 0; unit < units; unit++) row.push(number(input * units + unit));
      lines.push(row.join(','));
    }
    return lines.join('\n') + '\n';
  }
  if (shape.length === 1) {
    const lines = [`unit,${weightName}`];
    for (let unit = 0; unit < shape[0]; unit++) lines.push(`${unit},${number(unit)}`);
    return lines.join('\n') + '\n';
  }
  const lines = [[...shape.map((_, axis) => `index_${axis}`), 'value'].join(',')];
  const total = shape.reduce((a, b) => a * b, 1);
  for (let flat = 0; flat < total; flat++) {
    const index: number[] = [];
    let rest = flat;
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      index.unshift(rest % shape[axis]);
      rest = Math.floor(rest / shape[axis]);
    }
    lines.push([...index, number(flat)].join(','));
  }
  return lines.join('\n') + '\n';
}

function readmeText(file: ParamsFile, csvFiles: readonly string[]): string {
  return [
    'Parameters of a mnist-lab model, exported by exportParams / `mnist-lab params export`.',
    '',
    `${PARAMS_JSON_FILE}: every layer with weights, in model order: layers.<layer>.<weight> = {shape, values};`,
    '  values nest like the shape, so kernel.values[input][unit] is the weight from input `input` to unit `unit`.',
    '  For the first Dense layer of an MNIST model, input = row * 28 + column of the pixel.',
    '',
    'One CSV file per weight tensor, for a spreadsheet:',
    '  <layer>.kernel.csv  header `input,unit_0,unit_1,...`; row i holds the weights from input i to every unit.',
    '  <layer>.bias.csv    header `unit,bias`; one row per unit.',
    '  (Tensors of other ranks are written long: index_0,index_1,...,value.)',
    '',
    'Numbers have the fewest digits that read back as the same float32, so importing gives the exact model back.',
    'importParams(model, dir) reads params.json; importParams(model, dir, { source: "csv" }) reads the CSV files,',
    'so a value changed in a spreadsheet and saved as CSV changes the model.',
    '',
    `Total parameters: ${file.totalParams}. Files:`,
    ...[PARAMS_JSON_FILE, ...csvFiles].map((name) => `  ${name}`),
    '',
  ].join('\n');
}

/** Write every layer's weights to `dir` as params.json, one CSV per tensor and a README.txt, each atomically. */
export async function exportParams(model: tf.LayersModel, dir: string): Promise<ExportParamsResult> {
  const file: ParamsFile = { format: PARAMS_FORMAT, version: PARAMS_VERSION, exportedAt: new Date().toISOString(), totalParams: 0, layers: {} };
  const csv: [string, string][] = [];
  for (const layer of weightedLayers(model)) {
    const entry: ParamsLayer = { className: layer.getClassName() };
    for (const variable of layer.weights) {
      const name = shortWeightName(variable);
      const values = variable.read().dataSync();
      entry[name] = { shape: variable.shape.slice() as number[], values: nest(values, variable.shape as number[]) };
      file.totalParams += values.length;
      csv.push([`${fileStem(layer.name)}.${fileStem(name)}.csv`, tensorCsv(name, variable.shape as number[], values)]);
    }
    file.layers[layer.name] = entry;
  }
  await fs.mkdir(dir, { recursive: true });
  await writeFileAtomic(path.join(dir, PARAMS_JSON_FILE), paramsJsonText(file));
  for (const [name, text] of csv) await writeFileAtomic(path.join(dir, name), text);
  await writeFileAtomic(path.join(dir, PARAMS_README_FILE), readmeText(file, csv.map(([name]) => name)));
  return { dir, files: [PARAMS_JSON_FILE, ...csv.map(([name]) => name), PARAMS_README_FILE].map((name) => path.join(dir, name)), totalParams: file.totalParams };
}

/** Read and check params.json. */
export async function readParamsFile(dir: string): Promise<ParamsFile> {
  const file = path.join(dir, PARAMS_JSON_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    throw new ParamsFormatError(file, `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ParamsFormatError(file, `is not valid JSON (${(error as Error).message})`);
  }
  const candidate = parsed as Partial<ParamsFile>;
  if (candidate.format !== PARAMS_FORMAT) throw new ParamsFormatError(file, `has format ${JSON.stringify(candidate.format)}, not "${PARAMS_FORMAT}"`);
  if (candidate.version !== PARAMS_VERSION) throw new ParamsFormatError(file, `has version ${candidate.version}; this mnist-lab reads version ${PARAMS_VERSION}`);
  if (typeof candidate.layers !== 'object' || candidate.layers === null) throw new ParamsFormatError(file, 'has no "layers" object');
  return candidate as ParamsFile;
}

/** Parse a CSV written by `tensorCsv` back into row-major values for `shape`. */
function parseTensorCsv(file: string, text: string, shape: readonly number[]): Float32Array {
  const rows = text.split(/\r?\n/).filter((line) => line.trim() !== '').slice(1).map((line) => line.split(','));
  const total = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(total);
  const cell = (value: string, row: number, column: number): number => {
    const parsed = Number(value);
    if (value.trim() === '' || !Number.isFinite(parsed)) throw new ParamsFormatError(file, `row ${row + 2}, column ${column + 1} holds '${value}', not a number`);
    return parsed;
  };
  if (shape.length === 2 || shape.length === 1) {
    const [count, width] = shape.length === 2 ? shape : [shape[0], 1];
    if (rows.length !== count) throw new ParamsFormatError(file, `has ${rows.length} data rows but the tensor has shape [${shape.join(', ')}] (expected ${count} rows)`);
    rows.forEach((cells, row) => {
      if (cells.length !== width + 1) throw new ParamsFormatError(file, `row ${row + 2} has ${cells.length} columns, expected ${width + 1} (an index, then ${width} value(s))`);
      for (let column = 0; column < width; column++) out[row * width + column] = cell(cells[column + 1], row, column + 1);
    });
    return out;
  }
  if (rows.length !== total) throw new ParamsFormatError(file, `has ${rows.length} data rows, expected ${total}`);
  rows.forEach((cells, row) => (out[row] = cell(cells[cells.length - 1], row, cells.length - 1)));
  return out;
}

/**
 * Load parameters written by `exportParams` into `model`. Layers are matched
 * by name, or by position when the names differ (tfjs numbers layer names
 * per process, so the same architecture built twice gets new names); every
 * shape must match.
 */
export async function importParams(model: tf.LayersModel, dir: string, options: ImportParamsOptions = {}): Promise<void> {
  const source = options.source ?? 'json';
  const file = await readParamsFile(dir);
  const fileLayers = Object.entries(file.layers);
  const modelLayers = weightedLayers(model);
  const byName = modelLayers.every((layer) => layer.name in file.layers);
  if (!byName && fileLayers.length !== modelLayers.length) {
    throw new ParamsMismatchError(
      modelLayers.map((layer) => layer.name).join(', '),
      `the model has ${modelLayers.length} layers with weights but ${path.join(dir, PARAMS_JSON_FILE)} has ${fileLayers.length} (${fileLayers.map(([name]) => name).join(', ')})`,
    );
  }
  // Read and check everything before touching the model, so a bad file leaves it unchanged.
  const updates: [tf.layers.Layer, Float32Array[]][] = [];
  for (let position = 0; position < modelLayers.length; position++) {
    const layer = modelLayers[position];
    const [fileLayerName, fileLayer] = byName ? [layer.name, file.layers[layer.name]] : fileLayers[position];
    const values: Float32Array[] = [];
    for (const variable of layer.weights) {
      const name = shortWeightName(variable);
      const tensor = fileLayer[name];
      if (typeof tensor !== 'object' || !Array.isArray(tensor.shape)) {
        throw new ParamsMismatchError(layer.name, `${PARAMS_JSON_FILE} has no '${name}' for it (it has: ${Object.keys(fileLayer).filter((key) => key !== 'className').join(', ') || 'nothing'})`, fileLayerName);
      }
      const expected = variable.shape as number[];
      if (tensor.shape.length !== expected.length || tensor.shape.some((size, axis) => size !== expected[axis])) {
        throw new ParamsMismatchError(layer.name, `${name} has shape [${tensor.shape.join(', ')}] in the file but the model expects [${expected.join(', ')}]`, fileLayerName);
      }
      if (source === 'csv') {
        const csvFile = path.join(dir, `${fileStem(fileLayerName)}.${fileStem(name)}.csv`);
        let text: string;
        try {
          text = await fs.readFile(csvFile, 'utf8');
        } catch (error) {
          throw new ParamsFormatError(csvFile, `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
        }
        values.push(parseTensorCsv(csvFile, text, expected));
      } else {
        const flat = flattenNested(tensor.values);
        const size = expected.reduce((a, b) => a * b, 1);
        if (flat.length !== size || flat.some((value) => typeof value !== 'number')) {
          throw new ParamsFormatError(path.join(dir, PARAMS_JSON_FILE), `layers.${fileLayerName}.${name}.values holds ${flat.length} numbers but its shape [${expected.join(', ')}] needs ${size}`);
        }
        values.push(Float32Array.from(flat));
      }
    }
    updates.push([layer, values]);
  }
  for (const [layer, values] of updates) {
    tf.tidy(() => layer.setWeights(values.map((data, i) => tf.tensor(data, layer.weights[i].shape as number[], 'float32'))));
  }
}
