import * as hdr from 'hdr-histogram-js';
import { InvalidArgumentError } from '../errors.js';

type JsHistogram = hdr.JsHistogram;

/** Highest value a fresh histogram covers before it auto-resizes: 60 s in µs. */
const INITIAL_HIGHEST_US = 60_000_000;

/**
 * Kind of counts array:
 * - `wide` (default): 64-bit float counts, exact up to 2^53 per bucket, so merging any number
 *   of histograms cannot overflow; fast to read and merge.
 * - `dense`: 32-bit counts, the fastest to record into (used for the slice being written).
 * - `packed`: sparse counts, a few KB, but ~30x slower to read and merge: for storage only.
 */
export type HistogramStorage = 'wide' | 'dense' | 'packed';

const BIT_BUCKETS = { wide: 64, dense: 32, packed: 'packed' } as const;

function build(storage: HistogramStorage, significantDigits: number): JsHistogram {
  return hdr.build({
    bitBucketSize: BIT_BUCKETS[storage],
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: INITIAL_HIGHEST_US,
    numberOfSignificantValueDigits: significantDigits as 1 | 2 | 3 | 4 | 5,
    useWebAssembly: false,
  }) as JsHistogram;
}

/** Non-empty buckets of a histogram; see {@link LatencyHistogram.toSparse}. */
export interface SparseCounts {
  /** Bucket values in µs (each bucket's lowest equivalent value). */
  readonly valuesUs: Float64Array;
  readonly counts: Float64Array;
}

/**
 * A latency histogram: HDR buckets of integer microseconds with a fixed number of significant
 * digits, milliseconds at the API. Merging two histograms (`add`) gives exactly the
 * histogram of all their samples, which is what makes fleet-wide percentiles correct.
 *
 * @example
 * ```ts
 * const h = new LatencyHistogram();
 * h.recordMs(12.5);
 * h.percentileMs(90); // 12.5 (within 0.1 %)
 * const copy = LatencyHistogram.decode(h.encode());
 * ```
 */
export class LatencyHistogram {
  /** @internal the hdr-histogram-js instance; not part of the public API. */
  readonly raw: JsHistogram;
  readonly significantDigits: number;

  constructor(options: { significantDigits?: number; storage?: HistogramStorage } = {}, raw?: JsHistogram) {
    this.significantDigits = options.significantDigits ?? 3;
    this.raw = raw ?? build(options.storage ?? 'wide', this.significantDigits);
  }

  /** Records a duration in milliseconds (rounded to the microsecond, negatives clamp to 0). */
  recordMs(ms: number): void {
    this.raw.recordValue(ms > 0 ? Math.round(ms * 1000) : 0);
  }

  /** Records `count` samples of the same duration. */
  recordManyMs(ms: number, count: number): void {
    this.raw.recordValueWithCount(ms > 0 ? Math.round(ms * 1000) : 0, count);
  }

  /** Number of samples. */
  get count(): number {
    return this.raw.totalCount;
  }

  /**
   * Smallest sample in ms (0 when empty), as the bottom of its HDR bucket. Like every figure
   * here it is exact to the histogram's precision, and identical after encode/decode or merge.
   */
  get minMs(): number {
    if (this.count === 0) return 0;
    // minNonZeroValue ignores zeros; a zero sample is the true minimum when present.
    return this.raw.getCountAtIndex(0) > 0
      ? 0
      : this.raw.lowestEquivalentValue(this.raw.minNonZeroValue) / 1000;
  }

  /**
   * Largest sample in ms (0 when empty), as the top of its HDR bucket, so that no percentile
   * exceeds it and it survives encode/decode and merges unchanged.
   */
  get maxMs(): number {
    return this.count === 0 ? 0 : this.raw.highestEquivalentValue(this.raw.maxValue) / 1000;
  }

  /** Mean in ms (0 when empty), to HDR precision. */
  get meanMs(): number {
    return this.moments().mean / 1000;
  }

  /** Standard deviation in ms. */
  get stdDevMs(): number {
    return this.moments().std / 1000;
  }

  // One pass over the buckets (hdr-histogram-js's own mean/stdDeviation walk an allocating
  // iterator and cost milliseconds on a wide histogram).
  private moments(): { mean: number; std: number } {
    const h = this.raw;
    const n = h.totalCount;
    if (n === 0) return { mean: 0, std: 0 };
    const last = Math.min(h.countsArrayIndex(h.maxValue), h.countsArrayLength - 1);
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i <= last; i++) {
      const c = h.getCountAtIndex(i);
      if (c === 0) continue;
      const v = h.medianEquivalentValue(h.valueFromIndex(i));
      sum += v * c;
      sumSq += v * v * c;
    }
    const mean = sum / n;
    return { mean, std: Math.sqrt(Math.max(0, sumSq / n - mean * mean)) };
  }

  /**
   * Value at percentile `p` (0–100) in ms, to HDR precision (`significantDigits`).
   * Returns 0 for an empty histogram.
   */
  percentileMs(p: number): number {
    if (!(p >= 0 && p <= 100))
      throw new InvalidArgumentError(`percentile must be between 0 and 100, got ${p}.`);
    if (this.count === 0) return 0;
    return this.raw.getValueAtPercentile(p) / 1000;
  }

  /**
   * Number of samples ≤ `ms` (by HDR bucket), for cumulative buckets such as Prometheus `le`.
   * Samples in the bucket that straddles `ms` count as ≤ when the bucket's lowest value is.
   */
  countAtOrBelowMs(ms: number): number {
    return this.countsAtOrBelowMs([ms])[0]!;
  }

  /**
   * Cumulative counts for several ascending bounds in one pass over the buckets.
   * @param boundsMs ascending upper bounds in ms
   */
  countsAtOrBelowMs(boundsMs: readonly number[]): number[] {
    const out = new Array<number>(boundsMs.length).fill(0);
    if (this.count === 0 || boundsMs.length === 0) return out;
    const h = this.raw;
    const boundsUs = boundsMs.map((b) => b * 1000);
    const maxIndex = h.countsArrayIndex(h.maxValue);
    let running = 0;
    let b = 0;
    for (let i = 0; i <= maxIndex && i < h.countsArrayLength; i++) {
      const c = h.getCountAtIndex(i);
      if (c === 0) continue;
      const v = h.valueFromIndex(i);
      while (b < boundsUs.length && v > boundsUs[b]!) out[b++] = running;
      running += c;
    }
    while (b < boundsUs.length) out[b++] = running;
    return out;
  }

  /** Adds every sample of `other` into this histogram. */
  add(other: LatencyHistogram): void {
    if (other.count > 0) this.raw.add(other.raw);
  }

  /**
   * The non-empty buckets as parallel arrays (bucket value in µs, count): a compact copy, a
   * few KB for a typical latency distribution, that {@link addSparse} adds back cheaply.
   */
  toSparse(): SparseCounts {
    const h = this.raw;
    if (h.totalCount === 0) return { valuesUs: new Float64Array(0), counts: new Float64Array(0) };
    const last = Math.min(h.countsArrayIndex(h.maxValue), h.countsArrayLength - 1);
    let n = 0;
    for (let i = 0; i <= last; i++) if (h.getCountAtIndex(i) !== 0) n++;
    const valuesUs = new Float64Array(n);
    const counts = new Float64Array(n);
    let j = 0;
    for (let i = 0; i <= last; i++) {
      const c = h.getCountAtIndex(i);
      if (c !== 0) {
        valuesUs[j] = h.valueFromIndex(i);
        counts[j++] = c;
      }
    }
    return { valuesUs, counts };
  }

  /** Adds buckets taken with {@link toSparse} (from a histogram of the same precision). */
  addSparse(sparse: SparseCounts): void {
    const { valuesUs, counts } = sparse;
    for (let i = 0; i < valuesUs.length; i++) this.raw.recordValueWithCount(valuesUs[i]!, counts[i]!);
  }

  /** Removes every sample. */
  reset(): void {
    this.raw.reset();
  }

  /** A `wide` copy. */
  clone(): LatencyHistogram {
    const copy = new LatencyHistogram({ significantDigits: this.significantDigits, storage: 'wide' });
    copy.add(this);
    return copy;
  }

  /**
   * Compact, portable encoding (HdrHistogram's compressed base64 V2 format, readable by the
   * Java, Go, Rust and Python HdrHistogram libraries).
   */
  encode(): string {
    return hdr.encodeIntoCompressedBase64(this.raw);
  }

  /** Decodes {@link LatencyHistogram.encode} output. Throws `InvalidArgumentError` on garbage. */
  static decode(encoded: string): LatencyHistogram {
    let raw: JsHistogram;
    try {
      raw = hdr.decodeFromCompressedBase64(encoded, 64, false) as JsHistogram;
    } catch (err) {
      throw new InvalidArgumentError('Not an encoded HDR histogram (expected compressed base64 V2).', {
        cause: err,
      });
    }
    raw.autoResize = true;
    return new LatencyHistogram({ significantDigits: raw.numberOfSignificantValueDigits }, raw);
  }
}
