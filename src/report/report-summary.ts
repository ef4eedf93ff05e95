/**
 * The summary parts of the HTML report: the run's configuration, headline figures, the
 * headline stage and the per-stage table with each target's verdict.
 * @module
 */
import { formatDuration } from '../loadtest/options.js';
import type { SavedRun, StageStats } from '../loadtest/run-file.js';
import { OP } from '../perf/operations.js';
import { formatCount, formatMs, formatPercent, formatTarget } from './format.js';
import { el, esc } from './svg.js';

export function configRows(run: SavedRun): [string, string][] {
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

export function figure(k: string, v: string, id: string): string {
  return el('div', { class: 'figure', id }, [
    el('div', { class: 'v' }, esc(v)),
    el('div', { class: 'k' }, esc(k)),
  ]);
}

function cell(stage: string, field: string, value: number, text = formatMs(value)): string {
  return el('td', { 'data-stage': stage, 'data-field': field, 'data-value': String(value) }, esc(text));
}

export function stageTable(run: SavedRun): string {
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
                  { class: 'muted stretch' },
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
  // Headers wrap and a wide table scrolls inside its box, never the whole page.
  return el(
    'div',
    { class: 'table-wrap' },
    el('table', { id: 'stage-table' }, [el('thead', {}, head), el('tbody', {}, rows)]),
  );
}

export function headlineStage(run: SavedRun): StageStats | undefined {
  for (const name of [OP.timeToFirstAudio, OP.e2e, 'scenario_from_intended', 'scenario', 'http']) {
    const s = run.stages.find((x) => x.name === name);
    if (s) return s;
  }
  return undefined;
}
