import type { OperationStats, TargetResult, TargetsInput } from './types.js';

/** Options of `monitor.report()`. */
export interface ReportOptions {
  /** Add target and status columns. */
  targets?: TargetsInput;
  /** Percentile judged against targets. Default: the targets' own, else 90. */
  percentile?: number;
  /** Error-rate gate of the targets (0–1). Default: the targets' own, else 0.01. */
  maxErrorRate?: number;
  /** Only the last `windowMs`. */
  windowMs?: number;
  /** Decimal places of milliseconds. Default 1. */
  decimals?: number;
}

function statusCell(c: TargetResult): string {
  if (c.status === 'no-data') return 'NO DATA';
  if (c.pass) return 'PASS';
  const rate = `${(c.errorRate * 100).toFixed(1)}% errors > ${(c.maxErrorRate * 100).toFixed(1)}%`;
  return c.failedOn === 'errors'
    ? `FAIL (${rate})`
    : c.failedOn === 'latency+errors'
      ? `FAIL (latency, ${rate})`
      : 'FAIL';
}

/** Renders stats (and target checks) as an aligned text table. @internal */
export function formatReport(
  stats: readonly OperationStats[],
  checks: readonly TargetResult[],
  options: ReportOptions,
): string {
  const d = options.decimals ?? 1;
  const ms = (v: number | null | undefined) => (v === null || v === undefined ? '-' : v.toFixed(d));
  const byOp = new Map(checks.map((c) => [c.operation, c]));
  const names = [...new Set([...stats.map((s) => s.name), ...checks.map((c) => c.operation)])];
  const header = ['operation', 'count', 'errors', 'p50', 'p90', 'p95', 'p99', 'max'];
  if (checks.length) header.push('target', 'status');
  const rows: string[][] = [header];
  for (const name of names) {
    const s = stats.find((x) => x.name === name);
    const c = byOp.get(name);
    const row = [
      name,
      String(s?.count ?? 0),
      String(s?.errors ?? 0),
      ms(s?.p50),
      ms(s?.p90),
      ms(s?.p95),
      ms(s?.p99),
      ms(s?.maxMs),
    ];
    if (checks.length) {
      row.push(c ? `P${c.percentile} ≤ ${c.targetMs}` : '', c ? statusCell(c) : '');
    }
    rows.push(row);
  }
  const widths = header.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((cell, i) => (i === 0 || i >= 8 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [line(rows[0]!), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
  if (stats.length === 0 && checks.length === 0) out.push('(no operations recorded)');
  out.push('times in ms');
  return out.join('\n');
}
