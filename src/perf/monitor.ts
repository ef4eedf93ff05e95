/**
 * The `PerformanceMonitor` facade: how samples get in (track, spans, wrap, decorators, record)
 * and how answers come out (stats, windows, targets, reports, encoded series). Series storage,
 * targets, encoding and the decorator live in their own modules next to it.
 * @module
 */
import { InvalidArgumentError, TargetError } from '../errors.js';
import { createLatencyAlarm, type LatencyAlarm, type LatencyAlarmOptions } from './alarms.js';
import { decodeEncodedSeries, type EncodedSeries, encodeSnapshots } from './encoded-series.js';
import { LatencyHistogram, MAX_DURATION_MS } from './histogram.js';
import {
  type Labels,
  matchesLabels,
  type NormalizedLabels,
  seriesKey,
  validateOperationName,
} from './labels.js';
import { type ListenerErrorHandler, ListenerGuard } from './listeners.js';
import { formatReport, type ReportOptions } from './report.js';
import type { Series } from './series.js';
import { SeriesRegistry } from './series-registry.js';
import { Span } from './span.js';
import { type CheckTargetsOptions, checkTargetsWith, targetFailures } from './targets.js';
import { type SeriesPair, type TrackedDecorator, trackedWith } from './tracked-decorator.js';
import type { OperationStats, SeriesSnapshot, StatsQuery, TargetResult, TargetsInput } from './types.js';

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

/** What an `onRecord` listener receives. */
export interface RecordEvent {
  name: string;
  labels: NormalizedLabels;
  durationMs: number;
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
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly registry: SeriesRegistry;
  private listeners: ((e: RecordEvent) => void)[] = [];
  private readonly guard: ListenerGuard;
  private clamped = 0;
  /** @internal bumped by reset() so that recorders, wrappers and decorators re-resolve their series. */
  generation = 0;
  private readonly sink = (name: string, ms: number, labels: Labels | undefined, outcome: string): void => {
    const series =
      labels === undefined
        ? outcome === 'ok' || outcome === 'error'
          ? this.registry.pairFor(name)[outcome]
          : this.registry.resolve(name, undefined, outcome)
        : this.registry.lookup(name, labels, outcome);
    this.recordInto(series, ms, this.now());
  };

  constructor(options: PerformanceMonitorOptions = {}) {
    this.digits = positiveInt('significantDigits', options.significantDigits ?? 3, 1, 5);
    const maxSeries = positiveInt('maxSeries', options.maxSeries ?? 2000, 1, 1_000_000);
    const overflowMode = options.onCardinalityExceeded ?? 'overflow';
    this.windowMs = positiveInt('windowMs', options.windowMs ?? 60_000, 1, 86_400_000);
    const slices = positiveInt('windowSlices', options.windowSlices ?? 6, 1, 600);
    this.now = options.now ?? (() => performance.now());
    this.guard = new ListenerGuard('performance monitor onRecord', options.onError);
    this.registry = new SeriesRegistry({
      maxSeries,
      overflowMode,
      sliceMs: this.windowMs / slices,
      slices,
      digits: this.digits,
      now: this.now,
    });
  }

  // ───────────────────────── measuring ─────────────────────────

  /**
   * Runs `fn`, records its duration under `name` with outcome `ok` or `error`, and returns its
   * result. A thrown error (or rejection) is recorded and rethrown untouched.
   */
  track<T>(name: string, fn: () => T | PromiseLike<T>, labels?: Labels): Promise<Awaited<T>> {
    const pair = labels === undefined ? this.registry.pairFor(name) : undefined;
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
      labels === undefined ? this.registry.plainSeries(name) : this.registry.lookup(name, labels, undefined),
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
    let series = this.registry.resolve(name, labels);
    let generation = this.generation;
    return (durationMs: number) => {
      if (typeof durationMs !== 'number' || !(durationMs >= 0 && durationMs <= MAX_DURATION_MS)) {
        throw durationError(name, durationMs);
      }
      if (generation !== this.generation) {
        series = this.registry.resolve(name, labels);
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
    return this.registry.names();
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
    for (const s of this.registry.all()) {
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
    return checkTargetsWith((operation, query) => this.merge(operation, query), targets, options);
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
    const failures = targetFailures(results, options.allowNoData);
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
      droppedSeries: this.registry.droppedSeries,
    };
  }

  /** Every series encoded for transport; merge elsewhere with {@link mergeEncoded}. */
  exportEncoded(): EncodedSeries[] {
    return encodeSnapshots(this.collect());
  }

  /**
   * Adds encoded series (from {@link exportEncoded} of other monitors) into this monitor. The
   * merged percentiles equal those of one monitor that recorded all the samples.
   */
  mergeEncoded(series: readonly EncodedSeries[]): void {
    // Everything is checked before anything is merged: a bad entry leaves the monitor unchanged.
    const decoded = decodeEncodedSeries(series);
    for (const { e, hist } of decoded) {
      this.registry.resolve(e.name, e.labels).mergeHistogram(hist, e.count, e.sumMs);
    }
  }

  /** Samples dropped into overflow series because `maxSeries` was reached. */
  get overflowedSeries(): number {
    return this.registry.droppedSeries;
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
    this.registry.clear();
    this.clamped = 0;
  }

  /** @internal entry counts of every map the monitor keeps, for memory-bound tests. */
  footprint(): { series: number; pairs: number; plain: number; names: number; labelledCache: number } {
    return this.registry.footprint();
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
    return this.registry.pairFor(name, labels);
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
      : this.registry.lookup(name, labels!, failed ? 'error' : 'ok');
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
    const list = this.registry.named(name);
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
