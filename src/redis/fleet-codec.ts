import { deflateRawSync, inflateRawSync, inflateSync } from 'node:zlib';
import { InvalidArgumentError } from '../errors.js';
import { LatencyHistogram } from '../perf/index.js';

/**
 * The fleet wire format and a fast merge of many histograms.
 *
 * One Redis hash field per (instance, window) holds every series the instance recorded in that
 * window, as a raw-deflate blob of: a 4-byte big-endian header length, a JSON header, then the
 * series' histograms back to back in HdrHistogram's uncompressed V2 encoding (readable by the
 * Java/Go/Rust/Python HdrHistogram libraries). Compressing the blob once instead of each
 * histogram, and summing the V2 counts by bucket index instead of building a histogram per
 * blob, is what keeps a merge of 100 instances × 20 operations within a few tens of ms.
 * @internal
 * @module
 */

/** Version of the blob header; readers skip blobs with a version they do not know. */
const FLEET_FORMAT_VERSION = 1;

const V2_ENCODING_COOKIE_BASE = 0x1c849303;
const V2_COMPRESSED_COOKIE_BASE = 0x1c849304;
const V2_HEADER_BYTES = 40;

/** One series inside a blob. */
export interface FleetSeriesEntry {
  name: string;
  labels: Readonly<Record<string, string>>;
  count: number;
  errors: number;
  sumMs: number;
  /** Exact smallest and largest sample (the V2 encoding only keeps buckets). */
  minMs: number;
  maxMs: number;
}

/** The decoded header of one blob. */
interface FleetBlobHeader {
  version: number;
  instanceId: string;
  windowStart: number;
  publishedAt: number;
  series: FleetSeriesEntry[];
}

type HeaderTuple = [
  name: string,
  labels: Record<string, string>,
  count: number,
  errors: number,
  sumMs: number,
  minMs: number,
  maxMs: number,
  bytes: number,
];
interface HeaderJson {
  v: number;
  id: string;
  w: number;
  t: number;
  s: HeaderTuple[];
}

/** Uncompressed V2 bytes of an encoded histogram (`LatencyHistogram.encode()` output). */
export function rawV2FromEncoded(encoded: string): Buffer {
  const buf = Buffer.from(encoded, 'base64');
  if (buf.length < 8 || (buf.readInt32BE(0) & ~0xf0) !== V2_COMPRESSED_COOKIE_BASE) {
    throw new InvalidArgumentError('Not an encoded HDR histogram (expected compressed base64 V2).');
  }
  return inflateSync(buf.subarray(8, 8 + buf.readInt32BE(4)));
}

/** Builds one blob from series and their uncompressed V2 histogram bytes. */
export function encodeFleetBlob(
  meta: { instanceId: string; windowStart: number; publishedAt: number },
  series: readonly { entry: FleetSeriesEntry; rawV2: Uint8Array }[],
): Buffer {
  const header: HeaderJson = {
    v: FLEET_FORMAT_VERSION,
    id: meta.instanceId,
    w: meta.windowStart,
    t: meta.publishedAt,
    s: series.map(({ entry: e, rawV2 }) => [
      e.name,
      { ...e.labels },
      e.count,
      e.errors,
      e.sumMs,
      e.minMs,
      e.maxMs,
      rawV2.length,
    ]),
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(json.length, 0);
  return deflateRawSync(Buffer.concat([len, json, ...series.map((s) => s.rawV2)]));
}

/**
 * Largest inflated blob a reader accepts (8 MiB). A real blob is a few KiB per series; the cap
 * keeps a deflate bomb (255 KiB that inflates to hundreds of MB) from costing the reader memory.
 */
export const MAX_FLEET_BLOB_BYTES = 8 * 1024 * 1024;

/** Thrown (as an `InvalidArgumentError`) for a blob that is not valid fleet data. */
function bad(reason: string): InvalidArgumentError {
  return new InvalidArgumentError(`Invalid fleet blob: ${reason}.`);
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isMs = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

function validEntry(t: unknown, i: number): [FleetSeriesEntry, number] {
  if (!Array.isArray(t) || t.length !== 8) throw bad(`series ${i} is not an 8-field tuple`);
  const [name, labels, count, errors, sumMs, minMs, maxMs, bytes] = t as unknown[];
  if (typeof name !== 'string' || name.length === 0 || name.length > 1000)
    throw bad(`series ${i} has no valid name`);
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels))
    throw bad(`series ${i} labels are not an object`);
  const cleanLabels: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) {
    if (typeof v !== 'string') throw bad(`series ${i} label "${k}" is not a string`);
    Object.defineProperty(cleanLabels, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  if (!isCount(count)) throw bad(`series ${i} count is not a non-negative integer`);
  if (!isCount(errors) || errors > count) throw bad(`series ${i} errors is not an integer in [0, count]`);
  if (!isMs(sumMs)) throw bad(`series ${i} sumMs is not a finite non-negative number`);
  if (!isMs(minMs) || !isMs(maxMs) || minMs > maxMs)
    throw bad(`series ${i} minMs/maxMs are not finite with min <= max`);
  if (!isCount(bytes)) throw bad(`series ${i} byte length is not a non-negative integer`);
  return [{ name, labels: cleanLabels, count, errors, sumMs, minMs, maxMs }, bytes];
}

/**
 * Decodes a blob; calls `visit` for each series with the slice of its V2 histogram bytes.
 * Returns the header, or `undefined` for a blob of an unknown version. Throws
 * `InvalidArgumentError` (never a raw zlib, JSON or range error) for anything that is not a
 * well-formed blob: corrupt or oversized deflate data, a malformed header, counts that are not
 * non-negative integers, non-finite times, series that overrun the payload. Every series is
 * validated before the first `visit`, so a bad blob is rejected whole.
 */
export function decodeFleetBlob(
  blob: Uint8Array,
  visit: (entry: FleetSeriesEntry, rawV2: Uint8Array) => void,
): FleetBlobHeader | undefined {
  let payload: Buffer;
  try {
    payload = inflateRawSync(blob, { maxOutputLength: MAX_FLEET_BLOB_BYTES });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw code === 'ERR_BUFFER_TOO_LARGE'
      ? bad(`it inflates to more than ${MAX_FLEET_BLOB_BYTES} bytes`)
      : bad('not raw-deflate data');
  }
  if (payload.length < 4) throw bad('truncated header');
  const jsonLength = payload.readUInt32BE(0);
  if (jsonLength > payload.length - 4) throw bad('header length past the end of the blob');
  let header: unknown;
  try {
    header = JSON.parse(payload.toString('utf8', 4, 4 + jsonLength));
  } catch {
    throw bad('header is not JSON');
  }
  if (typeof header !== 'object' || header === null) throw bad('header is not an object');
  const h = header as Partial<Record<keyof HeaderJson, unknown>>;
  if (h.v !== FLEET_FORMAT_VERSION) return undefined;
  if (typeof h.id !== 'string') throw bad('instance id is not a string');
  if (!isCount(h.w) || !isCount(h.t)) throw bad('window start or publish time is not a timestamp');
  if (!Array.isArray(h.s)) throw bad('series list is not an array');
  let offset = 4 + jsonLength;
  const series: FleetSeriesEntry[] = [];
  const slices: Uint8Array[] = [];
  (h.s as unknown[]).forEach((t, i) => {
    const [entry, bytes] = validEntry(t, i);
    if (bytes > payload.length - offset) throw bad(`series ${i} histogram runs past the end of the blob`);
    series.push(entry);
    slices.push(payload.subarray(offset, offset + bytes));
    offset += bytes;
  });
  for (let i = 0; i < series.length; i++) visit(series[i]!, slices[i]!);
  return { version: FLEET_FORMAT_VERSION, instanceId: h.id, windowStart: h.w, publishedAt: h.t, series };
}

/** One V2 histogram parsed and checked, ready to be summed (see {@link parseRawV2}). */
export interface ParsedV2 {
  readonly significantDigits: number;
  readonly unitMagnitude: number;
  /** Indices of the non-empty buckets, ascending (a view into a {@link ParseScratch} when one was given). */
  readonly indices: Int32Array;
  /** Their counts, same order. */
  readonly counts: Float64Array;
  readonly total: number;
  readonly minUs: number;
  readonly maxUs: number;
}

/**
 * Buffers {@link parseRawV2} writes the non-empty buckets into, reused across histograms so a
 * fleet merge does not allocate two arrays per histogram. Views handed out stay valid until
 * {@link ParseScratch.reset}: when the buffers are full, new ones are allocated and the old
 * ones live on in the views that point into them.
 */
export class ParseScratch {
  indices: Int32Array;
  counts: Float64Array;
  used = 0;

  constructor(capacity = 1 << 15) {
    this.indices = new Int32Array(capacity);
    this.counts = new Float64Array(capacity);
  }

  /** Forgets every view handed out so far: their memory is written over from now on. */
  reset(): void {
    this.used = 0;
  }

  /** Makes room for `n` more buckets. */
  reserve(n: number): void {
    if (this.used + n <= this.indices.length) return;
    const capacity = Math.max(this.indices.length, 2 * n);
    this.indices = new Int32Array(capacity);
    this.counts = new Float64Array(capacity);
    this.used = 0;
  }
}

function subBucketHalfCountFor(digits: number): number {
  const subBucketCountMagnitude = Math.max(Math.ceil(Math.log2(2 * 10 ** digits)), 1);
  return 2 ** (subBucketCountMagnitude - 1);
}

/** Lowest value (µs) of the bucket at `index`, and the bucket's width. */
function bucketRange(index: number, half: number, unitMagnitude: number): [lowUs: number, widthUs: number] {
  let bucket = Math.floor(index / half) - 1;
  let sub = (index % half) + half;
  if (bucket < 0) {
    sub -= half;
    bucket = 0;
  }
  const width = 2 ** (bucket + unitMagnitude);
  return [sub * width, width];
}

/**
 * Parses and checks one uncompressed V2 histogram whose exact extremes are `minMs` / `maxMs`:
 * the cookie, the precision (1–5 digits), the lowest discernible value, every word, bucket
 * indices within what a 2^53 µs value needs (so a forged zero run cannot allocate gigabytes),
 * counts that sum to a safe integer, and `minMs` / `maxMs` lying in the lowest and highest
 * non-empty buckets (a forged `maxMs` cannot become the fleet maximum). Throws
 * `InvalidArgumentError`.
 */
export function parseRawV2(
  bytes: Uint8Array,
  minMs: number,
  maxMs: number,
  scratch?: ParseScratch,
): ParsedV2 {
  if (bytes.length < V2_HEADER_BYTES)
    throw new InvalidArgumentError('Truncated HDR histogram in fleet data.');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if ((view.getInt32(0) & ~0xf0) !== V2_ENCODING_COOKIE_BASE) {
    throw new InvalidArgumentError('Fleet data holds something that is not an HDR V2 histogram.');
  }
  const payloadLength = view.getInt32(4);
  const digits = view.getInt32(12);
  const lowest = view.getUint32(16) * 2 ** 32 + view.getUint32(20);
  if (payloadLength < 0 || payloadLength > bytes.length - V2_HEADER_BYTES)
    throw new InvalidArgumentError('Truncated HDR histogram in fleet data.');
  if (!(digits >= 1 && digits <= 5))
    throw new InvalidArgumentError(`Histogram precision ${digits} is not 1–5.`);
  if (!(lowest >= 1 && lowest <= 2 ** 20))
    throw new InvalidArgumentError('Histogram lowest value is out of range.');
  const unitMagnitude = Math.floor(Math.log2(lowest));
  const half = subBucketHalfCountFor(digits);
  const subBucketCountMagnitude = Math.log2(half) + 1;
  // Highest index a value below 2^53 µs can have: buckets beyond hold no real latency.
  const maxIndex = (54 - subBucketCountMagnitude - unitMagnitude + 1) * half + half;
  // Every non-empty bucket takes at least one payload byte: payloadLength bounds their number.
  const buffers = scratch ?? new ParseScratch(payloadLength);
  buffers.reserve(payloadLength);
  const start = buffers.used;
  const outIndices = buffers.indices;
  const outCounts = buffers.counts;
  let k = start;
  let total = 0;
  let pos = V2_HEADER_BYTES;
  const end = V2_HEADER_BYTES + payloadLength;
  let index = 0;
  while (pos < end) {
    // ZigZag LEB128-64b9B: 7 bits per byte, the 9th byte carries 8. Most words are one or
    // two bytes (small counts, short zero runs): decode those with integer ops.
    let b = bytes[pos++]!;
    let n: number;
    if (b < 0x80) {
      n = b & 1 ? -((b + 1) >> 1) : b >> 1;
    } else {
      let v = b & 0x7f;
      let mult = 128;
      let k = 1;
      while (b & 0x80 && k < 9) {
        if (pos >= end) throw new InvalidArgumentError('Truncated HDR histogram word in fleet data.');
        b = bytes[pos++]!;
        v += (k === 8 ? b : b & 0x7f) * mult;
        mult *= 128;
        k++;
      }
      n = v % 2 === 0 ? v / 2 : -(v + 1) / 2;
    }
    if (n < 0)
      index -= n; // a run of -n empty buckets
    else {
      if (n > 0) {
        if (index > maxIndex) break;
        outIndices[k] = index;
        outCounts[k] = n;
        k++;
        total += n;
      }
      index++;
    }
    if (index > maxIndex + 1) break;
  }
  if (index > maxIndex + 1)
    throw new InvalidArgumentError('HDR histogram bucket index out of range in fleet data.');
  if (!Number.isSafeInteger(total))
    throw new InvalidArgumentError('HDR histogram counts overflow in fleet data.');
  const indices = outIndices.subarray(start, k);
  const counts = outCounts.subarray(start, k);
  buffers.used = k;
  const minUs = Math.round(minMs * 1000);
  const maxUs = Math.round(maxMs * 1000);
  if (indices.length > 0) {
    const inBucket = (us: number, i: number): boolean => {
      const [low, width] = bucketRange(i, half, unitMagnitude);
      return us >= low - 1 && us <= low + width + 1;
    };
    if (!inBucket(minUs, indices[0]!) || !inBucket(maxUs, indices[indices.length - 1]!)) {
      throw new InvalidArgumentError('minMs / maxMs do not match the histogram in fleet data.');
    }
  }
  return { significantDigits: digits, unitMagnitude, indices, counts, total, minUs, maxUs };
}

/**
 * Sums HdrHistogram V2 counts by bucket index (all inputs must share `significantDigits` and
 * the lowest discernible value, as every earshot monitor's histograms do), then turns the sum
 * into a {@link LatencyHistogram}. The result is the exact histogram of every input sample,
 * including the exact minimum and maximum, which travel beside the buckets.
 */
export class HistogramCountsAccumulator {
  private counts = new Float64Array(4096);
  private maxIndex = -1;
  private minIndex = Number.POSITIVE_INFINITY;
  private total = 0;
  private unitMagnitude = -1;
  private subBucketHalfCount = 0;
  private minUs = Number.POSITIVE_INFINITY;
  private maxUs = Number.NEGATIVE_INFINITY;

  constructor(readonly significantDigits: number) {}

  /**
   * Adds one uncompressed V2 histogram whose exact smallest and largest samples are `minMs`
   * and `maxMs`. Throws `InvalidArgumentError` on another precision or a corrupt buffer.
   */
  addRawV2(bytes: Uint8Array, minMs: number, maxMs: number): void {
    this.addParsed(parseRawV2(bytes, minMs, maxMs));
  }

  /** Adds a histogram checked by {@link parseRawV2}. Throws on another precision or unit. */
  addParsed(h: ParsedV2): void {
    if (h.significantDigits !== this.significantDigits) {
      throw new InvalidArgumentError(
        `Histogram precision ${h.significantDigits} differs from the accumulator's ${this.significantDigits}.`,
      );
    }
    if (this.unitMagnitude === -1) {
      this.unitMagnitude = h.unitMagnitude;
      this.subBucketHalfCount = subBucketHalfCountFor(h.significantDigits);
    } else if (h.unitMagnitude !== this.unitMagnitude) {
      throw new InvalidArgumentError(
        'Histograms with different lowest discernible values cannot be merged by index.',
      );
    }
    if (h.total === 0) return;
    const last = h.indices[h.indices.length - 1]!;
    let counts = this.counts;
    if (last >= counts.length) {
      const grown = new Float64Array(Math.max(counts.length * 2, last + 1));
      grown.set(counts);
      this.counts = counts = grown;
    }
    for (let k = 0; k < h.indices.length; k++) counts[h.indices[k]!]! += h.counts[k]!;
    if (last > this.maxIndex) this.maxIndex = last;
    if (h.indices[0]! < this.minIndex) this.minIndex = h.indices[0]!;
    this.total += h.total;
    this.minUs = Math.min(this.minUs, h.minUs);
    this.maxUs = Math.max(this.maxUs, h.maxUs);
  }

  /** True when nothing has been added. */
  get empty(): boolean {
    return this.total === 0;
  }

  /** The merged histogram. */
  toHistogram(): LatencyHistogram {
    // Dense (32-bit) counts are several times faster to fill than packed ones; fall back to
    // packed only when a bucket could overflow them.
    const hist = new LatencyHistogram({
      significantDigits: this.significantDigits,
      storage: this.total < 2 ** 31 ? 'dense' : 'packed',
    });
    const half = this.subBucketHalfCount;
    const counts = this.counts;
    for (let i = this.minIndex; i <= this.maxIndex; i++) {
      let c = counts[i]!;
      if (c === 0) continue;
      let bucket = Math.floor(i / half) - 1;
      let sub = (i % half) + half;
      if (bucket < 0) {
        sub -= half;
        bucket = 0;
      }
      let valueUs = sub * 2 ** (bucket + this.unitMagnitude);
      // The exact extremes live in the lowest and highest buckets: record one sample at the
      // exact maximum and the lowest bucket's samples at the exact minimum, so min/max (and
      // the percentile clamp to max) match a histogram that saw every raw sample.
      if (i === this.maxIndex) {
        hist.recordManyMs(this.maxUs / 1000, 1);
        c -= 1;
      }
      if (i === this.minIndex) valueUs = this.minUs;
      if (c > 0) hist.recordManyMs(valueUs / 1000, c);
    }
    return hist;
  }
}
