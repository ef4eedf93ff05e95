/**
 * The run recorder: times each iteration into the monitor, counts errors by kind, keeps a
 * reservoir of waterfalls and cuts the run into intervals for the over-time charts.
 * @module
 */
import { EarshotError, redact } from '../errors.js';
import { LatencyHistogram, type PerformanceMonitor } from '../perf/index.js';
import { ROLLING_WINDOW_SIZES, RollingWindow } from './rolling-window.js';
import type { TimeseriesPoint } from './run-file.js';
import type { LoadProgress, ScenarioResult, TurnWaterfall } from './types.js';

/** Operation recorded for every iteration: actual send → done (the service time). */
export const SCENARIO_OPERATION = 'scenario';
/**
 * Operation recorded by the open model: intended start → done (the response time users see,
 * corrected for coordinated omission).
 */
export const SCENARIO_FROM_INTENDED_OPERATION = 'scenario_from_intended';

/** Errors of one kind. */
export interface ErrorKindCount {
  kind: string;
  count: number;
  /** The first message seen, redacted. */
  message: string;
}

/**
 * A short, stable name for an error: the earshot code with provider and status when known
 * (`EARSHOT_UPSTREAM_FAILED http 503`), the Node error code (`ECONNREFUSED`), `timeout`, or
 * the error's name.
 */
export function errorKind(err: unknown): string {
  if (err instanceof EarshotError) {
    const e = err as EarshotError & { provider?: unknown; status?: unknown };
    const provider = typeof e.provider === 'string' ? ` ${e.provider}` : '';
    const status = typeof e.status === 'number' ? ` ${e.status}` : '';
    return `${err.code}${provider}${status}`;
  }
  if (err instanceof Error) {
    if (err.name === 'TimeoutError') return 'timeout';
    const code =
      (err as NodeJS.ErrnoException).code ?? (err.cause as NodeJS.ErrnoException | undefined)?.code;
    if (typeof code === 'string') return code;
    return err.name || 'Error';
  }
  return typeof err;
}

function errorMessage(err: unknown): string {
  const raw = err instanceof Error ? err.message : String(err);
  return redact(raw).slice(0, 300);
}

interface KeptWaterfall {
  key: number;
  waterfall: TurnWaterfall;
}

/** Options of a {@link RunRecorder}. */
interface RunRecorderOptions {
  monitor: PerformanceMonitor;
  random: () => number;
  keepWaterfalls: number;
  now?: () => number;
}

/** @internal Shared by the closed and open models. */
export class RunRecorder {
  readonly monitor: PerformanceMonitor;
  readonly startedAt: number;
  readonly startedAtDate = new Date();
  inFlight = 0;
  started = 0;
  completed = 0;
  errors = 0;
  interrupted = 0;
  readonly timeseries: TimeseriesPoint[] = [];
  readonly #errorKinds = new Map<string, ErrorKindCount>();
  readonly #kept: KeptWaterfall[] = [];
  #seenWaterfalls = 0;
  readonly #random: () => number;
  readonly #keep: number;
  readonly #now: () => number;
  // Own histograms for the live figures: reading the monitor's series every interval would
  // merge packed histograms of every operation, which costs more than the turns themselves.
  readonly #intervalHist = new LatencyHistogram({ storage: 'dense' });
  readonly #totalHist = new LatencyHistogram({ storage: 'dense' });
  readonly #rolling = ROLLING_WINDOW_SIZES.map((n) => new RollingWindow(n));
  #lastSampleAt: number;
  #intervalStarted = 0;
  #intervalCompleted = 0;
  #intervalErrors = 0;

  constructor(o: RunRecorderOptions) {
    this.monitor = o.monitor;
    this.#random = o.random;
    this.#keep = o.keepWaterfalls;
    this.#now = o.now ?? (() => performance.now());
    this.startedAt = this.#now();
    this.#lastSampleAt = this.startedAt;
  }

  now(): number {
    return this.#now();
  }

  elapsed(): number {
    return this.#now() - this.startedAt;
  }

  /**
   * Runs one iteration. Never throws: failures are counted by kind, an iteration cut short by
   * `stopSignal` counts as interrupted (kept out of the latency figures).
   */
  async run(
    name: string,
    // biome-ignore lint/suspicious/noConfusingVoidType: the scenario's own return type
    fn: () => Promise<ScenarioResult | undefined | void>,
    stopSignal: AbortSignal,
    intendedAt?: number,
  ): Promise<void> {
    const sentAt = this.#now();
    this.inFlight++;
    this.started++;
    this.#intervalStarted++;
    try {
      const result = await fn();
      const end = this.#now();
      if (result?.interrupted) {
        this.interrupted++;
        return;
      }
      this.#finish(name, sentAt, end, intendedAt, 'ok');
      if (result?.waterfall && !result.waterfall.interrupted) this.#offer(result.waterfall);
    } catch (err) {
      const end = this.#now();
      if (stopSignal.aborted) {
        this.interrupted++;
        return;
      }
      this.#finish(name, sentAt, end, intendedAt, 'error');
      this.errors++;
      this.#intervalErrors++;
      const kind = errorKind(err);
      const known = this.#errorKinds.get(kind);
      if (known) known.count++;
      else this.#errorKinds.set(kind, { kind, count: 1, message: errorMessage(err) });
    } finally {
      this.inFlight--;
    }
  }

  #finish(
    name: string,
    sentAt: number,
    end: number,
    intendedAt: number | undefined,
    outcome: 'ok' | 'error',
  ): void {
    this.completed++;
    this.#intervalCompleted++;
    const labels = { scenario: name, outcome };
    this.monitor.record(SCENARIO_OPERATION, end - sentAt, labels);
    this.#intervalHist.recordMs(end - sentAt);
    this.#totalHist.recordMs(end - sentAt);
    for (const w of this.#rolling) w.add(end - sentAt);
    if (intendedAt !== undefined)
      this.monitor.record(SCENARIO_FROM_INTENDED_OPERATION, end - intendedAt, labels);
  }

  /** Reservoir sampling (algorithm R): every waterfall has the same chance to be kept. */
  #offer(waterfall: TurnWaterfall): void {
    if (this.#keep === 0) return;
    const key = waterfallLatency(waterfall);
    if (key === undefined) return;
    this.#seenWaterfalls++;
    if (this.#kept.length < this.#keep) {
      this.#kept.push({ key, waterfall });
      return;
    }
    const j = Math.floor(this.#random() * this.#seenWaterfalls);
    if (j < this.#keep) this.#kept[j] = { key, waterfall };
  }

  /** Errors by kind, most frequent first. */
  errorKinds(): ErrorKindCount[] {
    return [...this.#errorKinds.values()].sort((a, b) => b.count - a.count || a.kind.localeCompare(b.kind));
  }

  /** The kept waterfalls nearest the median and the 90th percentile of time to first audio. */
  representativeTurns(): { typical?: TurnWaterfall; p90?: TurnWaterfall } {
    if (this.#kept.length === 0) return {};
    const sorted = [...this.#kept].sort((a, b) => a.key - b.key);
    const at = (p: number) =>
      sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
    return { typical: at(50).waterfall, p90: at(90).waterfall };
  }

  /** Closes the current interval and appends it to the time series. */
  sample(state: { users?: number; targetRate?: number }): TimeseriesPoint {
    const now = this.#now();
    const intervalStart = this.#lastSampleAt;
    const intervalMs = Math.max(1, now - intervalStart);
    this.#lastSampleAt = now;
    const hist = this.#intervalHist;
    const point: TimeseriesPoint = {
      tMs: round1(now - this.startedAt),
      intervalMs: round1(intervalMs),
      inFlight: this.inFlight,
      started: this.#intervalStarted,
      completed: this.#intervalCompleted,
      errors: this.#intervalErrors,
      throughputPerSec: round1((this.#intervalCompleted / intervalMs) * 1000),
    };
    if (state.users !== undefined) point.users = state.users;
    if (state.targetRate !== undefined) point.targetRate = state.targetRate;
    if (hist.count > 0) {
      point.p50 = hist.percentileMs(50);
      point.p90 = hist.percentileMs(90);
      point.p99 = hist.percentileMs(99);
    }
    const own =
      point.p50 !== undefined && point.p90 !== undefined ? { p50: point.p50, p90: point.p90 } : undefined;
    const rolling = this.#rolling.flatMap(
      (w) => w.close(intervalStart - this.startedAt, now - this.startedAt, own) ?? [],
    );
    if (rolling.length > 0) point.rolling = rolling;
    hist.reset();
    this.#intervalStarted = 0;
    this.#intervalCompleted = 0;
    this.#intervalErrors = 0;
    this.timeseries.push(point);
    return point;
  }

  /** Live figures for a progress line. */
  progress(
    extra: Omit<LoadProgress, 'elapsedMs' | 'inFlight' | 'completed' | 'errors' | 'startedPerSec'>,
  ): LoadProgress {
    const last = this.timeseries[this.timeseries.length - 1];
    const p: LoadProgress = {
      ...extra,
      elapsedMs: this.elapsed(),
      startedPerSec: last ? round1((last.started / last.intervalMs) * 1000) : 0,
      inFlight: this.inFlight,
      completed: this.completed,
      errors: this.errors,
    };
    const h = this.#totalHist;
    if (h.count > 0) {
      p.p50 = h.percentileMs(50);
      p.p90 = h.percentileMs(90);
      p.p99 = h.percentileMs(99);
    }
    return p;
  }
}

/** The latency a waterfall is ranked by: time to first audio, else the end of the turn. */
function waterfallLatency(w: TurnWaterfall): number | undefined {
  return w.timeToFirstAudioMs ?? w.marks?.firstAudioMs ?? w.e2eMs ?? w.marks?.doneMs;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
