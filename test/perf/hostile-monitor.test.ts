/**
 * Hostile inputs against the monitor (issue 15 items 10, 11, 19, 21, 23): series keys that
 * collide, memory that grows past maxSeries, out-of-range durations, listeners that throw,
 * encoded data that lies.
 */
import { deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import {
  type EncodedSeries,
  LatencyHistogram,
  ListenerGuard,
  MAX_DURATION_MS,
  MAX_ENCODED_HISTOGRAM_LENGTH,
  PerformanceMonitor,
} from '../../src/perf/index.js';
import { labelCacheSizes, VALID_NAME_CACHE_SIZE } from '../../src/perf/labels.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** A V2 compressed histogram built by hand: header fields and raw zigzag counts bytes. */
function handEncoded(opts: { digits?: number; lowest?: number; highest?: bigint; counts: number[] }): string {
  const counts = Buffer.from(opts.counts);
  const payload = Buffer.alloc(40 + counts.length);
  payload.writeInt32BE(0x1c849313, 0);
  payload.writeInt32BE(counts.length, 4);
  payload.writeInt32BE(0, 8);
  payload.writeInt32BE(opts.digits ?? 3, 12);
  payload.writeBigInt64BE(BigInt(opts.lowest ?? 1), 16);
  payload.writeBigInt64BE(opts.highest ?? 2n ** 62n, 24);
  payload.writeDoubleBE(1, 32);
  counts.copy(payload, 40);
  const compressed = deflateSync(payload);
  const out = Buffer.alloc(8 + compressed.length);
  out.writeInt32BE(0x1c849314, 0);
  out.writeInt32BE(compressed.length, 4);
  compressed.copy(out, 8);
  return out.toString('base64');
}

/** ZigZag LEB128 of a (small) integer. */
function zigzag(n: number): number[] {
  let v = n >= 0 ? n * 2 : -n * 2 - 1;
  const out: number[] = [];
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
  return out;
}

describe('series keys cannot collide (issue 15 item 10)', () => {
  it('a name holding label syntax is its own series', () => {
    const m = new PerformanceMonitor();
    m.record('llm', 5, { provider: 'openai' });
    m.record('llm{provider="openai"}', 500);
    expect(m.stats('llm')!.count).toBe(1);
    expect(m.stats('llm')!.maxMs).toBeLessThan(6);
    expect(m.stats('llm{provider="openai"}')!.count).toBe(1);
    expect(m.collect()).toHaveLength(2);
  });

  it('names with backslashes and braces stay apart from each other', () => {
    const m = new PerformanceMonitor();
    m.record('a\\{', 1);
    m.record('a{', 2);
    m.record('a\\', 3, { x: '1' });
    expect(m.collect()).toHaveLength(3);
    expect(m.operations()).toEqual(['a\\', 'a\\{', 'a{']);
  });

  it('a label named __proto__ (or any reserved __ name) is refused with a clear error', () => {
    const m = new PerformanceMonitor();
    const labels = JSON.parse('{"__proto__":"x","provider":"openai"}') as Record<string, string>;
    expect(() => m.record('llm', 1, labels)).toThrow(InvalidArgumentError);
    expect(() => m.record('llm', 1, labels)).toThrow(/Label name "__proto__" is reserved/);
    expect(() => m.record('llm', 1, { __name__: 'x' })).toThrow(/reserved/);
    expect(m.collect()).toHaveLength(0);
  });

  it('distinct (name, labels) pairs never share a series (property, seeded)', () => {
    const name = fc.string({
      minLength: 1,
      maxLength: 12,
      unit: fc.constantFrom('a', '{', '}', '"', '=', ',', '\\', 'b'),
    });
    const labels = fc.dictionary(
      fc.constantFrom('a', 'b', 'provider', 'outcome'),
      fc.string({ maxLength: 6, unit: fc.constantFrom('x', '"', '\\', '=', ',', '}', '{') }),
      { maxKeys: 3 },
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(name, labels), {
          maxLength: 12,
          selector: ([n, l]) => JSON.stringify([n, Object.entries(l).sort()]),
        }),
        (pairs) => {
          const m = new PerformanceMonitor();
          for (const [n, l] of pairs) m.record(n, 1, l);
          const snaps = m.collect();
          expect(snaps).toHaveLength(pairs.length);
          for (const [n, l] of pairs) {
            const s = snaps.find(
              (x) =>
                x.name === n &&
                JSON.stringify(x.labels) === JSON.stringify(Object.fromEntries(Object.entries(l).sort())),
            );
            expect(s?.count).toBe(1);
          }
        },
      ),
      { seed: 1515, numRuns: 300 },
    );
  });

  it('the same labels in another key order are the same series (fast path and slow path agree)', () => {
    const m = new PerformanceMonitor();
    m.record('op', 1, { a: '1', b: '2' });
    m.record('op', 2, { b: '2', a: '1' });
    m.record('op', 3, { a: 1, b: 2 });
    expect(m.collect()).toHaveLength(1);
    expect(m.stats('op')!.count).toBe(3);
  });
});

describe('memory is bounded (issue 15 item 11)', () => {
  it('operation names past maxSeries grow no map', async () => {
    const m = new PerformanceMonitor({ maxSeries: 10 });
    vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    for (let i = 0; i < 5_000; i++) {
      m.record(`op${i}`, 1);
      await m.track(`t${i}`, () => 1);
      m.record(`l${i}`, 1, { provider: 'p' });
      m.wrap(`w${i}`, () => 1)();
    }
    const f = m.footprint();
    expect(f.series).toBeLessThanOrEqual(11);
    expect(f.pairs).toBeLessThanOrEqual(10);
    expect(f.plain).toBeLessThanOrEqual(10);
    expect(f.names).toBeLessThanOrEqual(11);
    expect(f.labelledCache).toBeLessThanOrEqual(10);
    expect(m.overflowedSeries).toBeGreaterThan(0);
  });

  it('distinct label values past maxSeries do not grow the labelled cache', () => {
    const m = new PerformanceMonitor({ maxSeries: 20 });
    vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    for (let i = 0; i < 10_000; i++) m.record('op', 1, { id: String(i) });
    expect(m.footprint().series).toBeLessThanOrEqual(21);
    expect(m.footprint().labelledCache).toBeLessThanOrEqual(20);
  });

  it('label names have a length limit and the module-level caches a size limit, also across reset()', () => {
    const m = new PerformanceMonitor({ maxSeries: 10 });
    expect(() => m.record('op', 1, { ['x'.repeat(100_000)]: 'v' })).toThrow(/longer than 64 characters/);
    expect(() => m.record('x'.repeat(129), 1)).toThrow(/at most 128 characters/);
    vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    for (let i = 0; i < 3_000; i++) m.record(`op_${i}`, 1, { [`label_${i}`]: 'v' });
    m.reset();
    const sizes = labelCacheSizes();
    expect(sizes.labelNames).toBeLessThanOrEqual(VALID_NAME_CACHE_SIZE);
    expect(sizes.operationNames).toBeLessThanOrEqual(VALID_NAME_CACHE_SIZE);
    expect(m.footprint()).toEqual({ series: 0, pairs: 0, plain: 0, names: 0, labelledCache: 0 });
  });

  it('the labelled cache is cleared when it outgrows its bound, and lookups still land right', () => {
    const m = new PerformanceMonitor({ maxSeries: 1 });
    // One series, many key orders / value spellings of it: each is a cache entry.
    for (let i = 0; i < 200; i++) m.record('op', 1, { a: 1, ['b'.repeat((i % 60) + 1)]: 'v' });
    expect(m.footprint().labelledCache).toBeLessThanOrEqual(4 * 1 + 64);
  });

  it('an interval reader forgets series dropped by reset()', () => {
    const m = new PerformanceMonitor();
    const reader = m.intervalReader();
    m.record('op', 1, { a: '1' });
    expect(reader.read()).toHaveLength(1);
    m.reset();
    m.record('op', 2, { a: '1' });
    const second = reader.read();
    // Without forgetting, the old count (1) would be subtracted and the new sample hidden.
    expect(second).toHaveLength(1);
    expect(second[0]!.count).toBe(1);
  });
});

describe('durations out of range (issue 15 item 19)', () => {
  it('record rejects values above 24 h, NaN, Infinity, negatives, and says the range', () => {
    const m = new PerformanceMonitor();
    for (const v of [
      MAX_DURATION_MS + 1,
      1e15 / 1000,
      Number.MAX_VALUE,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      -1,
    ]) {
      expect(() => m.record('op', v)).toThrow(`must be a number of ms from 0 to ${MAX_DURATION_MS} (24 h)`);
      expect(() => m.recorder('op')(v)).toThrow(InvalidArgumentError);
    }
    m.record('op', MAX_DURATION_MS);
    expect(m.stats('op')!.count).toBe(1);
  });

  it('a measured duration above 24 h is clamped and counted, never lost from the buckets', async () => {
    let t = 0;
    const m = new PerformanceMonitor({ now: () => t });
    m.record('op', 10);
    await m.track('op', () => {
      t += 1e15; // a clock jump
      return 1;
    });
    const s = m.stats('op')!;
    expect(s.count).toBe(2);
    expect(s.p99).toBeGreaterThanOrEqual(MAX_DURATION_MS * 0.999);
    expect(s.maxMs).toBeGreaterThanOrEqual(MAX_DURATION_MS * 0.999);
    expect(m.clampedSamples).toBe(1);
    m.reset();
    expect(m.clampedSamples).toBe(0);
  });

  it('spans and wrapped functions clamp the same way', () => {
    let t = 0;
    const m = new PerformanceMonitor({ now: () => t });
    const span = m.start('op');
    t = Number.MAX_VALUE;
    span.end();
    t = 0;
    const f = m.wrap('op', () => {
      t = 1e300;
    });
    f();
    expect(m.clampedSamples).toBe(2);
    expect(m.stats('op')!.p50).toBeGreaterThan(0);
  });

  it('LatencyHistogram clamps huge and NaN values instead of losing them', () => {
    const h = new LatencyHistogram();
    h.recordMs(10);
    h.recordMs(1e15);
    h.recordMs(Number.MAX_VALUE);
    h.recordMs(Number.NaN);
    expect(h.count).toBe(4);
    expect(h.percentileMs(99)).toBeGreaterThanOrEqual(MAX_DURATION_MS * 0.999);
    expect(h.percentileMs(25)).toBe(0);
    expect(() => h.recordManyMs(1, -1)).toThrow(/count must be a non-negative integer, got -1/);
    expect(() => h.recordManyMs(1, 0.5)).toThrow(InvalidArgumentError);
  });

  it('a histogram holding the largest value round-trips through encode/decode', () => {
    const h = new LatencyHistogram();
    h.recordMs(1e300);
    h.recordMs(3);
    const back = LatencyHistogram.decode(h.encode());
    expect(back.count).toBe(2);
    expect(back.maxMs).toBe(h.maxMs);
    expect(back.percentileMs(50)).toBe(h.percentileMs(50));
  });
});

describe('encoded data that lies (issue 15 item 23)', () => {
  const good = (): EncodedSeries => {
    const src = new PerformanceMonitor();
    src.record('op', 5);
    src.record('op', 7);
    return src.exportEncoded()[0]!;
  };

  it('mergeEncoded rejects negative, fractional and mismatched counts and NaN sums, and merges nothing', () => {
    const m = new PerformanceMonitor();
    const cases: Array<[Partial<EncodedSeries>, RegExp]> = [
      [{ count: -2 }, /count must be a non-negative integer equal to the histogram's 2 samples, got -2/],
      [{ count: 1.5 }, /got 1.5/],
      [{ count: 3 }, /got 3/],
      [{ sumMs: Number.NaN }, /sumMs must be a finite number/],
      [{ sumMs: -1 }, /sumMs must be a finite number/],
      [{ sumMs: Number.POSITIVE_INFINITY }, /sumMs/],
      [{ name: '' }, /Operation name must be/],
      [{ labels: { 'bad name': 'x' } }, /Label name "bad name" is invalid/],
      [{ labels: null as never }, /labels must be an object/],
      [{ histogram: 'garbage' }, /Not an encoded HDR histogram/],
    ];
    for (const [patch, message] of cases) {
      expect(() => m.mergeEncoded([good(), { ...good(), ...patch }])).toThrow(message);
    }
    // all or nothing: the good entry before the bad one was not merged either
    expect(m.stats('op')).toBeUndefined();
    m.mergeEncoded([good()]);
    expect(m.stats('op')!.count).toBe(2);
    expect(m.stats('op')!.meanMs).toBe(6);
  });

  it('a tiny histogram claiming a huge range or precision allocates by its values, not its header', () => {
    // highestTrackableValue 2^62 used to size the counts array from the header (tens of MB).
    const h = LatencyHistogram.decode(handEncoded({ highest: 2n ** 62n, counts: zigzag(3) }));
    expect(h.count).toBe(3);
    expect(h.raw.countsArrayLength).toBeLessThan(100_000);
    expect(() => LatencyHistogram.decode(handEncoded({ digits: 9, counts: zigzag(1) }))).toThrow(
      /significant digits 9 outside 1–5/,
    );
    expect(() => LatencyHistogram.decode(handEncoded({ lowest: 1000, counts: zigzag(1) }))).toThrow(
      /lowest trackable value 1000/,
    );
  });

  it('a zero run or count past 24 h, or a count above 2^53, is rejected', () => {
    expect(() =>
      LatencyHistogram.decode(handEncoded({ counts: [...zigzag(-(2 ** 40)), ...zigzag(1)] })),
    ).toThrow(/a value above 86400000 ms/);
    const nineBytes = [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f];
    expect(() => LatencyHistogram.decode(handEncoded({ counts: nineBytes }))).toThrow(/a count above 2\^53/);
    expect(() => LatencyHistogram.decode(handEncoded({ counts: [0x80] }))).toThrow(/truncated count/);
  });

  it('oversized input and inflation bombs are refused before inflating everything', () => {
    expect(() => LatencyHistogram.decode('A'.repeat(MAX_ENCODED_HISTOGRAM_LENGTH + 1))).toThrow(
      /at most 1000000 characters/,
    );
    const bomb = handEncoded({ counts: new Array(5 * 1024 * 1024).fill(0) });
    expect(bomb.length).toBeLessThan(MAX_ENCODED_HISTOGRAM_LENGTH);
    expect(() => LatencyHistogram.decode(bomb)).toThrow(/inflates beyond 4 MiB/);
    expect(() =>
      LatencyHistogram.decode(Buffer.from([0x1c, 0x84, 0x93, 0x14, 0, 0, 0, 50, 1]).toString('base64')),
    ).toThrow(/truncated/);
  });
});

describe('listeners cannot break the recorded call (issue 15 item 21)', () => {
  it('track resolves with the caller result when an onRecord listener throws; onError gets the error', async () => {
    const seen: unknown[] = [];
    const m = new PerformanceMonitor({ onError: (e) => seen.push(e) });
    const boom = new Error('exporter down');
    m.onRecord(() => {
      throw boom;
    });
    await expect(m.track('op', () => 42)).resolves.toBe(42);
    await expect(m.track('op', async () => 'x', { provider: 'p' })).resolves.toBe('x');
    await expect(m.track('op', () => Promise.reject(new Error('mine')))).rejects.toThrow('mine');
    expect(() => m.record('op', 1)).not.toThrow();
    expect(seen).toEqual([boom, boom, boom, boom]);
    expect(m.listenerErrors).toBe(4);
    expect(m.stats('op')!.count).toBe(4);
  });

  it('wrap and @tracked raise no unhandled rejection; async listener rejections are caught too', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const m = new PerformanceMonitor({ onError: () => undefined });
      m.onRecord(() => {
        throw new Error('sync listener');
      });
      m.onRecord(async () => {
        throw new Error('async listener');
      });
      const f = m.wrap('w', async () => 7);
      // the legacy decorator form, applied by hand (the test transform has no decorators)
      const descriptor: TypedPropertyDescriptor<() => Promise<number>> = { value: async () => 8 };
      m.tracked('d')({}, 'call', descriptor);
      expect(await f()).toBe(7);
      expect(await descriptor.value!()).toBe(8);
      const span = m.start('s');
      expect(span.end()).toBeGreaterThanOrEqual(0);
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
      expect(m.listenerErrors).toBe(6);
      expect(m.stats('w')!.count + m.stats('d')!.count + m.stats('s')!.count).toBe(3);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('without onError the first listener error becomes one warning, later ones are only counted', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const m = new PerformanceMonitor();
    m.onRecord(() => {
      throw new Error('first');
    });
    for (let i = 0; i < 5; i++) await m.track('op', () => i);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toContain('First error: first');
    expect(warn.mock.calls[0]![1]).toEqual({ code: 'EARSHOT_LISTENER_ERROR' });
    expect(m.listenerErrors).toBe(5);
  });

  it('ListenerGuard: a throwing onError is swallowed, other listeners still run', () => {
    const guard = new ListenerGuard('test', () => {
      throw new Error('handler broken');
    });
    const got: number[] = [];
    for (const l of [
      () => {
        throw new Error('x');
      },
      (e: number) => {
        got.push(e);
      },
    ])
      guard.call(l, 1);
    expect(got).toEqual([1]);
    expect(guard.errors).toBe(1);
    expect(guard.source).toBe('test');
  });
});
