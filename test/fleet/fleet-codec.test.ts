import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { LatencyHistogram } from '../../src/perf/index.js';
import {
  decodeFleetBlob,
  encodeFleetBlob,
  HistogramCountsAccumulator,
  ParseScratch,
  parseRawV2,
  rawV2FromEncoded,
} from '../../src/redis/fleet-codec.js';

const sampleArrays = fc.array(
  fc.array(
    fc.oneof(
      fc.double({ min: 0, max: 120_000, noNaN: true }),
      fc.constant(0),
      fc.integer({ min: 1, max: 5 }),
    ),
    {
      minLength: 1,
      maxLength: 300,
    },
  ),
  { minLength: 1, maxLength: 8 },
);

describe('fleet codec', () => {
  it.each([
    ['one buffer holds them all', 1 << 15],
    ['every parse outgrows the buffers', 1],
  ])('parses into a shared scratch (%s): the views handed out stay intact', (_, capacity) => {
    fc.assert(
      fc.property(sampleArrays, (groups) => {
        const scratch = new ParseScratch(capacity);
        const raws = groups.map((samples) => {
          const h = new LatencyHistogram();
          for (const s of samples) h.recordMs(s);
          return { raw: rawV2FromEncoded(h.encode()), minMs: h.minMs, maxMs: h.maxMs };
        });
        const shared = raws.map((r) => parseRawV2(r.raw, r.minMs, r.maxMs, scratch));
        raws.forEach((r, i) => {
          const alone = parseRawV2(r.raw, r.minMs, r.maxMs);
          expect([...shared[i]!.indices]).toEqual([...alone.indices]);
          expect([...shared[i]!.counts]).toEqual([...alone.counts]);
          expect(shared[i]!.total).toBe(alone.total);
          expect(alone.total).toBe(groups[i]!.length);
        });
      }),
      { numRuns: 50 },
    );
  });

  it('sums V2 counts into the same histogram as adding the histograms', () => {
    fc.assert(
      fc.property(sampleArrays, (groups) => {
        const truth = new LatencyHistogram();
        const acc = new HistogramCountsAccumulator(3);
        for (const samples of groups) {
          const h = new LatencyHistogram();
          for (const s of samples) h.recordMs(s);
          truth.add(h);
          acc.addRawV2(rawV2FromEncoded(h.encode()), h.minMs, h.maxMs);
        }
        const merged = acc.toHistogram();
        expect(merged.count).toBe(truth.count);
        expect(merged.minMs).toBe(truth.minMs);
        expect(merged.maxMs).toBe(truth.maxMs);
        for (const p of [0, 10, 50, 90, 99, 99.9, 100])
          expect(merged.percentileMs(p)).toBe(truth.percentileMs(p));
      }),
      { numRuns: 100 },
    );
  });

  it('carries series metadata and histogram bytes through a blob', () => {
    const h = new LatencyHistogram();
    for (const v of [1, 2, 3]) h.recordMs(v);
    const entry = {
      name: 'stt',
      labels: { outcome: 'ok' },
      count: 3,
      errors: 0,
      sumMs: 6,
      minMs: 1,
      maxMs: 3,
    };
    const blob = encodeFleetBlob({ instanceId: 'i-1', windowStart: 60_000, publishedAt: 61_000 }, [
      { entry, rawV2: rawV2FromEncoded(h.encode()) },
    ]);
    const acc = new HistogramCountsAccumulator(3);
    const header = decodeFleetBlob(blob, (e, raw) => acc.addRawV2(raw, e.minMs, e.maxMs));
    expect(header).toMatchObject({
      instanceId: 'i-1',
      windowStart: 60_000,
      publishedAt: 61_000,
      series: [entry],
    });
    expect(acc.toHistogram().percentileMs(50)).toBe(h.percentileMs(50));
  });

  it('refuses to merge histograms of another precision by index', () => {
    const h = new LatencyHistogram({ significantDigits: 2 });
    h.recordMs(5);
    expect(() => new HistogramCountsAccumulator(3).addRawV2(rawV2FromEncoded(h.encode()), 5, 5)).toThrow(
      InvalidArgumentError,
    );
  });

  it('rejects a string that is not an encoded histogram', () => {
    expect(() => rawV2FromEncoded('bm90IGEgaGlzdG9ncmFt')).toThrow(InvalidArgumentError);
  });
});
