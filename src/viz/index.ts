/**
 * Visualisation: one figure description (`figure.ts`), built from the lab's
 * data (`figures.ts`), drawn by several renderers: notebook, HTML, SVG, PNG,
 * terminal, and a live browser chart for scripts.
 */
export * from './figure';
export * from './figures';
export { TABLE_MARKER, makeTable, tableToText, tableToHtml, showTable, type TableRow, type NamedTable } from './table';
export { renderSvg, niceTicks, svgSize } from './svg';
export { toPlotly, plotlyPath, type PlotlySpec, type PlotlyObject } from './plotly';
export { renderHtml, figureFragment, DEFAULT_HTML, type HtmlOptions } from './html';
export { renderTerminal, renderProbabilitiesTerminal, defaultTerminalOptions, visibleLength, type TerminalOptions } from './terminal';
export { renderPng, openBrowser, findChromium, screenshotHtmlFigure, BrowserNotFoundError, CHROMIUM_PATHS, CHROMIUM_ARGS, DEFAULT_PNG, type PngOptions, type BrowserSession } from './png';
export { saveFigure, figureBytes, formatOf, FIGURE_FORMATS, DEFAULT_SAVE_FIGURE, type FigureFormat, type SaveFigureOptions } from './save';
export { show, notebookHtml, notebookBundle, PLOTLY_MIME, DEFAULT_SHOW, type ShowOptions, type NotebookDisplay, type MimeBundle } from './notebook';
export {
  createLivePlot,
  plotInBrowser,
  serveLivePlots,
  detectDisplay,
  offlineIndexHtml,
  defaultLivePlotOptions,
  type LivePlot,
  type LivePlotOptions,
  type LivePlotResult,
  type LivePlotData,
  type LivePlotServer,
  type LiveEpochLogs,
  type DisplayCheck,
} from './live';
export { convFilters, featureMaps, DEFAULT_CONV_FILTERS, DEFAULT_FEATURE_MAPS, type ConvFiltersOptions, type FeatureMapsOptions } from './conv-figures';
export { weightsOverEpochs, DEFAULT_WEIGHTS_OVER_EPOCHS, type WeightsOverEpochsOptions } from './inside';
