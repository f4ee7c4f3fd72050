/**
 * The one figure description every renderer reads. A figure is plain,
 * JSON-serialisable data: the builders in `figures.ts` turn images, histories
 * and matrices into it, and `svg.ts`, `html.ts`, `png.ts`, `terminal.ts`,
 * `notebook.ts` and `live.ts` draw it. Keeping the data apart from the
 * drawing is what lets one call work in a notebook, a script and a file.
 */

/** A grayscale or signed image as rows of numbers, with how to map them to colour. */
export interface ImageTile {
  /** Pixel values, `pixels[row][column]`. */
  pixels: number[][];
  /** Caption under the tile (e.g. "label 5"). */
  caption: string;
  /** Second caption line (e.g. "pred 3"), empty when there is none. */
  detail: string;
  /** How the tile is framed: mistakes are marked so the eye finds them. */
  mark: 'none' | 'correct' | 'wrong';
}

/** Figure 1: one image, each pixel a cell with its value written in it. */
export interface PixelGridFigure {
  kind: 'pixelGrid';
  title: string;
  /** Values as shown, `values[row][column]` (raw 0-255 or scaled 0-1). */
  values: number[][];
  /** Decimals used when writing the values (0 for raw bytes). */
  decimals: number;
  /** Value at which the text turns from white to black (seed 001: max / 2.5). */
  textThreshold: number;
  /** Value drawn as white; black is 0 (matplotlib `imshow(cmap='gray')` on the image's range). */
  maxValue: number;
  /** Write the numbers in the cells (false draws only the shades). */
  showValues: boolean;
}

/** Figures 2 and 6: tiles in a grid (digit gallery, first-layer weights). */
export interface ImageGridFigure {
  kind: 'imageGrid';
  title: string;
  /** One line under the title (e.g. "3 of 20 wrong"), empty when there is none. */
  subtitle: string;
  tiles: ImageTile[];
  /** Tiles per row. */
  columns: number;
  /** `gray`: low = black, high = white over [minValue, maxValue]; `diverging`: negative blue, zero white, positive red, symmetric around 0. */
  colorScale: 'gray' | 'diverging';
  minValue: number;
  maxValue: number;
}

/** One line of a line chart. */
export interface LineSeries {
  /** Legend entry, e.g. "S1-base train". */
  name: string;
  x: number[];
  y: number[];
  /** CSS colour; runs keep one colour, train vs validation differ by dash. */
  color: string;
  dash: 'solid' | 'dash';
}

/** A point worth pointing at, e.g. the epoch with the lowest val_loss. */
export interface ChartMarker {
  x: number;
  y: number;
  label: string;
  color: string;
}

/** The area between two curves, e.g. the train/validation gap. */
export interface ShadedGap {
  x: number[];
  lower: number[];
  upper: number[];
  color: string;
  label: string;
}

/** One panel (axes) of a line chart. */
export interface ChartPanel {
  title: string;
  yLabel: string;
  series: LineSeries[];
  markers: ChartMarker[];
  gaps: ShadedGap[];
}

/** Figure 3: training curves, one panel per metric, panels side by side. */
export interface LineChartFigure {
  kind: 'lineChart';
  title: string;
  xLabel: string;
  panels: ChartPanel[];
}

/** Figure 4: a matrix of counts as a heatmap, with a column of per-row numbers beside it. */
export interface HeatmapFigure {
  kind: 'heatmap';
  title: string;
  /** Row labels (true classes). */
  rowLabels: string[];
  /** Column labels (predicted classes). */
  columnLabels: string[];
  rowTitle: string;
  columnTitle: string;
  /** `values[row][column]`. */
  values: number[][];
  /** Heading and values of the side column (per-class accuracy), or null. */
  rowSummary: { title: string; values: number[]; format: 'percent' } | null;
}

/** One bar of a bar chart. */
export interface Bar {
  category: string;
  /** Bar height (mean over seeds). */
  value: number;
  /** Half-height of the error bar (standard deviation), 0 for none. */
  error: number;
  /** Reference value drawn as a marker (the seed tutorial's number), or null. */
  reference: number | null;
  /** Number of runs averaged, shown in the hover text. */
  count: number;
}

/** Figure 5: one bar per configuration, error bars, reference markers. */
export interface BarChartFigure {
  kind: 'barChart';
  title: string;
  yLabel: string;
  bars: Bar[];
  /** Axis range; bars of accuracies near 1 are unreadable from 0. */
  yRange: [number, number];
  /** Tick/hover format. */
  format: 'percent' | 'number';
  /** Legend entry of the bars (e.g. 'mean ± std over seeds'). */
  valueLabel: string;
  /** Legend entry of the reference markers; empty when there are none. */
  referenceLabel: string;
  /** What `Bar.count` counts, for the hover text: 'runs' (ablations), 'pixels' (a histogram). */
  countLabel: string;
}

/** Figure 7: a table (the model summary). */
export interface TableFigure {
  kind: 'table';
  title: string;
  columns: string[];
  /** Cells as text, `rows[row][column]`. */
  rows: string[][];
  /** Lines under the table (totals). */
  footer: string[];
}

/** One example and the network's probability for each class. */
export interface ProbabilityRow {
  /** The input image, `pixels[row][column]`, drawn gray on [0, maxPixel]. */
  pixels: number[][];
  /** Line under the image (e.g. "test #247"). */
  caption: string;
  /** One probability per class, summing to 1. */
  probabilities: number[];
  /** The true class when known (its bar is outlined), else null. */
  label: number | null;
  /** The class with the highest probability. */
  predicted: number;
}

/** Output probabilities as bars beside each image (one digit, or the most confident mistakes). */
export interface ProbabilitiesFigure {
  kind: 'probabilities';
  title: string;
  subtitle: string;
  rows: ProbabilityRow[];
  classNames: string[];
  /** Pixel value drawn as white. */
  maxPixel: number;
}

/** The output of one layer for one input. */
export interface LayerActivation {
  /** Layer name (`dense`, `dense_1`, ...). */
  name: string;
  /** `hidden`: cells shaded by activation; `output`: probability bars. */
  role: 'hidden' | 'output';
  /** Activation function of the layer (relu, softmax, ...). */
  activation: string;
  values: number[];
  /** Cells per row for hidden layers. */
  columns: number;
}

/** Figure: what every layer does with one digit, input to output. */
export interface ActivationsFigure {
  kind: 'activations';
  title: string;
  /** The input as the network gets it, `input[row][column]`, drawn gray on [0, maxPixel]. */
  input: number[][];
  maxPixel: number;
  layers: LayerActivation[];
  classNames: string[];
}

/** One vertical axis of a parallel-coordinates view. */
export interface ParallelAxis {
  label: string;
  /** One value per line; categorical factors are coded 0..k-1 with `categories` as tick labels. */
  values: number[];
  /** Tick labels of a categorical axis (values index into it), or null for numbers. */
  categories: string[] | null;
  format: 'number' | 'percent';
}

/** Figure: an ablation grid at a glance, one line per run across factor and result axes (TensorBoard HParams). */
export interface ParallelCoordinatesFigure {
  kind: 'parallelCoordinates';
  title: string;
  axes: ParallelAxis[];
  /** Name of each line (the run), for hover text. */
  lineNames: string[];
  /** Index of the axis whose value colours the lines (e.g. test accuracy). */
  colorAxis: number;
}

/** Every figure mnist-lab can draw. */
export type Figure =
  | PixelGridFigure
  | ImageGridFigure
  | LineChartFigure
  | HeatmapFigure
  | BarChartFigure
  | TableFigure
  | ProbabilitiesFigure
  | ActivationsFigure
  | ParallelCoordinatesFigure;
export type FigureKind = Figure['kind'];

/** Figures drawn as interactive plotly charts where scripts run (others are static SVG everywhere). */
export function isChart(figure: Figure): figure is LineChartFigure | HeatmapFigure | BarChartFigure {
  return figure.kind === 'lineChart' || figure.kind === 'heatmap' || figure.kind === 'barChart';
}

/** Colours for runs on one chart (matplotlib's tab10, familiar to Keras users). */
export const RUN_COLORS: readonly string[] = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

/** Natural size of a figure in CSS pixels, used when no size is asked for. */
export function naturalSize(figure: Figure): { width: number; height: number } {
  switch (figure.kind) {
    case 'pixelGrid':
      return { width: figure.values[0].length * PIXEL_CELL + 2 * MARGIN, height: figure.values.length * PIXEL_CELL + TITLE_HEIGHT + MARGIN };
    case 'imageGrid': {
      const rows = Math.ceil(figure.tiles.length / figure.columns);
      const tile = tileSize(figure);
      // Wide enough for the title and subtitle (about 9.5 and 6.8 px a character) when the grid is narrow.
      const textWidth = Math.max(figure.title.length * 9.5, figure.subtitle.length * 6.8);
      return { width: Math.ceil(Math.max(figure.columns * tile.width, textWidth) + 2 * MARGIN), height: rows * tile.height + TITLE_HEIGHT + (figure.subtitle ? SUBTITLE_HEIGHT : 0) + MARGIN };
    }
    case 'lineChart':
      return { width: Math.max(1, figure.panels.length) * 480 + 40, height: 400 };
    case 'heatmap':
      return { width: 40 * figure.columnLabels.length + 260, height: 40 * figure.rowLabels.length + 100 };
    case 'barChart':
      return { width: Math.max(480, 70 * figure.bars.length + 160), height: 420 };
    case 'table':
      return { width: 640, height: 28 * (figure.rows.length + figure.footer.length + 1) + 70 };
    case 'probabilities':
      return { width: Math.max(600, 2 * MARGIN + PROBABILITY_ROW.image + PROBABILITY_ROW.gap + figure.classNames.length * PROBABILITY_ROW.bar), height: TITLE_HEIGHT + SUBTITLE_HEIGHT + figure.rows.length * PROBABILITY_ROW.height + MARGIN };
    case 'activations': {
      const hidden = figure.layers.filter((layer) => layer.role === 'hidden');
      const hiddenHeight = hidden.reduce((sum, layer) => sum + Math.ceil(layer.values.length / layer.columns) * ACTIVATION_CELL + 34, 0);
      const widest = Math.max(0, ...hidden.map((layer) => layer.columns * ACTIVATION_CELL));
      return { width: 2 * MARGIN + 28 * 5 + 30 + Math.max(widest, 10 * PROBABILITY_ROW.bar), height: TITLE_HEIGHT + Math.max(28 * 5 + 30, hiddenHeight + 160) + MARGIN };
    }
    case 'parallelCoordinates':
      return { width: Math.max(560, 150 * figure.axes.length + 80), height: 460 };
  }
}

/** Layout of a probabilities row: image side, gap, width per class bar, row height. */
export const PROBABILITY_ROW = { image: 84, gap: 24, bar: 34, height: 118 } as const;
/** Side of one unit's cell in an activations figure. */
export const ACTIVATION_CELL = 12;

/** Layout constants shared by the SVG renderer and `naturalSize`. */
export const PIXEL_CELL = 28;
export const MARGIN = 16;
export const TITLE_HEIGHT = 40;
export const SUBTITLE_HEIGHT = 20;

/** Size of one tile of an image grid, caption included. */
export function tileSize(figure: ImageGridFigure): { width: number; height: number; scale: number } {
  const first = figure.tiles[0]?.pixels ?? [[0]];
  const imageWidth = first[0]?.length ?? 1;
  // Digits are drawn at a few screen pixels per image pixel so galleries stay slide-sized.
  const scale = Math.max(2, Math.round(84 / imageWidth));
  const hasDetail = figure.tiles.some((tile) => tile.detail !== '');
  return { width: imageWidth * scale + 12, height: first.length * scale + (hasDetail ? 40 : 24), scale };
}
