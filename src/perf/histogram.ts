import { inflateSync } from 'node:zlib';
import * as hdr from 'hdr-histogram-js';
import { InvalidArgumentError } from '../errors.js';

type JsHistogram = hdr.JsHistogram;

/** Highest value a fresh histogram covers before it auto-resizes: 60 s in µs. */
const INITIAL_HIGHEST_US = 60_000_000;

/**
 * Longest duration a histogram holds: 24 hours. Longer values are clamped to it (and counted
 * by the monitor); `monitor.record()` rejects them. Without a bound, values from 2^53 µs up
 * vanish from the buckets and `Number.MAX_VALUE` turns every percentile into 0.
 */
export const MAX_DURATION_MS = 86_400_000;
const MAX_DURATION_US = MAX_DURATION_MS * 1000;
/** Longest encoded histogram {@link LatencyHistogram.decode} accepts, in characters. */
export const MAX_ENCODED_HISTOGRAM_LENGTH = 1_000_000;
/** Largest inflated payload {@link LatencyHistogram.decode} accepts, in bytes. */
const MAX_DECODED_PAYLOAD_BYTES = 4 * 1024 * 1024;
const V2_COMPRESSED_COOKIE_BASE = 0x1c849304;
const V2_COOKIE_BASE = 0x1c849303;

/** Microseconds of `ms`, clamped to [0, {@link MAX_DURATION_MS}] (NaN → 0). */
function toMicros(ms: number): number {
  if (!(ms > 0)) return 0;
  return ms >= MAX_DURATION_MS ? MAX_DURATION_US : Math.round(ms * 1000);
}

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

  /**
   * Records a duration in milliseconds, rounded to the microsecond. Negatives and NaN clamp to
   * 0, values above {@link MAX_DURATION_MS} (24 h) to it.
   */
  recordMs(ms: number): void {
    this.raw.recordValue(toMicros(ms));
  }

  /** Records `count` samples of the same duration (a non-negative safe integer). */
  recordManyMs(ms: number, count: number): void {
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new InvalidArgumentError(`count must be a non-negative integer, got ${count}.`);
    }
    this.raw.recordValueWithCount(toMicros(ms), count);
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

  /**
   * Decodes {@link LatencyHistogram.encode} output (HdrHistogram compressed V2, lowest
   * trackable value 1). Throws `InvalidArgumentError` on garbage and on anything out of bounds:
   * an input longer than {@link MAX_ENCODED_HISTOGRAM_LENGTH} characters, a payload that
   * inflates beyond 4 MiB, precision outside 1–5, a value above {@link MAX_DURATION_MS}, a
   * count that is not a safe integer. Memory is bounded by the values present, never by the
   * header's claims.
   */
  static decode(encoded: string): LatencyHistogram {
    if (typeof encoded !== 'string' || encoded.length > MAX_ENCODED_HISTOGRAM_LENGTH) {
      throw new InvalidArgumentError(
        `Encoded histogram must be a string of at most ${MAX_ENCODED_HISTOGRAM_LENGTH} characters.`,
      );
    }
    const bad = (why: string, cause?: unknown): InvalidArgumentError =>
      new InvalidArgumentError(
        `Not an encoded HDR histogram (expected compressed base64 V2): ${why}.`,
        cause === undefined ? {} : { cause },
      );
    const data = Buffer.from(encoded.trim(), 'base64');
    if (data.length < 8 || (data.readInt32BE(0) & ~0xf0) !== V2_COMPRESSED_COOKIE_BASE) {
      throw bad('no V2 compressed cookie');
    }
    const compressedLength = data.readInt32BE(4);
    if (compressedLength <= 0 || compressedLength > data.length - 8) throw bad('truncated');
    let payload: Buffer;
    try {
      payload = inflateSync(data.subarray(8, 8 + compressedLength), {
        maxOutputLength: MAX_DECODED_PAYLOAD_BYTES,
      });
    } catch (err) {
      throw bad('the compressed payload does not inflate (or inflates beyond 4 MiB)', err);
    }
    if (payload.length < 40 || (payload.readInt32BE(0) & ~0xf0) !== V2_COOKIE_BASE) {
      throw bad('no V2 histogram cookie');
    }
    const payloadLength = payload.readInt32BE(4);
    const digits = payload.readInt32BE(12);
    const lowest = Number(payload.readBigInt64BE(16));
    if (payloadLength < 0 || payloadLength > payload.length - 40) throw bad('counts length out of range');
    if (!(digits >= 1 && digits <= 5)) throw bad(`significant digits ${digits} outside 1–5`);
    if (lowest !== 1) throw bad(`lowest trackable value ${lowest} (only 1 is supported)`);
    const out = new LatencyHistogram({ significantDigits: digits, storage: 'wide' });
    const h = out.raw;
    // Highest bucket index a value ≤ MAX_DURATION_US can have: zero runs or counts past it are
    // rejected before anything is allocated for them.
    const limitIndex = h.countsArrayIndex(MAX_DURATION_US);
    let pos = 40;
    const end = 40 + payloadLength;
    let index = 0;
    while (pos < end) {
      // ZigZag LEB128, at most 9 bytes (the 9th carries 8 bits), as HdrHistogram writes it.
      let raw = 0;
      let scale = 1;
      let i = 0;
      for (;;) {
        if (pos >= end) throw bad('truncated count');
        const b = payload[pos++]!;
        if (i === 8) {
          raw += b * scale;
          break;
        }
        raw += (b & 0x7f) * scale;
        scale *= 128;
        i++;
        if ((b & 0x80) === 0) break;
      }
      const value = raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
      if (value < 0) {
        index += -value;
        if (index > limitIndex + 1) throw bad(`a value above ${MAX_DURATION_MS} ms`);
        continue;
      }
      if (!Number.isSafeInteger(value)) throw bad('a count above 2^53');
      if (value > 0) {
        if (index > limitIndex) throw bad(`a value above ${MAX_DURATION_MS} ms`);
        h.recordValueWithCount(h.valueFromIndex(index), value);
      }
      index++;
    }
    if (!Number.isSafeInteger(h.totalCount)) throw bad('a total count above 2^53');
    return out;
  }
}
