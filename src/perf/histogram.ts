import * as hdr from 'hdr-histogram-js';
import { InvalidArgumentError } from '../errors.js';

type JsHistogram = hdr.JsHistogram;

/** Highest value a fresh histogram covers before it auto-resizes: 60 s in µs. */
const INITIAL_HIGHEST_US = 60_000_000;

/**
 * Kind of storage: `dense` (32-bit counts, fastest to record into; used for the slice that is
 * being written) or `packed` (sparse 64-bit-safe counts, a few KB; used for everything kept).
 */
export type HistogramStorage = 'dense' | 'packed';

function build(storage: HistogramStorage, significantDigits: number): JsHistogram {
  return hdr.build({
    bitBucketSize: storage === 'dense' ? 32 : 'packed',
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: INITIAL_HIGHEST_US,
    numberOfSignificantValueDigits: significantDigits as 1 | 2 | 3 | 4 | 5,
    useWebAssembly: false,
  }) as JsHistogram;
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
    this.raw = raw ?? build(options.storage ?? 'packed', this.significantDigits);
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
    return this.count === 0 ? 0 : this.raw.mean / 1000;
  }

  /** Standard deviation in ms. */
  get stdDevMs(): number {
    return this.count === 0 ? 0 : this.raw.stdDeviation / 1000;
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

  /** Removes every sample. */
  reset(): void {
    this.raw.reset();
  }

  /** A packed copy. */
  clone(): LatencyHistogram {
    const copy = new LatencyHistogram({ significantDigits: this.significantDigits, storage: 'packed' });
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
      raw = hdr.decodeFromCompressedBase64(encoded, 'packed', false) as JsHistogram;
    } catch (err) {
      throw new InvalidArgumentError('Not an encoded HDR histogram (expected compressed base64 V2).', {
        cause: err,
      });
    }
    raw.autoResize = true;
    return new LatencyHistogram({ significantDigits: raw.numberOfSignificantValueDigits }, raw);
  }
}
