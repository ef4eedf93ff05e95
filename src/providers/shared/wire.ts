/**
 * Reading numbers from provider wire frames. `JSON.parse` turns `1e999` into `Infinity`, so
 * `typeof x === 'number'` is not enough: a non-finite timestamp or confidence would reach the
 * caller's events and the monitor's histograms (NaN latencies).
 * @module
 */

/** `value` when it is a finite number, else `undefined` (the field is treated as absent). */
export function finiteNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
