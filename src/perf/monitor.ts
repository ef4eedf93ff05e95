import { CardinalityError, InvalidArgumentError, TargetError, type TargetFailure } from '../errors.js';
import { createLatencyAlarm, type LatencyAlarm, type LatencyAlarmOptions } from './alarms.js';
import { LatencyHistogram, MAX_DURATION_MS } from './histogram.js';
import {
  fastLabelKey,
  type Labels,
  matchesLabels,
  type NormalizedLabels,
  normalizeLabels,
  seriesKey,
  validateOperationName,
} from './labels.js';
import { type ListenerErrorHandler, ListenerGuard } from './listeners.js';
import { formatReport, type ReportOptions } from './report.js';
import { Series } from './series.js';
import { Span } from './span.js';
import type { OperationStats, SeriesSnapshot, StatsQuery, TargetResult, TargetsInput } from './types.js';

export type { OperationStats, SeriesSnapshot, StatsQuery, TargetResult, TargetsInput } from './types.js';

/**
 * Default error-rate gate of {@link PerformanceMonitor.checkTargets}: an operation whose calls
 * fail more often than this (1 %) fails its target, whatever its latency.
 */
export const DEFAULT_MAX_ERROR_RATE = 0.01;

/** Options of a {@link PerformanceMonitor}. Every field has a default. */
export interface PerformanceMonitorOptions {
  /** HDR precision in significant decimal digits, 1–5. Default 3 (0.1 %). */
  significantDigits?: number;
  /** Most (operation, labels) series kept. Default 2000. */
  maxSeries?: number;
  /**
   * What happens when a new series would exceed `maxSeries`: `overflow` (default) records into
   * one `{overflow="true"}` series per operation, `throw` throws `CardinalityError`.
   */
  onCardinalityExceeded?: 'overflow' | 'throw';
  /** Length of the rolling window in ms. Default 60 000. */
  windowMs?: number;
  /** Slices the window is cut into; its time resolution is `windowMs / windowSlices`. Default 6. */
  windowSlices?: number;
  /** Monotonic clock in ms. Default `performance.now()`. Tests inject a fake one. */
  now?: () => number;
  /**
   * Receives every error an `onRecord` listener throws. The recorded call is never affected.
   * Default: the first error becomes a process warning (`EARSHOT_LISTENER_ERROR`).
   */
  onError?: ListenerErrorHandler;
}

/** A series encoded for transport (fleet metrics, files). */
export interface EncodedSeries {
  name: string;
  labels: NormalizedLabels;
  count: number;
  sumMs: number;
  /** {@link LatencyHistogram.encode} output. */
  histogram: string;
}

/** What an `onRecord` listener receives. */
export interface RecordEvent {
  name: string;
  labels: NormalizedLabels;
  durationMs: number;
}

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

interface SeriesPair {
  ok: Series;
  error: Series;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    v !== null &&
    (typeof v === 'object' || typeof v === 'function') &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}

function positiveInt(name: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}, got ${v}.`);
  }
  return v;
}

/**
 * Times operations into HDR histograms and answers percentile questions about them.
 *
 * Every way of measuring — {@link track}, {@link start} spans (`using`), {@link wrap},
 * the `tracked` decorator and {@link record} — ends in the same place: one histogram per
 * (operation, labels) series, with outcome `ok`/`error` as a label. Memory is bounded by
 * `maxSeries` whatever the number of records.
 *
 * @example
 * ```ts
 * const monitor = new PerformanceMonitor();
 * const reply = await monitor.track(OP.llm, () => llm.complete(prompt), { provider: 'openai' });
 * monitor.stats(OP.llm)?.p90; // ms
 * monitor.checkTargets({ [OP.llm]: 300 }); // [{ operation: OP.llm, pass: true, ... }]
 * ```
 */
export class PerformanceMonitor {
  private readonly digits: number;
  private readonly maxSeries: number;
  private readonly overflowMode: 'overflow' | 'throw';
  private readonly windowMs: number;
  private readonly sliceMs: number;
  private readonly slices: number;
  private readonly now: () => number;
  private readonly series = new Map<string, Series>();
  private readonly pairs = new Map<string, SeriesPair>();
  /** name → its label-free series (admitted ones only): `record(name, ms)` without a key build. */
  private readonly plain = new Map<string, Series>();
  private readonly byName = new Map<string, Series[]>();
  /** name → fast label key → series: the labelled hot path's cache (see `lookup`). */
  private readonly labelled = new Map<string, Map<string, Series>>();
  private labelledEntries = 0;
  private readonly maxLabelledEntries: number;
  private listeners: ((e: RecordEvent) => void)[] = [];
  private readonly guard: ListenerGuard;
  private droppedSeries = 0;
  private clamped = 0;
  /** @internal bumped by reset() so that recorders, wrappers and decorators re-resolve their series. */
  generation = 0;
  private readonly sink = (name: string, ms: number, labels: Labels | undefined, outcome: string): void => {
    const series =
      labels === undefined
        ? outcome === 'ok' || outcome === 'error'
          ? this.pairFor(name)[outcome]
          : this.resolve(name, undefined, outcome)
        : this.lookup(name, labels, outcome);
    this.recordInto(series, ms, this.now());
  };

  constructor(options: PerformanceMonitorOptions = {}) {
    this.digits = positiveInt('significantDigits', options.significantDigits ?? 3, 1, 5);
    this.maxSeries = positiveInt('maxSeries', options.maxSeries ?? 2000, 1, 1_000_000);
    this.overflowMode = options.onCardinalityExceeded ?? 'overflow';
    this.windowMs = positiveInt('windowMs', options.windowMs ?? 60_000, 1, 86_400_000);
    this.slices = positiveInt('windowSlices', options.windowSlices ?? 6, 1, 600);
    this.sliceMs = this.windowMs / this.slices;
    this.now = options.now ?? (() => performance.now());
    this.guard = new ListenerGuard('performance monitor onRecord', options.onError);
    this.maxLabelledEntries = Math.min(4 * this.maxSeries + 64, 100_000);
  }

  // ───────────────────────── measuring ─────────────────────────

  /**
   * Runs `fn`, records its duration under `name` with outcome `ok` or `error`, and returns its
   * result. A thrown error (or rejection) is recorded and rethrown untouched.
   */
  track<T>(name: string, fn: () => T | PromiseLike<T>, labels?: Labels): Promise<Awaited<T>> {
    const pair = labels === undefined ? this.pairFor(name) : undefined;
    const start = this.now();
    let result: T | PromiseLike<T>;
    try {
      result = fn();
    } catch (err) {
      this.finish(name, labels, pair, start, true);
      return Promise.reject(err);
    }
    if (!isThenable(result)) {
      this.finish(name, labels, pair, start, false);
      return Promise.resolve(result as Awaited<T>);
    }
    return Promise.resolve(result).then(
      (v) => {
        this.finish(name, labels, pair, start, false);
        return v as Awaited<T>;
      },
      (err: unknown) => {
        this.finish(name, labels, pair, start, true);
        throw err;
      },
    );
  }

  /**
   * Starts a span. End it with `span.end()`, `span.fail(err)`, or a `using` declaration.
   * @example
   * ```ts
   * using span = monitor.start(OP.tts, { provider: 'elevenlabs' });
   * ```
   */
  start(name: string, labels?: Labels): Span {
    validateOperationName(name);
    return new Span(name, labels, this.now(), this.now, this.sink);
  }

  /**
   * Returns `fn` wrapped so that every call is recorded under `name`. Sync functions stay
   * sync; a returned promise is handed back as is (same object, so SDK promise subclasses
   * keep their methods) and timed when it settles.
   */
  wrap<F extends (...args: never[]) => unknown>(name: string, fn: F, labels?: Labels): F {
    let pair = this.pairFor(name, labels);
    let generation = this.generation;
    const monitor = this;
    const wrapped = function (this: unknown, ...args: Parameters<F>): ReturnType<F> {
      if (generation !== monitor.generation) {
        pair = monitor.pairFor(name, labels);
        generation = monitor.generation;
      }
      return monitor.invoke(pair, fn, this, args) as ReturnType<F>;
    };
    Object.defineProperty(wrapped, 'name', { value: fn.name, configurable: true });
    return wrapped as unknown as F;
  }

  /**
   * Method decorator recording every call of the method under `name` (default: the method's
   * name). Works with TC39 decorators (TypeScript 5 default) and `experimentalDecorators`.
   * @example
   * ```ts
   * class Api { @monitor.tracked(OP.companyApi) async getLoad(id: string) { ... } }
   * ```
   */
  tracked(name?: string, labels?: Labels): TrackedDecorator {
    return trackedWith(this, name, labels);
  }

  /**
   * Records a duration measured elsewhere, in ms. Add `outcome: 'error'` to the labels to
   * count it as an error.
   */
  record(name: string, durationMs: number, labels?: Labels): void {
    if (typeof durationMs !== 'number' || !(durationMs >= 0 && durationMs <= MAX_DURATION_MS)) {
      throw durationError(name, durationMs);
    }
    this.recordInto(
      labels === undefined ? this.plainSeries(name) : this.lookup(name, labels, undefined),
      durationMs,
      this.now(),
    );
  }

  /**
   * Returns a function that records durations (ms) into one series resolved now: the cheapest
   * way to record a labelled operation on a hot path (a cache hit, a per-chunk timing).
   * @example
   * ```ts
   * const recordHit = monitor.recorder(OP.cacheRead, { namespace: 'llm', tier: 'memory', outcome: 'hit' });
   * recordHit(0.02);
   * ```
   */
  recorder(name: string, labels?: Labels): (durationMs: number) => void {
    let series = this.resolve(name, labels);
    let generation = this.generation;
    return (durationMs: number) => {
      if (typeof durationMs !== 'number' || !(durationMs >= 0 && durationMs <= MAX_DURATION_MS)) {
        throw durationError(name, durationMs);
      }
      if (generation !== this.generation) {
        series = this.resolve(name, labels);
        generation = this.generation;
      }
      this.recordInto(series, durationMs, this.now());
    };
  }

  /**
   * Subscribes to every recorded sample (for exporters such as the OpenTelemetry bridge).
   * Returns the unsubscribe function. Listeners run synchronously: keep them cheap. A listener
   * that throws (or rejects) never affects the recorded call: its error goes to the `onError`
   * option, or becomes one process warning.
   */
  onRecord(listener: (event: RecordEvent) => void): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  // ───────────────────────── reading ─────────────────────────

  /** Percentile statistics of `name`, merged over matching series; `undefined` with no samples. */
  stats(name: string, query: StatsQuery = {}): OperationStats | undefined {
    const merged = this.merge(name, query);
    if (merged.count === 0) return undefined;
    const h = merged.hist;
    return {
      name,
      count: merged.count,
      errors: merged.errors,
      errorRate: merged.errors / merged.count,
      minMs: h.minMs,
      maxMs: h.maxMs,
      meanMs: merged.sumMs / merged.count,
      stdDevMs: h.stdDevMs,
      p50: h.percentileMs(50),
      p90: h.percentileMs(90),
      p95: h.percentileMs(95),
      p99: h.percentileMs(99),
      p999: h.percentileMs(99.9),
    };
  }

  /** The value at any percentile (0–100) of `name` in ms, or `undefined` with no samples. */
  percentile(name: string, p: number, query: StatsQuery = {}): number | undefined {
    const merged = this.merge(name, query);
    return merged.count === 0 ? undefined : merged.hist.percentileMs(p);
  }

  /** Operation names that have at least one series, sorted. */
  operations(): string[] {
    return [...this.byName.keys()].sort();
  }

  /** Stats of every operation (merged over labels), sorted by name. */
  snapshot(query: Omit<StatsQuery, 'labels'> = {}): OperationStats[] {
    const out: OperationStats[] = [];
    for (const name of this.operations()) {
      const s = this.stats(name, query);
      if (s) out.push(s);
    }
    return out;
  }

  /** Every series with a private histogram copy, for exporters. */
  collect(query: Omit<StatsQuery, 'labels'> = {}): SeriesSnapshot[] {
    const now = this.now();
    const windowMs = this.checkWindow(query.windowMs);
    const out: SeriesSnapshot[] = [];
    for (const s of this.series.values()) {
      const histogram = new LatencyHistogram({ significantDigits: this.digits });
      const { count, sumMs } = s.addTo(histogram, now, windowMs);
      if (count === 0 && windowMs !== undefined) continue;
      out.push({ name: s.name, labels: s.labels, count, errors: s.isError ? count : 0, sumMs, histogram });
    }
    return out;
  }

  /**
   * A reader that returns, at each `read()`, what was recorded since its previous `read()`
   * (the first read returns everything so far). Each reader keeps its own position.
   */
  intervalReader(): { read(): SeriesSnapshot[] } {
    const previous = new Map<string, { hist: LatencyHistogram; count: number; sumMs: number }>();
    let generation = this.generation;
    return {
      read: () => {
        // After reset() every series starts from zero: nothing recorded before is subtracted.
        if (generation !== this.generation) {
          previous.clear();
          generation = this.generation;
        }
        const out: SeriesSnapshot[] = [];
        const seen = new Set<string>();
        for (const snap of this.collect()) {
          const key = seriesKey(snap.name, snap.labels);
          seen.add(key);
          const prev = previous.get(key);
          const count = snap.count - (prev?.count ?? 0);
          const sumMs = snap.sumMs - (prev?.sumMs ?? 0);
          previous.set(key, { hist: snap.histogram.clone(), count: snap.count, sumMs: snap.sumMs });
          if (count <= 0) continue;
          if (prev) snap.histogram.raw.subtract(prev.hist.raw);
          out.push({ ...snap, count, sumMs, errors: snap.errors > 0 ? count : 0 });
        }
        // Series forgotten by reset() are forgotten here too: the reader stays bounded.
        for (const key of previous.keys()) if (!seen.has(key)) previous.delete(key);
        return out;
      },
    };
  }

  // ───────────────────────── targets ─────────────────────────

  /**
   * Checks each target against the measured percentile of the operation's **successful**
   * calls (outcome not `error`/`timeout`), and its error rate against `maxErrorRate`: failed
   * calls, often fast, can never make a stage look faster, and a stage that fails can never
   * pass. A target with no calls has status `no-data` and `pass: false`: no data is never a
   * pass. A target whose calls all failed is a `fail`.
   */
  checkTargets(targets: TargetsInput, options: CheckTargetsOptions = {}): TargetResult[] {
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
      const merged = this.merge(operation, query);
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
   * Like {@link checkTargets}, but throws `TargetError` listing every failed target (and, unless
   * `allowNoData`, every target without data). For CI gates.
   */
  assertTargets(
    targets: TargetsInput,
    options: CheckTargetsOptions & { allowNoData?: boolean } = {},
  ): TargetResult[] {
    const results = this.checkTargets(targets, options);
    const failures: TargetFailure[] = results
      .filter((r) => r.status === 'fail' || (r.status === 'no-data' && !options.allowNoData))
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
    if (failures.length > 0) throw new TargetError(failures);
    return results;
  }

  /**
   * A latency alarm on this monitor, in the manner of CloudWatch (not started: call `.start()`).
   * @example
   * ```ts
   * // the source design's alarm: P90 above 500 ms for 2 periods of a minute
   * const alarm = monitor
   *   .alarm({ operation: OP.e2e, percentile: 90, thresholdMs: 500, evaluationPeriods: 2, periodSeconds: 60 })
   *   .start();
   * alarm.on('alarm', (t) => pager.trigger(t.reason));
   * ```
   */
  alarm(options: LatencyAlarmOptions): LatencyAlarm {
    return createLatencyAlarm(this, options);
  }

  // ───────────────────────── output ─────────────────────────

  /** A readable text table of every operation (and targets, when given). */
  report(options: ReportOptions = {}): string {
    const stats = this.snapshot(options.windowMs === undefined ? {} : { windowMs: options.windowMs });
    const checkOptions: CheckTargetsOptions = {};
    if (options.percentile !== undefined) checkOptions.percentile = options.percentile;
    if (options.windowMs !== undefined) checkOptions.windowMs = options.windowMs;
    if (options.maxErrorRate !== undefined) checkOptions.maxErrorRate = options.maxErrorRate;
    const checks = options.targets ? this.checkTargets(options.targets, checkOptions) : [];
    return formatReport(stats, checks, options);
  }

  /** Plain data: stats per operation and per series, plus cardinality counters. */
  toJSON(): {
    operations: OperationStats[];
    series: Array<{
      name: string;
      labels: NormalizedLabels;
      count: number;
      errors: number;
      p50: number;
      p90: number;
      p99: number;
    }>;
    droppedSeries: number;
  } {
    return {
      operations: this.snapshot(),
      series: this.collect().map((s) => ({
        name: s.name,
        labels: s.labels,
        count: s.count,
        errors: s.errors,
        p50: s.histogram.percentileMs(50),
        p90: s.histogram.percentileMs(90),
        p99: s.histogram.percentileMs(99),
      })),
      droppedSeries: this.droppedSeries,
    };
  }

  /** Every series encoded for transport; merge elsewhere with {@link mergeEncoded}. */
  exportEncoded(): EncodedSeries[] {
    return this.collect().map((s) => ({
      name: s.name,
      labels: s.labels,
      count: s.count,
      sumMs: s.sumMs,
      histogram: s.histogram.encode(),
    }));
  }

  /**
   * Adds encoded series (from {@link exportEncoded} of other monitors) into this monitor. The
   * merged percentiles equal those of one monitor that recorded all the samples.
   */
  mergeEncoded(series: readonly EncodedSeries[]): void {
    if (!Array.isArray(series)) throw new InvalidArgumentError('mergeEncoded expects an array of series.');
    // Everything is checked before anything is merged: a bad entry leaves the monitor unchanged.
    const decoded = series.map((e, i) => {
      const where = `mergeEncoded: series ${i}`;
      if (e === null || typeof e !== 'object') throw new InvalidArgumentError(`${where} is not an object.`);
      validateOperationName(e.name);
      if (e.labels === null || typeof e.labels !== 'object' || Array.isArray(e.labels)) {
        throw new InvalidArgumentError(`${where} ("${e.name}"): labels must be an object.`);
      }
      seriesKey(e.name, e.labels); // validates label names and values
      const hist = LatencyHistogram.decode(e.histogram);
      if (!Number.isSafeInteger(e.count) || e.count < 0 || e.count !== hist.count) {
        throw new InvalidArgumentError(
          `${where} ("${e.name}"): count must be a non-negative integer equal to the histogram's ${hist.count} samples, got ${e.count}.`,
        );
      }
      if (typeof e.sumMs !== 'number' || !(e.sumMs >= 0 && e.sumMs <= e.count * MAX_DURATION_MS)) {
        throw new InvalidArgumentError(
          `${where} ("${e.name}"): sumMs must be a finite number from 0 to count × ${MAX_DURATION_MS} ms, got ${e.sumMs}.`,
        );
      }
      return { e, hist };
    });
    for (const { e, hist } of decoded) {
      this.resolve(e.name, e.labels).mergeHistogram(hist, e.count, e.sumMs);
    }
  }

  /** Samples dropped into overflow series because `maxSeries` was reached. */
  get overflowedSeries(): number {
    return this.droppedSeries;
  }

  /**
   * Measured durations above `MAX_DURATION_MS` (24 h) that were clamped to it (a clock jump,
   * a fake clock): the histogram keeps them as 24 h instead of losing them.
   */
  get clampedSamples(): number {
    return this.clamped;
  }

  /** Listener calls (`onRecord`) that threw or rejected. */
  get listenerErrors(): number {
    return this.guard.errors;
  }

  /** Forgets every series. */
  reset(): void {
    this.generation++;
    this.series.clear();
    this.pairs.clear();
    this.plain.clear();
    this.byName.clear();
    this.labelled.clear();
    this.labelledEntries = 0;
    this.droppedSeries = 0;
    this.clamped = 0;
  }

  /** @internal entry counts of every map the monitor keeps, for memory-bound tests. */
  footprint(): { series: number; pairs: number; plain: number; names: number; labelledCache: number } {
    return {
      series: this.series.size,
      pairs: this.pairs.size,
      plain: this.plain.size,
      names: this.byName.size,
      labelledCache: this.labelledEntries,
    };
  }

  // ───────────────────────── internals ─────────────────────────

  /** @internal used by `wrap` and decorators. */
  invoke(pair: SeriesPair, fn: (...args: never[]) => unknown, self: unknown, args: unknown[]): unknown {
    const start = this.now();
    let result: unknown;
    try {
      result = fn.apply(self, args as never[]);
    } catch (err) {
      const end = this.now();
      this.recordInto(pair.error, end - start, end);
      throw err;
    }
    if (isThenable(result)) {
      result.then(
        () => {
          const end = this.now();
          this.recordInto(pair.ok, end - start, end);
        },
        () => {
          const end = this.now();
          this.recordInto(pair.error, end - start, end);
        },
      );
    } else {
      const end = this.now();
      this.recordInto(pair.ok, end - start, end);
    }
    return result;
  }

  /** @internal the ok/error series of `name` with static `labels`. */
  pairFor(name: string, labels?: Labels): SeriesPair {
    if (labels === undefined) {
      const cached = this.pairs.get(name);
      if (cached) return cached;
    }
    const pair = { ok: this.resolve(name, labels, 'ok'), error: this.resolve(name, labels, 'error') };
    // Only a pair of the operation's own series is kept: names refused by maxSeries (recorded
    // into the overflow series) must not grow this map either.
    if (labels === undefined && pair.ok.name === name && pair.error.name === name) {
      this.pairs.set(name, pair);
    }
    return pair;
  }

  private finish(
    name: string,
    labels: Labels | undefined,
    pair: SeriesPair | undefined,
    start: number,
    failed: boolean,
  ): void {
    const end = this.now();
    const series = pair
      ? failed
        ? pair.error
        : pair.ok
      : this.lookup(name, labels!, failed ? 'error' : 'ok');
    this.recordInto(series, end - start, end);
  }

  /**
   * `now` is the end timestamp the caller already has: one clock read per sample. Measured
   * durations are clamped to [0, MAX_DURATION_MS] (the ones above are counted); listeners
   * cannot throw into the caller.
   */
  private recordInto(series: Series, ms: number, now: number): void {
    let v = ms;
    if (!(v <= MAX_DURATION_MS)) {
      if (v > MAX_DURATION_MS) this.clamped++;
      v = v > MAX_DURATION_MS ? MAX_DURATION_MS : 0;
    } else if (v < 0) {
      v = 0;
    }
    series.record(v, now);
    if (this.listeners.length !== 0) {
      const event: RecordEvent = { name: series.name, labels: series.labels, durationMs: v };
      for (const l of this.listeners) this.guard.call(l, event);
    }
  }

  /**
   * The labelled hot path: the series of (`name`, `labels`, `outcome`) found by a cheap key in
   * the labels' own order (no sort, no escaping, no validation on a hit), falling back to
   * {@link resolve} the first time. Only admitted series are cached (never overflow ones), and
   * the cache is bounded (cleared when it outgrows 4 × maxSeries entries).
   */
  private lookup(name: string, labels: Labels, outcome: string | undefined): Series {
    const fast = fastLabelKey(labels, outcome);
    if (fast === undefined) return this.resolve(name, labels, outcome);
    let byKey = this.labelled.get(name);
    const hit = byKey?.get(fast);
    if (hit !== undefined) return hit;
    const series = this.resolve(name, labels, outcome);
    if (series.name === name && !series.overflowed) {
      if (this.labelledEntries >= this.maxLabelledEntries) {
        this.labelled.clear();
        this.labelledEntries = 0;
        byKey = undefined;
      }
      if (byKey === undefined) {
        byKey = new Map();
        this.labelled.set(name, byKey);
      }
      byKey.set(fast, series);
      this.labelledEntries++;
    }
    return series;
  }

  private plainSeries(name: string): Series {
    const cached = this.plain.get(name);
    if (cached !== undefined) return cached;
    const series = this.resolve(name, undefined);
    if (series.name === name && !series.overflowed) this.plain.set(name, series);
    return series;
  }

  private resolve(name: string, labels: Labels | undefined, outcome?: string): Series {
    const extraKey = outcome === undefined ? undefined : 'outcome';
    const key = seriesKey(name, labels, extraKey, outcome);
    const existing = this.series.get(key);
    if (existing) return existing;
    validateOperationName(name);
    if (this.series.size >= this.maxSeries) return this.overflow(name, key);
    return this.create(name, normalizeLabels(labels, extraKey, outcome), key);
  }

  private overflow(name: string, refusedKey: string): Series {
    if (this.overflowMode === 'throw') {
      throw new CardinalityError(
        `The monitor already holds ${this.maxSeries} series; refusing to add ${refusedKey}. Use fewer distinct label values (ids do not belong in labels) or raise maxSeries.`,
      );
    }
    this.droppedSeries++;
    if (this.droppedSeries === 1) {
      process.emitWarning(
        `earshot: the performance monitor reached maxSeries (${this.maxSeries}); new label sets are recorded into overflow series.`,
        { code: 'EARSHOT_CARDINALITY' },
      );
    }
    // One overflow series per known operation; unknown operations share one, so even an
    // unbounded number of operation names cannot grow memory.
    const target = this.byName.has(name) ? name : 'earshot_overflow';
    const labels = { overflow: 'true' };
    const overflowKey = seriesKey(target, labels);
    return this.series.get(overflowKey) ?? this.create(target, normalizeLabels(labels), overflowKey, true);
  }

  private create(name: string, labels: NormalizedLabels, key: string, overflowed = false): Series {
    const s = new Series(name, labels, key, this.sliceMs, this.slices, this.digits, this.now(), overflowed);
    this.series.set(key, s);
    const list = this.byName.get(name);
    if (list) list.push(s);
    else this.byName.set(name, [s]);
    return s;
  }

  private checkWindow(windowMs: number | undefined): number | undefined {
    if (windowMs === undefined) return undefined;
    if (!(windowMs > 0 && windowMs <= this.windowMs)) {
      throw new InvalidArgumentError(
        `windowMs must be in (0, ${this.windowMs}] (the monitor's windowMs option), got ${windowMs}.`,
      );
    }
    return windowMs;
  }

  /**
   * Merges the series of `name` matching `query`. `excludedErrors` counts the error samples
   * left out by `outcome: 'success'` (checkTargets' error rate).
   */
  private merge(
    name: string,
    query: StatsQuery,
  ): { hist: LatencyHistogram; count: number; errors: number; sumMs: number; excludedErrors: number } {
    const windowMs = this.checkWindow(query.windowMs);
    const outcome = query.outcome;
    if (outcome !== undefined && outcome !== 'success' && outcome !== 'error') {
      throw new InvalidArgumentError(`outcome must be 'success' or 'error', got ${String(outcome)}.`);
    }
    const hist = new LatencyHistogram({ significantDigits: this.digits });
    let count = 0;
    let errors = 0;
    let sumMs = 0;
    let excludedErrors = 0;
    const list = this.byName.get(name);
    if (list) {
      const now = this.now();
      for (const s of list) {
        if (!matchesLabels(s.labels, query.labels)) continue;
        if (outcome !== undefined && s.isError !== (outcome === 'error')) {
          if (s.isError) excludedErrors += s.countIn(now, windowMs);
          continue;
        }
        const r = s.addTo(hist, now, windowMs);
        count += r.count;
        sumMs += r.sumMs;
        if (s.isError) errors += r.count;
      }
    }
    return { hist, count, errors, sumMs, excludedErrors };
  }
}

function durationError(name: string, durationMs: unknown): InvalidArgumentError {
  return new InvalidArgumentError(
    `Duration of "${name}" must be a number of ms from 0 to ${MAX_DURATION_MS} (24 h), got ${String(durationMs)}.`,
  );
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

/** A decorator usable both as a TC39 method decorator and a legacy (`experimentalDecorators`) one. */
export type TrackedDecorator = {
  // TC39 (TypeScript ≥ 5.0 default).
  <This, Args extends unknown[], R>(
    value: (this: This, ...args: Args) => R,
    context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => R>,
  ): (this: This, ...args: Args) => R;
  // Legacy experimentalDecorators.
  <T>(
    target: object,
    propertyKey: string | symbol,
    descriptor: TypedPropertyDescriptor<T>,
  ): TypedPropertyDescriptor<T> | undefined;
};

/** @internal shared by `monitor.tracked` and the free `tracked`. */
export function trackedWith(
  monitor: PerformanceMonitor | (() => PerformanceMonitor),
  name?: string,
  labels?: Labels,
): TrackedDecorator {
  const getMonitor = typeof monitor === 'function' ? monitor : () => monitor;
  const make = (original: (...args: never[]) => unknown, methodName: string) => {
    const op = name ?? methodName;
    validateOperationName(op);
    let pair: SeriesPair | undefined;
    let pairOf: PerformanceMonitor | undefined;
    let generation = -1;
    const wrapped = function (this: unknown, ...args: unknown[]): unknown {
      const m = getMonitor();
      if (pairOf !== m || generation !== m.generation) {
        pair = m.pairFor(op, labels);
        pairOf = m;
        generation = m.generation;
      }
      return m.invoke(pair!, original, this, args);
    };
    Object.defineProperty(wrapped, 'name', { value: methodName, configurable: true });
    return wrapped;
  };
  const decorator = (a: unknown, b: unknown, c?: unknown): unknown => {
    if (typeof b === 'object' && b !== null && 'kind' in b) {
      const ctx = b as ClassMethodDecoratorContext;
      if (ctx.kind !== 'method') {
        throw new InvalidArgumentError(`@tracked decorates methods, not ${ctx.kind}s.`);
      }
      return make(a as (...args: never[]) => unknown, String(ctx.name));
    }
    const descriptor = c as PropertyDescriptor | undefined;
    if (!descriptor || typeof descriptor.value !== 'function') {
      throw new InvalidArgumentError('@tracked decorates methods (got a property or accessor).');
    }
    descriptor.value = make(descriptor.value as (...args: never[]) => unknown, String(b));
    return descriptor;
  };
  return decorator as TrackedDecorator;
}
