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
 *
 * This module holds the reader and is the fleet's entry point: the publisher, the options, the
 * blob merge and the Redis plumbing live in `fleet-*.ts` beside it.
 * @module
 */
import { InvalidArgumentError, redact, UpstreamError } from '../errors.js';
import { type FleetRedis, windowKey, withDeadline } from './fleet-keyspace.js';
import { type FleetReadOptions, type FleetSkip, type FleetStats, mergeFleetBlobs } from './fleet-merge.js';
import {
  assertFleetPrefixDisjoint,
  type FleetReaderOptions,
  fleetReaderOptionsSchema,
  parseFleetOptions,
} from './fleet-options.js';

export type { FleetRedis } from './fleet-keyspace.js';
export {
  type FleetOperationStats,
  type FleetReadOptions,
  type FleetSkip,
  type FleetStats,
  mergeFleetBlobs,
} from './fleet-merge.js';
export {
  assertFleetPrefixDisjoint,
  DEFAULT_FLEET_PREFIX,
  type FleetPublisherOptions,
  type FleetReaderOptions,
  fleetPublisherOptionsSchema,
  fleetReaderOptionsSchema,
} from './fleet-options.js';
export { FleetPublisher, type IntervalSource } from './fleet-publisher.js';

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
    const o = parseFleetOptions(fleetReaderOptionsSchema, options, 'FleetReader options');
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
