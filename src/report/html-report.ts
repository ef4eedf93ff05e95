/**
 * Renders a saved run as one self-contained HTML file: inline CSS, inline SVG charts, no
 * scripts, no fonts, no network (a Content-Security-Policy forbids every fetch).
 * @module
 */
import { formatDuration } from '../loadtest/options.js';
import type { SavedRun, SavedWaterfall, StageStats } from '../loadtest/run-file.js';
import { barChart, PALETTE, stageColor, type WaterfallRow, waterfallChart, xyChart } from './charts.js';
import { formatCount, formatMs, formatPercent, formatSeconds, formatTarget } from './format.js';
import { MAX_AXIS_PERCENTILE } from './scales.js';
import { el, esc } from './svg.js';

/** Options of {@link renderHtmlReport}. */
export interface HtmlReportOptions {
  /** Width of the wide charts in px. Default 1000. */
  chartWidth?: number;
}

const CSS = `
:root{color-scheme:light;--fg:#1d1d1f;--muted:#5f6368;--line:#e3e3e3;--pass:#0a7d3b;--fail:#b3261e;--warn:#8a5a00;--bg:#fafafa}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1080px;margin:0 auto;padding:24px 20px 48px}
header{display:flex;justify-content:space-between;align-items:flex-start;gap:16px;flex-wrap:wrap}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:32px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:14px;margin:16px 0 6px}
.sub{color:var(--muted);margin:0}
.badge{display:inline-block;font-weight:700;padding:6px 14px;border-radius:6px;color:#fff;font-size:15px}
.badge.pass{background:var(--pass);color:#fff}.badge.fail{background:var(--fail);color:#fff}
.banner{margin:16px 0 0;padding:10px 14px;border-radius:6px;background:#fff4e5;border:1px solid #f0c36d;color:var(--warn)}
.figures{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;margin-top:16px}
.figure{background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.figure .v{font-size:20px;font-weight:650}.figure .k{color:var(--muted);font-size:12px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line);border-radius:8px;overflow:hidden;font-variant-numeric:tabular-nums}
th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
td.text,th.text{text-align:left;white-space:normal}
th{background:#f4f4f5;font-weight:600;font-size:12px;color:#333}
tr:last-child td{border-bottom:none}
.pass{color:var(--pass);font-weight:600}.fail{color:var(--fail);font-weight:600}.nodata{color:var(--muted)}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:12px}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:8px}
svg.chart{display:block;max-width:100%;height:auto}
.path{margin:6px 0 0;color:#333}
.path b{font-weight:600}
.muted{color:var(--muted)}
dl.config{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:8px 0 0}
dl.config dt{color:var(--muted)}dl.config dd{margin:0}
footer{margin-top:40px;color:var(--muted);font-size:12px}
`;

function configRows(run: SavedRun): [string, string][] {
  const c = run.config;
  const rows: [string, string][] = [];
  if (c.model === 'closed') {
    const load = [
      c.users !== undefined ? `${c.users} user${c.users === 1 ? '' : 's'}` : undefined,
      c.spawnRate !== undefined ? `spawn rate ${c.spawnRate}/s` : undefined,
      c.preset ? `preset ${c.preset}` : undefined,
    ].filter(Boolean);
    rows.push(['load model', `closed (${load.join(', ')})`]);
  } else {
    const load = [
      c.ratePerSec !== undefined ? `${Number(c.ratePerSec.toFixed(3))} arrivals/s` : undefined,
      c.maxInFlight !== undefined ? `at most ${c.maxInFlight} in flight` : undefined,
    ].filter(Boolean);
    rows.push(['load model', `open (${load.join(', ')})`]);
  }
  const limit = [
    c.runTimeMs !== undefined ? `run time ${formatDuration(c.runTimeMs)}` : undefined,
    c.iterations !== undefined ? `${c.iterations} turns` : undefined,
  ].filter(Boolean);
  if (limit.length) rows.push(['stop after', limit.join(' or ')]);
  rows.push(['target', `${c.target.kind}: ${c.target.description}`]);
  if (c.providers) rows.push(['providers', c.providers]);
  if (c.cache) rows.push(['cache', c.cache]);
  rows.push(['scenarios', c.scenarios.map((s) => `${s.name} ×${s.weight}`).join(', ')]);
  return rows;
}

function figure(k: string, v: string, id: string): string {
  return el('div', { class: 'figure', id }, [
    el('div', { class: 'v' }, esc(v)),
    el('div', { class: 'k' }, esc(k)),
  ]);
}

function cell(stage: string, field: string, value: number, text = formatMs(value)): string {
  return el('td', { 'data-stage': stage, 'data-field': field, 'data-value': String(value) }, esc(text));
}

function stageTable(run: SavedRun): string {
  const p = run.verdict.percentile;
  const head = el(
    'tr',
    {},
    [
      'stage',
      'count',
      'errors (rate)',
      'P50',
      'P90',
      'P95',
      'P99',
      'max',
      'mean',
      `target (P${p})`,
      `P${p} of ok calls`,
      'status',
    ].map((h) => el('th', {}, esc(h))),
  );
  const rows = run.stages.map((s) => {
    const t = s.target;
    const status = !t
      ? el('td', { class: 'nodata', 'data-stage': s.name, 'data-field': 'status' }, '–')
      : el(
          'td',
          {
            class: t.status === 'pass' ? 'pass' : t.status === 'fail' ? 'fail' : 'nodata',
            'data-stage': s.name,
            'data-field': 'status',
          },
          esc(
            t.status === 'pass'
              ? 'PASS'
              : t.status === 'fail'
                ? `FAIL${t.failedOn === 'errors' ? ' (errors)' : t.failedOn === 'latency+errors' ? ' (latency, errors)' : ''}`
                : 'NO DATA',
          ) +
            (t.stretchMs !== undefined && t.stretchPass !== undefined
              ? el(
                  'span',
                  { class: 'muted' },
                  esc(` (stretch ≤ ${t.stretchMs}: ${t.stretchPass ? 'met' : 'missed'})`),
                )
              : ''),
        );
    return el('tr', { 'data-stage': s.name }, [
      el('td', { 'data-stage': s.name, 'data-field': 'name' }, esc(s.name)),
      cell(s.name, 'count', s.count, formatCount(s.count)),
      cell(
        s.name,
        'errors',
        s.errors,
        `${formatCount(s.errors)} (${formatPercent(s.count === 0 ? 0 : s.errors / s.count)})`,
      ),
      cell(s.name, 'p50', s.p50),
      cell(s.name, 'p90', s.p90),
      cell(s.name, 'p95', s.p95),
      cell(s.name, 'p99', s.p99),
      cell(s.name, 'maxMs', s.maxMs),
      cell(s.name, 'meanMs', s.meanMs),
      t
        ? cell(s.name, 'targetMs', t.targetMs, `≤ ${formatTarget(t.targetMs)}`)
        : el('td', { class: 'nodata' }, '–'),
      t && t.actualMs !== null
        ? cell(s.name, 'okActualMs', t.actualMs)
        : el('td', { class: 'nodata', 'data-stage': s.name, 'data-field': 'okActualMs' }, '–'),
      status,
    ]);
  });
  return el('table', { id: 'stage-table' }, [el('thead', {}, head), el('tbody', {}, rows)]);
}

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

function distributionCharts(run: SavedRun): string {
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

function coordinatedOmissionChart(run: SavedRun, width: number): string {
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

function overTimeCharts(run: SavedRun, width: number): string {
  const ts = run.timeseries;
  if (ts.length === 0)
    return el('p', { class: 'muted' }, 'No samples over time (the run was shorter than one interval).');
  const t = (ms: number) => ms / 1000;
  const withLat = ts.filter((p) => p.p50 !== undefined);
  const isOpen = run.config.model === 'open';
  const load = ts.map((p) => [t(p.tMs), (isOpen ? p.targetRate : p.users) ?? 0] as const);
  const loadName = isOpen ? 'target arrival rate /s' : 'users';
  const latency = xyChart({
    id: 'latency-over-time',
    title: 'Latency over time (each iteration, send → done)',
    width,
    height: 260,
    xLabel: 'seconds since start',
    yLabel: 'ms',
    y2Label: loadName,
    series: [
      { name: loadName, style: 'area', axis: 'right', color: '#888888', points: load },
      { name: 'P50', color: PALETTE[0]!, points: withLat.map((p) => [t(p.tMs), p.p50!] as const) },
      { name: 'P90', color: PALETTE[1]!, points: withLat.map((p) => [t(p.tMs), p.p90!] as const) },
      { name: 'P99', color: PALETTE[3]!, points: withLat.map((p) => [t(p.tMs), p.p99!] as const) },
    ],
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

function arrivalsSection(run: SavedRun): string {
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

function waterfallRows(w: SavedWaterfall): WaterfallRow[] {
  const critical = new Set((w.criticalPath ?? []).map((s) => s.spanId).filter((x) => x !== undefined));
  return w.spans.map((s) => {
    const row: WaterfallRow = {
      label:
        s.name +
        (s.sentenceIndex !== undefined ? ` #${s.sentenceIndex}` : '') +
        (s.round !== undefined && s.name === 'llm' ? ` r${s.round}` : '') +
        (s.cached ? ' (cached)' : ''),
      stage: s.name,
      startMs: s.startMs,
      endMs: s.endMs,
      critical: critical.has(s.id),
    };
    if (s.firstOutputMs !== undefined) row.firstOutputMs = s.firstOutputMs;
    if (s.outcome && s.outcome !== 'ok') row.note = s.outcome;
    return row;
  });
}

function waterfallCard(id: string, heading: string, w: SavedWaterfall | undefined, width: number): string {
  if (!w) return '';
  const ttfa = w.timeToFirstAudioMs ?? w.marks?.firstAudioMs;
  const markers: { label: string; ms: number; color?: string }[] = [];
  if (ttfa !== undefined) markers.push({ label: 'first audio', ms: ttfa, color: '#b3261e' });
  const last = w.e2eMs ?? w.marks?.lastAudioMs;
  if (last !== undefined && (ttfa === undefined || last - ttfa > 40))
    markers.push({ label: 'last audio', ms: last, color: '#555' });
  const chart = waterfallChart({
    id,
    title: `${heading}${ttfa !== undefined ? `: first audio after ${formatMs(ttfa)} ms` : ''}${w.cached ? ' (cached answer)' : ''}`,
    rows: waterfallRows(w),
    criticalPath: (w.criticalPath ?? []).map((s) => {
      const step: { name: string; startMs: number; endMs: number; detail?: string } = {
        name: s.name,
        startMs: s.startMs,
        endMs: s.endMs,
      };
      if (s.detail !== undefined) step.detail = s.detail;
      return step;
    }),
    markers,
    width,
  });
  const steps = w.criticalPath ?? [];
  const dur = (s: (typeof steps)[number]) => s.durationMs ?? s.endMs - s.startMs;
  // Sub-millisecond hand-overs between stages are real but noise in a sentence: sum them up.
  const small = steps.filter((s) => s.name === 'overhead' && dur(s) < 1);
  const smallMs = small.reduce((a, s) => a + dur(s), 0);
  const words = steps
    .filter((s) => !small.includes(s))
    .map(
      (s) =>
        `${esc(s.name)} ${esc(formatMs(dur(s)))} ms${s.detail ? ` <span class="muted">(${esc(s.detail)})</span>` : ''}`,
    )
    .join(' → ');
  const path = steps.length
    ? el(
        'p',
        { class: 'path' },
        `<b>What the first audio waited on:</b> ${words}${small.length ? ` <span class="muted">(+ ${esc(formatMs(smallMs))} ms of hand-overs between stages)</span>` : ''}`,
      )
    : el('p', { class: 'muted' }, 'No critical path recorded for this turn.');
  return el('div', { class: 'card', style: 'margin-bottom:12px' }, chart + path);
}

function cacheSection(run: SavedRun, width: number): string {
  const c = run.cache;
  if (!c || Object.keys(c.namespaces).length === 0) {
    return el('p', { class: 'muted', id: 'cache-empty' }, 'No cache reads were recorded in this run.');
  }
  const entries = Object.entries(c.namespaces).sort(([a], [b]) => a.localeCompare(b));
  const chart = barChart({
    id: 'cache-chart',
    title: `Cache hit rate (overall ${formatPercent(c.total.hitRate)})`,
    max: 1,
    width,
    bars: [
      ...entries.map(([ns, v]) => ({
        label: ns,
        value: v.hitRate,
        valueLabel: formatPercent(v.hitRate),
        color: PALETTE[5]!,
      })),
      {
        label: 'all namespaces',
        value: c.total.hitRate,
        valueLabel: formatPercent(c.total.hitRate),
        color: PALETTE[0]!,
      },
    ],
  });
  const table = el('table', { id: 'cache-table' }, [
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        ['namespace', 'hits', 'stale', 'misses', 'hit rate'].map((h) => el('th', {}, h)),
      ),
    ),
    el(
      'tbody',
      {},
      [...entries, ['all namespaces', c.total] as const].map(([ns, v]) =>
        el('tr', { 'data-namespace': ns }, [
          el('td', {}, esc(ns)),
          el('td', { 'data-value': String(v.hits) }, formatCount(v.hits)),
          el('td', { 'data-value': String(v.stale) }, formatCount(v.stale)),
          el('td', { 'data-value': String(v.misses) }, formatCount(v.misses)),
          el('td', { 'data-value': String(v.hitRate) }, formatPercent(v.hitRate)),
        ]),
      ),
    ),
  ]);
  return el('div', { class: 'card' }, chart) + el('div', { style: 'margin-top:12px' }, table);
}

function errorsSection(run: SavedRun, width: number): string {
  if (run.errors.length === 0) return el('p', { id: 'errors-empty', class: 'pass' }, 'No errors.');
  const chart = barChart({
    id: 'errors-chart',
    title: `Errors by kind (${formatCount(run.summary.errors)} of ${formatCount(run.summary.turns)} turns)`,
    width,
    format: (v) => formatCount(v),
    bars: run.errors.map((e) => ({ label: e.kind, value: e.count, color: '#b3261e' })),
  });
  const table = el('table', { id: 'errors-table' }, [
    el(
      'thead',
      {},
      el('tr', {}, [
        el('th', {}, 'kind'),
        el('th', {}, 'count'),
        el('th', { class: 'text' }, 'first message'),
      ]),
    ),
    el(
      'tbody',
      {},
      run.errors.map((e) =>
        el('tr', {}, [
          el('td', {}, esc(e.kind)),
          el('td', { 'data-value': String(e.count) }, formatCount(e.count)),
          el('td', { class: 'text' }, esc(e.message)),
        ]),
      ),
    ),
  ]);
  return el('div', { class: 'card' }, chart) + el('div', { style: 'margin-top:12px' }, table);
}

function headlineStage(run: SavedRun): StageStats | undefined {
  for (const name of ['time_to_first_audio', 'e2e', 'scenario_from_intended', 'scenario', 'http']) {
    const s = run.stages.find((x) => x.name === name);
    if (s) return s;
  }
  return undefined;
}

/**
 * Renders a saved run as a self-contained HTML page.
 *
 * @example
 * ```ts
 * import { readRunFile } from 'earshot/loadtest';
 * await writeFile('report.html', renderHtmlReport(await readRunFile('run.json')));
 * ```
 */
export function renderHtmlReport(run: SavedRun, options: HtmlReportOptions = {}): string {
  const width = options.chartWidth ?? 1000;
  const pass = run.verdict.pass;
  const started = new Date(run.startedAt);
  const headline = headlineStage(run);
  const figures = [
    figure('turns completed', formatCount(run.summary.turns), 'fig-turns'),
    figure(
      'errors',
      `${formatCount(run.summary.errors)} (${formatPercent(run.summary.errorRate)})`,
      'fig-errors',
    ),
    figure('throughput', `${run.summary.throughputPerSec} /s`, 'fig-throughput'),
    figure('duration', formatSeconds(run.durationMs), 'fig-duration'),
  ];
  if (headline) figures.push(figure(`${headline.name} P90`, `${formatMs(headline.p90)} ms`, 'fig-headline'));
  if (run.cache) figures.push(figure('cache hit rate', formatPercent(run.cache.total.hitRate), 'fig-cache'));

  const banner =
    run.status === 'completed'
      ? ''
      : el(
          'div',
          { class: 'banner', id: 'status-banner' },
          esc(
            `${run.status === 'interrupted' ? 'Interrupted' : 'Failed'}${run.stopReason ? ` (${run.stopReason})` : ''} after ${formatSeconds(run.durationMs)}: these are partial results.`,
          ),
        );
  const failures = run.verdict.failures.length
    ? el(
        'ul',
        { id: 'failures' },
        run.verdict.failures.map((f) => el('li', { class: 'fail' }, esc(f))),
      )
    : '';

  const body = [
    el('header', {}, [
      el('div', {}, [
        el('h1', {}, esc(run.title)),
        el(
          'p',
          { class: 'sub' },
          esc(
            `earshot ${run.kind} · started ${started.toISOString().replace('T', ' ').slice(0, 19)} UTC · ${formatSeconds(run.durationMs)}`,
          ),
        ),
        el(
          'dl',
          { class: 'config' },
          configRows(run).map(([k, v]) => el('dt', {}, esc(k)) + el('dd', {}, esc(v))),
        ),
      ]),
      el(
        'div',
        { id: 'verdict', class: `badge ${pass ? 'pass' : 'fail'}` },
        pass ? 'TARGETS MET' : 'TARGETS MISSED',
      ),
    ]),
    banner,
    failures,
    el('div', { class: 'figures' }, figures),
    el('h2', {}, 'Latency per stage'),
    stageTable(run),
    el(
      'p',
      { class: 'muted' },
      `Times in ms. Targets are judged at P${run.verdict.percentile}; error rate must stay ≤ ${formatPercent(run.verdict.maxErrorRate)}.`,
    ),
    el('h2', {}, 'Latency distribution per stage'),
    el(
      'p',
      { class: 'muted' },
      'Latency at each percentile; each step right is ten times rarer (P90, P99, P99.9), so the tail is as visible as the median. Dashed line: the target.',
    ),
    distributionCharts(run),
    coordinatedOmissionChart(run, width)
      ? el('h3', {}, 'Coordinated omission') + coordinatedOmissionChart(run, width)
      : '',
    el('h2', {}, 'Over time'),
    overTimeCharts(run, width),
    arrivalsSection(run),
    el('h2', {}, 'Where the time went: typical and P90 turns'),
    run.turns.typical || run.turns.p90
      ? waterfallCard(
          'waterfall-typical',
          'Typical turn (median time to first audio)',
          run.turns.typical,
          width,
        ) + waterfallCard('waterfall-p90', 'P90 turn', run.turns.p90, width)
      : el(
          'p',
          { class: 'muted', id: 'waterfall-empty' },
          'The target did not report turn timelines (an HTTP endpoint can return one as a "timeline" field).',
        ),
    el('h2', {}, 'Cache'),
    cacheSection(run, width),
    el('h2', {}, 'Errors'),
    errorsSection(run, width),
    el(
      'footer',
      {},
      esc(
        `Generated by earshot ${run.earshotVersion} from a version ${run.version} run file. Charts are static SVG; this file loads nothing from the network.`,
      ),
    ),
  ];

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(run.title)} · earshot report</title>
<style>${CSS}</style>
</head>
<body>
<main>
${body.join('\n')}
</main>
</body>
</html>
`;
}
