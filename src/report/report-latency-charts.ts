/**
 * The latency charts of the HTML report: percentile distributions, coordinated omission,
 * latency and throughput over time, and arrivals.
 * @module
 */
import type { SavedRun, StageStats, TimeseriesPoint } from '../loadtest/run-file.js';
import { PALETTE, stageColor, type XYSeries, xyChart } from './charts.js';
import { formatCount, formatMs, formatTarget } from './format.js';
import { MAX_AXIS_PERCENTILE } from './scales.js';
import { el, esc } from './svg.js';

/**
 * Distribution points for the percentile axis. The maximum (P100) cannot sit at infinity: it
 * is drawn where the rarest sample sits, at percentile 100 × (1 − 1/count), and the curve
 * always ends there at the maximum the table shows, even when that percentile was plotted
 * already (2 samples: the curve rises to the max at P50 instead of staying flat).
 */
export function plotPoints(
  s: Pick<StageStats, 'count' | 'maxMs' | 'distribution'>,
): (readonly [number, number])[] {
  const out: (readonly [number, number])[] = [];
  const lastP = Math.min(MAX_AXIS_PERCENTILE, 100 * (1 - 1 / Math.max(2, s.count)));
  for (const d of s.distribution) {
    if (d.percentile < 100 && d.percentile <= lastP) out.push([d.percentile, Math.min(d.ms, s.maxMs)]);
  }
  if (s.distribution.length === 0) return out;
  const last = out[out.length - 1];
  if (!last || last[0] < lastP || last[1] < s.maxMs) out.push([lastP, s.maxMs]);
  return out;
}

export function distributionCharts(run: SavedRun): string {
  const cards = run.stages
    .filter((s) => s.distribution.length > 0)
    .map((s, i) => {
      const guides = s.target
        ? [
            {
              y: s.target.targetMs,
              label: `target P${s.target.percentile} ${formatTarget(s.target.targetMs)} ms`,
            },
          ]
        : [];
      return el(
        'div',
        { class: 'card' },
        xyChart({
          id: `dist-${i}`,
          title: `${s.name} (${formatCount(s.count)} samples)`,
          width: 340,
          height: 200,
          xAxis: 'percentile',
          yLabel: 'ms',
          series: [{ name: s.name, color: stageColor(s.name), points: plotPoints(s) }],
          guides,
        }),
      );
    });
  return el('div', { class: 'grid' }, cards);
}

export function coordinatedOmissionChart(run: SavedRun, width: number): string {
  const sent = run.stages.find((s) => s.name === 'scenario');
  const intended = run.stages.find((s) => s.name === 'scenario_from_intended');
  if (!sent || !intended) return '';
  return el(
    'div',
    { class: 'card' },
    xyChart({
      id: 'co-chart',
      title: 'Turn latency measured from the actual send vs. from the intended start',
      width,
      height: 240,
      xAxis: 'percentile',
      yLabel: 'ms',
      series: [
        { name: 'from actual send (service time)', color: PALETTE[0]!, points: plotPoints(sent) },
        { name: 'from intended start (what users wait)', color: PALETTE[3]!, points: plotPoints(intended) },
      ],
    }),
  );
}

/** A duration for a title: `250 ms`, `2.5 s`, `25 s`, `1 min 30 s`. */
function formatSeconds(ms: number): string {
  if (ms < 1000) return `${ms >= 100 ? Math.round(ms / 10) * 10 : Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 10) return `${Math.round(s * 10) / 10} s`;
  if (s < 120) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  const rest = Math.round(s - m * 60);
  return rest === 0 ? `${m} min` : `${m} min ${rest} s`;
}

/** The typical interval of a time series (its median `intervalMs`). */
function typicalInterval(ts: readonly TimeseriesPoint[]): number {
  const v = ts.map((p) => p.intervalMs).sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)] ?? 1000;
}

/**
 * The rolling window size drawn for a run: the largest recorded size the run holds at least
 * four windows of (so the line can move), else the smallest recorded size.
 */
export function chooseRollingSize(ts: readonly TimeseriesPoint[]): number | undefined {
  const sizes = new Set<number>();
  let total = 0;
  for (const p of ts) {
    total += p.completed;
    for (const r of p.rolling ?? []) sizes.add(r.size);
  }
  const sorted = [...sizes].sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  return sorted.filter((n) => total >= 4 * n).pop() ?? sorted[0]!;
}

/**
 * The latency lines of the over-time chart and the title that says what they are.
 *
 * When every interval holds a full window, the interval percentiles are already steady: P50 /
 * P90 / P99 per interval, as lines. Otherwise (few users, slow turns) the lines are the rolling
 * P50 / P90 over the last N iterations ({@link chooseRollingSize} picks N from the run's
 * length), and the per-interval P50 / P90 stay behind them as faint dots; the title states N
 * and how far back the window reached. Run files without rolling figures draw interval lines.
 */
export function latencyOverTime(ts: readonly TimeseriesPoint[]): { title: string; series: XYSeries[] } {
  const t = (ms: number) => ms / 1000;
  const withLat = ts.filter((p) => p.p50 !== undefined);
  const every = formatSeconds(typicalInterval(ts));
  const size = chooseRollingSize(ts);
  const rolled: { p: TimeseriesPoint; r: NonNullable<TimeseriesPoint['rolling']>[number] }[] = [];
  for (const p of ts) {
    const r = p.rolling?.find((w) => w.size === size);
    if (r) rolled.push({ p, r });
  }
  const ownInterval = ({ p, r }: (typeof rolled)[number]) =>
    r.turns >= r.size && r.windowMs <= p.intervalMs + 1;
  const perInterval: XYSeries[] = [
    { name: 'P50', color: PALETTE[0]!, points: withLat.map((p) => [t(p.tMs), p.p50!] as const) },
    { name: 'P90', color: PALETTE[1]!, points: withLat.map((p) => [t(p.tMs), p.p90!] as const) },
    { name: 'P99', color: PALETTE[3]!, points: withLat.map((p) => [t(p.tMs), p.p99!] as const) },
  ];
  if (size === undefined || rolled.length === 0 || rolled.every(ownInterval)) {
    const each = size !== undefined && rolled.length > 0 ? `, each ≥ ${size} iterations` : '';
    return {
      title: `Latency over time: P50 / P90 / P99 per ${every} interval (send → done${each})`,
      series: perInterval,
    };
  }
  let shortest = Number.POSITIVE_INFINITY;
  let longest = 0;
  for (const { r } of rolled) {
    if (r.turns < r.size) continue;
    shortest = Math.min(shortest, r.windowMs);
    longest = Math.max(longest, r.windowMs);
  }
  const reach =
    longest === 0
      ? `fewer than ${size} in the run: all so far`
      : formatSeconds(shortest) === formatSeconds(longest)
        ? `about ${formatSeconds(longest)}`
        : `${formatSeconds(shortest)}–${formatSeconds(longest)}`;
  const last = `last ${size}`;
  return {
    title: `Latency over time: P50 / P90 of the ${last} iterations (${reach}); dots: per ${every} interval`,
    series: [
      { name: `P50 per ${every}`, style: 'dots', color: PALETTE[0]!, points: perInterval[0]!.points },
      { name: `P90 per ${every}`, style: 'dots', color: PALETTE[1]!, points: perInterval[1]!.points },
      {
        name: `P50, ${last}`,
        color: PALETTE[0]!,
        points: rolled.map(({ p, r }) => [t(p.tMs), r.p50] as const),
      },
      {
        name: `P90, ${last}`,
        color: PALETTE[1]!,
        points: rolled.map(({ p, r }) => [t(p.tMs), r.p90] as const),
      },
    ],
  };
}

export function overTimeCharts(run: SavedRun, width: number): string {
  const ts = run.timeseries;
  if (ts.length === 0)
    return el('p', { class: 'muted' }, 'No samples over time (the run was shorter than one interval).');
  const t = (ms: number) => ms / 1000;
  const isOpen = run.config.model === 'open';
  const load = ts.map((p) => [t(p.tMs), (isOpen ? p.targetRate : p.users) ?? 0] as const);
  const loadName = isOpen ? 'target arrival rate /s' : 'users';
  const lat = latencyOverTime(ts);
  const latency = xyChart({
    id: 'latency-over-time',
    title: lat.title,
    width,
    height: 260,
    xLabel: 'seconds since start',
    yLabel: 'ms',
    y2Label: loadName,
    series: [{ name: loadName, style: 'area', axis: 'right', color: '#888888', points: load }, ...lat.series],
  });
  const throughput = xyChart({
    id: 'throughput-over-time',
    title: 'Throughput over time (iterations finished per second)',
    width,
    height: 240,
    xLabel: 'seconds since start',
    yLabel: 'turns / s',
    y2Label: loadName,
    series: [
      {
        name: 'completed / s',
        style: 'bars',
        color: PALETTE[2]!,
        points: ts.map((p) => [t(p.tMs), p.throughputPerSec] as const),
      },
      {
        name: 'errors / s',
        style: 'bars',
        color: '#b3261e',
        points: ts.map((p) => [t(p.tMs), Math.round((p.errors / p.intervalMs) * 10_000) / 10] as const),
      },
      { name: loadName, style: 'step', axis: 'right', color: '#555555', points: load },
    ],
  });
  return (
    el('div', { class: 'card' }, latency) + el('div', { class: 'card', style: 'margin-top:12px' }, throughput)
  );
}

export function arrivalsSection(run: SavedRun): string {
  const a = run.arrivals;
  if (!a) return '';
  const rows: [string, string, number][] = [
    ['scheduled', formatCount(a.scheduled), a.scheduled],
    ['sent', formatCount(a.sent), a.sent],
    [`late (> ${formatMs(a.lateThresholdMs)} ms after the intended start)`, formatCount(a.late), a.late],
    ['dropped (too many in flight)', formatCount(a.dropped), a.dropped],
    ['largest send delay (ms)', formatMs(a.maxSendLagMs), a.maxSendLagMs],
  ];
  return (
    el('h2', {}, 'Arrivals (open model)') +
    el(
      'table',
      { id: 'arrivals-table', style: 'max-width:560px' },
      el(
        'tbody',
        {},
        rows.map(([k, v, raw]) =>
          el('tr', {}, [el('td', {}, esc(k)), el('td', { 'data-value': String(raw) }, esc(v))]),
        ),
      ),
    ) +
    el(
      'p',
      { class: 'muted' },
      'Arrivals are scheduled in advance and sent whether or not earlier turns have answered. <code>scenario</code> is measured from the actual send; <code>scenario_from_intended</code> from the scheduled start, so a scheduler or target that falls behind cannot hide the wait (coordinated omission).',
    )
  );
}
