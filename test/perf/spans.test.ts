import { describe, expect, it } from 'vitest';
import { PerformanceMonitor } from '../../src/perf/index.js';

function fakeClock(start = 1_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('spans', () => {
  it('a `using` span records when its block ends, on Node 20', () => {
    const clock = fakeClock();
    const monitor = new PerformanceMonitor({ now: clock.now });
    {
      using span = monitor.start('stt', { provider: 'deepgram' });
      clock.advance(42);
      expect(span.ended).toBe(false);
    }
    const s = monitor.stats('stt');
    expect(s?.count).toBe(1);
    expect(s?.p50).toBeCloseTo(42, 1);
    expect(monitor.stats('stt', { labels: { provider: 'deepgram', outcome: 'ok' } })?.count).toBe(1);
  });

  it('an `await using` span records once even when also ended explicitly', async () => {
    const clock = fakeClock();
    const monitor = new PerformanceMonitor({ now: clock.now });
    {
      await using span = monitor.start('tts');
      clock.advance(10);
      expect(span.end()).toBe(10);
      clock.advance(10);
    }
    expect(monitor.stats('tts')?.count).toBe(1);
    expect(monitor.stats('tts')?.maxMs).toBeCloseTo(10, 1);
  });

  it('span.fail records the outcome as error', () => {
    const monitor = new PerformanceMonitor();
    const span = monitor.start('llm');
    span.fail(new Error('x'));
    const s = monitor.stats('llm');
    expect(s?.errors).toBe(1);
    expect(monitor.stats('llm', { labels: { outcome: 'error' } })?.count).toBe(1);
  });

  it('labels given at end are merged over the start labels', () => {
    const monitor = new PerformanceMonitor();
    const span = monitor.start('company_api', { method: 'getLoadStatus' });
    span.end({ labels: { cached: true } });
    expect(monitor.stats('company_api', { labels: { method: 'getLoadStatus', cached: 'true' } })?.count).toBe(
      1,
    );
  });
});
