/**
 * Number formatting shared by the HTML and text reports, so both print the same figures.
 * @module
 */

/** Milliseconds with precision that suits the magnitude: `0.042`, `4.21`, `42.1`, `421`. */
export function formatMs(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 0.1) return v.toFixed(2);
  return v.toFixed(3);
}

/** A ratio as a percentage: `83.3 %`. */
export function formatPercent(ratio: number, decimals = 1): string {
  return `${(ratio * 100).toFixed(decimals)} %`;
}

/** Seconds with one decimal: `12.3 s`. */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** A count with thousands separators: `12,345`. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A target in ms as people write it: `50`, `100`, `2.5`. */
export function formatTarget(v: number): string {
  return Number.isInteger(v) ? String(v) : formatMs(v);
}
