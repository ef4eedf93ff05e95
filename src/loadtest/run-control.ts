/**
 * Small timing helpers shared by the load models. Every timer is cleared, so a finished run
 * leaves nothing behind that keeps the process alive.
 * @module
 */
import { PerformanceMonitor } from '../perf/index.js';
import type { ErrorKindCount } from './recorder.js';
import type { TimeseriesPoint } from './run-file.js';
import type { LoadProgress, Scenario, TurnWaterfall } from './types.js';

/** Inputs both load models take besides their numeric options. */
export interface LoadRunInput {
  /** What each iteration runs, picked by weight. */
  scenarios: readonly Scenario[];
  /** Where iterations (and the target's own stages) are recorded. Default: a new monitor. */
  monitor?: PerformanceMonitor;
  /** Aborting it stops the run at once (Ctrl-C): in-flight turns are aborted, results kept. */
  signal?: AbortSignal;
  /** Called every `sampleIntervalMs` with live figures. */
  onProgress?: (progress: LoadProgress) => void;
}

/** What happened to the arrivals of an open-model run. */
export interface ArrivalStats {
  targetRatePerSec: number;
  /** Arrivals whose intended time came (sent + dropped). */
  scheduled: number;
  sent: number;
  /** Sent more than `lateThresholdMs` after their intended time. */
  late: number;
  /** Not sent: `maxInFlight` turns were already running. */
  dropped: number;
  lateThresholdMs: number;
  /** Largest delay between an intended start and the actual send. */
  maxSendLagMs: number;
}

/** The outcome of a load run, before it is turned into a saved run. */
export interface LoadRunResult {
  model: 'closed' | 'open';
  /** `interrupted` when the `signal` stopped the run. */
  status: 'completed' | 'interrupted';
  /** Why the run stopped: `run time reached`, `all iterations done`, `interrupted (SIGINT)`... */
  stopReason: string;
  startedAt: Date;
  durationMs: number;
  monitor: PerformanceMonitor;
  started: number;
  /** Finished iterations, successful or not. */
  completed: number;
  errors: number;
  /** Iterations cut short by the stop, or that reported an interruption: not in the latency figures. */
  interrupted: number;
  /** Iterations still running when the run gave up waiting for them (they ignored the abort). */
  abandoned: number;
  errorKinds: ErrorKindCount[];
  timeseries: TimeseriesPoint[];
  turns: { typical?: TurnWaterfall; p90?: TurnWaterfall };
  arrivals?: ArrivalStats;
}

/** A promise with its resolve function. (`Promise.withResolvers` is Node 22+.) */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Resolves `true` when `promise` settles within `ms`, `false` otherwise. Clears its timer. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => {
    timer = setTimeout(() => r(false), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sleeps `ms`, resolving early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** A readable reason from an AbortSignal's `reason`. */
export function abortReasonText(reason: unknown): string {
  if (typeof reason === 'string') return reason;
  if (reason instanceof Error && reason.name !== 'AbortError') return reason.message;
  return 'interrupted';
}

/** The monitor to use: the caller's or a fresh one. */
export function monitorOf(input: LoadRunInput): PerformanceMonitor {
  return input.monitor ?? new PerformanceMonitor();
}

/** How long to wait for iterations that ignore the abort before giving up on them. */
export const ABANDON_AFTER_MS = 2000;
