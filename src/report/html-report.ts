/**
 * Renders a saved run as one self-contained HTML file: inline CSS, inline SVG charts, no
 * scripts, no fonts, no network (a Content-Security-Policy forbids every fetch).
 *
 * The sections live in `report-summary.ts`, `report-latency-charts.ts`,
 * `report-waterfalls.ts` and `report-cache-errors.ts`; this module lays out the page.
 * @module
 */
import type { SavedRun } from '../loadtest/run-file.js';
import { formatCount, formatMs, formatPercent, formatSeconds } from './format.js';
import { cacheSection, errorsSection } from './report-cache-errors.js';
import {
  arrivalsSection,
  coordinatedOmissionChart,
  distributionCharts,
  overTimeCharts,
  plotPoints,
} from './report-latency-charts.js';
import { configRows, figure, headlineStage, stageTable } from './report-summary.js';
import { waterfallCard } from './report-waterfalls.js';
import { el, esc } from './svg.js';

export { plotPoints };

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
.stretch{display:block;font-size:12px;font-weight:400}
.table-wrap{overflow-x:auto}#stage-table th{white-space:normal}
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
