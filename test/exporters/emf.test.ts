import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import {
  EMF_MAX_VALUES,
  EmfExporter,
  type EmfHistogram,
  histogramToEmf,
  toEmf,
} from '../../src/exporters/index.js';
import { LatencyHistogram, PerformanceMonitor } from '../../src/perf/index.js';

interface EmfDoc {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [k: string]: unknown;
}

/** The percentile CloudWatch computes from Values/Counts: the smallest value covering p % of counts. */
function cloudWatchPercentile(h: EmfHistogram, p: number): number {
  const pairs = h.Values.map((v, i) => [v, h.Counts[i]!] as const).sort((a, b) => a[0] - b[0]);
  const rank = Math.max(1, Math.ceil((p / 100) * h.Count));
  let seen = 0;
  for (const [v, c] of pairs) {
    seen += c;
    if (seen >= rank) return v;
  }
  return h.Max;
}

describe('CloudWatch EMF', () => {
  it('writes one document per operation with the EMF metadata CloudWatch needs', () => {
    const m = new PerformanceMonitor();
    for (const v of [80, 95, 120]) m.record('stt', v, { provider: 'deepgram' });
    m.record('stt', 400, { provider: 'deepgram', outcome: 'error' });
    const [line, ...rest] = toEmf(
      m.collect(),
      { namespace: 'Voice', constDimensions: { Service: 'jarvis' } },
      1_700_000_000_000,
    );
    expect(rest).toHaveLength(0);
    const doc = JSON.parse(line!) as EmfDoc;
    expect(doc._aws.Timestamp).toBe(1_700_000_000_000);
    const directive = doc._aws.CloudWatchMetrics[0]!;
    expect(directive.Namespace).toBe('Voice');
    expect(directive.Dimensions).toEqual([['Service', 'operation']]);
    expect(directive.Metrics.map((x) => x.Name)).toEqual(['Latency', 'Requests', 'Errors']);
    expect(directive.Metrics[0]?.Unit).toBe('Milliseconds');
    // Every dimension and metric named in the directive is a member of the document.
    for (const name of [...directive.Dimensions.flat(), ...directive.Metrics.map((x) => x.Name)]) {
      expect(doc).toHaveProperty(name);
    }
    expect(doc).toMatchObject({ operation: 'stt', Service: 'jarvis', Requests: 4, Errors: 1 });
    const latency = doc.Latency as EmfHistogram;
    expect(latency.Count).toBe(4);
    expect(latency.Counts.reduce((a, b) => a + b, 0)).toBe(4);
    expect(latency.Sum).toBeCloseTo(695, 6);
    expect(latency.Min).toBeCloseTo(80, 1);
    expect(latency.Max).toBeCloseTo(400, 0);
  });

  it('splits documents by the label dimensions asked for', () => {
    const m = new PerformanceMonitor();
    m.record('llm', 200, { provider: 'openai', model: 'a' });
    m.record('llm', 300, { provider: 'openai', model: 'b' });
    m.record('llm', 250, { provider: 'azure' });
    const docs = toEmf(m.collect(), { dimensions: ['provider'] }).map((l) => JSON.parse(l) as EmfDoc);
    expect(docs.map((d) => [d.provider, d.Requests]).sort()).toEqual([
      ['azure', 1],
      ['openai', 2],
    ]);
    expect(docs[0]?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['operation', 'provider']]);
  });

  it('keeps percentiles computed by CloudWatch from Values/Counts within 2 % of the HDR ones', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.05, max: 30_000, noNaN: true }), { minLength: 1, maxLength: 2000 }),
        fc.constantFrom(50, 90, 95, 99),
        (samples, p) => {
          const h = new LatencyHistogram();
          let sum = 0;
          for (const s of samples) {
            h.recordMs(s);
            sum += s;
          }
          const emf = histogramToEmf(h, sum);
          expect(emf.Values.length).toBeLessThanOrEqual(EMF_MAX_VALUES);
          expect(emf.Counts.reduce((a, b) => a + b, 0)).toBe(samples.length);
          const expected = h.percentileMs(p);
          expect(Math.abs(cloudWatchPercentile(emf, p) - expected)).toBeLessThanOrEqual(
            expected * 0.02 + 0.002,
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  it('flushes only what was recorded since the previous flush', () => {
    const m = new PerformanceMonitor();
    const lines: string[] = [];
    const emf = new EmfExporter(m, { write: (l) => lines.push(l), now: () => 42 });
    m.record('tts', 100);
    m.record('tts', 110);
    expect(emf.flush()).toHaveLength(1);
    m.record('tts', 500);
    emf.flush();
    expect(emf.flush()).toEqual([]);
    const docs = lines.map((l) => JSON.parse(l) as EmfDoc);
    expect(docs.map((d) => d.Requests)).toEqual([2, 1]);
    expect((docs[1]!.Latency as EmfHistogram).Min).toBeCloseTo(500, 0);
  });

  it('emits cache counters as per-flush deltas', () => {
    let hits = 10;
    const cache = { stats: () => ({ namespaces: { llm: { hits, misses: 4, stale: 0, errors: 0 } } }) };
    const emf = new EmfExporter(new PerformanceMonitor(), { cache, write: () => {} });
    const first = JSON.parse(emf.flush()[0]!) as EmfDoc;
    expect(first).toMatchObject({ CacheNamespace: 'llm', CacheHits: 10, CacheMisses: 4 });
    hits = 13;
    const second = JSON.parse(emf.flush()[0]!) as EmfDoc;
    expect(second).toMatchObject({ CacheHits: 3, CacheMisses: 0 });
    expect(second._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['CacheNamespace']]);
  });

  it('rejects a storage resolution CloudWatch does not offer', () => {
    expect(() => new EmfExporter(new PerformanceMonitor(), { storageResolution: 5 as 1 })).toThrow(
      ConfigError,
    );
  });
});
