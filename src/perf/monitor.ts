import { CardinalityError, InvalidArgumentError, TargetError, type TargetFailure } from '../errors.js';
import { createLatencyAlarm, type LatencyAlarm, type LatencyAlarmOptions } from './alarms.js';
import { LatencyHistogram } from './histogram.js';
import {
  type Labels,
  matchesLabels,
  type NormalizedLabels,
  normalizeLabels,
  seriesKey,
  validateOperationName,
} from './labels.js';
import { formatReport, type ReportOptions } from './report.js';
import { Series } from './series.js';
import { Span } from './span.js';

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
}

/** Percentile statistics of an operation (merged over the series that matched). */
export interface OperationStats {
  /** Operation name. */
  name: string;
  /** Samples recorded (successes and failures). */
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

/** Which samples {@link PerformanceMonitor.stats} looks at. */
export interface StatsQuery {
  /** Only series whose labels include these (e.g. `{ provider: 'openai' }`). */
  labels?: Labels;
  /** Only the last `windowMs` (≤ the monitor's `windowMs`, slice resolution). Default: since start. */
  windowMs?: number;
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

/** Targets: operation → ms, or the config block `{ operations, percentile?, stretch? }`. */
export type TargetsInput =
  | Readonly<Record<string, number>>
  | {
      readonly operations: Readonly<Record<string, number>>;
      readonly percentile?: number;
      readonly stretch?: Readonly<Record<string, number>>;
    };

/** Options of {@link PerformanceMonitor.checkTargets}. */
export interface CheckTargetsOptions {
  /** Percentile judged; default the targets' own `percentile`, else 90. */
  percentile?: number;
  windowMs?: number;
  labels?: Labels;
}

/** The verdict on one target. */
export interface TargetResult {
  operation: string;
  percentile: number;
  targetMs: number;
  /** Measured value at `percentile`, or `null` when there is no data. */
  actualMs: number | null;
  count: number;
  /** True only when there is data and it meets the target. */
  pass: boolean;
  status: 'pass' | 'fail' | 'no-data';
  /** Stretch goal, when one is configured; informative only. */
  stretchMs?: number;
  /** Whether the stretch goal is met (absent without a stretch goal or data). */
  stretchPass?: boolean;
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
 * const reply = await monitor.track('llm', () => llm.complete(prompt), { provider: 'openai' });
 * monitor.stats('llm')?.p90; // ms
 * monitor.checkTargets({ llm: 300 }); // [{ operation: 'llm', pass: true, ... }]
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
  private readonly byName = new Map<string, Series[]>();
  private listeners: ((e: RecordEvent) => void)[] = [];
  private droppedSeries = 0;
  /** @internal bumped by reset() so that recorders, wrappers and decorators re-resolve their series. */
  generation = 0;
  private readonly sink = (name: string, ms: number, labels: Labels | undefined, outcome: string): void => {
    const series =
      labels === undefined && (outcome === 'ok' || outcome === 'error')
        ? this.pairFor(name)[outcome]
        : this.resolve(name, labels, outcome);
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
   * using span = monitor.start('tts', { provider: 'elevenlabs' });
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
   * class Api { @monitor.tracked('company_api') async getLoad(id: string) { ... } }
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
    if (typeof durationMs !== 'number' || !Number.isFinite(durationMs) || durationMs < 0) {
      throw new InvalidArgumentError(
        `Duration of "${name}" must be a finite number of ms ≥ 0, got ${durationMs}.`,
      );
    }
    this.recordInto(this.resolve(name, labels), durationMs, this.now());
  }

  /**
   * Returns a function that records durations (ms) into one series resolved now: the cheapest
   * way to record a labelled operation on a hot path (a cache hit, a per-chunk timing).
   * @example
   * ```ts
   * const recordHit = monitor.recorder('cache_read', { namespace: 'llm', tier: 'memory', outcome: 'hit' });
   * recordHit(0.02);
   * ```
   */
  recorder(name: string, labels?: Labels): (durationMs: number) => void {
    let series = this.resolve(name, labels);
    let generation = this.generation;
    return (durationMs: number) => {
      if (typeof durationMs !== 'number' || !(durationMs >= 0) || durationMs === Number.POSITIVE_INFINITY) {
        throw new InvalidArgumentError(
          `Duration of "${name}" must be a finite number of ms ≥ 0, got ${durationMs}.`,
        );
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
   * Returns the unsubscribe function. Listeners run synchronously: keep them cheap.
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
    return {
      read: () => {
        const out: SeriesSnapshot[] = [];
        for (const snap of this.collect()) {
          const key = seriesKey(snap.name, snap.labels);
          const prev = previous.get(key);
          const count = snap.count - (prev?.count ?? 0);
          const sumMs = snap.sumMs - (prev?.sumMs ?? 0);
          previous.set(key, { hist: snap.histogram.clone(), count: snap.count, sumMs: snap.sumMs });
          if (count <= 0) continue;
          if (prev) snap.histogram.raw.subtract(prev.hist.raw);
          out.push({ ...snap, count, sumMs, errors: snap.errors > 0 ? count : 0 });
        }
        return out;
      },
    };
  }

  // ───────────────────────── targets ─────────────────────────

  /**
   * Checks each target against the measured percentile. A target with no samples has status
   * `no-data` and `pass: false`: no data is never a pass.
   */
  checkTargets(targets: TargetsInput, options: CheckTargetsOptions = {}): TargetResult[] {
    const { operations, percentile: tp, stretch } = splitTargets(targets);
    const p = options.percentile ?? tp ?? 90;
    if (!(p > 0 && p <= 100)) throw new InvalidArgumentError(`percentile must be in (0, 100], got ${p}.`);
    const results: TargetResult[] = [];
    for (const [operation, targetMs] of Object.entries(operations)) {
      if (typeof targetMs !== 'number' || !(targetMs > 0)) {
        throw new InvalidArgumentError(
          `Target of "${operation}" must be a positive number of ms, got ${targetMs}.`,
        );
      }
      const query: StatsQuery = {};
      if (options.labels) query.labels = options.labels;
      if (options.windowMs !== undefined) query.windowMs = options.windowMs;
      const merged = this.merge(operation, query);
      const actualMs = merged.count === 0 ? null : merged.hist.percentileMs(p);
      const status = actualMs === null ? 'no-data' : actualMs <= targetMs ? 'pass' : 'fail';
      const r: TargetResult = {
        operation,
        percentile: p,
        targetMs,
        actualMs,
        count: merged.count,
        pass: status === 'pass',
        status,
      };
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
   *   .alarm({ operation: 'e2e', percentile: 90, thresholdMs: 500, evaluationPeriods: 2, periodSeconds: 60 })
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
    const checks = options.targets
      ? this.checkTargets(options.targets, { percentile: options.percentile ?? 90 })
      : [];
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
    for (const e of series) {
      const hist = LatencyHistogram.decode(e.histogram);
      const target = this.resolve(e.name, e.labels);
      target.mergeHistogram(hist, e.count, e.sumMs);
    }
  }

  /** Samples dropped into overflow series because `maxSeries` was reached. */
  get overflowedSeries(): number {
    return this.droppedSeries;
  }

  /** Forgets every series. */
  reset(): void {
    this.generation++;
    this.series.clear();
    this.pairs.clear();
    this.byName.clear();
    this.droppedSeries = 0;
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
    if (labels === undefined) this.pairs.set(name, pair);
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
      : this.resolve(name, labels, failed ? 'error' : 'ok');
    this.recordInto(series, end - start, end);
  }

  /** `now` is the end timestamp the caller already has: one clock read per sample. */
  private recordInto(series: Series, ms: number, now: number): void {
    series.record(ms, now);
    if (this.listeners.length !== 0) {
      const event: RecordEvent = { name: series.name, labels: series.labels, durationMs: ms };
      for (const l of this.listeners) l(event);
    }
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
    return this.series.get(overflowKey) ?? this.create(target, normalizeLabels(labels), overflowKey);
  }

  private create(name: string, labels: NormalizedLabels, key: string): Series {
    const s = new Series(name, labels, key, this.sliceMs, this.slices, this.digits, this.now());
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

  private merge(
    name: string,
    query: StatsQuery,
  ): { hist: LatencyHistogram; count: number; errors: number; sumMs: number } {
    const windowMs = this.checkWindow(query.windowMs);
    const hist = new LatencyHistogram({ significantDigits: this.digits });
    let count = 0;
    let errors = 0;
    let sumMs = 0;
    const list = this.byName.get(name);
    if (list) {
      const now = this.now();
      for (const s of list) {
        if (!matchesLabels(s.labels, query.labels)) continue;
        const r = s.addTo(hist, now, windowMs);
        count += r.count;
        sumMs += r.sumMs;
        if (s.isError) errors += r.count;
      }
    }
    return { hist, count, errors, sumMs };
  }
}

function splitTargets(t: TargetsInput): {
  operations: Readonly<Record<string, number>>;
  percentile?: number;
  stretch?: Readonly<Record<string, number>>;
} {
  if (t !== null && typeof t === 'object' && 'operations' in t && typeof t.operations === 'object') {
    const out: {
      operations: Readonly<Record<string, number>>;
      percentile?: number;
      stretch?: Readonly<Record<string, number>>;
    } = {
      operations: t.operations as Readonly<Record<string, number>>,
    };
    if (typeof t.percentile === 'number') out.percentile = t.percentile;
    if (t.stretch && typeof t.stretch === 'object')
      out.stretch = t.stretch as Readonly<Record<string, number>>;
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
