/**
 * Helpers over a chart's data points: extents without spreading, point thinning for long
 * series, and the smallest gap between x values (bar width).
 * @module
 */

/** Smallest and largest of `values` (a loop: spreading a long array into Math.min overflows the stack). */
export function extent(values: Iterable<number>, empty: [number, number] = [0, 1]): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : empty;
}

/** Series longer than this are thinned before drawing (a chart is ~1000 px wide). */
const MAX_DRAWN_POINTS = 2000;

/**
 * Thins a long series to at most about `max` points for drawing: the points are cut into
 * `max / 2` runs and each run keeps its lowest and highest point (in x order), so spikes stay
 * visible. Shorter series are returned as they are.
 */
export function thinPoints(
  points: readonly (readonly [number, number])[],
  max = MAX_DRAWN_POINTS,
): readonly (readonly [number, number])[] {
  if (points.length <= max) return points;
  const runs = Math.max(1, Math.floor(max / 2));
  const size = points.length / runs;
  const out: (readonly [number, number])[] = [];
  for (let r = 0; r < runs; r++) {
    const from = Math.floor(r * size);
    const to = Math.min(points.length, Math.floor((r + 1) * size));
    let lo = -1;
    let hi = -1;
    for (let i = from; i < to; i++) {
      const v = points[i]![1];
      if (!Number.isFinite(v)) continue;
      if (lo < 0 || v < points[lo]![1]) lo = i;
      if (hi < 0 || v > points[hi]![1]) hi = i;
    }
    if (lo < 0) continue;
    if (lo === hi) out.push(points[lo]!);
    else if (lo < hi) out.push(points[lo]!, points[hi]!);
    else out.push(points[hi]!, points[lo]!);
  }
  return out;
}
/** Smallest gap between distinct `values` (1 when there are fewer than two). */
export function minGap(values: number[]): number {
  const v = [...new Set(values)].sort((a, b) => a - b);
  let g = Number.POSITIVE_INFINITY;
  for (let i = 1; i < v.length; i++) g = Math.min(g, v[i]! - v[i - 1]!);
  return Number.isFinite(g) ? g : 1;
}
