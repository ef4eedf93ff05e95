/**
 * The fleet publisher: reads what this instance's monitor recorded since the last tick, folds
 * it into per-window series and writes one blob per window into Redis, on a wall-clock timer.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { InvalidArgumentError, redact, UpstreamError } from '../errors.js';
import { LatencyHistogram, type SeriesSnapshot } from '../perf/index.js';
import { encodeFleetBlob, type FleetSeriesEntry, rawV2FromEncoded } from './fleet-codec.js';
import { type FleetRedis, windowKey, withDeadline } from './fleet-keyspace.js';
import {
  assertFleetPrefixDisjoint,
  type FleetPublisherOptions,
  fleetPublisherOptionsSchema,
  parseFleetOptions,
} from './fleet-options.js';

/** What the publisher reads: the monitor's interval reader. */
export interface IntervalSource {
  intervalReader(): { read(): readonly SeriesSnapshot[] };
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
 * Only samples recorded after the publisher was constructed are published (see the
 * constructor): create it at startup, before traffic, and keep one per process.
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

  /**
   * Reads nothing from Redis and starts no timer (call {@link start}). It takes the monitor's
   * position at once: samples the monitor recorded **before this call are never published**.
   * Why: the monitor keeps no time per sample, so the publisher cannot tell which window such
   * history belongs to; filing it under the current window would pile minutes or hours of old
   * latencies into it (and, after a publisher is re-created in the same process, count them
   * twice). The monitor's own stats still hold those samples. So create the publisher before
   * traffic; one created later (or re-created) starts the fleet's view of this instance there.
   * @throws ConfigError on invalid options (a `publishIntervalMs` that does not divide
   * `windowMs` included); InvalidArgumentError when the fleet prefix overlaps `cacheKeyPrefix`.
   */
  constructor(
    private readonly redis: FleetRedis,
    monitor: IntervalSource,
    options: FleetPublisherOptions = {},
  ) {
    const o = parseFleetOptions(fleetPublisherOptionsSchema, options, 'FleetPublisher options');
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
    // rather than pile hours of history into the current window (see the constructor's TSDoc).
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
