import { z } from 'zod';
import { LatencyHistogram, type SeriesSnapshot } from '../perf/index.js';
import { parseOptions } from './options.js';
import { type CacheStatsProvider, namespaceStats } from './source.js';

/**
 * CloudWatch Embedded Metric Format: JSON log lines that CloudWatch Logs turns into metrics,
 * with no AWS SDK and no PutMetricData calls. Latency goes out as a histogram
 * (`Values`/`Counts` plus `Min`/`Max`/`Count`/`Sum`), so CloudWatch computes true percentiles
 * (p50, p90, p99, ...) across instances and periods.
 * @module
 */

/** CloudWatch keeps at most 100 distinct values per metric in one document. */
export const EMF_MAX_VALUES = 100;

/** What {@link EmfExporter} reads: the monitor's interval reader (deltas since the last flush). */
export interface EmfSource {
  intervalReader(): { read(): readonly SeriesSnapshot[] };
}

/** A CloudWatch histogram value: distinct values and how often each occurred. */
export interface EmfHistogram {
  Values: number[];
  Counts: number[];
  Min: number;
  Max: number;
  Count: number;
  Sum: number;
}

/**
 * Names of the metrics earshot writes: a dimension with one of these names would be
 * overwritten by the metric value in the document (CloudWatch then drops or misfiles it).
 */
const METRIC_NAMES = new Set([
  'Latency',
  'Requests',
  'Errors',
  'CacheHits',
  'CacheMisses',
  'CacheStaleHits',
  'CacheErrors',
]);
/** Dimension names earshot writes itself. */
const OWN_DIMENSIONS = new Set(['operation', 'CacheNamespace']);
/** CloudWatch's documented limit of dimensions in one dimension set. */
const MAX_DIMENSIONS = 30;
/** CloudWatch's documented limit on a dimension value's length. */
const MAX_DIMENSION_VALUE = 1024;

const dimensionName = z
  .string()
  .min(1)
  .max(255)
  .refine((n) => n.trim() !== '', 'dimension names must not be blank')
  .refine((n) => !n.startsWith(':') && n !== '_aws', 'dimension names must not start with ":" or be "_aws"')
  .refine(
    (n) => !METRIC_NAMES.has(n),
    'dimension names must differ from the metric names (Latency, Requests, Errors, Cache*)',
  )
  .refine((n) => !OWN_DIMENSIONS.has(n), 'operation and CacheNamespace are written by the exporter');

/**
 * A dimension value CloudWatch accepts: blank (empty or whitespace-only) becomes `none`, and
 * values are cut to 1024 characters.
 */
function dimensionValue(v: string | undefined): string {
  if (v === undefined || v.trim() === '') return 'none';
  return v.length > MAX_DIMENSION_VALUE ? v.slice(0, MAX_DIMENSION_VALUE) : v;
}

/** Options of {@link EmfExporter} and {@link toEmf}. */
export const emfOptionsSchema = z
  .object({
    /** CloudWatch namespace. Default `earshot`. */
    namespace: z.string().min(1).max(255).default('earshot'),
    /**
     * Series labels that become dimensions besides `operation` (e.g. `['provider']`). Series
     * that differ only in other labels are merged. Each distinct combination is a billed metric:
     * keep this short. Default none.
     */
    dimensions: z
      .array(dimensionName)
      .max(MAX_DIMENSIONS - 1)
      .default([]),
    /** Dimensions with a fixed value on every document, e.g. `{ Service: 'voice' }`. Default none. */
    constDimensions: z
      .record(
        dimensionName,
        z
          .string()
          .min(1)
          .max(MAX_DIMENSION_VALUE)
          .refine((v) => v.trim() !== '', 'dimension values must not be blank'),
      )
      .default({}),
    /** 60 (standard) or 1 (high resolution, billed higher). Default 60. */
    storageResolution: z.union([z.literal(1), z.literal(60)]).default(60),
    /** Cache counters per namespace, emitted as per-flush deltas. Default none. */
    cache: z
      .custom<CacheStatsProvider>((v) => typeof (v as CacheStatsProvider | undefined)?.stats === 'function')
      .optional(),
    /** Where lines go. Default `process.stdout` (Lambda and the CloudWatch agent read it). */
    write: z.custom<(line: string) => void>((v) => typeof v === 'function').optional(),
    /** Flush period of {@link EmfExporter.start} in ms. Default 60 000. */
    intervalMs: z.number().int().min(1000).default(60_000),
    /** Wall clock in ms for `Timestamp`. Default `Date.now`. */
    now: z.custom<() => number>((v) => typeof v === 'function').optional(),
  })
  .superRefine((o, ctx) => {
    // CloudWatch rejects a dimension set of more than 30 names: constant ones, `operation` (or
    // `CacheNamespace`) and the label dimensions together.
    const constNames = Object.keys(o.constDimensions);
    const total = constNames.length + 1 + o.dimensions.length;
    if (total > MAX_DIMENSIONS) {
      ctx.addIssue({
        code: 'custom',
        path: ['dimensions'],
        message: `${total} dimensions in a set (constDimensions + operation + dimensions); CloudWatch allows at most ${MAX_DIMENSIONS}`,
      });
    }
    const seen = new Set<string>();
    for (const d of [...constNames, ...o.dimensions]) {
      if (seen.has(d)) {
        ctx.addIssue({ code: 'custom', path: ['dimensions'], message: `dimension "${d}" is given twice` });
      }
      seen.add(d);
    }
  });

/** Options of {@link EmfExporter}, as you pass them. */
export type EmfOptions = z.input<typeof emfOptionsSchema>;
type ParsedEmfOptions = z.output<typeof emfOptionsSchema>;

/**
 * Turns a histogram into at most `maxValues` (value, count) pairs. Bins are logarithmic
 * (each value stands for samples within a few percent of it, at its geometric midpoint); the
 * bin width starts at 1 % and doubles until the distribution fits, so percentiles computed
 * by CloudWatch are within half a bin width of the HDR values.
 */
export function histogramToEmf(
  hist: LatencyHistogram,
  sumMs: number,
  maxValues = EMF_MAX_VALUES,
): EmfHistogram {
  const count = hist.count;
  const min = hist.minMs;
  const max = hist.maxMs;
  if (count === 0) return { Values: [], Counts: [], Min: 0, Max: 0, Count: 0, Sum: 0 };
  if (max <= min) return { Values: [min], Counts: [count], Min: min, Max: max, Count: count, Sum: sumMs };
  // Zero-duration samples (cache hits measured below 1 µs) share the first bin.
  const lo = Math.max(min, 0.001);
  for (let width = 0.01; ; width *= 2) {
    const ratio = 1 + width;
    const bounds: number[] = [];
    for (let b = lo; b < max; b *= ratio) bounds.push(b);
    bounds.push(max);
    const cumulative = hist.countsAtOrBelowMs(bounds);
    const values: number[] = [];
    const counts: number[] = [];
    let prev = 0;
    for (let i = 0; i < bounds.length; i++) {
      const c = cumulative[i]! - prev;
      prev = cumulative[i]!;
      if (c === 0) continue;
      const upper = bounds[i]!;
      const lower = i === 0 ? min : bounds[i - 1]!;
      const mid = i === 0 ? min : Math.sqrt(lower * upper);
      values.push(Math.min(max, Math.max(min, round3(mid))));
      counts.push(c);
    }
    // HDR buckets round the top sample down; whatever is left belongs at the maximum.
    if (prev < count) {
      values.push(max);
      counts.push(count - prev);
    }
    if (values.length <= maxValues || width > 10) {
      return { Values: values, Counts: counts, Min: min, Max: max, Count: count, Sum: sumMs };
    }
  }
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

interface Group {
  dims: Record<string, string>;
  hist: LatencyHistogram | undefined;
  count: number;
  errors: number;
  sumMs: number;
}

/**
 * Renders snapshots (typically one interval's deltas) as EMF documents, one per operation and
 * dimension combination. Pure: no I/O.
 *
 * @example
 * ```ts
 * for (const line of toEmf(monitor.collect(), { namespace: 'voice', dimensions: ['provider'] })) console.log(line);
 * ```
 */
export function toEmf(
  snapshots: readonly SeriesSnapshot[],
  options: EmfOptions = {},
  timestamp?: number,
): string[] {
  return render(
    snapshots,
    parseOptions(emfOptionsSchema, options, 'EMF options'),
    timestamp ?? Date.now(),
    undefined,
  );
}

function render(
  snapshots: readonly SeriesSnapshot[],
  o: ParsedEmfOptions,
  timestamp: number,
  cacheDeltas: [string, Record<string, number>][] | undefined,
): string[] {
  const groups = new Map<string, Group>();
  for (const s of snapshots) {
    if (s.count === 0) continue;
    const dims: Record<string, string> = { ...o.constDimensions, operation: dimensionValue(s.name) };
    for (const d of o.dimensions) dims[d] = dimensionValue(s.labels[d]);
    const key = JSON.stringify(dims);
    let g = groups.get(key);
    if (!g) {
      g = { dims, hist: undefined, count: 0, errors: 0, sumMs: 0 };
      groups.set(key, g);
    }
    if (!g.hist)
      g.hist = new LatencyHistogram({ significantDigits: s.histogram.significantDigits, storage: 'dense' });
    g.hist.add(s.histogram);
    g.count += s.count;
    g.errors += s.errors;
    g.sumMs += s.sumMs;
  }
  const lines: string[] = [];
  const unitLatency = { Name: 'Latency', Unit: 'Milliseconds', StorageResolution: o.storageResolution };
  for (const g of groups.values()) {
    if (!g.hist) continue;
    const doc = {
      _aws: {
        Timestamp: timestamp,
        CloudWatchMetrics: [
          {
            Namespace: o.namespace,
            Dimensions: [Object.keys(g.dims)],
            Metrics: [
              unitLatency,
              { Name: 'Requests', Unit: 'Count', StorageResolution: o.storageResolution },
              { Name: 'Errors', Unit: 'Count', StorageResolution: o.storageResolution },
            ],
          },
        ],
      },
      ...g.dims,
      Latency: histogramToEmf(g.hist, g.sumMs),
      Requests: g.count,
      Errors: g.errors,
    };
    lines.push(JSON.stringify(doc));
  }
  if (cacheDeltas) {
    for (const [namespace, d] of cacheDeltas) {
      const dims: Record<string, string> = {
        ...o.constDimensions,
        CacheNamespace: dimensionValue(namespace),
      };
      const metrics = Object.keys(d).map((name) => ({
        Name: name,
        Unit: 'Count',
        StorageResolution: o.storageResolution,
      }));
      lines.push(
        JSON.stringify({
          _aws: {
            Timestamp: timestamp,
            CloudWatchMetrics: [
              { Namespace: o.namespace, Dimensions: [Object.keys(dims)], Metrics: metrics },
            ],
          },
          ...dims,
          ...d,
        }),
      );
    }
  }
  return lines;
}

const CACHE_EMF_FIELDS: readonly [string, string][] = [
  ['hits', 'CacheHits'],
  ['misses', 'CacheMisses'],
  ['stale', 'CacheStaleHits'],
  ['errors', 'CacheErrors'],
];

/**
 * Writes EMF lines every `intervalMs` (default one minute) with what the monitor recorded in
 * that interval, so each line's percentiles describe one period and CloudWatch can aggregate
 * periods and instances correctly.
 *
 * @example
 * ```ts
 * import { performanceMonitor } from 'earshot';
 * import { EmfExporter } from 'earshot/exporters';
 *
 * const emf = new EmfExporter(performanceMonitor, { namespace: 'voice', dimensions: ['provider'] }).start();
 * process.on('SIGTERM', () => emf.stop()); // writes the last partial interval
 * ```
 */
export class EmfExporter {
  private readonly options: ParsedEmfOptions;
  private readonly reader: { read(): readonly SeriesSnapshot[] };
  private readonly write: (line: string) => void;
  private readonly now: () => number;
  private readonly lastCache = new Map<string, Record<string, number>>();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(source: EmfSource, options: EmfOptions = {}) {
    this.options = parseOptions(emfOptionsSchema, options, 'EmfExporter options');
    this.reader = source.intervalReader();
    // Start the first interval now: older samples have no minute to be filed under.
    this.reader.read();
    this.write = this.options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
    this.now = this.options.now ?? Date.now;
  }

  /** Flushes every `intervalMs` until {@link stop}. The timer does not keep the process alive. */
  start(): this {
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.flush(), this.options.intervalMs);
      this.timer.unref?.();
    }
    return this;
  }

  /** Stops the timer and flushes the last partial interval. */
  stop(): string[] {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    return this.flush();
  }

  /** Writes (and returns) the lines for everything recorded since the previous flush. */
  flush(): string[] {
    const lines = render(this.reader.read(), this.options, this.now(), this.cacheDeltas());
    for (const line of lines) this.write(line);
    return lines;
  }

  private cacheDeltas(): [string, Record<string, number>][] | undefined {
    if (!this.options.cache) return undefined;
    const out: [string, Record<string, number>][] = [];
    for (const [namespace, stats] of namespaceStats(this.options.cache)) {
      const current: Record<string, number> = {};
      const delta: Record<string, number> = {};
      const prev = this.lastCache.get(namespace);
      let any = false;
      for (const [field, metric] of CACHE_EMF_FIELDS) {
        const v = (stats as unknown as Record<string, unknown>)[field];
        if (typeof v !== 'number' || !Number.isFinite(v)) continue;
        current[field] = v;
        const before = prev?.[field] ?? 0;
        // A counter that went down was reset (cache recreated): count from zero again.
        const d = v >= before ? v - before : v;
        delta[metric] = d;
        if (d > 0) any = true;
      }
      this.lastCache.set(namespace, current);
      if (any) out.push([namespace, delta]);
    }
    return out;
  }
}
