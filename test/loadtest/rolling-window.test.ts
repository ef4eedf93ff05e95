import { describe, expect, it } from 'vitest';
import { nearestRank, ROLLING_WINDOW_SIZES, RollingWindow } from '../../src/loadtest/rolling-window.js';

describe('RollingWindow', () => {
  it('reaches back over earlier intervals until it holds the last N iterations', () => {
    const SIZE = 4;
    const w = new RollingWindow(SIZE);
    // interval 0–1000: 10, 20
    w.add(10);
    w.add(20);
    expect(w.close(0, 1000)).toEqual({ size: SIZE, turns: 2, windowMs: 1000, p50: 10, p90: 20 });
    // interval 1000–2000: 30, 40, 50 → window = 20 (from interval 0) + 30, 40, 50
    w.add(30);
    w.add(40);
    w.add(50);
    expect(w.close(1000, 2000)).toEqual({ size: SIZE, turns: 4, windowMs: 2000, p50: 30, p90: 50 });
    // interval 2000–3000: nothing finished → the window still reaches back to the last 4
    expect(w.close(2000, 3000)).toEqual({ size: SIZE, turns: 4, windowMs: 3000, p50: 30, p90: 50 });
    // interval 3000–4000: 1000 → 30, 40, 50, 1000; the window starts at interval 1
    w.add(1000);
    expect(w.close(3000, 4000)).toEqual({ size: SIZE, turns: 4, windowMs: 3000, p50: 40, p90: 1000 });
  });

  it('uses the interval’s own percentiles when the interval alone holds a full window', () => {
    const SIZE = 3;
    const w = new RollingWindow(SIZE);
    for (const v of [5, 6, 7, 8, 9]) w.add(v);
    expect(w.close(0, 500, { p50: 7, p90: 9 })).toEqual({
      size: SIZE,
      turns: 5,
      windowMs: 500,
      p50: 7,
      p90: 9,
    });
    // the next interval's window is its 1 plus the last 2 of the 5 (8, 9), not all of them
    w.add(1);
    expect(w.close(500, 1000)).toEqual({ size: SIZE, turns: 3, windowMs: 1000, p50: 8, p90: 9 });
  });

  it('returns nothing before the first iteration finished and keeps only what a window can reach', () => {
    const N = 50;
    expect(ROLLING_WINDOW_SIZES).toContain(N);
    const w = new RollingWindow(N);
    expect(w.close(0, 1000)).toBeUndefined();
    for (let i = 0; i < 10 * N; i++) {
      w.add(i);
      if (i % 7 === 6) w.close(i, i + 1);
    }
    const last = w.close(0, 1e9)!;
    expect(last.turns).toBe(N);
    // the last 50 values are 450..499 (3 of them still in the current interval)
    expect(last.p50).toBe(450 + 24);
    expect(last.p90).toBe(450 + 44);
  });

  it('computes nearest-rank percentiles', () => {
    expect(nearestRank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5);
    expect(nearestRank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(9);
    expect(nearestRank([7], 90)).toBe(7);
  });
});
