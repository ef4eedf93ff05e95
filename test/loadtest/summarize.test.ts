import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  distribution,
  type LoadRunResult,
  runClosedModel,
  sortStages,
  summarizeRun,
} from '../../src/loadtest/index.js';
import { LatencyHistogram } from '../../src/perf/index.js';

const config = {
  model: 'closed' as const,
  target: { kind: 'function' as const, description: 'test' },
  scenarios: [{ name: 's', weight: 1 }],
};

async function run(
  record: (ctx: { monitor: LoadRunResult['monitor']; i: number }) => void,
  opts: { fail?: (i: number) => boolean } = {},
) {
  let i = 0;
  return runClosedModel({
    users: 1,
    iterations: 50,
    scenarios: [
      {
        name: 's',
        run: async (ctx) => {
          const n = i++;
          record({ monitor: ctx.monitor, i: n });
          if (opts.fail?.(n)) throw new Error('boom');
          return undefined;
        },
      },
    ],
  });
}

describe('summarizeRun', () => {
  it('lists stages in turn order with their percentiles, and judges only measured targets', async () => {
    const result = await run(({ monitor, i }) => {
      monitor.record('tts_ttfb', 50 + i, { outcome: 'ok' });
      monitor.record('stt', 10 + i, { outcome: 'ok' });
      monitor.record('zeta', 1);
    });
    const saved = summarizeRun({
      kind: 'load',
      title: 't',
      result,
      earshotVersion: 'x',
      config,
      targets: { stt: 100, tts_ttfb: 80, search: 100 },
    });
    expect(saved.stages.map((s) => s.name)).toEqual(['stt', 'tts_ttfb', 'scenario', 'zeta']);
    const stt = saved.stages[0]!;
    expect(stt.count).toBe(50);
    expect(stt.p50).toBeCloseTo(result.monitor.stats('stt')!.p50, 6);
    expect(stt.target).toEqual({
      percentile: 90,
      targetMs: 100,
      actualMs: stt.p90,
      status: 'pass',
      okCount: 50,
      errors: 0,
      errorRate: 0,
      maxErrorRate: 0.01,
    });
    expect(saved.stages[1]!.target?.status).toBe('fail');
    expect(saved.verdict.pass).toBe(false);
    expect(saved.verdict.failures).toEqual([
      expect.stringMatching(/^tts_ttfb: P90 \d+\.\d ms \(successful calls\) > target 80 ms$/),
    ]);
    // search had no samples: no row, and no failure
    expect(saved.stages.find((s) => s.name === 'search')).toBeUndefined();
  });

  it('fails the verdict when the error rate is above the limit', async () => {
    const result = await run(() => {}, { fail: (i) => i % 10 === 0 });
    const ok = summarizeRun({
      kind: 'load',
      title: 't',
      result,
      earshotVersion: 'x',
      config,
      maxErrorRate: 0.1,
    });
    const strict = summarizeRun({
      kind: 'load',
      title: 't',
      result,
      earshotVersion: 'x',
      config,
      maxErrorRate: 0.05,
    });
    expect(ok.summary.errorRate).toBeCloseTo(0.1, 6);
    expect(ok.verdict.pass).toBe(true);
    expect(strict.verdict.pass).toBe(false);
    expect(strict.verdict.failures).toEqual(['error rate 10.0 % > 5.0 %']);
    expect(strict.errors).toEqual([{ kind: 'Error', count: 5, message: 'boom' }]);
  });

  it('computes cache hit rates per namespace and overall, counting stale reads as hits', async () => {
    const result = await run(() => {});
    const saved = summarizeRun({
      kind: 'demo',
      title: 't',
      result,
      earshotVersion: 'x',
      config,
      cache: {
        namespaces: {
          llm: { hits: 3, misses: 1 },
          tts: { hits: 1, misses: 2, stale: 1 },
          idle: { hits: 0, misses: 0 },
        },
      },
    });
    expect(saved.cache).toEqual({
      namespaces: {
        llm: { hits: 3, misses: 1, stale: 0, hitRate: 0.75 },
        tts: { hits: 1, misses: 2, stale: 1, hitRate: 0.5 },
      },
      total: { hits: 4, misses: 3, stale: 1, hitRate: 5 / 8 },
    });
  });

  it('sortStages puts tools after search and unknown operations last', () => {
    expect(sortStages(['zz', 'e2e', 'tool:b', 'stt', 'tool:a', 'llm'])).toEqual([
      'stt',
      'tool:a',
      'tool:b',
      'llm',
      'e2e',
      'zz',
    ]);
  });
});

describe('distribution', () => {
  it('is non-decreasing, starts at the minimum, ends at the maximum, and only claims percentiles the sample count supports', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.01, max: 60_000, noNaN: true }), { minLength: 1, maxLength: 3000 }),
        (samples) => {
          const h = new LatencyHistogram();
          for (const s of samples) h.recordMs(s);
          const d = distribution(h);
          expect(d[0]!.percentile).toBe(0);
          expect(d[d.length - 1]).toEqual({ percentile: 100, ms: h.maxMs });
          for (let i = 1; i < d.length; i++) {
            expect(d[i]!.percentile).toBeGreaterThan(d[i - 1]!.percentile);
            expect(d[i]!.ms).toBeGreaterThanOrEqual(d[i - 1]!.ms);
          }
          for (const p of d.slice(1, -1))
            expect(1 - p.percentile / 100).toBeGreaterThanOrEqual(1 / samples.length - 1e-12);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('is empty for an empty histogram', () => {
    expect(distribution(new LatencyHistogram())).toEqual([]);
  });
});
