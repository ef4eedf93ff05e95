import { LatencyHistogram, type SparseCounts } from './histogram.js';
import type { NormalizedLabels } from './labels.js';

/** Outcome label values that count as errors. */
const ERROR_OUTCOMES: ReadonlySet<string> = new Set(['error', 'timeout']);

interface Slice {
  start: number;
  buckets: SparseCounts;
  count: number;
  sumMs: number;
}

/**
 * One (operation, labels) series. Records go into a dense 32-bit "current" slice; when the
 * slice's time is up it is added into the 64-bit all-time histogram and kept as sparse buckets
 * (a few KB) in a ring for the rolling window. Recording therefore touches one dense histogram
 * only, and reading merges dense and sparse data, both fast.
 * @internal
 */
export class Series {
  readonly isError: boolean;
  count = 0;
  sumMs = 0;
  private current: LatencyHistogram;
  private currentStart: number;
  private currentCount = 0;
  private currentSumMs = 0;
  private readonly total: LatencyHistogram;
  private readonly ring: Slice[] = [];

  constructor(
    readonly name: string,
    readonly labels: NormalizedLabels,
    readonly key: string,
    private readonly sliceMs: number,
    private readonly slices: number,
    digits: number,
    now: number,
    /** True for the `{overflow="true"}` series that collects what `maxSeries` refused. */
    readonly overflowed = false,
  ) {
    this.isError = labels.outcome !== undefined && ERROR_OUTCOMES.has(labels.outcome);
    this.current = new LatencyHistogram({ significantDigits: digits, storage: 'dense' });
    this.total = new LatencyHistogram({ significantDigits: digits, storage: 'wide' });
    this.currentStart = now - (now % sliceMs);
  }

  record(ms: number, now: number): void {
    if (now >= this.currentStart + this.sliceMs) this.rotate(now);
    this.current.recordMs(ms);
    this.currentCount++;
    this.currentSumMs += ms;
    this.count++;
    this.sumMs += ms;
  }

  /**
   * Adds samples decoded from elsewhere (fleet, files) into the all-time histogram only: their
   * time is unknown, so they never enter the rolling window.
   */
  mergeHistogram(hist: LatencyHistogram, count: number, sumMs: number): void {
    this.total.add(hist);
    this.count += count;
    this.sumMs += sumMs;
  }

  private rotate(now: number): void {
    if (this.currentCount > 0) {
      this.total.add(this.current);
      if (this.ring.length >= this.slices) this.ring.shift();
      this.ring.push({
        start: this.currentStart,
        buckets: this.current.toSparse(),
        count: this.currentCount,
        sumMs: this.currentSumMs,
      });
      this.current.reset();
    }
    this.currentStart = now - (now % this.sliceMs);
    this.currentCount = 0;
    this.currentSumMs = 0;
  }

  /** Closed slices kept for the rolling window (at most `slices`). */
  get keptSlices(): number {
    return this.ring.length;
  }

  /** Samples that {@link addTo} would add with the same arguments, without adding them. */
  countIn(now: number, windowMs?: number): number {
    if (windowMs === undefined) return this.count;
    const from = now - windowMs;
    let count = 0;
    for (const s of this.ring) if (s.start + this.sliceMs > from) count += s.count;
    if (this.currentStart + this.sliceMs > from) count += this.currentCount;
    return count;
  }

  /**
   * Adds this series' samples into `into`. With `windowMs`, only slices that end after
   * `now - windowMs` (slice resolution). Returns the count and sum that were added.
   */
  addTo(into: LatencyHistogram, now: number, windowMs?: number): { count: number; sumMs: number } {
    if (windowMs === undefined) {
      into.add(this.total);
      into.add(this.current);
      return { count: this.count, sumMs: this.sumMs };
    }
    const from = now - windowMs;
    let count = 0;
    let sumMs = 0;
    for (const s of this.ring) {
      if (s.start + this.sliceMs > from) {
        into.addSparse(s.buckets);
        count += s.count;
        sumMs += s.sumMs;
      }
    }
    if (this.currentStart + this.sliceMs > from) {
      into.add(this.current);
      count += this.currentCount;
      sumMs += this.currentSumMs;
    }
    return { count, sumMs };
  }
}
