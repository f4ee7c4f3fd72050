/**
 * Keras's `model.summary()` table, as a string (for notebooks and `--json`
 * free output) or printed.
 */
import type { tf } from '../backend';
import { formatKerasShape } from '../util/format';

/** One row of the summary table. */
export interface SummaryRow {
  /** Keras style: `dense_1 (Dense)`. */
  layer: string;
  /** Keras style: `(None, 512)`. */
  outputShape: string;
  params: number;
}

export interface ModelSummary {
  name: string;
  rows: SummaryRow[];
  totalParams: number;
  trainableParams: number;
  nonTrainableParams: number;
}

function formatShape(shape: tf.Shape | tf.Shape[]): string {
  return Array.isArray(shape[0]) ? (shape as tf.Shape[]).map(formatKerasShape).join(', ') : formatKerasShape(shape as tf.Shape);
}

const countWeights = (weights: tf.LayerVariable[]): number => weights.reduce((sum, weight) => sum + weight.shape.reduce((product: number, dim) => product * (dim ?? 1), 1), 0);

/** The numbers behind the table. */
export function summarizeModel(model: tf.LayersModel): ModelSummary {
  const rows = model.layers.map((layer) => ({
    layer: `${layer.name} (${layer.getClassName()})`,
    outputShape: formatShape(layer.outputShape),
    params: layer.countParams(),
  }));
  const trainableParams = countWeights(model.trainableWeights);
  const nonTrainableParams = countWeights(model.nonTrainableWeights);
  return { name: model.name, rows, totalParams: trainableParams + nonTrainableParams, trainableParams, nonTrainableParams };
}

/** `1234567` as `1,234,567`, Keras's way of printing counts. */
export function formatCount(count: number): string {
  return count.toLocaleString('en-US');
}

/** Keras-style table: Layer (type), Output Shape, Param #, then totals. */
export function summary(model: tf.LayersModel): string {
  const info = summarizeModel(model);
  const headers = ['Layer (type)', 'Output Shape', 'Param #'];
  const cells = info.rows.map((row) => [row.layer, row.outputShape, formatCount(row.params)]);
  const widths = headers.map((header, column) => Math.max(header.length, ...cells.map((cell) => cell[column].length)) + 4);
  const line = (values: string[]): string => values.map((value, column) => value.padEnd(widths[column])).join('').trimEnd();
  const total = widths.reduce((sum, width) => sum + width, 0);
  const rule = (char: string): string => char.repeat(total);
  return [
    `Model: "${info.name}"`,
    rule('_'),
    line(headers),
    rule('='),
    ...cells.flatMap((cell, index) => [line(cell), index < cells.length - 1 ? rule('_') : rule('=')]),
    `Total params: ${formatCount(info.totalParams)}`,
    `Trainable params: ${formatCount(info.trainableParams)}`,
    `Non-trainable params: ${formatCount(info.nonTrainableParams)}`,
    rule('_'),
  ].join('\n');
}

/** Print {@link summary} (Keras's `model.summary()`). */
export function printSummary(model: tf.LayersModel, print: (line: string) => void = console.log): void {
  print(summary(model));
}
