/**
 * Plain data types shared by the monitor, its alarms and its text report. They live here, in
 * a module that imports only types from leaf modules, so that `monitor.ts`, `alarms.ts` and
 * `report.ts` never import each other in a circle.
 * @module
 */
import type { LatencyHistogram } from './histogram.js';
import type { Labels, NormalizedLabels } from './labels.js';

/** Percentile statistics of an operation (merged over the series that matched). */
export interface OperationStats {
  /** Operation name. */
  name: string;
  /** Samples recorded (successes and failures, unless the query chose one outcome). */
  count: number;
  /** Samples whose `outcome` label is `error` or `timeout`. */
  errors: number;
  /** `errors / count`. */
  errorRate: number;
  minMs: number;
  maxMs: number;
  /** Exact mean of the recorded durations. */
  meanMs: number;
  stdDevMs: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
}

/** Which samples a stats query looks at. */
export interface StatsQuery {
  /** Only series whose labels include these (e.g. `{ provider: 'openai' }`). */
  labels?: Labels;
  /** Only the last `windowMs` (≤ the monitor's `windowMs`, slice resolution). Default: since start. */
  windowMs?: number;
  /**
   * Only successful samples (`success`: outcome not `error`/`timeout`, or no outcome label) or
   * only failed ones (`error`). Default: all.
   */
  outcome?: 'success' | 'error';
}

/** One series as exporters see it. */
export interface SeriesSnapshot {
  name: string;
  labels: NormalizedLabels;
  count: number;
  /** `count` when the series' outcome is an error, else 0. */
  errors: number;
  /** Exact sum of durations in ms. */
  sumMs: number;
  /** A private copy: safe to keep, merge or encode. */
  histogram: LatencyHistogram;
}

/** Targets: operation → ms, or the config block `{ operations, percentile?, stretch?, maxErrorRate? }`. */
export type TargetsInput =
  | Readonly<Record<string, number>>
  | {
      readonly operations: Readonly<Record<string, number>>;
      readonly percentile?: number;
      readonly stretch?: Readonly<Record<string, number>>;
      /** Highest error rate (0–1) an operation may have and still pass. */
      readonly maxErrorRate?: number;
    };

/** The verdict on one target. */
export interface TargetResult {
  operation: string;
  percentile: number;
  targetMs: number;
  /**
   * Measured value at `percentile` over the **successful** calls, or `null` when there is no
   * successful call.
   */
  actualMs: number | null;
  /** Calls seen (successful + failed). */
  count: number;
  /** Successful calls, the ones `actualMs` is measured on. */
  okCount: number;
  /** Failed calls (outcome `error` or `timeout`). */
  errors: number;
  /** `errors / count` (0 without calls). */
  errorRate: number;
  /** The error-rate gate applied: the target fails when `errorRate` is above it. */
  maxErrorRate: number;
  /** True only when there is data, the latency meets the target and the error rate the gate. */
  pass: boolean;
  /**
   * `pass`; `fail` when the latency or the error rate misses (see `failedOn`); `no-data`
   * when there was no call at all.
   */
  status: 'pass' | 'fail' | 'no-data';
  /** Why a `fail`: the latency, the error rate, or both. Absent unless `status` is `fail`. */
  failedOn?: 'latency' | 'errors' | 'latency+errors';
  /** Stretch goal, when one is configured; informative only. */
  stretchMs?: number;
  /** Whether the stretch goal is met (absent without a stretch goal or data). */
  stretchPass?: boolean;
}
