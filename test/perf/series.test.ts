/**
 * The rolling window of one series (issue 13 gap: windowed stats ignoring every earlier slice,
 * old slices never dropped — both went unnoticed because the only window test put every
 * sample in the current slice).
 */
import { describe, expect, it } from 'vitest';
import { LatencyHistogram, PerformanceMonitor } from '../../src/perf/index.js';
import { Series } from '../../src/perf/series.js';

const make = (now = 0, sliceMs = 10_000, slices = 6) =>
  new Series('op', { outcome: 'ok' }, 'op{outcome="ok"}', sliceMs, slices, 3, now);

describe('Series rolling window', () => {
  it('windowed reads add every slice that ends inside the window, earlier slices included', () => {
    const s = make();
    // one sample per 10 s slice, 1..6 ms, then the current slice
    for (let i = 0; i < 6; i++) s.record(i + 1, i * 10_000 + 5);
    const h = new LatencyHistogram();
    const r = s.addTo(h, 55_000, 60_000);
    expect(r).toEqual({ count: 6, sumMs: 21 });
    expect(h.count).toBe(6);
    expect(h.minMs).toBe(1);
    // a 25 s window sees the slices ending after 30 s: [30,40) [40,50) and the current [50,60)
    const h2 = new LatencyHistogram();
    expect(s.addTo(h2, 55_000, 25_000)).toEqual({ count: 3, sumMs: 4 + 5 + 6 });
    expect(h2.minMs).toBe(4);
    expect(s.countIn(55_000, 25_000)).toBe(3);
    expect(s.countIn(55_000)).toBe(6);
  });

  it('a slice is in the window exactly when it ends after now - windowMs', () => {
    const s = make();
    s.record(1, 0); // slice [0, 10 000)
    s.record(2, 10_000); // current slice [10 000, 20 000)
    const at = (windowMs: number) => s.addTo(new LatencyHistogram(), 20_000, windowMs).count;
    expect(at(10_000)).toBe(1); // from = 10 000: [0,10 000) ends at 10 000, not after
    expect(at(10_001)).toBe(2);
    expect(s.countIn(20_000, 10_000)).toBe(1);
    expect(s.countIn(20_000, 10_001)).toBe(2);
    // the current slice itself leaves the window once it is over
    expect(s.addTo(new LatencyHistogram(), 40_000, 20_000).count).toBe(0);
    expect(s.countIn(40_000, 20_000)).toBe(0);
    expect(s.addTo(new LatencyHistogram(), 40_000, 20_001).count).toBe(1);
  });

  it('keeps at most `slices` closed slices, dropping the oldest, while all-time keeps everything', () => {
    const s = make(0, 1000, 3);
    for (let i = 0; i < 50; i++) s.record(i + 1, i * 1000);
    expect(s.keptSlices).toBe(3);
    const all = new LatencyHistogram();
    expect(s.addTo(all, 49_500)).toEqual({ count: 50, sumMs: (50 * 51) / 2 });
    expect(all.count).toBe(50);
    // window reads only ever see the kept slices + the current one
    expect(s.addTo(new LatencyHistogram(), 49_500, 1_000_000).count).toBe(4);
  });

  it('an empty slice is not kept, and slices start on slice boundaries', () => {
    const s = make(12_345, 1000, 5);
    s.record(1, 12_999); // slice [12 000, 13 000)
    s.record(2, 13_000); // rotates
    s.record(3, 20_500); // rotates again; [13 000, 14 000) kept, nothing for the empty ones
    expect(s.keptSlices).toBe(2);
    // from = 13 000: [12 000, 13 000) ends at 13 000, not after; [13 000, 14 000) is in
    expect(s.addTo(new LatencyHistogram(), 20_999, 7_999).count).toBe(2);
    expect(s.addTo(new LatencyHistogram(), 20_999, 8_000).count).toBe(3);
  });

  it('merged histograms count all-time but never enter the window', () => {
    const s = make();
    const h = new LatencyHistogram();
    h.recordMs(7);
    h.recordMs(9);
    s.record(1, 5);
    s.mergeHistogram(h, 2, 16);
    expect(s.count).toBe(3);
    expect(s.sumMs).toBe(17);
    expect(s.addTo(new LatencyHistogram(), 6, 60_000)).toEqual({ count: 1, sumMs: 1 });
    const all = new LatencyHistogram();
    expect(s.addTo(all, 6)).toEqual({ count: 3, sumMs: 17 });
    expect(all.count).toBe(3);
  });

  it('outcome error and timeout mark an error series; others do not', () => {
    const label = (outcome?: string) =>
      new Series('op', outcome === undefined ? {} : { outcome }, 'k', 1000, 2, 3, 0).isError;
    expect([label('error'), label('timeout'), label('ok'), label('hit'), label()]).toEqual([
      true,
      true,
      false,
      false,
      false,
    ]);
  });
});

describe('monitor windows across slices', () => {
  it('windowed stats merge the earlier slices of the window, not only the current one', () => {
    let t = 0;
    const m = new PerformanceMonitor({ windowMs: 60_000, windowSlices: 6, now: () => t });
    for (let i = 0; i < 6; i++) {
      t = i * 10_000;
      m.record('op', 100 * (i + 1));
    }
    const w = m.stats('op', { windowMs: 60_000 })!;
    expect(w.count).toBe(6);
    expect(w.minMs).toBeCloseTo(100, 0);
    expect(w.meanMs).toBe(350);
    // at t = 50 000, a 30 s window holds the slices ending after 20 000: [20,30) [30,40) [40,50) + current
    expect(m.stats('op', { windowMs: 30_000 })!.count).toBe(4);
    expect(m.collect({ windowMs: 30_000 })[0]!.count).toBe(4);
    expect(m.stats('op', { windowMs: 20_000 })!.count).toBe(3);
    t = 200_000;
    expect(m.stats('op', { windowMs: 60_000 })).toBeUndefined();
    expect(m.collect({ windowMs: 60_000 })).toEqual([]);
    expect(m.stats('op')!.count).toBe(6);
  });
});
