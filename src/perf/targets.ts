/**
 * Latency targets: parsing the targets input and judging each target against merged samples,
 * kept apart from the monitor so that the verdict rules (success-only percentile, error-rate
 * gate, no data is never a pass) read top to bottom in one place.
 * @module
 */
import { InvalidArgumentError, type TargetFailure } from '../errors.js';
import type { LatencyHistogram } from './histogram.js';
import type { Labels } from './labels.js';
import type { StatsQuery, TargetResult, TargetsInput } from './types.js';

/**
 * Default error-rate gate of {@link PerformanceMonitor.checkTargets}: an operation whose calls
 * fail more often than this (1 %) fails its target, whatever its latency.
 */
export const DEFAULT_MAX_ERROR_RATE = 0.01;

/** Options of {@link PerformanceMonitor.checkTargets}. */
export interface CheckTargetsOptions {
  /** Percentile judged; default the targets' own `percentile`, else 90. */
  percentile?: number;
  /** Only the last `windowMs` (≤ the monitor's `windowMs`). */
  windowMs?: number;
  /** Only series whose labels include these. */
  labels?: Labels;
  /**
   * Highest error rate (0–1) an operation may have and pass; default the targets' own
   * `maxErrorRate`, else {@link DEFAULT_MAX_ERROR_RATE} (0.01). `1` turns the gate off.
   */
  maxErrorRate?: number;
}

/**
 * @internal the successful samples of one operation (`hist`, `count`) and the error samples
 * the success filter left out (`excludedErrors`), as the monitor merges them.
 */
interface SuccessSamples {
  hist: LatencyHistogram;
  count: number;
  excludedErrors: number;
}

interface TargetParts {
  operations: Readonly<Record<string, number>>;
  percentile?: number;
  stretch?: Readonly<Record<string, number>>;
  maxErrorRate?: number;
}

function splitTargets(t: TargetsInput): TargetParts {
  if (t === null || typeof t !== 'object' || Array.isArray(t)) {
    throw new InvalidArgumentError(
      'Targets must be an object: { operation: ms } or { operations: { operation: ms }, percentile?, stretch?, maxErrorRate? }.',
    );
  }
  if ('operations' in t && typeof t.operations === 'object' && t.operations !== null) {
    const out: TargetParts = { operations: t.operations as Readonly<Record<string, number>> };
    if (t.percentile !== undefined) out.percentile = t.percentile as number;
    if (t.stretch && typeof t.stretch === 'object') {
      out.stretch = t.stretch as Readonly<Record<string, number>>;
    }
    if (t.maxErrorRate !== undefined) out.maxErrorRate = t.maxErrorRate as number;
    return out;
  }
  return { operations: t as Readonly<Record<string, number>> };
}

/**
 * @internal the body of {@link PerformanceMonitor.checkTargets}: `successSamples` merges the
 * successful samples of one operation for a query.
 */
export function checkTargetsWith(
  successSamples: (operation: string, query: StatsQuery) => SuccessSamples,
  targets: TargetsInput,
  options: CheckTargetsOptions,
): TargetResult[] {
  const { operations, percentile: tp, stretch, maxErrorRate: tRate } = splitTargets(targets);
  const p = options.percentile ?? tp ?? 90;
  if (typeof p !== 'number' || !(p > 0 && p <= 100)) {
    throw new InvalidArgumentError(`percentile must be in (0, 100], got ${p}.`);
  }
  const maxErrorRate = options.maxErrorRate ?? tRate ?? DEFAULT_MAX_ERROR_RATE;
  if (typeof maxErrorRate !== 'number' || !(maxErrorRate >= 0 && maxErrorRate <= 1)) {
    throw new InvalidArgumentError(`maxErrorRate must be a number from 0 to 1, got ${maxErrorRate}.`);
  }
  const results: TargetResult[] = [];
  for (const [operation, targetMs] of Object.entries(operations)) {
    if (typeof targetMs !== 'number' || !(targetMs > 0) || targetMs === Number.POSITIVE_INFINITY) {
      throw new InvalidArgumentError(
        `Target of "${operation}" must be a positive number of ms, got ${targetMs}.`,
      );
    }
    const query: StatsQuery = { outcome: 'success' };
    if (options.labels) query.labels = options.labels;
    if (options.windowMs !== undefined) query.windowMs = options.windowMs;
    const merged = successSamples(operation, query);
    const okCount = merged.count;
    const errors = merged.excludedErrors;
    const count = okCount + errors;
    const errorRate = count === 0 ? 0 : errors / count;
    const actualMs = okCount === 0 ? null : merged.hist.percentileMs(p);
    const latencyOk = actualMs !== null && actualMs <= targetMs;
    const errorsOk = errorRate <= maxErrorRate;
    const status = count === 0 ? 'no-data' : latencyOk && errorsOk ? 'pass' : 'fail';
    const r: TargetResult = {
      operation,
      percentile: p,
      targetMs,
      actualMs,
      count,
      okCount,
      errors,
      errorRate,
      maxErrorRate,
      pass: status === 'pass',
      status,
    };
    if (status === 'fail') r.failedOn = latencyOk ? 'errors' : errorsOk ? 'latency' : 'latency+errors';
    const s = stretch?.[operation];
    if (s !== undefined) {
      r.stretchMs = s;
      if (actualMs !== null) r.stretchPass = actualMs <= s;
    }
    results.push(r);
  }
  return results;
}

/**
 * @internal the failures {@link PerformanceMonitor.assertTargets} throws: every `fail`, and
 * every `no-data` unless `allowNoData`.
 */
export function targetFailures(
  results: readonly TargetResult[],
  allowNoData: boolean | undefined,
): TargetFailure[] {
  return results
    .filter((r) => r.status === 'fail' || (r.status === 'no-data' && !allowNoData))
    .map((r) => ({
      operation: r.operation,
      percentile: r.percentile,
      targetMs: r.targetMs,
      actualMs: r.actualMs,
      count: r.count,
      errors: r.errors,
      errorRate: r.errorRate,
      maxErrorRate: r.maxErrorRate,
      ...(r.failedOn === undefined ? {} : { failedOn: r.failedOn }),
      status: r.status as 'fail' | 'no-data',
    }));
}
