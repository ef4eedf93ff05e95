import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatTick,
  linearScale,
  niceStep,
  niceTicks,
  percentileTicks,
  percentileToAxis,
} from '../../src/report/index.js';

describe('niceTicks', () => {
  it('covers the range with evenly spaced 1-2-5 steps and a handful of ticks', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        fc.double({ min: 1e-3, max: 1e6, noNaN: true }),
        fc.integer({ min: 2, max: 10 }),
        (lo, span, count) => {
          // Ranges a million times narrower than their offset are beyond double precision here.
          fc.pre(span > Math.abs(lo) * 1e-6);
          const hi = lo + span;
          const t = niceTicks(lo, hi, count);
          const tol = (t[1]! - t[0]!) * 1e-6;
          expect(t[0]!).toBeLessThanOrEqual(lo + tol);
          expect(t[t.length - 1]!).toBeGreaterThanOrEqual(hi - tol);
          expect(t.length).toBeLessThanOrEqual(count * 2 + 3);
          const step = t[1]! - t[0]!;
          const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
          expect([1, 2, 5, 10].some((m) => Math.abs(mantissa - m) < 1e-6)).toBe(true);
          for (let i = 1; i < t.length; i++) expect(t[i]! - t[i - 1]!).toBeCloseTo(step, 6);
        },
      ),
    );
  });

  it('gives round numbers for a latency axis', () => {
    expect(niceTicks(0, 87, 4)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0, 0.37, 4)).toEqual([0, 0.1, 0.2, 0.3, 0.4]);
    expect(niceTicks(0, 0)).toEqual([0, 1]);
  });

  it('niceStep picks the nearest 1, 2 or 5 times a power of ten', () => {
    expect(niceStep(0.03)).toBeCloseTo(0.02);
    expect(niceStep(130)).toBe(100);
    expect(niceStep(7)).toBe(5);
    expect(niceStep(8)).toBe(10);
  });
});

describe('linearScale', () => {
  it('maps the domain ends onto the range ends, even inverted', () => {
    const y = linearScale([0, 100], [200, 0]);
    expect(y(0)).toBe(200);
    expect(y(100)).toBe(0);
    expect(y(25)).toBe(150);
    expect(linearScale([5, 5], [0, 10])(5)).toBe(5);
  });
});

describe('the percentile axis', () => {
  it('gives each nine the same room: P90 at 1, P99 at 2, P99.9 at 3', () => {
    expect(percentileToAxis(0)).toBe(0);
    expect(percentileToAxis(90)).toBeCloseTo(1, 9);
    expect(percentileToAxis(99)).toBeCloseTo(2, 9);
    expect(percentileToAxis(99.9)).toBeCloseTo(3, 9);
    expect(percentileToAxis(100)).toBeCloseTo(5, 9);
  });

  it('is increasing', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 99.998, noNaN: true }),
        fc.double({ min: 1e-4, max: 50, noNaN: true }),
        (p, d) => {
          fc.pre(p + d <= 99.999);
          expect(percentileToAxis(p + d)).toBeGreaterThan(percentileToAxis(p));
        },
      ),
    );
  });

  it('labels the nines up to the axis end', () => {
    expect(percentileTicks(2).map((t) => t.label)).toEqual(['P50', 'P90', 'P99']);
  });
});

describe('formatTick', () => {
  it('prints compact numbers', () => {
    expect(formatTick(0)).toBe('0');
    expect(formatTick(0.25)).toBe('0.25');
    expect(formatTick(12.5)).toBe('12.5');
    expect(formatTick(250)).toBe('250');
    expect(formatTick(15000)).toBe('15k');
    expect(formatTick(2_000_000)).toBe('2M');
  });
});
