import { describe, expect, it } from 'vitest';
import type { TimeseriesPoint } from '../../src/loadtest/run-file.js';
import { chooseRollingSize, latencyOverTime } from '../../src/report/report-latency-charts.js';
import { xyChart } from '../../src/report/xy-chart.js';

type Rolling = NonNullable<TimeseriesPoint['rolling']>[number];

function point(i: number, extra: Partial<TimeseriesPoint>, completed = 1): TimeseriesPoint {
  return {
    tMs: (i + 1) * 1000,
    intervalMs: 1000,
    inFlight: 1,
    started: completed,
    completed,
    errors: 0,
    throughputPerSec: completed,
    ...extra,
  };
}

const win = (size: number, turns: number, windowMs: number, p50: number, p90: number): Rolling => ({
  size,
  turns,
  windowMs,
  p50,
  p90,
});

describe('latencyOverTime', () => {
  it('draws the rolling P50/P90 as lines and the per-interval values as faint dots when intervals are sparse', () => {
    // 2 iterations a second for 60 s = 120 iterations: 4 windows of 20 fit, 4 of 50 do not.
    const ts = Array.from({ length: 60 }, (_, i) =>
      point(
        i,
        {
          p50: 100 + (i % 2) * 400,
          p90: 200 + (i % 2) * 400,
          p99: 900,
          rolling: [
            win(20, Math.min(20, 2 * (i + 1)), Math.min(10, i + 1) * 1000, 300, 600),
            win(50, Math.min(50, 2 * (i + 1)), Math.min(25, i + 1) * 1000, 333, 666),
          ],
        },
        2,
      ),
    );
    expect(chooseRollingSize(ts)).toBe(20);
    const { title, series } = latencyOverTime(ts);
    expect(title).toBe(
      'Latency over time: P50 / P90 of the last 20 iterations (about 10 s); dots: per 1 s interval',
    );
    expect(series.map((s) => [s.name, s.style ?? 'line'])).toEqual([
      ['P50 per 1 s', 'dots'],
      ['P90 per 1 s', 'dots'],
      ['P50, last 20', 'line'],
      ['P90, last 20', 'line'],
    ]);
    expect(series[0]!.points[1]).toEqual([2, 500]);
    expect(series[2]!.points).toHaveLength(60);
    expect(series[3]!.points[59]).toEqual([60, 600]);
    // the chart draws each dot series as one faint mark
    const svg = xyChart({ id: 'l', title, width: 1000, series });
    expect((svg.match(/class="mark"/g) ?? []).length).toBe(4);
    expect(svg).toContain('stroke-opacity="0.35"');
  });

  it('picks the larger window for a longer run and states the range it reached back', () => {
    const ts = [
      point(0, { p50: 1, p90: 2, p99: 3, rolling: [win(20, 20, 500, 1, 2), win(50, 50, 2000, 1, 2)] }, 100),
      point(1, { p50: 1, p90: 2, p99: 3, rolling: [win(20, 20, 900, 1, 2), win(50, 50, 25_000, 1, 2)] }, 100),
    ];
    expect(chooseRollingSize(ts)).toBe(50);
    expect(latencyOverTime(ts).title).toContain('last 50 iterations (2 s–25 s)');
  });

  it('says "all so far" when the run never filled the smallest window', () => {
    const ts = [
      point(0, { p50: 1, p90: 2, p99: 3, rolling: [win(20, 3, 1000, 1, 2), win(50, 3, 1000, 1, 2)] }, 3),
    ];
    expect(chooseRollingSize(ts)).toBe(20);
    expect(latencyOverTime(ts).title).toContain('(fewer than 20 in the run: all so far)');
  });

  it('keeps P50/P90/P99 per interval when every interval holds a full window', () => {
    const ts = Array.from({ length: 5 }, (_, i) =>
      point(
        i,
        { p50: 10, p90: 20, p99: 30, rolling: [win(20, 200, 1000, 10, 20), win(50, 200, 1000, 10, 20)] },
        200,
      ),
    );
    const { title, series } = latencyOverTime(ts);
    expect(title).toBe(
      'Latency over time: P50 / P90 / P99 per 1 s interval (send → done, each ≥ 50 iterations)',
    );
    expect(series.map((s) => s.name)).toEqual(['P50', 'P90', 'P99']);
    expect(series.every((s) => s.style === undefined)).toBe(true);
  });

  it('draws the interval lines for run files without rolling figures', () => {
    const ts = [point(0, { p50: 1, p90: 2, p99: 3 }), point(1, {}, 0)];
    expect(chooseRollingSize(ts)).toBeUndefined();
    const { title, series } = latencyOverTime(ts);
    expect(title).toBe('Latency over time: P50 / P90 / P99 per 1 s interval (send → done)');
    expect(series[2]!.points).toEqual([[1, 3]]);
  });

  it('names sub-second intervals in ms', () => {
    const ts = [point(0, { intervalMs: 250, p50: 1, p90: 2, p99: 3 })];
    expect(latencyOverTime(ts).title).toContain('per 250 ms interval');
  });
});

describe('xyChart legend', () => {
  it('wraps onto a second row instead of running past the chart', () => {
    const series = Array.from({ length: 6 }, (_, i) => ({
      name: `a fairly long series name ${i}`,
      points: [[0, i] as const, [1, i] as const],
    }));
    const svg = xyChart({ id: 'w', title: 't', width: 500, series });
    const xs = [...svg.matchAll(/<text x="([\d.]+)" y="(\d+)" fill="#333">a fairly/g)].map((m) => ({
      x: Number(m[1]),
      y: Number(m[2]),
    }));
    expect(xs).toHaveLength(6);
    expect(new Set(xs.map((p) => p.y)).size).toBeGreaterThan(1);
    for (const p of xs) expect(p.x + 'a fairly long series name 0'.length * 6.6).toBeLessThanOrEqual(500);
  });
});

describe('labels that used to collide (issue 17 item 9, seen in Chromium)', () => {
  const guideText = (svg: string) => {
    const m = /<g class="guide">.*?<text x="[\d.]+" y="([\d.]+)"/.exec(svg);
    const line = /<g class="guide"><line [^>]*y1="([\d.]+)"/.exec(svg);
    return { textY: Number(m?.[1]), lineY: Number(line?.[1]) };
  };

  it('puts a guide label under its line when the line is at the top of the plot, above it otherwise', () => {
    const pts = [[0, 10] as const, [50, 448] as const];
    const top = guideText(
      xyChart({
        id: 't',
        title: 'time_to_first_audio (40 samples)',
        series: [{ name: 'a', points: pts }],
        guides: [{ y: 500, label: 'target P90 500 ms' }],
      }),
    );
    expect(top.textY).toBeGreaterThan(top.lineY);
    const mid = guideText(
      xyChart({
        id: 'm',
        title: 'stt',
        series: [
          {
            name: 'a',
            points: [
              [0, 10],
              [50, 480],
            ],
          },
        ],
        guides: [{ y: 100, label: 'target P90 100 ms' }],
      }),
    );
    expect(mid.textY).toBeLessThan(mid.lineY);
  });

  it('widens the waterfall label column for a long row label and cuts one that cannot fit', async () => {
    const { waterfallChart } = await import('../../src/report/waterfall-chart.js');
    const rows = (label: string) => [
      { label: 'stt', stage: 'stt', startMs: 0, endMs: 50, critical: true },
      { label, stage: 'tool:x', startMs: 50, endMs: 60, critical: true },
    ];
    const barX = (svg: string) =>
      Number(/<g class="mark"[^>]*><title>[^<]*<\/title><rect x="([\d.]+)"/.exec(svg)?.[1]);
    const long = 'tool:get_equipment_status (cached)';
    const wide = waterfallChart({ id: 'w', title: 'P90 turn', rows: rows(long), width: 1000 });
    expect(wide).toContain(`>${long}<`);
    // the bars start right of the label column, which holds the whole label (bold: ~7.1 px a character)
    expect(barX(wide)).toBeGreaterThanOrEqual(long.length * 7.1);
    const huge = 'x'.repeat(200);
    const cut = waterfallChart({ id: 'c', title: 'P90 turn', rows: rows(huge), width: 600 });
    expect(cut).not.toContain(`>${huge}<`); // cut in the label (whole in the tooltip)
    expect(cut).toContain(`<title>${huge}: 50.0 → 60.0 ms</title>`);
    expect(cut).toMatch(/>x+…</);
    expect(barX(cut)).toBeLessThanOrEqual(600 * 0.4);
  });

  it('keeps the first marker lane below the waterfall title', async () => {
    const { waterfallChart } = await import('../../src/report/waterfall-chart.js');
    const svg = waterfallChart({
      id: 'm',
      title: 'Typical turn (median time to first audio): first audio after 126 ms (cached answer)',
      rows: [{ label: 'stt', stage: 'stt', startMs: 0, endMs: 60 }],
      markers: [{ label: 'first audio', ms: 126 }],
      width: 1000,
    });
    const markerY = Number(/<g class="marker"[^>]*>.*?<text x="[\d.]+" y="([\d.]+)"/.exec(svg)?.[1]);
    // title baseline 16 at 13 px (descenders to ~19); an 11 px label needs its baseline ≥ 28
    expect(markerY).toBeGreaterThanOrEqual(28);
  });
});

describe('a real run (the load engine over synthetic turns)', () => {
  it('records rolling windows of 20 and 50 iterations and the report draws the one that fits', async () => {
    const { closedFixture } = await import('./fixtures.js');
    const { parseSavedRun } = await import('../../src/loadtest/index.js');
    const { renderHtmlReport } = await import('../../src/report/index.js');
    const run = parseSavedRun(JSON.parse(JSON.stringify(await closedFixture())));
    const withRolling = run.timeseries.filter((p) => p.rolling);
    expect(withRolling.length).toBeGreaterThan(0);
    for (const p of withRolling) {
      expect(p.rolling!.map((r) => r.size)).toEqual([20, 50]);
      for (const r of p.rolling!) {
        expect(r.turns).toBeGreaterThan(0);
        expect(r.p50).toBeLessThanOrEqual(r.p90);
        expect(r.windowMs).toBeGreaterThanOrEqual(p.intervalMs - 0.1);
      }
    }
    const { title } = latencyOverTime(run.timeseries);
    const html = renderHtmlReport(run);
    expect(html).toContain(`<title id="latency-over-time-title">${title.replace(/&/g, '&amp;')}</title>`);
    expect(title).toMatch(/^Latency over time: /);
  });
});
