import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../src/cache/tier-kit/index.js';

function clocked(options: { failureThreshold?: number; openMs?: number; maxOpenMs?: number } = {}) {
  let now = 0;
  const breaker = new CircuitBreaker({ ...options, now: () => now });
  return { breaker, advance: (ms: number) => (now += ms) };
}

describe('CircuitBreaker', () => {
  it('opens after the failure threshold of consecutive failures', () => {
    const { breaker } = clocked({ failureThreshold: 3 });
    breaker.failure();
    breaker.failure();
    expect(breaker.allow()).toBe(true);
    breaker.failure();
    expect(breaker.state).toBe('open');
    expect(breaker.allow()).toBe(false);
  });

  it('resets the failure count on a success', () => {
    const { breaker } = clocked({ failureThreshold: 2 });
    breaker.failure();
    breaker.success();
    breaker.failure();
    expect(breaker.state).toBe('closed');
  });

  it('lets exactly one probe through after openMs and closes when it succeeds', () => {
    const { breaker, advance } = clocked({ failureThreshold: 1, openMs: 100 });
    breaker.failure();
    advance(99);
    expect(breaker.allow()).toBe(false);
    advance(1);
    expect(breaker.allow()).toBe(true);
    expect(breaker.state).toBe('half-open');
    expect(breaker.allow()).toBe(false);
    breaker.success();
    expect(breaker.state).toBe('closed');
    expect(breaker.allow()).toBe(true);
  });

  it('doubles the open time after a failed probe, up to maxOpenMs', () => {
    const { breaker, advance } = clocked({ failureThreshold: 1, openMs: 100, maxOpenMs: 300 });
    breaker.failure();
    for (const expected of [200, 300, 300]) {
      advance(1000);
      expect(breaker.allow()).toBe(true);
      breaker.failure();
      advance(expected - 1);
      expect(breaker.allow()).toBe(false);
      advance(1);
      expect(breaker.allow()).toBe(true);
      breaker.failure();
    }
  });

  it('closes at once on reset (the connection came back)', () => {
    const { breaker } = clocked({ failureThreshold: 1, openMs: 10_000 });
    breaker.failure();
    breaker.reset();
    expect(breaker.allow()).toBe(true);
    expect(breaker.timesOpened).toBe(1);
  });
});
