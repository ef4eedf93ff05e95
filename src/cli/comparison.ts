/**
 * The source design's "Expected Performance Results" table, reproduced by `earshot demo`: the
 * same question mix run (a) as the design's "before" (stages one after another, no cache, the
 * "before" latency profile), (b) the same on the "after" profile, (c) earshot's full pipeline
 * on the "after" profile. Measured P90s beside the design's claims.
 * @module
 */
import type { PerformanceMonitor } from '../perf/index.js';
import { OP } from '../perf/operations.js';
import { formatMs } from '../report/format.js';

/** One measured column of the table. */
export interface ComparisonColumn {
  /** Column heading, e.g. `(a) before`. */
  label: string;
  monitor: PerformanceMonitor;
  /** Total cache hit rate (0–1), or undefined when the column ran without a cache. */
  hitRate?: number | undefined;
}

/** A row of the source design's table and the operation that measures it. */
interface Row {
  metric: string;
  op: string;
  before: string;
  after: string;
  claimed: string;
}

/**
 * The design's rows. The TTS figure is time to the first audio byte of a sentence and the
 * end-to-end figure time to first audio (what the user waits for); the LLM figure is the whole
 * answer of one model call.
 */
const DESIGN_ROWS: readonly Row[] = [
  { metric: 'STT P90', op: OP.stt, before: '~150', after: '~80', claimed: '47 % faster' },
  { metric: 'LLM P90', op: OP.llm, before: '~400', after: '~250', claimed: '38 % faster' },
  { metric: 'TTS P90', op: OP.ttsTtfb, before: '~150', after: '~85', claimed: '43 % faster' },
  {
    metric: 'Company API P90',
    op: OP.companyApi,
    before: '~100',
    after: '~30 (cached)',
    claimed: '70 % faster',
  },
  {
    metric: 'End-to-End P90',
    op: OP.timeToFirstAudio,
    before: '~700',
    after: '~335',
    claimed: '52 % faster',
  },
];

function improvement(before: number | undefined, after: number | undefined): string {
  if (before === undefined || after === undefined || before <= 0) return '–';
  const pct = Math.round((100 * (before - after)) / before);
  return pct >= 0 ? `${pct} % faster` : `${-pct} % slower`;
}

/**
 * Renders the table: the design's before and after beside the measured columns, and the
 * improvement from the first measured column to the last, beside the design's claim.
 *
 * @example
 * ```ts
 * console.log(formatComparison([{ label: '(a) before', monitor: a }, { label: '(c) earshot', monitor: c, hitRate: 0.74 }]));
 * ```
 */
export function formatComparison(columns: readonly ComparisonColumn[]): string {
  const first = columns[0];
  const last = columns[columns.length - 1];
  const header = [
    'metric',
    'design before',
    ...columns.map((c) => c.label),
    'design after',
    'improvement',
    'design claim',
  ];
  const rows: string[][] = [];
  for (const r of DESIGN_ROWS) {
    const values = columns.map((c) => c.monitor.percentile(r.op, 90));
    rows.push([
      r.metric,
      r.before,
      ...values.map((v) => (v === undefined ? '–' : formatMs(v))),
      r.after,
      improvement(first?.monitor.percentile(r.op, 90), last?.monitor.percentile(r.op, 90)),
      r.claimed,
    ]);
  }
  rows.push([
    'Cache hit rate',
    'N/A',
    ...columns.map((c) => (c.hitRate === undefined ? 'off' : `${(100 * c.hitRate).toFixed(0)} %`)),
    '70-80 %',
    '',
    'new capability',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '─'.repeat(w))), ...rows.map(line)].join('\n');
}
