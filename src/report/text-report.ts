/**
 * Plain-text rendering of a saved run for terminals and CI logs: the per-stage percentile
 * table with the targets check, cache hit rates, errors by kind and the verdict.
 * @module
 */
import { stripControl } from '../internal/terminal.js';
import type { SavedRun } from '../loadtest/run-file.js';
import { formatCount, formatMs, formatPercent, formatTarget } from './format.js';

/** How the text report styles a piece of text (colour on a TTY, identity elsewhere). */
export type TextStyle = (kind: 'pass' | 'fail' | 'dim' | 'bold' | 'warn', text: string) => string;

const plain: TextStyle = (_k, t) => t;

/**
 * The per-stage table: count, errors, P50/P90/P95/P99, max, target and status.
 *
 * @example
 * ```ts
 * console.log(formatStageTable(run));
 * ```
 */
export function formatStageTable(run: SavedRun, style: TextStyle = plain): string {
  const p = run.verdict.percentile;
  const header = [
    'stage',
    'count',
    'errors (rate)',
    'p50',
    'p90',
    'p95',
    'p99',
    'max',
    `target P${p}`,
    `ok p${p}`,
    'status',
  ];
  const rows = run.stages.map((s) => {
    const t = s.target;
    const failedOn =
      t?.failedOn === 'errors' ? ' (errors)' : t?.failedOn === 'latency+errors' ? ' (latency, errors)' : '';
    return [
      // Run files come from anywhere: nothing in them may drive the terminal.
      stripControl(s.name),
      formatCount(s.count),
      `${formatCount(s.errors)} (${formatPercent(s.count === 0 ? 0 : s.errors / s.count)})`,
      formatMs(s.p50),
      formatMs(s.p90),
      formatMs(s.p95),
      formatMs(s.p99),
      formatMs(s.maxMs),
      t ? `≤ ${formatTarget(t.targetMs)}` : '',
      t && t.actualMs !== null ? formatMs(t.actualMs) : '',
      t ? (t.status === 'pass' ? 'PASS' : t.status === 'fail' ? `FAIL${failedOn}` : 'NO DATA') : '',
    ];
  });
  const widths = header.map((h) => h.length);
  for (const r of rows) {
    for (let i = 0; i < r.length; i++) widths[i] = Math.max(widths[i]!, r[i]!.length);
  }
  const fmt = (r: string[]) =>
    r
      .map((c, i) => (i === 0 || i === r.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ');
  const lines = [
    style('bold', fmt(header).trimEnd()),
    style('dim', widths.map((w) => '─'.repeat(w)).join('  ')),
  ];
  for (const r of rows) {
    const status = r[r.length - 1]!;
    const line = fmt(r).trimEnd();
    lines.push(
      status.startsWith('FAIL')
        ? style('fail', line)
        : status === 'PASS'
          ? line.replace(/PASS$/, style('pass', 'PASS'))
          : line,
    );
  }
  if (rows.length === 0) lines.push('(nothing was measured)');
  lines.push(style('dim', 'times in ms'));
  return lines.join('\n');
}

/** The full text summary: table, cache, arrivals, errors, verdict. */
export function formatTextReport(run: SavedRun, style: TextStyle = plain): string {
  const out: string[] = [];
  if (run.status !== 'completed') {
    out.push(
      style(
        'warn',
        `${run.status === 'interrupted' ? 'Interrupted' : 'Failed'}${run.stopReason ? ` (${stripControl(run.stopReason)})` : ''}: partial results.`,
      ),
    );
  }
  out.push(formatStageTable(run, style), '');
  const s = run.summary;
  out.push(
    `turns ${formatCount(s.turns)} · errors ${formatCount(s.errors)} (${formatPercent(s.errorRate)}) · ${s.throughputPerSec} turns/s · ${(run.durationMs / 1000).toFixed(1)} s`,
  );
  if (run.cache) {
    const ns = Object.entries(run.cache.namespaces)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${stripControl(k)} ${formatPercent(v.hitRate, 0)}`)
      .join(', ');
    out.push(`cache hit rate ${formatPercent(run.cache.total.hitRate)}${ns ? ` (${ns})` : ''}`);
  }
  if (run.arrivals) {
    const a = run.arrivals;
    out.push(
      `arrivals: ${formatCount(a.scheduled)} scheduled, ${formatCount(a.sent)} sent, ${formatCount(a.late)} late (> ${formatMs(a.lateThresholdMs)} ms), ${formatCount(a.dropped)} dropped; largest send delay ${formatMs(a.maxSendLagMs)} ms`,
    );
  }
  for (const e of run.errors.slice(0, 5))
    out.push(style('fail', `error ×${e.count} ${stripControl(e.kind)}: ${stripControl(e.message)}`));
  if (run.errors.length > 5)
    out.push(style('dim', `… and ${run.errors.length - 5} more error kinds (see the report)`));
  out.push(
    run.verdict.pass
      ? style('pass', 'Targets met.')
      : style('fail', `Targets missed: ${stripControl(run.verdict.failures.join('; '))}`),
  );
  return out.join('\n');
}
