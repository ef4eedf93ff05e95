/**
 * Verdicts (issue 13 gaps, issue 18 item 1): the targets block's percentile, windowMs and
 * labels are honoured, the comparison is ≤, inputs are validated, and latency is judged on
 * successful calls with a per-operation error-rate gate.
 */
import { describe, expect, it } from 'vitest';
import { TargetError } from '../../src/errors.js';
import { DEFAULT_MAX_ERROR_RATE, OP, PerformanceMonitor } from '../../src/perf/index.js';

/** 1..100 ms: P50 = 50, P90 = 90, P99 = 99. */
function seeded(labels?: Record<string, string>, now?: () => number): PerformanceMonitor {
  const m = new PerformanceMonitor(now ? { now } : {});
  for (let i = 1; i <= 100; i++) m.record(OP.stt, i, labels);
  return m;
}

describe('checkTargets honours every input', () => {
  it("uses the targets block's own percentile, and an explicit option overrides it", () => {
    const m = seeded();
    const [p50] = m.checkTargets({ operations: { [OP.stt]: 60 }, percentile: 50 });
    expect(p50).toMatchObject({ percentile: 50, status: 'pass' });
    expect(p50!.actualMs).toBeCloseTo(50, 0);
    const [p99] = m.checkTargets({ operations: { [OP.stt]: 60 }, percentile: 50 }, { percentile: 99 });
    expect(p99).toMatchObject({ percentile: 99, status: 'fail', failedOn: 'latency' });
    expect(p99!.actualMs).toBeCloseTo(99, 0);
    expect(m.checkTargets({ [OP.stt]: 60 })[0]).toMatchObject({ percentile: 90, status: 'fail' });
  });

  it('a value equal to the target passes (≤), one microsecond above fails', () => {
    // below 2.048 ms every microsecond is its own HDR bucket: 2 ms is recorded exactly
    const m = new PerformanceMonitor();
    for (let i = 0; i < 10; i++) m.record(OP.llm, 2);
    expect(m.checkTargets({ [OP.llm]: 2 })[0]).toMatchObject({ status: 'pass', actualMs: 2 });
    expect(m.checkTargets({ [OP.llm]: 1.999 })[0]).toMatchObject({ status: 'fail' });
    expect(m.checkTargets({ operations: { [OP.llm]: 5 }, stretch: { [OP.llm]: 2 } })[0]).toMatchObject({
      stretchPass: true,
    });
    expect(m.checkTargets({ operations: { [OP.llm]: 5 }, stretch: { [OP.llm]: 1.999 } })[0]).toMatchObject({
      stretchPass: false,
    });
  });

  it('windowMs judges only the recent samples', () => {
    let t = 0;
    const m = new PerformanceMonitor({ windowMs: 60_000, now: () => t });
    for (let i = 0; i < 50; i++) m.record(OP.tts, 900);
    t = 180_000;
    for (let i = 0; i < 50; i++) m.record(OP.tts, 20);
    expect(m.checkTargets({ [OP.tts]: 100 })[0]!.status).toBe('fail');
    const recent = m.checkTargets({ [OP.tts]: 100 }, { windowMs: 60_000 })[0]!;
    expect(recent).toMatchObject({ status: 'pass', count: 50 });
    expect(() => m.checkTargets({ [OP.tts]: 100 }, { windowMs: 120_000 })).toThrow(
      "windowMs must be in (0, 60000] (the monitor's windowMs option), got 120000.",
    );
  });

  it('labels restrict the judged series', () => {
    const m = new PerformanceMonitor();
    for (let i = 0; i < 20; i++) m.record(OP.llm, 50, { provider: 'fast' });
    for (let i = 0; i < 20; i++) m.record(OP.llm, 900, { provider: 'slow' });
    expect(m.checkTargets({ [OP.llm]: 300 }, { labels: { provider: 'fast' } })[0]).toMatchObject({
      status: 'pass',
      count: 20,
    });
    expect(m.checkTargets({ [OP.llm]: 300 }, { labels: { provider: 'slow' } })[0]!.status).toBe('fail');
    expect(m.checkTargets({ [OP.llm]: 300 }, { labels: { provider: 'none' } })[0]!.status).toBe('no-data');
  });

  it('rejects bad percentiles, targets, error rates and target shapes with messages that say so', () => {
    const m = seeded();
    expect(() => m.checkTargets({ [OP.stt]: 100 }, { percentile: 0 })).toThrow(
      'percentile must be in (0, 100], got 0.',
    );
    expect(() => m.checkTargets({ [OP.stt]: 100 }, { percentile: 101 })).toThrow('got 101');
    expect(() => m.checkTargets({ operations: { [OP.stt]: 100 }, percentile: Number.NaN })).toThrow(
      'got NaN',
    );
    expect(() => m.checkTargets({ [OP.stt]: 100 }, { percentile: 100 })).not.toThrow();
    for (const bad of [0, -5, Number.NaN, Number.POSITIVE_INFINITY, '100' as unknown as number]) {
      expect(() => m.checkTargets({ [OP.stt]: bad })).toThrow(
        `Target of "stt" must be a positive number of ms, got ${String(bad)}.`,
      );
    }
    expect(() => m.checkTargets({ [OP.stt]: 100 }, { maxErrorRate: 1.5 })).toThrow(
      'maxErrorRate must be a number from 0 to 1, got 1.5.',
    );
    expect(() => m.checkTargets({ [OP.stt]: 100 }, { maxErrorRate: -0.1 })).toThrow('got -0.1');
    expect(() => m.checkTargets(null as never)).toThrow('Targets must be an object');
    expect(() => m.checkTargets([] as never)).toThrow('Targets must be an object');
  });
});

describe('failures cannot flatter a verdict (issue 18 item 1)', () => {
  it('latency is judged on successful calls only: fast failures do not lower the percentile', () => {
    const m = new PerformanceMonitor();
    for (let i = 0; i < 10; i++) m.record(OP.companyApi, 106, { outcome: 'ok' });
    for (let i = 0; i < 90; i++) m.record(OP.companyApi, 4.7, { outcome: 'error' });
    const [r] = m.checkTargets({ [OP.companyApi]: 50 }, { maxErrorRate: 1 });
    expect(r!.actualMs).toBeCloseTo(106, 0);
    expect(r).toMatchObject({ status: 'fail', failedOn: 'latency', count: 100, okCount: 10, errors: 90 });
    expect(r!.errorRate).toBeCloseTo(0.9, 5);
  });

  it('a stage whose every call failed fails, with the error rate and no latency', async () => {
    const m = new PerformanceMonitor();
    for (let i = 0; i < 5; i++) {
      await m.track(OP.companyApi, () => Promise.reject(new Error('down'))).catch(() => undefined);
    }
    const [r] = m.checkTargets({ [OP.companyApi]: 50 });
    expect(r).toMatchObject({
      status: 'fail',
      failedOn: 'latency+errors',
      actualMs: null,
      okCount: 0,
      errors: 5,
      errorRate: 1,
      maxErrorRate: DEFAULT_MAX_ERROR_RATE,
      pass: false,
    });
    // even with the gate off, no successful call is never a latency pass
    expect(m.checkTargets({ [OP.companyApi]: 50 }, { maxErrorRate: 1 })[0]).toMatchObject({
      status: 'fail',
      failedOn: 'latency',
    });
  });

  it('the error-rate gate: default 1 %, from the block, or from the option; timeouts count as errors', () => {
    const m = new PerformanceMonitor();
    for (let i = 0; i < 98; i++) m.record(OP.llm, 10, { outcome: 'ok' });
    m.record(OP.llm, 10, { outcome: 'timeout' });
    m.record(OP.llm, 10, { outcome: 'error' });
    expect(DEFAULT_MAX_ERROR_RATE).toBe(0.01);
    const [d] = m.checkTargets({ [OP.llm]: 300 });
    expect(d).toMatchObject({ status: 'fail', failedOn: 'errors', errors: 2, errorRate: 0.02, okCount: 98 });
    expect(m.checkTargets({ operations: { [OP.llm]: 300 }, maxErrorRate: 0.02 })[0]!.status).toBe('pass');
    expect(m.checkTargets({ operations: { [OP.llm]: 300 }, maxErrorRate: 0.019 })[0]!.status).toBe('fail');
    expect(
      m.checkTargets({ operations: { [OP.llm]: 300 }, maxErrorRate: 0 }, { maxErrorRate: 0.5 })[0]!.status,
    ).toBe('pass');
    // other outcomes (cache hit/miss, interrupted…) are successes
    const c = new PerformanceMonitor();
    c.record(OP.cacheRead, 1, { outcome: 'hit' });
    c.record(OP.cacheRead, 2, { outcome: 'miss' });
    c.record(OP.cacheRead, 3);
    expect(c.checkTargets({ [OP.cacheRead]: 5 })[0]).toMatchObject({ status: 'pass', okCount: 3, errors: 0 });
  });

  it('the error rate respects windowMs and labels', () => {
    let t = 0;
    const m = new PerformanceMonitor({ windowMs: 60_000, now: () => t });
    for (let i = 0; i < 10; i++) m.record(OP.tts, 10, { outcome: 'error', provider: 'a' });
    t = 120_000;
    for (let i = 0; i < 10; i++) m.record(OP.tts, 10, { outcome: 'ok', provider: 'a' });
    m.record(OP.tts, 10, { outcome: 'error', provider: 'b' });
    expect(
      m.checkTargets({ [OP.tts]: 100 }, { windowMs: 60_000, labels: { provider: 'a' } })[0],
    ).toMatchObject({
      status: 'pass',
      errors: 0,
      count: 10,
    });
    expect(m.checkTargets({ [OP.tts]: 100 }, { windowMs: 60_000 })[0]).toMatchObject({
      status: 'fail',
      errors: 1,
    });
  });

  it('assertTargets names the error rate in its message', () => {
    const m = new PerformanceMonitor();
    for (let i = 0; i < 3; i++) m.record(OP.stt, 20, { outcome: 'ok' });
    m.record(OP.stt, 1, { outcome: 'error' });
    try {
      m.assertTargets({ [OP.stt]: 100 });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(TargetError);
      const e = err as TargetError;
      expect(e.message).toBe(
        '1 latency target(s) missed:\n  - stt: error rate 25.0% > 1.0% (1 failed) (4 samples)',
      );
      expect(e.failures[0]).toMatchObject({
        errors: 1,
        errorRate: 0.25,
        maxErrorRate: 0.01,
        failedOn: 'errors',
      });
    }
    m.record(OP.stt, 500, { outcome: 'ok' });
    expect(() => m.assertTargets({ [OP.stt]: 100 }, { percentile: 99 })).toThrow(
      '  - stt: P99 500.2 ms > target 100 ms; error rate 20.0% > 1.0% (1 failed) (5 samples)',
    );
    const none = new PerformanceMonitor();
    none.record(OP.llm, 1, { outcome: 'error' });
    expect(() => none.assertTargets({ [OP.llm]: 100 }, { maxErrorRate: 1 })).toThrow(
      '  - llm: no successful call (target P90 ≤ 100 ms) (1 samples)',
    );
  });

  it('the text report shows why a target failed and the stats query can pick one outcome', () => {
    const m = new PerformanceMonitor();
    for (let i = 0; i < 9; i++) m.record(OP.llm, 100, { outcome: 'ok' });
    m.record(OP.llm, 1, { outcome: 'error' });
    const text = m.report({ targets: { [OP.llm]: 300 } });
    expect(text).toContain('FAIL (10.0% errors > 1.0%)');
    expect(m.report({ targets: { [OP.llm]: 300 }, maxErrorRate: 0.2 })).toMatch(/P90 ≤ 300\s+PASS/);
    expect(m.report({ targets: { [OP.llm]: 50 } })).toContain('FAIL (latency, 10.0% errors > 1.0%)');
    expect(m.report({ targets: { [OP.llm]: 50 }, maxErrorRate: 1 })).toMatch(/P90 ≤ 50\s+FAIL$/m);
    expect(m.stats(OP.llm, { outcome: 'success' })).toMatchObject({ count: 9, errors: 0, meanMs: 100 });
    expect(m.stats(OP.llm, { outcome: 'error' })).toMatchObject({ count: 1, errors: 1, errorRate: 1 });
    expect(() => m.stats(OP.llm, { outcome: 'bogus' as never })).toThrow(
      "outcome must be 'success' or 'error', got bogus.",
    );
  });

  it("the report judges at the targets' own percentile unless one is given", () => {
    const m = seeded();
    expect(m.report({ targets: { operations: { [OP.stt]: 60 }, percentile: 50 } })).toMatch(
      /P50 ≤ 60\s+PASS/,
    );
    expect(m.report({ targets: { operations: { [OP.stt]: 60 }, percentile: 50 }, percentile: 90 })).toMatch(
      /P90 ≤ 60\s+FAIL/,
    );
  });
});

describe('checkTargets: exact results and inputs pinned by the mutation run', () => {
  it('a result carries failedOn and stretch fields only when they apply', () => {
    const m = seeded();
    const [pass, fail, none] = m.checkTargets({
      operations: { [OP.stt]: 95, [OP.llm]: 5 },
      stretch: { [OP.stt]: 80 },
    });
    expect(none).toBeUndefined();
    expect(pass?.actualMs).toBeCloseTo(90, 0); // the histogram's 3-digit bucket of 90
    expect(pass).toStrictEqual({
      operation: OP.stt,
      percentile: 90,
      targetMs: 95,
      actualMs: pass?.actualMs,
      count: 100,
      okCount: 100,
      errors: 0,
      errorRate: 0,
      maxErrorRate: DEFAULT_MAX_ERROR_RATE,
      pass: true,
      status: 'pass',
      stretchMs: 80,
      stretchPass: false,
    });
    expect(fail).toStrictEqual({
      operation: OP.llm,
      percentile: 90,
      targetMs: 5,
      actualMs: null,
      count: 0,
      okCount: 0,
      errors: 0,
      errorRate: 0,
      maxErrorRate: DEFAULT_MAX_ERROR_RATE,
      pass: false,
      status: 'no-data',
    });
    const err = (() => {
      try {
        m.assertTargets({ [OP.llm]: 5 });
      } catch (e) {
        return e as TargetError;
      }
      throw new Error('expected assertTargets to throw');
    })();
    expect(err.failures).toStrictEqual([
      {
        operation: OP.llm,
        percentile: 90,
        targetMs: 5,
        actualMs: null,
        count: 0,
        errors: 0,
        errorRate: 0,
        maxErrorRate: DEFAULT_MAX_ERROR_RATE,
        status: 'no-data',
      },
    ]);
  });

  it('an operation named "operations" with a number is a flat target, not a block', () => {
    const m = new PerformanceMonitor();
    m.record('operations', 10);
    const results = m.checkTargets({ operations: 20 });
    expect(results.map((r) => [r.operation, r.status])).toEqual([['operations', 'pass']]);
    expect(() => m.checkTargets({ operations: null } as never)).toThrow(
      'Target of "operations" must be a positive number of ms, got null.',
    );
  });

  it('refuses targets that are not an object, and percentiles or error rates of the wrong type or range', () => {
    const m = seeded();
    const message =
      'Targets must be an object: { operation: ms } or { operations: { operation: ms }, percentile?, stretch?, maxErrorRate? }.';
    expect(() => m.checkTargets(5 as never)).toThrow(message);
    expect(() => m.checkTargets(null as never)).toThrow(message);
    expect(() => m.checkTargets([] as never)).toThrow(message);
    expect(() => m.checkTargets({ [OP.stt]: 95 }, { percentile: 0 })).toThrow(
      'percentile must be in (0, 100], got 0.',
    );
    expect(() => m.checkTargets({ [OP.stt]: 95 }, { percentile: '90' as never })).toThrow(
      'percentile must be in (0, 100], got 90.',
    );
    expect(() => m.checkTargets({ [OP.stt]: 95 }, { maxErrorRate: '0.1' as never })).toThrow(
      'maxErrorRate must be a number from 0 to 1, got 0.1.',
    );
    expect(m.checkTargets({ [OP.stt]: 95 }, { maxErrorRate: 0, percentile: 100 })[0]?.status).toBe('fail');
  });
});
