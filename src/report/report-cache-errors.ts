/**
 * The cache and error sections of the HTML report.
 * @module
 */
import type { SavedRun } from '../loadtest/run-file.js';
import { barChart, PALETTE } from './charts.js';
import { formatCount, formatPercent } from './format.js';
import { el, esc } from './svg.js';

export function cacheSection(run: SavedRun, width: number): string {
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

export function errorsSection(run: SavedRun, width: number): string {
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
