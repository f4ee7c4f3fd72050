/**
 * Results tables in notebooks: an HTML table in JupyterLab (with the exact
 * numbers embedded, which `npm run export` writes as Markdown, CSV and
 * JSON), aligned text in a terminal.
 */
import { ConfigError } from '../errors';
import { escapeHtml } from '../util/format';
import { tslabKernel } from '../util/tslab';

/** Marker class of the HTML that {@link showTable} emits; the exporter looks for it. */
export const TABLE_MARKER = 'mnist-lab-table';

/** A results table: one object per row, same keys in every row. */
export type TableRow = Record<string, string | number | boolean | null>;

/** A named table as the exporter stores it. */
export interface NamedTable {
  /** File-name-safe name, unique within a notebook (e.g. 'ablation-results'). */
  name: string;
  /** Column order. */
  columns: string[];
  rows: TableRow[];
}

const TABLE_NAME = /^[a-z0-9][a-z0-9-]*$/;

/** Build a {@link NamedTable}; columns default to the keys of the first row. */
export function makeTable(name: string, rows: readonly TableRow[], columns?: readonly string[]): NamedTable {
  if (!TABLE_NAME.test(name)) {
    throw new ConfigError('table name', `'${name}' cannot be a file name`, 'lower-case letters, digits and dashes, e.g. "ablation-results"');
  }
  // Without explicit columns, a column nobody has a value for (a single run's spread, a reference
  // that does not apply) is left out rather than shown empty.
  const isEmpty = (value: TableRow[string] | undefined) => value === null || value === undefined || value === '';
  const order = columns ? [...columns] : Object.keys(rows[0] ?? {}).filter((column) => rows.length === 0 || rows.some((row) => !isEmpty(row[column])));
  return { name, columns: order, rows: rows.map((row) => ({ ...row })) };
}

function cellText(value: TableRow[string] | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toFixed(4);
  return String(value);
}

/** The table as plain text (aligned columns), for consoles and text outputs. */
export function tableToText(table: NamedTable): string {
  const cells = [table.columns, ...table.rows.map((row) => table.columns.map((column) => cellText(row[column])))];
  const widths = table.columns.map((_, index) => Math.max(...cells.map((line) => line[index].length)));
  return cells.map((line) => line.map((cell, index) => cell.padEnd(widths[index])).join('  ').trimEnd()).join('\n');
}

/**
 * The table as HTML, with the data embedded as JSON so `npm run export` can
 * write exact numbers (the HTML shows rounded ones).
 */
export function tableToHtml(table: NamedTable): string {
  const head = table.columns.map((column) => `<th>${escapeHtml(column)}</th>`).join('');
  const body = table.rows
    .map((row) => `<tr>${table.columns.map((column) => `<td>${escapeHtml(cellText(row[column]))}</td>`).join('')}</tr>`)
    .join('\n');
  // `<` is escaped so no value can close the script element early.
  const json = JSON.stringify(table).replace(/</g, '\\u003c');
  return (
    `<div class="${TABLE_MARKER}" data-name="${escapeHtml(table.name)}">` +
    `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>` +
    `<script type="application/json" class="${TABLE_MARKER}-data">${json}</script></div>`
  );
}

/**
 * Show a results table: an HTML table in a notebook (which the exporter
 * collects), aligned text elsewhere. Returns nothing, so tslab does not echo
 * the rows a second time.
 */
export function showTable(name: string, rows: readonly TableRow[], columns?: readonly string[]): void {
  const table = makeTable(name, rows, columns);
  const kernel = tslabKernel();
  if (kernel !== undefined) kernel.display.html(tableToHtml(table));
  else console.log(tableToText(table));
}
