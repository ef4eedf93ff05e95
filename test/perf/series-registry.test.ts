/**
 * The monitor's series registry and its hot-path caches, seen through `footprint()` and the
 * series it records into (mutation testing showed the caches' bookkeeping unchecked).
 */
import { describe, expect, it, vi } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { PerformanceMonitor } from '../../src/perf/index.js';

describe('series registry', () => {
  it('caches exactly the admitted series: one pair per tracked name, one plain per recorded name, one entry per label spelling', async () => {
    const m = new PerformanceMonitor({ maxSeries: 100 });
    m.record('a', 1);
    m.record('a', 2);
    await m.track('b', () => 1);
    await m.track('b', () => 1);
    m.record('c', 1, { x: '1' });
    m.record('c', 1, { x: '1' });
    m.record('c', 1, { x: '2' });
    expect(m.footprint()).toEqual({ series: 5, pairs: 1, plain: 1, names: 3, labelledCache: 2 });
    expect(m.stats('c', { labels: { x: '1' } })?.count).toBe(2);
    expect(m.stats('b')?.count).toBe(2);
  });

  it('a labelled wrapper and an unlabelled one of the same name record into their own series', async () => {
    const m = new PerformanceMonitor();
    m.wrap('op', () => 1, { provider: 'x' })();
    await m.track('op', () => 1);
    m.wrap('op', () => 1)();
    expect(m.stats('op', { labels: { provider: 'x' } })?.count).toBe(1);
    expect(m.stats('op')?.count).toBe(3);
    expect(m.exportEncoded().map((e) => [e.labels, e.count])).toEqual(
      expect.arrayContaining([
        [{ outcome: 'ok', provider: 'x' }, 1],
        [{ outcome: 'ok' }, 2],
      ]),
    );
    expect(m.footprint().pairs).toBe(1); // only the label-free pair is cached
  });

  it('past maxSeries the overflow series is not cached, and the first refusal warns once, naming the limit', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const m = new PerformanceMonitor({ maxSeries: 2 });
      m.record('a', 1);
      m.record('b', 1);
      m.record('c', 1);
      m.record('c', 1);
      m.record('a', 1, { k: 'v' });
      m.record('a', 1, { k: 'v' });
      expect(m.footprint()).toEqual({ series: 4, pairs: 0, plain: 2, names: 3, labelledCache: 0 });
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0]?.[0]).toBe(
        'earshot: the performance monitor reached maxSeries (2); new label sets are recorded into overflow series.',
      );
      expect(m.stats('a', { labels: { overflow: 'true' } })?.count).toBe(2);
      expect(m.stats('earshot_overflow', { labels: { overflow: 'true' } })?.count).toBe(2);
    } finally {
      warn.mockRestore();
    }
  });

  it('mergeEncoded names the bad entry and what is wrong with it', () => {
    const m = new PerformanceMonitor();
    const good = (() => {
      const src = new PerformanceMonitor();
      src.record('op', 5);
      return src.exportEncoded()[0]!;
    })();
    const message = (series: unknown) => {
      try {
        m.mergeEncoded(series as never);
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidArgumentError);
        return (e as Error).message;
      }
      throw new Error('expected mergeEncoded to throw');
    };
    expect(message('not an array')).toBe('mergeEncoded expects an array of series.');
    expect(message([good, null])).toBe('mergeEncoded: series 1 is not an object.');
    expect(message([7])).toBe('mergeEncoded: series 0 is not an object.');
    expect(message([{ ...good, labels: null }])).toBe(
      'mergeEncoded: series 0 ("op"): labels must be an object.',
    );
    expect(message([{ ...good, count: 0 }])).toMatch(
      /^mergeEncoded: series 0 \("op"\): count must be .* got 0\.$/,
    );
    expect(message([{ ...good, count: -1 }])).toMatch(/count must be/);
    expect(message([{ ...good, sumMs: -0.5 }])).toMatch(/^mergeEncoded: series 0 \("op"\): sumMs must be/);
    expect(message([{ ...good, sumMs: 86_400_000.5 }])).toMatch(/sumMs must be/);
    // the edges themselves are accepted: a zero sum, and a sum of exactly count × 24 h
    m.mergeEncoded([{ ...good, sumMs: 0 }]);
    m.mergeEncoded([{ ...good, sumMs: 86_400_000 }]);
    expect(m.stats('op')?.count).toBe(2);
    expect(m.footprint().series).toBe(1);
  });
  it('number and boolean label values take the cached hot path too', () => {
    const m = new PerformanceMonitor();
    m.record('n', 1, { attempt: 2 });
    m.record('n', 1, { attempt: 2 });
    m.record('b', 1, { cached: true });
    m.record('b', 1, { cached: true });
    expect(m.footprint().labelledCache).toBe(2);
    expect(m.stats('n', { labels: { attempt: '2' } })?.count).toBe(2);
    expect(m.stats('b', { labels: { cached: 'true' } })?.count).toBe(2);
  });

  it('names too long are quoted cut short in the error', () => {
    const m = new PerformanceMonitor();
    expect(() => m.record('x'.repeat(200), 1)).toThrow(
      new InvalidArgumentError(
        `Operation name must be a non-empty string of at most 128 characters without control characters, got ${`"${'x'.repeat(200)}"`.slice(0, 60)}.`,
      ),
    );
    expect(() => m.record('op', 1, { ['y'.repeat(100)]: 'v' })).toThrow(
      new InvalidArgumentError(`Label name "${'y'.repeat(40)}…" is longer than 64 characters.`),
    );
  });
});
