/**
 * The `outcome` label every provider adapter puts on what it records in the monitor.
 * @module
 */
import { AbortedError, TimeoutError } from '../../errors.js';
import type { PerformanceMonitor } from '../../perf/index.js';

/**
 * How a provider call ended, as the `outcome` label of its samples:
 * - `ok`: it succeeded;
 * - `error`: the provider failed (HTTP status, connection, malformed answer);
 * - `timeout`: our deadline passed;
 * - `aborted`: the caller cancelled it (its AbortSignal, or a consumer that stopped early).
 *
 * The monitor counts `error` and `timeout` as errors; `aborted` is not one.
 */
export type CallOutcome = 'ok' | 'error' | 'timeout' | 'aborted';

/**
 * The outcome label of a call that failed with `err` (already mapped to an earshot error).
 *
 * @example
 * ```ts
 * monitor.record('stt', ms, { ...labels, outcome: outcomeOf(mapped) });
 * ```
 */
export function outcomeOf(err: unknown): Exclude<CallOutcome, 'ok'> {
  if (err instanceof AbortedError) return 'aborted';
  if (err instanceof TimeoutError) return 'timeout';
  return 'error';
}

/** The one monitor method the adapters use. */
export type LatencyRecorder = Pick<PerformanceMonitor, 'record'>;

/** Records nothing (`monitor: false`). */
export const NO_RECORDING: LatencyRecorder = { record() {} };

/**
 * The recorder for an adapter's `monitor` option: that monitor when one is given, otherwise
 * nothing. An adapter never falls back to the shared `performanceMonitor`: the pipeline is the
 * one default recorder of stage names, so a call is counted once (recording here too counted
 * every provider call twice).
 *
 * @example
 * ```ts
 * this.#monitor = recorderOf(options.monitor); // undefined or false: records nothing
 * ```
 */
export function recorderOf(monitor: LatencyRecorder | false | undefined): LatencyRecorder {
  return monitor === false || monitor === undefined ? NO_RECORDING : monitor;
}
