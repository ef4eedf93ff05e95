/**
 * Hostile and extreme run files (issue 15.6, 15.20, 15.22; issue 17.8, 17.9): long runs render,
 * bad dates are a bad run file, names never drive a terminal, curves end at the max, marker
 * labels never overlap, titles and edge ticks are never clipped.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRunFile, type SavedRun } from '../../src/loadtest/index.js';
import { extent, thinPoints, waterfallChart, xyChart } from '../../src/report/charts.js';
import { plotPoints, renderHtmlReport } from '../../src/report/html-report.js';
import { formatTextReport } from '../../src/report/index.js';
import { closedFixture } from './fixtures.js';

let base: SavedRun;
let dir: string;
beforeAll(async () => {
  base = await closedFixture();
  dir = await mkdtemp(join(tmpdir(), 'earshot-hostile-run-'));
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function longTimeseries(n: number): SavedRun['timeseries'] {
  return Array.from({ length: n }, (_, i) => ({
    tMs: (i + 1) * 1000,
    intervalMs: 1000,
    users: 10,
    inFlight: 3,
    started: 5,
    completed: 5,
    errors: i % 97 === 0 ? 1 : 0,
    throughputPerSec: 5,
    p50: 100 + (i % 50),
    p90: 200 + (i % 70),
    p99: i === 12_345 ? 9_999 : 300 + (i % 90),
  }));
}

describe('long runs (15.6)', () => {
  it.each([32_000, 200_000])('renders %i over-time points without overflowing the stack', (n) => {
    const run = { ...base, timeseries: longTimeseries(n) };
    const html = renderHtmlReport(run);
    expect(html).toContain('id="latency-over-time"');
    // Thinned, and the spike survives thinning.
    const paths = html.match(/<path [^>]*data-series="P99"[^>]*>/g) ?? [];
    expect(paths.length).toBeGreaterThan(0);
    expect(html.length).toBeLessThan(5_000_000);
  });

  it('extent and thinPoints never spread an array, keep the extremes, and leave short series alone', () => {
    const big = Array.from({ length: 500_000 }, (_, i) => i % 1000);
    expect(extent(big)).toEqual([0, 999]);
    expect(extent([])).toEqual([0, 1]);
    const pts = big.map((v, i) => [i, v] as const);
    const thin = thinPoints(pts, 1000);
    expect(thin.length).toBeLessThanOrEqual(1000);
    expect(extent(thin.map((p) => p[1]))).toEqual([0, 999]);
    for (let i = 1; i < thin.length; i++) expect(thin[i]![0]).toBeGreaterThan(thin[i - 1]![0]);
    const short = pts.slice(0, 10);
    expect(thinPoints(short, 1000)).toBe(short);
  });

  it('a chart with 100,000 bars or steps renders', () => {
    const points = Array.from({ length: 100_000 }, (_, i) => [i, i % 7] as const);
    for (const style of ['bars', 'step', 'area', 'line'] as const) {
      const svg = xyChart({ id: 'x', title: 't', series: [{ name: 's', style, points }] });
      expect(svg).toContain('<svg');
    }
  });
});

describe('run files that are not earshot runs are rejected (15.20)', () => {
  it.each(['not a date', '', '2026-13-45T99:99:99Z', 'Infinity'])('startedAt %j', async (startedAt) => {
    const path = join(dir, `bad-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(path, JSON.stringify({ ...base, startedAt }));
    await expect(readRunFile(path)).rejects.toMatchObject({ code: 'EARSHOT_INVALID_ARGUMENT' });
  });

  it('a valid ISO date is accepted', async () => {
    const path = join(dir, 'good.json');
    await writeFile(path, JSON.stringify({ ...base, startedAt: '2026-12-04T19:00:00.000Z' }));
    await expect(readRunFile(path)).resolves.toMatchObject({ startedAt: '2026-12-04T19:00:00.000Z' });
  });
});

describe('the text summary never prints control characters from a run file (15.22)', () => {
  it('stage names, namespaces, error kinds and messages, stop reason, failures', () => {
    const evil = '\u001b]0;owned\u0007\u001b[2J\r\nforged\u009b31m\u202e';
    const run: SavedRun = {
      ...base,
      status: 'interrupted',
      stopReason: evil,
      stages: base.stages.map((s, i) => (i === 0 ? { ...s, name: `stt${evil}` } : s)),
      errors: [{ kind: `K${evil}`, count: 1, message: `M${evil}` }],
      verdict: { ...base.verdict, pass: false, failures: [`F${evil}`] },
      cache: base.cache
        ? { ...base.cache, namespaces: { [`ns${evil}`]: { hits: 1, misses: 1, stale: 0, hitRate: 0.5 } } }
        : undefined,
    };
    const text = formatTextReport(run);
    for (const ch of text) {
      const c = ch.codePointAt(0)!;
      expect(
        c === 10 || (c >= 0x20 && c !== 0x7f && !(c >= 0x80 && c <= 0x9f) && c !== 0x202e),
        `U+${c.toString(16)}`,
      ).toBe(true);
    }
    expect(text).toContain('stt?]0;owned??[2J??forged?31m?');
  });
});

describe('percentile curves end at the maximum the table shows (17.8)', () => {
  it.each([
    [2, [0.71, 171]],
    [3, [1, 2, 300]],
    [10, [5, 5, 5, 5, 5, 5, 5, 5, 5, 1000]],
    [1000, Array.from({ length: 1000 }, (_, i) => (i === 999 ? 5018 : 100 + (i % 300)))],
  ])('%i samples', async (_n, samples) => {
    const { LatencyHistogram } = await import('../../src/perf/index.js');
    const { distribution } = await import('../../src/loadtest/summarize.js');
    const h = new LatencyHistogram();
    for (const s of samples) h.recordMs(s);
    const pts = plotPoints({ count: h.count, maxMs: h.maxMs, distribution: distribution(h) });
    const last = pts[pts.length - 1]!;
    expect(last[1]).toBe(h.maxMs);
    expect(pts.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < pts.length; i++) {
      expect(pts[i]![0]).toBeGreaterThanOrEqual(pts[i - 1]![0]);
      expect(pts[i]![1]).toBeGreaterThanOrEqual(pts[i - 1]![1]);
    }
    // The curve is not flat: it rises to the max.
    expect(pts[0]![1]).toBeLessThan(last[1]);
  });
});

describe('labels are never clipped or overlapping (17.9)', () => {
  function markerLabels(svg: string): { x: number; y: number; text: string; end: boolean }[] {
    return [...svg.matchAll(/<g class="marker"[^>]*>.*?<text ([^>]*)>([^<]*)<\/text>/g)].map((m) => ({
      x: Number(/(?:^| )x="([\d.-]+)"/.exec(m[1]!)![1]),
      y: Number(/(?:^| )y="([\d.-]+)"/.exec(m[1]!)![1]),
      end: m[1]!.includes('text-anchor="end"'),
      text: m[2]!,
    }));
  }

  it.each([
    [386, 475],
    [386, 390],
    [100, 101],
    [990, 995],
  ])('waterfall markers at %i and %i ms get separate lanes', (a, b) => {
    const svg = waterfallChart({
      id: 'w',
      title: 'Typical turn',
      width: 1000,
      rows: [{ stage: 'stt', label: 'stt', startMs: 0, endMs: 1000 }],
      markers: [
        { label: 'first audio', ms: a },
        { label: 'last audio', ms: b },
      ],
    });
    const labels = markerLabels(svg);
    expect(labels).toHaveLength(2);
    const box = (l: (typeof labels)[number]) => {
      const w = l.text.length * 6.6;
      return l.end ? [l.x - w, l.x] : [l.x, l.x + w];
    };
    const [p, q] = labels.map(box) as [number[], number[]];
    const overlapX = p[0]! < q[1]! && q[0]! < p[1]!;
    if (overlapX) expect(labels[0]!.y).not.toBe(labels[1]!.y);
    for (const l of labels) {
      expect(l.y).toBeGreaterThan(16); // below the title line
      const [x0, x1] = box(l);
      expect(x0).toBeGreaterThanOrEqual(0);
      expect(x1).toBeLessThanOrEqual(1000 + 1);
    }
  });

  it('a long title shrinks to fit, and edge tick labels are anchored inside', () => {
    const title = 'scenario_from_intended (1,200 samples) and then some more words';
    const svg = xyChart({
      id: 'd',
      title,
      width: 340,
      xAxis: 'percentile',
      series: [
        {
          name: 's',
          points: [
            [0, 1],
            [99.99, 5],
          ],
        },
      ],
    });
    const t = /<text ([^>]*)>scenario_from_intended/.exec(svg)![1]!;
    const size = Number(/font-size="([\d.]+)"/.exec(t)![1]);
    const squeezed = /textLength="([\d.]+)"/.exec(t);
    expect(size < 13 || squeezed !== null).toBe(true);
    if (squeezed) expect(Number(squeezed[1])).toBeLessThanOrEqual(340);
    else expect(title.length * size * 0.6).toBeLessThanOrEqual(340);
    const last = /<text ([^>]*)>P99\.99<\/text>/.exec(svg);
    expect(last).not.toBeNull();
    const x = Number(/(?:^| )x="([\d.]+)"/.exec(last![1]!)![1]);
    const anchor = /text-anchor="(\w+)"/.exec(last![1]!)![1];
    const right =
      anchor === 'end' ? x : anchor === 'middle' ? x + 'P99.99'.length * 3.3 : x + 'P99.99'.length * 6.6;
    expect(right).toBeLessThanOrEqual(340);
  });
});
