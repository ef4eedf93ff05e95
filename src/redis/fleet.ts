import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Cluster, Redis } from 'ioredis';
import { z } from 'zod';
import { toConfigIssues } from '../config/index.js';
import {
  ConfigError,
  EarshotError,
  InvalidArgumentError,
  redact,
  TimeoutError,
  UpstreamError,
} from '../errors.js';
import { type Labels, LatencyHistogram, type SeriesSnapshot } from '../perf/index.js';
import {
  decodeFleetBlob,
  encodeFleetBlob,
  type FleetSeriesEntry,
  HistogramCountsAccumulator,
  type ParsedV2,
  parseRawV2,
  rawV2FromEncoded,
} from './fleet-codec.js';

/**
 * Fleet-wide percentiles: every instance publishes its histograms per time window to Redis,
 * any instance merges them. Averaging each instance's P90 is wrong (a quiet instance weighs as
 * much as a busy one, and a mean of percentiles is no percentile); merging the histograms gives
 * exactly the percentiles of one histogram fed every sample of the fleet.
 *
 * Keys: `<prefix>:w:<windowMs>:<windowStart>` is a hash with one field per instance, whose
 * value is a compressed blob of that instance's series for the window (see `fleet-codec.ts`).
 * Each write refreshes the key's expiry to `retainWindows` windows.
 *
 * Clock skew: a sample belongs to the window of its *publisher's* clock, and a window key is
 * that publisher's window start, so every sample is counted exactly once whatever the skew.
 * Skew only blurs the boundary: an instance whose clock runs `s` ms ahead files its newest `s`
 * ms of samples under the next window, which a reader sees once its own clock reaches it.
 * Keep clocks within a small fraction of `windowMs` (NTP gives milliseconds).
 * @module
 */

/** What the publisher reads: the monitor's interval reader. */
export interface IntervalSource {
  intervalReader(): { read(): readonly SeriesSnapshot[] };
}

/** The Redis client the fleet uses (an ioredis `Redis` or `Cluster`). */
export type FleetRedis = Redis | Cluster;

// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const INSTANCE_ID = /^[^\s\u0000-\u001f\u007f]{1,200}$/;
/**
 * Default key prefix of the fleet: `earshot-fleet`, so fleet keys (`earshot-fleet:w:…`) lie
 * outside the cache's default keyspace (`earshot:`), and neither `invalidateNamespace('fleet')`
 * nor a cache write in namespace `fleet` can touch a window.
 */
export const DEFAULT_FLEET_PREFIX = 'earshot-fleet';
const DEFAULT_PREFIX = DEFAULT_FLEET_PREFIX;
/** The cache tier's default key prefix (see `RedisTierOptions.keyPrefix`). */
const DEFAULT_CACHE_PREFIX = 'earshot:';

/**
 * Throws `InvalidArgumentError` when the fleet's keys (`<fleetPrefix>:…`) and the cache's keys
 * (`<cacheKeyPrefix>…`) can overlap, i.e. one keyspace is a prefix of the other: the cache's
 * `invalidateNamespace` would then delete fleet windows and a cache write could overwrite one.
 *
 * @example
 * ```ts
 * assertFleetPrefixDisjoint('earshot-fleet', 'earshot:'); // fine
 * assertFleetPrefixDisjoint('earshot:fleet', 'earshot:'); // throws
 * ```
 */
export function assertFleetPrefixDisjoint(
  fleetPrefix: string,
  cacheKeyPrefix: string = DEFAULT_CACHE_PREFIX,
): void {
  const fleet = `${fleetPrefix}:`;
  if (cacheKeyPrefix === '' || fleet.startsWith(cacheKeyPrefix) || cacheKeyPrefix.startsWith(fleet)) {
    throw new InvalidArgumentError(
      `The fleet prefix "${fleetPrefix}" overlaps the cache key prefix "${cacheKeyPrefix}": cache invalidation would delete fleet windows. Use disjoint prefixes (the fleet default is "${DEFAULT_FLEET_PREFIX}").`,
    );
  }
}

const ignore = (): void => {};

/**
 * Settles like `promise`, or rejects with a `TimeoutError` after `ms`: a Redis that accepts the
 * connection and never answers must not hang a read, a publish or a shutdown.
 */
function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      promise.then(ignore, ignore);
      reject(
        new TimeoutError(
          `earshot fleet: ${what} got no reply from Redis within ${ms} ms. Check that Redis is up and answering, or raise commandTimeoutMs.`,
          ms,
        ),
      );
    }, ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(
          err instanceof EarshotError
            ? err
            : new UpstreamError(
                `earshot fleet: ${what} failed: ${redact(err instanceof Error ? err.message : String(err))}`,
                { provider: 'redis', retryable: true },
                { cause: err },
              ),
        );
      },
    );
  });
}

const commonShape = {
  /** Key prefix shared by every instance of the fleet. Default `earshot-fleet`. */
  prefix: z.string().min(1).max(200).default(DEFAULT_PREFIX),
  /**
   * The cache tier's `keyPrefix` on the same Redis, when there is one: the fleet prefix is then
   * checked to be disjoint from it (see {@link assertFleetPrefixDisjoint}). Default: the
   * cache's default `earshot:`.
   */
  cacheKeyPrefix: z.string().max(200).default(DEFAULT_CACHE_PREFIX),
  /** Deadline of every Redis command the fleet sends, in ms (`TimeoutError` past it). Default 5000. */
  commandTimeoutMs: z.number().int().min(1).max(600_000).default(5000),
  /** Window length in ms; every instance and reader must use the same. Default 60 000. */
  windowMs: z.number().int().min(1000, 'windowMs must be at least 1000 ms').max(86_400_000).default(60_000),
  /** Wall clock in ms. Default `Date.now`. Tests inject a fake one. */
  now: z.custom<() => number>((v) => typeof v === 'function', 'must be a function returning ms').optional(),
};

/** Options of {@link FleetPublisher}. */
export const fleetPublisherOptionsSchema = z
  .object({
    ...commonShape,
    /** This instance's id (host:pid:random by default). Unique per process. */
    instanceId: z
      .string()
      .regex(INSTANCE_ID, 'must be 1–200 characters without spaces or control characters')
      .optional(),
    /**
     * How often the current window is re-published, in ms; must divide `windowMs`. Shorter
     * means fresher fleet numbers and more Redis writes. Default `min(10 000, windowMs)`.
     */
    publishIntervalMs: z.number().int().min(100).optional(),
    /** Windows kept in Redis (the expiry of each window key). Default 60. */
    retainWindows: z.number().int().min(1).max(10_000).default(60),
    /**
     * Label keys kept in the published series (e.g. `['outcome']` so readers can ask for
     * successes only). Every other label is merged away. Default none: one series per operation.
     */
    keepLabels: z.array(z.string().min(1)).default([]),
    /** Called when a background publish fails (Redis down). Default: a process warning. */
    onError: z.custom<(err: unknown) => void>((v) => typeof v === 'function').optional(),
  })
  .refine((o) => o.publishIntervalMs === undefined || o.windowMs % o.publishIntervalMs === 0, {
    message: 'publishIntervalMs must divide windowMs',
    path: ['publishIntervalMs'],
  });

/** Options of {@link FleetPublisher}, as you pass them. */
export type FleetPublisherOptions = z.input<typeof fleetPublisherOptionsSchema>;

/** Options of {@link FleetReader}. */
export const fleetReaderOptionsSchema = z.object(commonShape);
/** Options of {@link FleetReader}, as you pass them. */
export type FleetReaderOptions = z.input<typeof fleetReaderOptionsSchema>;

function parse<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  throw new ConfigError(toConfigIssues(r.error), { source: what });
}

function windowKey(prefix: string, windowMs: number, start: number): string {
  return `${prefix}:w:${windowMs}:${start}`;
}

interface WindowSeries {
  entry: FleetSeriesEntry;
  hist: LatencyHistogram;
}

/**
 * Publishes this instance's latency histograms to Redis, one blob per window, re-published
 * every `publishIntervalMs` while the window is current. Instances that stop publishing age
 * out: readers only look at the last N windows, and window keys expire.
 *
 * @example
 * ```ts
 * import Redis from 'ioredis';
 * import { performanceMonitor } from 'earshot';
 * import { FleetPublisher, FleetReader } from 'earshot/redis';
 *
 * const redis = new Redis(process.env.REDIS_URL!);
 * const publisher = new FleetPublisher(redis, performanceMonitor).start();
 * const fleet = await new FleetReader(redis).read({ windows: 5 });
 * fleet.operations.find((o) => o.name === 'e2e')?.p90; // fleet-wide P90 over ~5 minutes
 * await publisher.stop();
 * ```
 */
export class FleetPublisher {
  /** This instance's id in the fleet. */
  readonly instanceId: string;
  readonly windowMs: number;
  readonly publishIntervalMs: number;
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private readonly ttlMs: number;
  private readonly keepLabels: readonly string[];
  private readonly now: () => number;
  private readonly onError: (err: unknown) => void;
  private readonly reader: { read(): readonly SeriesSnapshot[] };
  private readonly windows = new Map<number, { series: Map<string, WindowSeries>; dirty: boolean }>();
  private lastTick: number;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private pending: Promise<unknown> = Promise.resolve();
  private failing = false;

  constructor(
    private readonly redis: FleetRedis,
    monitor: IntervalSource,
    options: FleetPublisherOptions = {},
  ) {
    const o = parse(fleetPublisherOptionsSchema, options, 'FleetPublisher options');
    assertFleetPrefixDisjoint(o.prefix, o.cacheKeyPrefix);
    this.prefix = o.prefix;
    this.timeoutMs = o.commandTimeoutMs;
    this.windowMs = o.windowMs;
    this.publishIntervalMs = o.publishIntervalMs ?? Math.min(10_000, o.windowMs);
    if (this.windowMs % this.publishIntervalMs !== 0) {
      throw new InvalidArgumentError(
        `publishIntervalMs (${this.publishIntervalMs}) must divide windowMs (${this.windowMs}).`,
      );
    }
    this.ttlMs = (o.retainWindows + 1) * o.windowMs;
    this.keepLabels = o.keepLabels;
    this.now = o.now ?? Date.now;
    this.instanceId = o.instanceId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.onError =
      o.onError ??
      ((err: unknown) =>
        process.emitWarning(
          `earshot fleet: publishing to Redis failed: ${redact(err instanceof Error ? err.message : String(err))}`,
          { code: 'EARSHOT_FLEET_PUBLISH' },
        ));
    this.reader = monitor.intervalReader();
    // Samples recorded before the publisher existed belong to no window it can name: skip them
    // rather than pile hours of history into the current window.
    this.reader.read();
    this.lastTick = this.now();
  }

  /** Publishes on every `publishIntervalMs` boundary of the wall clock until {@link stop}. */
  start(): this {
    if (this.timer === undefined) this.schedule();
    return this;
  }

  /** Stops the timer and publishes what was recorded since the last publish. */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /**
   * Reads what the monitor recorded since the previous flush, adds it to its window and
   * writes that window's blob. Concurrent calls are serialized. Rejects if Redis fails.
   */
  async flush(): Promise<void> {
    await this.run();
  }

  private run(): Promise<boolean> {
    const run = this.pending.then(() => this.tick());
    this.pending = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private schedule(): void {
    const now = this.now();
    const delay = this.publishIntervalMs - (now % this.publishIntervalMs);
    this.timer = setTimeout(() => {
      this.run().then(
        (wrote) => {
          if (wrote) this.failing = false;
        },
        (err: unknown) => {
          // One report per failure streak: a Redis outage must not flood the logs.
          if (!this.failing) this.onError(err);
          this.failing = true;
        },
      );
      if (this.timer !== undefined) this.schedule();
    }, delay);
    this.timer.unref?.();
  }

  private async tick(): Promise<boolean> {
    const now = this.now();
    // Samples read now were recorded in (lastTick, now]; timers fire on interval boundaries,
    // so the midpoint lies in the window they belong to even when the timer is a little late.
    const mid = Math.floor((this.lastTick + now) / 2);
    this.lastTick = now;
    const windowStart = mid - (mid % this.windowMs);
    let state = this.windows.get(windowStart);
    if (!state) {
      state = { series: new Map(), dirty: false };
      this.windows.set(windowStart, state);
    }
    for (const w of this.windows.keys()) if (w < windowStart - this.windowMs) this.windows.delete(w);
    for (const s of this.reader.read()) {
      if (s.count === 0) continue;
      const labels: Record<string, string> = {};
      for (const k of this.keepLabels) if (s.labels[k] !== undefined) labels[k] = s.labels[k];
      const key = `${s.name}\u0000${JSON.stringify(labels)}`;
      let ws = state.series.get(key);
      if (!ws) {
        ws = {
          entry: {
            name: s.name,
            labels,
            count: 0,
            errors: 0,
            sumMs: 0,
            minMs: Number.POSITIVE_INFINITY,
            maxMs: 0,
          },
          hist: new LatencyHistogram({ significantDigits: s.histogram.significantDigits, storage: 'dense' }),
        };
        state.series.set(key, ws);
      }
      ws.hist.add(s.histogram);
      ws.entry.count += s.count;
      ws.entry.errors += s.errors;
      ws.entry.sumMs += s.sumMs;
      ws.entry.minMs = Math.min(ws.entry.minMs, s.histogram.minMs);
      ws.entry.maxMs = Math.max(ws.entry.maxMs, s.histogram.maxMs);
      state.dirty = true;
    }
    // Every window not yet in Redis is written, so a failed write is retried on the next tick.
    let wrote = false;
    for (const [start, w] of this.windows) {
      if (!w.dirty) continue;
      const blob = encodeFleetBlob(
        { instanceId: this.instanceId, windowStart: start, publishedAt: now },
        [...w.series.values()].map((ws) => ({ entry: ws.entry, rawV2: rawV2FromEncoded(ws.hist.encode()) })),
      );
      const key = windowKey(this.prefix, this.windowMs, start);
      const replies = await withDeadline(
        this.redis.multi().hset(key, this.instanceId, blob).pexpire(key, this.ttlMs).exec(),
        this.timeoutMs,
        'publishing a window',
      );
      const failed = replies?.find(([err]) => err);
      if (failed?.[0]) {
        throw new UpstreamError(
          `earshot fleet: publishing a window failed: ${redact(failed[0].message)}`,
          { provider: 'redis', retryable: true },
          { cause: failed[0] },
        );
      }
      w.dirty = false;
      wrote = true;
    }
    return wrote;
  }
}

/** Fleet-wide statistics of one operation over the windows read. */
export interface FleetOperationStats {
  name: string;
  count: number;
  errors: number;
  errorRate: number;
  minMs: number;
  maxMs: number;
  /** Exact mean of the recorded durations. */
  meanMs: number;
  p50: number;
  p75: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  /** Instances that contributed samples. */
  instances: number;
  /** The merged histogram (ask it for any other percentile). */
  histogram: LatencyHistogram;
}

/** What {@link FleetReader.read} returns. */
export interface FleetStats {
  /** Start of the oldest window read (ms since epoch, reader's clock). */
  fromMs: number;
  /** End (exclusive) of the newest window read. */
  toMs: number;
  windowMs: number;
  /** Window starts that held data. */
  windows: number[];
  /** Instances that published into the windows read, sorted. */
  instances: string[];
  /** One entry per operation, sorted by name. */
  operations: FleetOperationStats[];
  /**
   * Blobs (or whole window keys) that were not valid fleet data and were left out of the
   * merge, with the reason: corrupt or forged data from one instance never breaks a read.
   */
  skipped: FleetSkip[];
}

/** A blob or window key {@link FleetReader.read} skipped. */
export interface FleetSkip {
  /** The instance whose blob was skipped; absent when a whole window key was unreadable. */
  instance?: string;
  /** Why it was skipped. May quote data from Redis: strip control characters before printing. */
  reason: string;
}

/** Which windows and series {@link FleetReader.read} merges. */
export interface FleetReadOptions {
  /** Number of windows, newest first. Default 5. */
  windows?: number;
  /**
   * Whether the newest window is the current, still-filling one (default `true`). Alarms use
   * `false` to judge complete windows only.
   */
  includeCurrent?: boolean;
  /** Only these operations. */
  operations?: readonly string[];
  /** Only series whose kept labels include these (see the publisher's `keepLabels`). */
  labels?: Labels;
}

interface OperationAccumulator {
  name: string;
  count: number;
  errors: number;
  sumMs: number;
  instances: Set<string>;
  byDigits: Map<number, HistogramCountsAccumulator>;
}

/**
 * Reads the fleet's windows from Redis and merges them into fleet-wide percentiles per
 * operation. Any instance (or the CLI) can read; reading does not publish.
 *
 * @example
 * ```ts
 * const reader = new FleetReader(redis, { windowMs: 60_000 });
 * const { operations, instances } = await reader.read({ windows: 5 });
 * ```
 */
export class FleetReader {
  readonly windowMs: number;
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(
    private readonly redis: FleetRedis,
    options: FleetReaderOptions = {},
  ) {
    const o = parse(fleetReaderOptionsSchema, options, 'FleetReader options');
    assertFleetPrefixDisjoint(o.prefix, o.cacheKeyPrefix);
    this.prefix = o.prefix;
    this.timeoutMs = o.commandTimeoutMs;
    this.windowMs = o.windowMs;
    this.now = o.now ?? Date.now;
  }

  /** Start of the window that contains `t` (reader's clock by default). */
  windowStart(t: number = this.now()): number {
    return t - (t % this.windowMs);
  }

  /** Merges the last `windows` windows into fleet-wide statistics per operation. */
  async read(options: FleetReadOptions = {}): Promise<FleetStats> {
    const n = options.windows ?? 5;
    if (!Number.isInteger(n) || n < 1 || n > 10_000) {
      throw new InvalidArgumentError(`windows must be an integer from 1 to 10000, got ${n}.`);
    }
    const current = this.windowStart();
    const newest = options.includeCurrent === false ? current - this.windowMs : current;
    return this.readRange(newest - (n - 1) * this.windowMs, newest + this.windowMs, options);
  }

  /** The value at percentile `p` of `operation` over the last `windows` windows, or `undefined`. */
  async percentile(
    operation: string,
    p: number,
    options: Omit<FleetReadOptions, 'operations'> = {},
  ): Promise<number | undefined> {
    const stats = await this.read({ ...options, operations: [operation] });
    const op = stats.operations[0];
    return op ? op.histogram.percentileMs(p) : undefined;
  }

  /**
   * Merges every window whose start lies in `[fromMs, toMs)`. Both should be window
   * boundaries; other values are rounded down to one.
   */
  async readRange(
    fromMs: number,
    toMs: number,
    options: Omit<FleetReadOptions, 'windows' | 'includeCurrent'> = {},
  ): Promise<FleetStats> {
    const from = this.windowStart(fromMs);
    const starts: number[] = [];
    for (let w = from; w < toMs; w += this.windowMs) starts.push(w);
    if (starts.length > 10_000) throw new InvalidArgumentError('readRange spans more than 10000 windows.');
    const pipeline = this.redis.pipeline();
    for (const w of starts) pipeline.hgetallBuffer(windowKey(this.prefix, this.windowMs, w));
    const replies = (await withDeadline(pipeline.exec(), this.timeoutMs, 'reading the fleet windows')) ?? [];
    const blobs: [string, Buffer][] = [];
    const withData: number[] = [];
    const keySkips: FleetSkip[] = [];
    replies.forEach(([err, value], i) => {
      if (err) {
        // A window key holding another Redis type is bad data, not a Redis failure: skip it.
        if (/^WRONGTYPE/.test(err.message)) {
          keySkips.push({
            reason: `The window key ${windowKey(this.prefix, this.windowMs, starts[i]!)} holds another Redis type (not a hash).`,
          });
          return;
        }
        throw new UpstreamError(
          `earshot fleet: reading the fleet windows failed: ${redact(err.message)}`,
          { provider: 'redis', retryable: true },
          { cause: err },
        );
      }
      const fields = Object.entries(value as Record<string, Buffer>);
      if (fields.length > 0) withData.push(starts[i]!);
      for (const entry of fields) blobs.push(entry);
    });
    const { operations, instances, skipped } = mergeFleetBlobs(blobs, options);
    return {
      fromMs: from,
      toMs: starts.length === 0 ? from : starts[starts.length - 1]! + this.windowMs,
      windowMs: this.windowMs,
      windows: withData,
      instances,
      operations,
      skipped: [...keySkips, ...skipped],
    };
  }

  /** Instances that published in the current or the previous window (the live fleet). */
  async instances(): Promise<string[]> {
    const current = this.windowStart();
    const pipeline = this.redis.pipeline();
    for (const w of [current - this.windowMs, current])
      pipeline.hkeys(windowKey(this.prefix, this.windowMs, w));
    const replies =
      (await withDeadline(pipeline.exec(), this.timeoutMs, 'listing the fleet instances')) ?? [];
    const out = new Set<string>();
    for (const [err, keys] of replies) {
      if (err) {
        if (/^WRONGTYPE/.test(err.message)) continue;
        throw new UpstreamError(
          `earshot fleet: listing the fleet instances failed: ${redact(err.message)}`,
          { provider: 'redis', retryable: true },
          { cause: err },
        );
      }
      for (const k of keys as string[]) out.add(k);
    }
    return [...out].sort();
  }
}

/**
 * Merges fleet blobs (instance id → blob, as stored in a window hash) into statistics per
 * operation. {@link FleetReader} uses it on what it reads from Redis; it is exported for tools
 * that keep blobs elsewhere (files, another store) and for the benchmark.
 */
export function mergeFleetBlobs(
  blobs: Iterable<readonly [instanceId: string, blob: Uint8Array]>,
  options: Pick<FleetReadOptions, 'operations' | 'labels'> = {},
): { operations: FleetOperationStats[]; instances: string[]; skipped: FleetSkip[] } {
  const only = options.operations ? new Set(options.operations) : undefined;
  const filter = options.labels;
  const ops = new Map<string, OperationAccumulator>();
  const instances = new Set<string>();
  const skipped: FleetSkip[] = [];
  for (const [instance, blob] of blobs) {
    // A blob is validated whole before any of it is merged: one bad publisher (corrupt data,
    // another version, forged counts) is skipped and counted, the rest of the fleet is merged.
    const staged: { entry: FleetSeriesEntry; hist: ParsedV2 }[] = [];
    let header: ReturnType<typeof decodeFleetBlob>;
    try {
      header = decodeFleetBlob(blob, (entry, rawV2) => {
        if (only && !only.has(entry.name)) return;
        if (filter) {
          for (const k of Object.keys(filter)) {
            if (!Object.hasOwn(entry.labels, k) || entry.labels[k] !== String(filter[k])) return;
          }
        }
        const hist = parseRawV2(rawV2, entry.minMs, entry.maxMs);
        if (hist.total > entry.count) {
          throw new InvalidArgumentError(
            'Invalid fleet blob: the histogram holds more samples than its count.',
          );
        }
        staged.push({ entry, hist });
      });
    } catch (err) {
      skipped.push({ instance, reason: err instanceof Error ? err.message : String(err) });
      continue;
    }
    if (header === undefined) {
      skipped.push({
        instance,
        reason: 'Unknown fleet blob format version (published by another earshot version?).',
      });
      continue;
    }
    instances.add(instance);
    for (const { entry, hist } of staged) {
      let acc = ops.get(entry.name);
      if (!acc) {
        acc = { name: entry.name, count: 0, errors: 0, sumMs: 0, instances: new Set(), byDigits: new Map() };
        ops.set(entry.name, acc);
      }
      let counts = acc.byDigits.get(hist.significantDigits);
      if (!counts) {
        counts = new HistogramCountsAccumulator(hist.significantDigits);
        acc.byDigits.set(hist.significantDigits, counts);
      }
      counts.addParsed(hist);
      acc.count += entry.count;
      acc.errors += entry.errors;
      acc.sumMs += entry.sumMs;
      acc.instances.add(instance);
    }
  }
  const operations: FleetOperationStats[] = [];
  for (const acc of [...ops.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    let histogram: LatencyHistogram | undefined;
    for (const counts of acc.byDigits.values()) {
      if (counts.empty) continue;
      const h = counts.toHistogram();
      if (histogram) histogram.add(h);
      else histogram = h;
    }
    if (!histogram || acc.count === 0) continue;
    operations.push({
      name: acc.name,
      count: acc.count,
      errors: acc.errors,
      errorRate: acc.errors / acc.count,
      minMs: histogram.minMs,
      maxMs: histogram.maxMs,
      meanMs: acc.sumMs / acc.count,
      p50: histogram.percentileMs(50),
      p75: histogram.percentileMs(75),
      p90: histogram.percentileMs(90),
      p95: histogram.percentileMs(95),
      p99: histogram.percentileMs(99),
      p999: histogram.percentileMs(99.9),
      instances: acc.instances.size,
      histogram,
    });
  }
  return { operations, instances: [...instances].sort(), skipped };
}
