/**
 * What a convolutional network looks at: its first Conv2D layer's filters
 * as small images, and the feature maps one digit produces in a Conv2D or
 * MaxPooling2D layer. The CNN counterparts of `firstLayerWeights` (an MLP's
 * first Dense kernel folded back to 28x28).
 */
import { tf } from '../backend';
import { ConfigError } from '../errors';
import type { ImageGridFigure, ImageTile } from './figure';
import { imageRows, type ImageSource } from './figures';

/** Options of {@link convFilters}. */
export interface ConvFiltersOptions {
  /** How many filters to show (the first ones). */
  filters: number;
  /** Tiles per row. */
  columns: number;
  title: string;
}

/** Defaults of {@link convFilters}. */
export const DEFAULT_CONV_FILTERS: ConvFiltersOptions = { filters: 32, columns: 8, title: 'First-layer filters: the 3x3 patterns each Conv2D filter looks for' };

function firstConvLayer(model: tf.LayersModel, layerName?: string): tf.layers.Layer {
  const convs = model.layers.filter((layer) => layer.getClassName() === 'Conv2D');
  const layer = layerName === undefined ? convs[0] : model.layers.find((candidate) => candidate.name === layerName);
  if (layer === undefined) {
    throw new ConfigError('model', layerName === undefined ? 'has no Conv2D layer' : `has no layer '${layerName}'`, layerName === undefined ? 'a model from createCnn()' : model.layers.map((candidate) => candidate.name).join(', '));
  }
  return layer;
}

/**
 * The first Conv2D layer's filters, one tile each (kernel height x width;
 * the input channels summed for a colour input). Red = positive weight,
 * blue = negative, on one symmetric scale for every tile.
 */
export function convFilters(model: tf.LayersModel, options: Partial<ConvFiltersOptions> = {}): ImageGridFigure {
  const settings = { ...DEFAULT_CONV_FILTERS, ...options };
  const layer = firstConvLayer(model);
  const kernel = layer.getWeights()[0];
  const [height, width, channels, count] = kernel.shape as [number, number, number, number];
  const data = kernel.dataSync();
  const shown = Math.min(settings.filters, count);
  let limit = 0;
  const tiles: ImageTile[] = Array.from({ length: shown }, (_, filter) => ({
    pixels: Array.from({ length: height }, (_, row) =>
      Array.from({ length: width }, (_, column) => {
        let value = 0;
        for (let channel = 0; channel < channels; channel++) value += data[((row * width + column) * channels + channel) * count + filter];
        limit = Math.max(limit, Math.abs(value));
        return value;
      }),
    ),
    caption: `filter ${filter}`,
    detail: '',
    mark: 'none',
  }));
  return {
    kind: 'imageGrid',
    title: settings.title,
    subtitle: `${layer.name}: first ${shown} of ${count} filters, ${height}x${width}; red = positive weight, blue = negative`,
    tiles,
    columns: Math.min(settings.columns, shown),
    colorScale: 'diverging',
    minValue: -(limit || 1),
    maxValue: limit || 1,
  };
}

/** Options of {@link featureMaps}. */
export interface FeatureMapsOptions {
  /** Layer whose output to show (a Conv2D or MaxPooling2D layer name); default the first Conv2D layer. */
  layer?: string;
  /** Which image of an `[N, rows, columns]` stack. */
  index: number;
  /** How many channels to show (the first ones). */
  maps: number;
  columns: number;
  title: string;
}

/** Defaults of {@link featureMaps}. */
export const DEFAULT_FEATURE_MAPS: FeatureMapsOptions = { index: 0, maps: 32, columns: 8, title: 'Feature maps: where each filter fires on this digit' };

/**
 * The feature maps one image produces in a layer of a convolutional
 * network: one tile per channel of the layer's output (after its
 * activation), bright where the filter found its pattern. `image` is one
 * scaled image (28x28, as the model was trained on) in any form `pixelGrid` takes.
 */
export function featureMaps(model: tf.LayersModel, image: ImageSource, options: Partial<FeatureMapsOptions> = {}): ImageGridFigure {
  const settings = { ...DEFAULT_FEATURE_MAPS, ...options };
  const layer = firstConvLayer(model, settings.layer);
  const outputShape = layer.outputShape as (number | null)[];
  if (outputShape.length !== 4) throw new ConfigError('layer', `${layer.name} gives shape (${outputShape.map((size) => (size === null ? 'None' : String(size))).join(', ')}), not a stack of 2-D maps`, 'a Conv2D or MaxPooling2D layer');
  const [, height, width, channels] = outputShape as number[];
  const inputShape = model.inputs[0].shape.slice(1) as number[];
  const rows = imageRows(image, settings.index);
  const values = tf.tidy(() => {
    // A model that stops at `layer`: the same weights, no copy.
    const probe = tf.model({ inputs: model.inputs, outputs: layer.output as tf.SymbolicTensor });
    const input = tf.tensor(rows.flat(), [1, ...inputShape]);
    const output = probe.predict(input) as tf.Tensor;
    return output.dataSync();
  });
  const shown = Math.min(settings.maps, channels);
  let low = Infinity;
  let high = -Infinity;
  for (let i = 0; i < values.length; i++) {
    low = Math.min(low, values[i]);
    high = Math.max(high, values[i]);
  }
  const tiles: ImageTile[] = Array.from({ length: shown }, (_, channel) => ({
    pixels: Array.from({ length: height }, (_, row) => Array.from({ length: width }, (_, column) => values[(row * width + column) * channels + channel])),
    caption: `map ${channel}`,
    detail: '',
    mark: 'none',
  }));
  return {
    kind: 'imageGrid',
    title: settings.title,
    subtitle: `${layer.name} (${layer.getClassName()}): first ${shown} of ${channels} maps, ${height}x${width}; brighter = stronger response`,
    tiles,
    columns: Math.min(settings.columns, shown),
    colorScale: 'gray',
    minValue: Math.min(low, 0),
    maxValue: high > low ? high : low + 1,
  };
}
