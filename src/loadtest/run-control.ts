/**
 * Small timing helpers shared by the load models. Every timer is cleared, so a finished run
 * leaves nothing behind that keeps the process alive.
 * @module
 */
import { setMaxListeners } from 'node:events';
import { PerformanceMonitor } from '../perf/index.js';
import type { ErrorKindCount, RunRecorder } from './recorder.js';
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
function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Resolves `true` when `promise` settles within `ms`, `false` otherwise. Clears its timer. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
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
function abortReasonText(reason: unknown): string {
  if (typeof reason === 'string') return reason;
  if (reason instanceof Error && reason.name !== 'AbortError') return reason.message;
  return 'interrupted';
}

/** The monitor to use: the caller's or a fresh one. */
export function monitorOf(input: LoadRunInput): PerformanceMonitor {
  return input.monitor ?? new PerformanceMonitor();
}

/** How long to wait for iterations that ignore the abort before giving up on them. */
const ABANDON_AFTER_MS = 2000;

/**
 * The stop state both load models share: the first stop request wins, and an interrupting one
 * (the caller's `signal`) aborts in-flight iterations at once through `hard`.
 *
 * @example
 * ```ts
 * const stop = new RunStop(signal, () => clearTimeout(timer));
 * stop.listen();
 * await stop.stopped;
 * await stop.drain(loops, o.stopTimeoutMs);
 * ```
 */
export class RunStop {
  /** Aborted on an interrupting stop or when iterations outlive the stop timeout. */
  readonly hard = new AbortController();
  #stopping = false;
  #reason = '';
  #status: LoadRunResult['status'] = 'completed';
  readonly #stopped = deferred();
  readonly #signal: AbortSignal | undefined;
  readonly #onStop: (() => void) | undefined;
  readonly #onAbort = (): void => this.request(abortReasonText(this.#signal?.reason), true);

  /** `onStop` runs once, when the first stop is requested (before any abort). */
  constructor(signal: AbortSignal | undefined, onStop?: () => void) {
    // Every in-flight iteration (and the stages inside it) listens on the run-wide signal and
    // removes its listener when it ends: hundreds of listeners at high concurrency are expected,
    // not a leak, so Node's default limit of 10 would only print MaxListenersExceededWarning.
    setMaxListeners(0, this.hard.signal);
    this.#signal = signal;
    this.#onStop = onStop;
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  get reason(): string {
    return this.#reason;
  }

  get status(): LoadRunResult['status'] {
    return this.#status;
  }

  /** Resolves once a stop has been requested. */
  get stopped(): Promise<void> {
    return this.#stopped.promise;
  }

  request(reason: string, interrupt: boolean): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#reason = reason;
    this.#onStop?.();
    if (interrupt) {
      this.#status = 'interrupted';
      this.hard.abort(reason);
    }
    this.#stopped.resolve();
  }

  /** Stops at once when the caller's signal is already aborted, else when it aborts. */
  listen(): void {
    if (this.#signal?.aborted) this.#onAbort();
    else this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /**
   * Gives `work` (taken as it is now) `stopTimeoutMs` to settle, aborts what is left, waits a
   * last {@link ABANDON_AFTER_MS} for iterations that ignore the abort, then stops listening.
   */
  async drain(work: Iterable<Promise<unknown>>, stopTimeoutMs: number): Promise<void> {
    const all = Promise.allSettled(work);
    if (!this.hard.signal.aborted && !(await settlesWithin(all, stopTimeoutMs)))
      this.hard.abort('stop timeout');
    await settlesWithin(all, ABANDON_AFTER_MS);
    this.#signal?.removeEventListener('abort', this.#onAbort);
  }
}

/** The part of a {@link LoadRunResult} both models fill the same way. */
export function runResultOf(
  model: LoadRunResult['model'],
  stop: RunStop,
  rec: RunRecorder,
  monitor: PerformanceMonitor,
): LoadRunResult {
  return {
    model,
    status: stop.status,
    stopReason: stop.reason,
    startedAt: rec.startedAtDate,
    durationMs: rec.elapsed(),
    monitor,
    started: rec.started,
    completed: rec.completed,
    errors: rec.errors,
    interrupted: rec.interrupted,
    abandoned: rec.inFlight,
    errorKinds: rec.errorKinds(),
    timeseries: rec.timeseries,
    turns: rec.representativeTurns(),
  };
}
