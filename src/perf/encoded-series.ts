/**
 * Series encoded for transport (fleet metrics, files): the wire shape, and the validation that
 * runs on every entry before `mergeEncoded` touches a monitor, so a bad entry changes nothing.
 * @module
 */
import { InvalidArgumentError } from '../errors.js';
import { LatencyHistogram, MAX_DURATION_MS } from './histogram.js';
import { type NormalizedLabels, seriesKey, validateOperationName } from './labels.js';
import type { SeriesSnapshot } from './types.js';

/** A series encoded for transport (fleet metrics, files). */
export interface EncodedSeries {
  name: string;
  labels: NormalizedLabels;
  count: number;
  sumMs: number;
  /** {@link LatencyHistogram.encode} output. */
  histogram: string;
}

/** @internal snapshots as {@link PerformanceMonitor.exportEncoded} hands them out. */
export function encodeSnapshots(snapshots: readonly SeriesSnapshot[]): EncodedSeries[] {
  return snapshots.map((s) => ({
    name: s.name,
    labels: s.labels,
    count: s.count,
    sumMs: s.sumMs,
    histogram: s.histogram.encode(),
  }));
}

/**
 * @internal checks and decodes every entry given to {@link PerformanceMonitor.mergeEncoded};
 * throws `InvalidArgumentError` naming the first bad one.
 */
export function decodeEncodedSeries(
  series: readonly EncodedSeries[],
): Array<{ e: EncodedSeries; hist: LatencyHistogram }> {
  if (!Array.isArray(series)) throw new InvalidArgumentError('mergeEncoded expects an array of series.');
  return series.map((e, i) => {
    const where = `mergeEncoded: series ${i}`;
    if (e === null || typeof e !== 'object') throw new InvalidArgumentError(`${where} is not an object.`);
    validateOperationName(e.name);
    if (e.labels === null || typeof e.labels !== 'object' || Array.isArray(e.labels)) {
      throw new InvalidArgumentError(`${where} ("${e.name}"): labels must be an object.`);
    }
    seriesKey(e.name, e.labels); // validates label names and values
    const hist = LatencyHistogram.decode(e.histogram);
    if (!Number.isSafeInteger(e.count) || e.count < 0 || e.count !== hist.count) {
      throw new InvalidArgumentError(
        `${where} ("${e.name}"): count must be a non-negative integer equal to the histogram's ${hist.count} samples, got ${e.count}.`,
      );
    }
    if (typeof e.sumMs !== 'number' || !(e.sumMs >= 0 && e.sumMs <= e.count * MAX_DURATION_MS)) {
      throw new InvalidArgumentError(
        `${where} ("${e.name}"): sumMs must be a finite number from 0 to count × ${MAX_DURATION_MS} ms, got ${e.sumMs}.`,
      );
    }
    return { e, hist };
  });
}
