/**
 * Scales and ticks for the report charts: a linear scale with "nice" 1-2-5 ticks, and the
 * percentile axis of HdrHistogram plots, where each step right is ten times rarer
 * (50 %, 90 %, 99 %, 99.9 %...), so the tail gets as much room as the median.
 * @module
 */

/** Maps a data value to a pixel coordinate. */
export interface Scale {
  (value: number): number;
  readonly domain: readonly [number, number];
  readonly range: readonly [number, number];
}

/** A linear scale. A zero-width domain maps everything to the middle of the range. */
export function linearScale(domain: readonly [number, number], range: readonly [number, number]): Scale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0;
  const f = ((v: number) => (span === 0 ? (r0 + r1) / 2 : r0 + ((v - d0) / span) * (r1 - r0))) as Scale;
  Object.defineProperty(f, 'domain', { value: [d0, d1] as const });
  Object.defineProperty(f, 'range', { value: [r0, r1] as const });
  return f;
}

/** The 1-2-5 step closest to `rough` on a log scale (the thresholds are √2, √10, √50). */
export function niceStep(rough: number): number {
  if (!(rough > 0) || !Number.isFinite(rough)) return 1;
  const mag = 10 ** Math.floor(Math.log10(rough));
  const norm = rough / mag;
  const m = norm >= Math.SQRT2 * 5 ? 10 : norm >= Math.sqrt(10) ? 5 : norm >= Math.SQRT2 ? 2 : 1;
  return m * mag;
}

/**
 * Evenly spaced round ticks (steps of 1, 2 or 5 × 10^k) whose first tick is ≤ `min` and last
 * tick ≥ `max`: about `count` intervals. Use the first and last tick as the axis domain.
 *
 * @example
 * ```ts
 * niceTicks(0, 87, 4); // [0, 20, 40, 60, 80, 100]
 * ```
 */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  let lo = Math.min(min, max);
  let hi = Math.max(min, max);
  if (hi === lo) {
    if (lo === 0) return [0, 1];
    const pad = Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const step = niceStep((hi - lo) / Math.max(1, count));
  const first = Math.floor(lo / step + 1e-9) * step;
  const out: number[] = [];
  // Round to the step's decimals so 0.1 + 0.2 prints as 0.3.
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  for (let v = first; ; v += step) {
    const r = Number(v.toFixed(decimals));
    out.push(Object.is(r, -0) ? 0 : r);
    if (r >= hi - 1e-9 * step || out.length > 1000) break;
  }
  return out.length >= 2 ? out : [out[0] ?? 0, (out[0] ?? 0) + step];
}

/** Highest percentile the percentile axis shows: 99.999 (five nines). */
export const MAX_AXIS_PERCENTILE = 99.999;

/**
 * Position of percentile `p` (0–100) on the percentile axis: `-log10(1 - p/100)`, i.e. 0 at
 * P0, 1 at P90, 2 at P99, 3 at P99.9. Values beyond {@link MAX_AXIS_PERCENTILE} are clamped.
 */
export function percentileToAxis(p: number): number {
  const clamped = Math.min(Math.max(p, 0), MAX_AXIS_PERCENTILE);
  return Math.max(0, -Math.log10(1 - clamped / 100));
}

/** Percentile tick marks up to `maxAxis` (axis units): P50, P90, P99, P99.9... */
export function percentileTicks(maxAxis: number): { value: number; label: string }[] {
  // P0 sits too close to P50 (0.3 units) for both labels to fit: P50 speaks for the body.
  const ticks = [{ value: percentileToAxis(50), label: 'P50' }];
  const nines = ['P90', 'P99', 'P99.9', 'P99.99', 'P99.999'];
  for (let k = 1; k <= 5 && k <= maxAxis + 1e-9; k++) ticks.push({ value: k, label: nines[k - 1]! });
  return ticks;
}

/**
 * Compact human numbers for tick labels: `0.25`, `12`, `1.5k`, `2M`.
 */
export function formatTick(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${trim(v / 1e6)}M`;
  if (a >= 1e4) return `${trim(v / 1e3)}k`;
  if (a >= 100 || a === 0) return String(Math.round(v));
  return trim(v);
}

function trim(v: number): string {
  return String(Number(v.toPrecision(3)));
}
