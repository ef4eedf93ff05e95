import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CardinalityError, InvalidArgumentError, TargetError } from '../../src/errors.js';
import { LatencyHistogram, PerformanceMonitor } from '../../src/perf/index.js';

/** Exact nearest-rank percentile, the definition HDR histograms follow. */
function exactPercentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

// HDR with 3 significant digits keeps every value within 0.1 % (plus the 1 µs unit).
const within = (actual: number, expected: number) => Math.abs(actual - expected) <= expected * 0.001 + 0.001;

const durations = fc.array(fc.double({ min: 0, max: 120_000, noNaN: true }), {
  minLength: 1,
  maxLength: 400,
});

describe('percentiles', () => {
  it('match an exact computation on random data within HDR precision', () => {
    fc.assert(
      fc.property(durations, fc.constantFrom(50, 90, 95, 99), (values, p) => {
        const monitor = new PerformanceMonitor();
        for (const v of values) monitor.record('op', v);
        const expected = Math.round(exactPercentile(values, p) * 1000) / 1000;
        const actual = monitor.percentile('op', p)!;
        expect(within(actual, expected)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('stats report count, min, max and the exact mean', () => {
    const monitor = new PerformanceMonitor();
    for (const v of [1, 2, 3, 4, 100]) monitor.record('op', v);
    const s = monitor.stats('op')!;
    expect(s.count).toBe(5);
    expect(within(s.minMs, 1)).toBe(true);
    expect(within(s.maxMs, 100)).toBe(true);
    expect(s.maxMs).toBeGreaterThanOrEqual(s.p99);
    expect(s.meanMs).toBeCloseTo(22, 10);
    expect(s.p50).toBeCloseTo(3, 2);
    expect(s.p99).toBeCloseTo(100, 0);
  });

  it('an operation with no samples has no stats', () => {
    const monitor = new PerformanceMonitor();
    expect(monitor.stats('nothing')).toBeUndefined();
    expect(monitor.percentile('nothing', 90)).toBeUndefined();
  });

  it('memory stays bounded whatever the number of records', () => {
    const monitor = new PerformanceMonitor();
    for (let i = 0; i < 200_000; i++) monitor.record('op', (i % 5000) / 7);
    const h = monitor.collect()[0]!.histogram;
    expect(h.count).toBe(200_000);
    expect(h.raw.estimatedFootprintInBytes).toBeLessThan(200_000);
  });
});

describe('merging', () => {
  it('merged histograms of several monitors give the percentiles of one monitor that saw all the data', () => {
    fc.assert(
      fc.property(
        fc.array(durations, { minLength: 1, maxLength: 5 }),
        fc.double({ min: 1, max: 99.9, noNaN: true }),
        (parts, p) => {
          const all = new PerformanceMonitor();
          const merged = new PerformanceMonitor();
          for (const part of parts) {
            const m = new PerformanceMonitor();
            for (const v of part) {
              m.record('op', v, { region: 'eu' });
              all.record('op', v, { region: 'eu' });
            }
            merged.mergeEncoded(m.exportEncoded());
          }
          expect(merged.percentile('op', p)).toBe(all.percentile('op', p));
          expect(merged.stats('op')?.count).toBe(all.stats('op')?.count);
          expect(merged.stats('op')?.meanMs).toBeCloseTo(all.stats('op')!.meanMs, 6);
          expect(merged.stats('op')?.maxMs).toBe(all.stats('op')?.maxMs);
          expect(merged.stats('op')?.minMs).toBe(all.stats('op')?.minMs);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('an encoded histogram decodes to the same counts and percentiles', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 1000; i++) h.recordMs(i / 3);
    const d = LatencyHistogram.decode(h.encode());
    expect(d.count).toBe(1000);
    for (const p of [50, 90, 99]) expect(d.percentileMs(p)).toBe(h.percentileMs(p));
  });

  it('decoding garbage throws InvalidArgumentError', () => {
    expect(() => LatencyHistogram.decode('not a histogram')).toThrow(InvalidArgumentError);
  });

  it('cumulative bucket counts follow the samples', () => {
    const h = new LatencyHistogram();
    for (const v of [0.5, 1, 5, 5, 20, 300]) h.recordMs(v);
    expect(h.countsAtOrBelowMs([1, 5, 10, 100, 1000])).toEqual([2, 4, 4, 5, 6]);
  });
});

describe('outcomes', () => {
  it('a throwing async function is recorded as an error and rethrows the same error', async () => {
    const monitor = new PerformanceMonitor();
    const boom = new Error('boom');
    await expect(monitor.track('llm', async () => Promise.reject(boom))).rejects.toBe(boom);
    const s = monitor.stats('llm')!;
    expect(s.count).toBe(1);
    expect(s.errors).toBe(1);
    expect(s.errorRate).toBe(1);
  });

  it('a synchronously throwing function is recorded as an error and rejects with the same error', async () => {
    const monitor = new PerformanceMonitor();
    const boom = new TypeError('sync');
    await expect(
      monitor.track('x', () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(monitor.stats('x')?.errors).toBe(1);
  });

  it('track returns the function result and counts successes separately', async () => {
    const monitor = new PerformanceMonitor();
    expect(await monitor.track('x', async () => 42)).toBe(42);
    expect(await monitor.track('x', () => 'sync', { provider: 'p' })).toBe('sync');
    const s = monitor.stats('x')!;
    expect(s.count).toBe(2);
    expect(s.errors).toBe(0);
    expect(monitor.stats('x', { labels: { provider: 'p' } })?.count).toBe(1);
  });

  it('wrap keeps sync functions sync and returns the very same promise object', async () => {
    const monitor = new PerformanceMonitor();
    const add = monitor.wrap('add', (a: number, b: number) => a + b);
    expect(add(2, 3)).toBe(5);
    class ApiPromise<T> extends Promise<T> {
      withResponse() {
        return 'extra';
      }
    }
    const p = new ApiPromise<number>((r) => r(1));
    const call = monitor.wrap('sdk', () => p);
    const out = call();
    expect(out).toBe(p);
    expect(out.withResponse()).toBe('extra');
    await out;
    await new Promise((r) => setImmediate(r));
    expect(monitor.stats('sdk')?.count).toBe(1);
    expect(monitor.stats('add')?.count).toBe(1);
  });

  it('wrap records a thrown error and rethrows it', () => {
    const monitor = new PerformanceMonitor();
    const err = new Error('no');
    const f = monitor.wrap('f', () => {
      throw err;
    });
    expect(() => f()).toThrow(err);
    expect(monitor.stats('f')?.errors).toBe(1);
  });

  it('record rejects negative, NaN and infinite durations', () => {
    const monitor = new PerformanceMonitor();
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => monitor.record('x', bad)).toThrow(InvalidArgumentError);
    }
    expect(monitor.stats('x')).toBeUndefined();
  });

  it('invalid operation and label names are rejected', () => {
    const monitor = new PerformanceMonitor();
    expect(() => monitor.record('', 1)).toThrow(InvalidArgumentError);
    expect(() => monitor.record('a\nb', 1)).toThrow(InvalidArgumentError);
    expect(() => monitor.record('x', 1, { 'bad-name': 'v' })).toThrow(InvalidArgumentError);
  });
});

describe('labels and cardinality', () => {
  it('past maxSeries new label sets go to an overflow series, never unbounded memory', () => {
    const monitor = new PerformanceMonitor({ maxSeries: 10 });
    for (let i = 0; i < 1000; i++) monitor.record('company_api', 1, { load_id: String(i) });
    for (let i = 0; i < 1000; i++) monitor.record(`dynamic_${i}`, 1);
    const series = monitor.collect();
    expect(series.length).toBeLessThanOrEqual(12);
    expect(monitor.stats('company_api')?.count).toBe(1000);
    expect(monitor.overflowedSeries).toBeGreaterThan(0);
  });

  it('with onCardinalityExceeded "throw" a CardinalityError is thrown', () => {
    const monitor = new PerformanceMonitor({ maxSeries: 2, onCardinalityExceeded: 'throw' });
    monitor.record('a', 1);
    monitor.record('b', 1);
    expect(() => monitor.record('c', 1)).toThrow(CardinalityError);
  });

  it('label values with quotes cannot collide with other label sets', () => {
    const monitor = new PerformanceMonitor();
    monitor.record('x', 1, { a: '1",b="2' });
    monitor.record('x', 2, { a: '1', b: '2' });
    expect(monitor.collect().length).toBe(2);
  });
});

describe('rolling windows', () => {
  it('windowed stats only see the last windowMs while all-time stats see everything', () => {
    let t = 0;
    const monitor = new PerformanceMonitor({ windowMs: 60_000, windowSlices: 6, now: () => t });
    for (let i = 0; i < 100; i++) monitor.record('llm', 1000);
    t = 120_000; // two minutes later
    for (let i = 0; i < 10; i++) monitor.record('llm', 10);
    expect(monitor.stats('llm')?.count).toBe(110);
    const recent = monitor.stats('llm', { windowMs: 60_000 })!;
    expect(recent.count).toBe(10);
    expect(recent.p99).toBeCloseTo(10, 1);
    expect(monitor.stats('llm')!.p90).toBeCloseTo(1000, -1);
  });

  it('a window longer than the configured one is refused', () => {
    const monitor = new PerformanceMonitor({ windowMs: 10_000 });
    monitor.record('x', 1);
    expect(() => monitor.stats('x', { windowMs: 20_000 })).toThrow(InvalidArgumentError);
  });

  it('the interval reader returns only what was recorded since its previous read', () => {
    const monitor = new PerformanceMonitor();
    const reader = monitor.intervalReader();
    monitor.record('x', 5);
    monitor.record('x', 7);
    expect(reader.read().map((s) => s.count)).toEqual([2]);
    expect(reader.read()).toEqual([]);
    monitor.record('x', 100);
    const [delta] = reader.read();
    expect(delta?.count).toBe(1);
    expect(delta?.histogram.count).toBe(1);
    expect(delta?.histogram.percentileMs(50)).toBeCloseTo(100, 0);
  });
});

describe('targets', () => {
  const seed = (monitor: PerformanceMonitor) => {
    for (let i = 1; i <= 100; i++) monitor.record('stt', i); // P90 = 90
    for (let i = 1; i <= 100; i++) monitor.record('llm', i * 5); // P90 = 450
  };

  it('reports pass, fail and no data — no data is never a pass', () => {
    const monitor = new PerformanceMonitor();
    seed(monitor);
    const results = monitor.checkTargets({ stt: 100, llm: 300, tts: 100 });
    const by = Object.fromEntries(results.map((r) => [r.operation, r]));
    expect(by.stt).toMatchObject({ status: 'pass', pass: true, targetMs: 100, count: 100, percentile: 90 });
    expect(by.stt!.actualMs).toBeCloseTo(90, 0);
    expect(by.llm).toMatchObject({ status: 'fail', pass: false });
    expect(by.tts).toMatchObject({ status: 'no-data', pass: false, actualMs: null, count: 0 });
  });

  it('honours the percentile option', () => {
    const monitor = new PerformanceMonitor();
    seed(monitor);
    expect(monitor.checkTargets({ stt: 60 }, { percentile: 50 })[0]?.pass).toBe(true);
    expect(monitor.checkTargets({ stt: 60 }, { percentile: 99 })[0]?.pass).toBe(false);
  });

  it('accepts the config targets block with stretch goals', () => {
    const monitor = new PerformanceMonitor();
    for (let i = 0; i < 50; i++) monitor.record('e2e', 400);
    const [r] = monitor.checkTargets({ operations: { e2e: 500 }, percentile: 90, stretch: { e2e: 335 } });
    expect(r).toMatchObject({ pass: true, stretchMs: 335, stretchPass: false });
  });

  it('assertTargets throws a TargetError listing every failure', () => {
    const monitor = new PerformanceMonitor();
    seed(monitor);
    try {
      monitor.assertTargets({ stt: 100, llm: 300, tts: 100 });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(TargetError);
      const e = err as TargetError;
      expect(e.code).toBe('EARSHOT_TARGET_MISSED');
      expect(e.failures.map((f) => `${f.operation}:${f.status}`).sort()).toEqual(['llm:fail', 'tts:no-data']);
      expect(e.message).toContain('llm');
    }
    expect(() => monitor.assertTargets({ stt: 100 })).not.toThrow();
  });

  it('the text report shows every operation with its percentiles and verdict', () => {
    const monitor = new PerformanceMonitor();
    seed(monitor);
    const text = monitor.report({ targets: { stt: 100, llm: 300, tts: 100 } });
    expect(text).toMatch(/stt\s+100\s+0\s+50\.0\s+90\.0/);
    expect(text).toMatch(/llm.*FAIL/);
    expect(text).toMatch(/tts.*NO DATA/);
    const json = monitor.toJSON();
    expect(json.operations.map((o) => o.name)).toEqual(['llm', 'stt']);
    expect(JSON.parse(JSON.stringify(json)).operations[1].count).toBe(100);
  });
});

describe('alarms', () => {
  it('monitor.alarm goes to ALARM after P90 stays above the threshold for the evaluation periods', () => {
    const monitor = new PerformanceMonitor();
    const alarm = monitor.alarm({
      operation: 'e2e',
      percentile: 90,
      thresholdMs: 500,
      evaluationPeriods: 2,
      periodSeconds: 60,
      minSamples: 5,
    });
    const states: string[] = [];
    alarm.on('change', (t) => states.push(t.state));
    for (let period = 0; period < 3; period++) {
      for (let i = 0; i < 10; i++) monitor.record('e2e', 700);
      alarm.evaluate();
    }
    for (let i = 0; i < 10; i++) monitor.record('e2e', 200);
    alarm.evaluate();
    // INSUFFICIENT_DATA → OK after one breaching period (1 of 2 is not enough), ALARM after the
    // second, OK again after a good period
    expect(states).toEqual(['OK', 'ALARM', 'OK']);
  });
});

describe('recorders and reset', () => {
  it('a recorder writes into its pre-resolved series and validates durations', () => {
    const monitor = new PerformanceMonitor();
    const hit = monitor.recorder('cache_read', { namespace: 'llm', outcome: 'hit' });
    hit(0.5);
    hit(1.5);
    expect(monitor.stats('cache_read', { labels: { outcome: 'hit' } })?.count).toBe(2);
    expect(() => hit(-1)).toThrow(InvalidArgumentError);
  });

  it('recorders, wrappers and decorators keep recording after reset()', () => {
    const monitor = new PerformanceMonitor();
    const rec = monitor.recorder('a');
    const f = monitor.wrap('b', () => 1);
    rec(1);
    f();
    monitor.reset();
    expect(monitor.operations()).toEqual([]);
    rec(2);
    f();
    expect(monitor.stats('a')?.count).toBe(1);
    expect(monitor.stats('b')?.count).toBe(1);
  });
});
