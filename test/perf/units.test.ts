/**
 * Small behaviours of the perf building blocks that the mutation pass showed unpinned:
 * histogram arithmetic, label normalisation and matching, the text report, the monitor's
 * read-side helpers. Exact values and exact error messages.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CardinalityError, InvalidArgumentError } from '../../src/errors.js';
import { LatencyHistogram, OP, PerformanceMonitor } from '../../src/perf/index.js';
import {
  fastLabelKey,
  matchesLabels,
  normalizeLabels,
  seriesKey,
  validateOperationName,
} from '../../src/perf/labels.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('LatencyHistogram', () => {
  it('min, max, mean, std dev and percentiles of exact small values', () => {
    const h = new LatencyHistogram();
    expect([h.count, h.minMs, h.maxMs, h.meanMs, h.stdDevMs, h.percentileMs(50)]).toEqual([0, 0, 0, 0, 0, 0]);
    // below 2.048 ms every microsecond is its own bucket: these values are exact
    for (const v of [0.1, 0.2, 0.3, 0.4]) h.recordMs(v);
    expect(h.count).toBe(4);
    expect(h.minMs).toBe(0.1);
    expect(h.maxMs).toBe(0.4);
    expect(h.meanMs).toBeCloseTo(0.25, 6);
    expect(h.stdDevMs).toBeCloseTo(Math.sqrt(0.0125), 6);
    expect(h.percentileMs(50)).toBe(0.2);
    expect(h.percentileMs(100)).toBe(0.4);
    expect(h.percentileMs(0)).toBe(0.1);
    h.recordMs(0);
    expect(h.minMs).toBe(0);
    h.recordMs(-5);
    expect(h.count).toBe(6);
    expect(h.countAtOrBelowMs(0)).toBe(2);
  });

  it('rejects percentiles outside 0–100 with the range in the message', () => {
    const h = new LatencyHistogram();
    expect(() => h.percentileMs(-1)).toThrow('percentile must be between 0 and 100, got -1.');
    expect(() => h.percentileMs(100.5)).toThrow('got 100.5');
    expect(() => h.percentileMs(Number.NaN)).toThrow(InvalidArgumentError);
  });

  it('cumulative counts at ascending bounds, in one pass', () => {
    const h = new LatencyHistogram();
    for (const v of [1, 1, 2, 5, 10]) h.recordMs(v);
    expect(h.countsAtOrBelowMs([0.5, 1, 1.5, 2, 9.999, 10, 100])).toEqual([0, 2, 2, 3, 4, 5, 5]);
    expect(h.countsAtOrBelowMs([])).toEqual([]);
    expect(new LatencyHistogram().countsAtOrBelowMs([1, 2])).toEqual([0, 0]);
    expect(h.countAtOrBelowMs(5)).toBe(4);
  });

  it('recordManyMs, sparse round trip, clone and reset', () => {
    const h = new LatencyHistogram({ significantDigits: 2 });
    h.recordManyMs(0.2, 5);
    h.recordManyMs(0.7, 0);
    h.recordMs(0.1);
    expect(h.count).toBe(6);
    const sparse = h.toSparse();
    expect([...sparse.valuesUs]).toEqual([100, 200]);
    expect([...sparse.counts]).toEqual([1, 5]);
    const back = new LatencyHistogram({ significantDigits: 2 });
    back.addSparse(sparse);
    expect(back.percentileMs(50)).toBe(h.percentileMs(50));
    expect(back.count).toBe(6);
    const copy = h.clone();
    expect(copy.significantDigits).toBe(2);
    expect(copy.count).toBe(6);
    h.reset();
    expect(h.count).toBe(0);
    expect(copy.count).toBe(6);
    expect(new LatencyHistogram().toSparse().valuesUs.length).toBe(0);
    const sum = new LatencyHistogram();
    sum.add(new LatencyHistogram());
    sum.add(copy);
    expect(sum.count).toBe(6);
  });

  it('decode restores precision and counts, and names what is wrong', () => {
    const h = new LatencyHistogram({ significantDigits: 4 });
    for (const v of [0, 0.001, 12.3456, 999]) h.recordMs(v);
    const back = LatencyHistogram.decode(h.encode());
    expect(back.significantDigits).toBe(4);
    expect(back.count).toBe(4);
    expect(back.minMs).toBe(0);
    expect(back.percentileMs(75)).toBe(h.percentileMs(75));
    expect(() => LatencyHistogram.decode('')).toThrow(
      'Not an encoded HDR histogram (expected compressed base64 V2): no V2 compressed cookie.',
    );
    expect(() => LatencyHistogram.decode(42 as never)).toThrow('Encoded histogram must be a string');
  });
});

describe('labels', () => {
  it('series keys sort label names and escape quotes and backslashes in values', () => {
    expect(seriesKey('op', undefined)).toBe('op');
    expect(seriesKey('op', {})).toBe('op');
    expect(seriesKey('op', { b: '2', a: 1 })).toBe('op{a="1",b="2"}');
    expect(seriesKey('op', { a: 'x"y\\z' })).toBe('op{a="x\\"y\\\\z"}');
    expect(seriesKey('op', { a: true }, 'outcome', 'ok')).toBe('op{a="true",outcome="ok"}');
    expect(seriesKey('op', { outcome: 'hit' }, 'outcome', 'ok')).toBe('op{outcome="hit"}');
    expect(seriesKey('a{b', undefined)).toBe('a\\{b');
    expect(seriesKey('a\\b', undefined)).toBe('a\\\\b');
  });

  it('label values: strings up to 256 characters, numbers and booleans; anything else is refused', () => {
    expect(() => seriesKey('op', { a: 'x'.repeat(257) })).toThrow('Label "a" is longer than 256 characters.');
    expect(seriesKey('op', { a: 'x'.repeat(256) })).toHaveLength(256 + 8);
    expect(() => seriesKey('op', { a: {} as never })).toThrow(
      'Label "a" must be a string, number or boolean, got object.',
    );
    expect(() => seriesKey('op', { '1a': 'x' })).toThrow(
      'Label name "1a" is invalid: use letters, digits and _, not starting with a digit.',
    );
  });

  it('operation names: non-empty, at most 128 characters, no control characters', () => {
    for (const bad of ['', 'a\nb', 'tab\there', '\u007f', 'x'.repeat(129), 5 as never]) {
      expect(() => validateOperationName(bad)).toThrow(
        'Operation name must be a non-empty string of at most 128 characters without control characters',
      );
    }
    expect(() => validateOperationName('x'.repeat(128))).not.toThrow();
    expect(() => validateOperationName('tool:list_loads {x="1"}')).not.toThrow();
  });

  it('normalized labels are sorted, stringified, frozen; matching compares strings', () => {
    const n = normalizeLabels({ b: 2, a: true }, 'outcome', 'ok');
    expect(Object.keys(n)).toEqual(['a', 'b', 'outcome']);
    expect(n).toEqual({ a: 'true', b: '2', outcome: 'ok' });
    expect(Object.isFrozen(n)).toBe(true);
    expect(normalizeLabels({ outcome: 'hit' }, 'outcome', 'ok')).toEqual({ outcome: 'hit' });
    expect(normalizeLabels(undefined)).toEqual({});
    expect(matchesLabels(n, undefined)).toBe(true);
    expect(matchesLabels(n, { b: 2 })).toBe(true);
    expect(matchesLabels(n, { b: '2', a: 'true' })).toBe(true);
    expect(matchesLabels(n, { b: 3 })).toBe(false);
    expect(matchesLabels(n, { c: 'undefined' })).toBe(false);
    expect(matchesLabels(n, { toString: 'x' } as never)).toBe(false);
  });

  it('fast keys differ whenever the labels or the outcome differ, and refuse odd values', () => {
    const keys = [
      fastLabelKey({ a: 'b=1' }, undefined),
      fastLabelKey({ a: 'b', '1': '' } as never, undefined),
      fastLabelKey({ a: '1' }, undefined),
      fastLabelKey({ a: 1 }, undefined),
      fastLabelKey({ a: '1' }, 'ok'),
      fastLabelKey({ a: '1' }, 'error'),
      fastLabelKey({}, 'ok'),
      fastLabelKey({}, undefined),
    ];
    expect(new Set(keys).size).toBe(keys.length);
    expect(fastLabelKey({ a: {} as never }, undefined)).toBeUndefined();
    expect(fastLabelKey({ a: undefined as never }, undefined)).toBeUndefined();
    expect(fastLabelKey(Object.create({ inherited: 'x' }), undefined)).toBe('');
  });
});

describe('monitor read side', () => {
  it('percentile, operations, snapshot, toJSON and collect agree', () => {
    const m = new PerformanceMonitor();
    m.record('b', 0.4, { outcome: 'error' });
    m.record('a', 0.2);
    m.record('a', 0.6, { provider: 'p' });
    expect(m.operations()).toEqual(['a', 'b']);
    expect(m.percentile('a', 100)).toBe(0.6);
    expect(m.percentile('a', 0, { labels: { provider: 'p' } })).toBe(0.6);
    expect(m.percentile('nope', 50)).toBeUndefined();
    expect(m.snapshot().map((s) => [s.name, s.count, s.errors, s.errorRate])).toEqual([
      ['a', 2, 0, 0],
      ['b', 1, 1, 1],
    ]);
    const json = m.toJSON();
    expect(json.droppedSeries).toBe(0);
    expect(json.series.map((s) => [s.name, s.labels, s.count, s.errors, s.p50, s.p90, s.p99])).toEqual([
      ['b', { outcome: 'error' }, 1, 1, 0.4, 0.4, 0.4],
      ['a', {}, 1, 0, 0.2, 0.2, 0.2],
      ['a', { provider: 'p' }, 1, 0, 0.6, 0.6, 0.6],
    ]);
    const stats = m.stats('a')!;
    expect([stats.p50, stats.p90, stats.p95, stats.p99, stats.p999, stats.minMs, stats.maxMs]).toEqual([
      0.2, 0.6, 0.6, 0.6, 0.6, 0.2, 0.6,
    ]);
    expect(stats.meanMs).toBeCloseTo(0.4, 9);
    expect(stats.stdDevMs).toBeCloseTo(0.2, 6);
  });

  it('interval deltas keep the error marking of their series', () => {
    const m = new PerformanceMonitor();
    const r = m.intervalReader();
    m.record('x', 1, { outcome: 'error' });
    m.record('x', 1, { outcome: 'error' });
    expect(r.read().map((s) => [s.count, s.errors, s.sumMs])).toEqual([[2, 2, 2]]);
    m.record('x', 3, { outcome: 'error' });
    expect(r.read().map((s) => [s.count, s.errors, s.sumMs])).toEqual([[1, 1, 3]]);
  });

  it('overflow: unknown operations share earshot_overflow, known ones get their own; throw mode names the key', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const m = new PerformanceMonitor({ maxSeries: 2 });
    m.record('a', 1, { k: '1' });
    m.record('b', 1);
    m.record('a', 1, { k: '2' });
    m.record('c', 1);
    m.record('d', 1);
    expect(m.operations()).toEqual(['a', 'b', 'earshot_overflow']);
    expect(m.stats('earshot_overflow')!.count).toBe(2);
    expect(m.stats('a', { labels: { overflow: 'true' } })!.count).toBe(1);
    expect(m.overflowedSeries).toBe(3);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![1]).toEqual({ code: 'EARSHOT_CARDINALITY' });
    const strict = new PerformanceMonitor({ maxSeries: 1, onCardinalityExceeded: 'throw' });
    strict.record('a', 1);
    expect(() => strict.record('a', 1, { k: 'v' })).toThrow(CardinalityError);
    expect(() => strict.record('a', 1, { k: 'v' })).toThrow(
      'The monitor already holds 1 series; refusing to add a{k="v"}.',
    );
  });

  it('constructor options are validated with their range', () => {
    expect(() => new PerformanceMonitor({ significantDigits: 6 })).toThrow(
      'significantDigits must be an integer from 1 to 5, got 6.',
    );
    expect(() => new PerformanceMonitor({ maxSeries: 0 })).toThrow(
      'maxSeries must be an integer from 1 to 1000000, got 0.',
    );
    expect(() => new PerformanceMonitor({ windowMs: 0.5 })).toThrow('windowMs must be an integer');
    expect(() => new PerformanceMonitor({ windowSlices: 601 })).toThrow(
      'windowSlices must be an integer from 1 to 600',
    );
    expect(
      () => new PerformanceMonitor({ windowMs: 86_400_000, windowSlices: 600, maxSeries: 1_000_000 }),
    ).not.toThrow();
  });

  it('span labels set during the work and at the end are merged over the start labels', () => {
    let t = 0;
    const m = new PerformanceMonitor({ now: () => t });
    const s = m.start(OP.tts, { provider: 'x', cached: false });
    s.setLabels({ cached: true });
    t = 5;
    expect(s.elapsedMs).toBe(5);
    expect(s.end({ labels: { voice: 'v' } })).toBe(5);
    expect(s.ended).toBe(true);
    t = 9;
    expect(s.end()).toBe(5);
    expect(m.collect().map((c) => c.labels)).toEqual([
      { cached: 'true', outcome: 'ok', provider: 'x', voice: 'v' },
    ]);
    const f = m.start(OP.tts);
    expect(f.fail(new Error('x'))).toBe(0);
    expect(m.stats(OP.tts, { outcome: 'error' })!.count).toBe(1);
    const custom = m.start(OP.stt);
    custom.end({ outcome: 'timeout' });
    expect(m.stats(OP.stt)!.errors).toBe(1);
  });

  it('the text report: aligned columns, decimals, no operations, NO DATA', () => {
    const m = new PerformanceMonitor();
    expect(m.report()).toBe(
      'operation  count  errors  p50  p90  p95  p99  max\n─────────  ─────  ──────  ───  ───  ───  ───  ───\n(no operations recorded)\ntimes in ms',
    );
    m.record('op', 1.25);
    const text = m.report({ decimals: 2, targets: { op: 2, gone: 5 } });
    expect(text).toContain('1.25');
    expect(text).toMatch(/^op\s+1\s+0\s+1\.25/m);
    expect(text).toMatch(/^gone\s+0\s+0\s+-\s+-/m);
    expect(text).toMatch(/P90 ≤ 5\s+NO DATA$/m);
    expect(text).toMatch(/P90 ≤ 2\s+PASS$/m);
    expect(text.endsWith('times in ms')).toBe(true);
  });
  it('the text report, whole: names and target columns left-aligned, numbers right-aligned, rows for targets without data', () => {
    const m = new PerformanceMonitor();
    m.record('op', 1.25);
    m.record('a_much_longer_name', 12.5);
    expect(m.report({ decimals: 2, targets: { op: 2, gone: 5 } })).toBe(
      [
        'operation           count  errors    p50    p90    p95    p99    max  target   status',
        '──────────────────  ─────  ──────  ─────  ─────  ─────  ─────  ─────  ───────  ───────',
        'a_much_longer_name      1       0  12.50  12.50  12.50  12.50  12.50',
        'op                      1       0   1.25   1.25   1.25   1.25   1.25  P90 ≤ 2  PASS',
        'gone                    0       0      -      -      -      -      -  P90 ≤ 5  NO DATA',
        'times in ms',
      ].join('\n'),
    );
    expect(m.report()).toBe(
      [
        'operation           count  errors   p50   p90   p95   p99   max',
        '──────────────────  ─────  ──────  ────  ────  ────  ────  ────',
        'a_much_longer_name      1       0  12.5  12.5  12.5  12.5  12.5',
        'op                      1       0   1.3   1.3   1.3   1.3   1.3',
        'times in ms',
      ].join('\n'),
    );
    // targets but nothing recorded: the target rows, and no "(no operations recorded)" line
    expect(new PerformanceMonitor().report({ targets: { gone: 5 } })).toBe(
      [
        'operation  count  errors  p50  p90  p95  p99  max  target   status',
        '─────────  ─────  ──────  ───  ───  ───  ───  ───  ───────  ───────',
        'gone           0       0    -    -    -    -    -  P90 ≤ 5  NO DATA',
        'times in ms',
      ].join('\n'),
    );
  });
});
