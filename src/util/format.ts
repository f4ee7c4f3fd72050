/**
 * How the lab writes numbers and text for people: percentages, durations,
 * Keras-style metrics, and text made safe for HTML. Every report, progress
 * line and table formats through here, so the same number reads the same
 * everywhere.
 */

/** Text made safe inside HTML or XML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ENTITIES[char]);
}

const HTML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export interface PercentOptions {
  /** Decimals after the point. */
  digits: number;
  /** Appended to the number ('' in tables whose header already says %). */
  unit: string;
  /** Shown for NaN or infinite values (e.g. a class with no examples). */
  missing: string;
}

export const DEFAULT_PERCENT: PercentOptions = { digits: 2, unit: '%', missing: '-' };

/** A fraction as a percentage: `percent(0.97224)` is `'97.22%'`. */
export function percent(fraction: number | null | undefined, options: Partial<PercentOptions> = {}): string {
  const { digits, unit, missing } = { ...DEFAULT_PERCENT, ...options };
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return missing;
  return `${(fraction * 100).toFixed(digits)}${unit}`;
}

/** Seconds as Keras's progress bar writes them: `42s`, `3:05`, `1:02:03`. */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.round(seconds));
  const twoDigits = (value: number) => String(value).padStart(2, '0');
  if (total >= 3600) return `${Math.floor(total / 3600)}:${twoDigits(Math.floor((total % 3600) / 60))}:${twoDigits(total % 60)}`;
  if (total >= 60) return `${Math.floor(total / 60)}:${twoDigits(total % 60)}`;
  return `${total}s`;
}

/** A metric as Keras prints it: four decimals, exponent notation for tiny values. */
export function formatMetric(value: number): string {
  return value !== 0 && Math.abs(value) < 1e-3 ? value.toExponential(4) : value.toFixed(4);
}

/** A shape as Python prints a list: `[60000, 28, 28]`. */
export function formatShape(shape: readonly (number | null)[]): string {
  return `[${shape.map((size) => (size === null ? 'None' : String(size))).join(', ')}]`;
}

/** A layer's shape as Keras's `summary()` prints it: `(None, 512)`, `(None,)`. */
export function formatKerasShape(shape: readonly (number | null)[]): string {
  return `(${shape.map((size) => (size === null ? 'None' : String(size))).join(', ')}${shape.length === 1 ? ',' : ''})`;
}
