import type { Cluster, Redis } from 'ioredis';
import { CircuitBreaker } from '../cache/circuit-breaker.js';
import { DeadlineQueue, withDeadline } from '../cache/deadline.js';
import { escapeNamespace } from '../cache/keys.js';
import { jsonSerializer, type Serializer } from '../cache/serializer.js';
import type { CacheEntry, CacheTier, TierHealth } from '../cache/tier.js';
import { CacheError, redact, TimeoutError } from '../errors.js';
import { createRedisClient, createRedisCluster } from './client.js';
import { decodeEntry, encodeEntry } from './entry-codec.js';
import { RedisInvalidationBus } from './invalidation-bus.js';
import { RedisLock } from './lock.js';
import { parseRedisTierOptions, type RedisTierOptions, type ResolvedRedisTierOptions } from './options.js';

type Client = Redis | Cluster;

/** Client states of a first connection in progress (ioredis `status`). */
const FIRST_CONNECT: ReadonlySet<string> = new Set(['wait', 'connecting', 'connect']);

/** Errors Redis answers about one key's data (the server is fine): `WRONGTYPE`. */
function isDataError(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('WRONGTYPE');
}

/** Escapes glob metacharacters for SCAN MATCH. */
function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * The Redis tier: entries as `E1|freshUntil|staleUntil|json` strings with a PX expiry at the end
 * of their grace period, under `keyPrefix + escapedNamespace + ':' + key`.
 *
 * Every command runs behind a deadline (`commandTimeoutMs`, default 50 ms) and a circuit
 * breaker: a dead or slow Redis costs a caller at most one deadline, and after
 * `breaker.failureThreshold` failures none at all until a probe succeeds or the client
 * reports it reconnected. Works with a single server (`url`), Redis Cluster (`cluster.nodes`,
 * namespace invalidation scans every master) or a client you own (`client`).
 *
 * Also provides the invalidation bus (pub/sub on `keyPrefix + '%!bus'`) and the distributed
 * single-flight lock (`SET NX PX` on `keyPrefix + '%!lock:' + id`).
 *
 * @example
 * ```ts
 * import { createCacheManager } from 'earshot';
 * import { createRedisTier } from 'earshot/redis';
 * const cache = createCacheManager({ l2: createRedisTier({ url: 'redis://127.0.0.1:6379' }) });
 * await cache.connect();
 * ```
 */
export class RedisTier implements CacheTier {
  readonly name = 'redis';
  readonly shared = true;
  readonly bus: RedisInvalidationBus | undefined;
  readonly lock: RedisLock;
  /** The ioredis client (owned unless you passed `client`). */
  readonly client: Client;
  private readonly owned: boolean;
  private readonly prefix: string;
  private readonly serializer: Serializer;
  private readonly breaker: CircuitBreaker;
  private readonly opts: ResolvedRedisTierOptions;
  private readonly isCluster: boolean;
  private readonly deadlines = new Map<number, DeadlineQueue>();
  // biome-ignore lint/suspicious/noExplicitAny: EventEmitter listener signature
  private readonly listeners: Record<'error' | 'close' | 'ready', (...args: any[]) => void>;
  private lastError: string | undefined;
  private failures = 0;
  private closed = false;
  /**
   * True once the first connection attempt is over (ready, failed or closed): from then on a
   * command on a client that is not ready fails at once instead of waiting.
   */
  private firstAttemptOver = false;
  /** Settles when the first connection is ready (commands issued meanwhile wait for it). */
  private firstReady: Promise<void> | undefined;

  constructor(options: RedisTierOptions = {}) {
    const opts = parseRedisTierOptions(options);
    this.opts = opts;
    this.prefix = opts.keyPrefix;
    this.serializer = options.serializer ?? jsonSerializer;
    const settings = {
      connectTimeoutMs: opts.connectTimeoutMs,
      reconnectMaxDelayMs: opts.reconnectMaxDelayMs,
      connectionName: opts.connectionName,
    };
    if (options.client !== undefined) {
      this.client = options.client;
      this.owned = false;
    } else if (opts.cluster !== undefined) {
      this.client = createRedisCluster(opts.cluster.nodes, settings, {
        ...(options.redisOptions === undefined ? {} : { redisOptions: options.redisOptions }),
        ...(options.clusterOptions === undefined ? {} : { clusterOptions: options.clusterOptions }),
      });
      this.owned = true;
    } else {
      this.client = createRedisClient(
        opts.url ?? 'redis://127.0.0.1:6379',
        settings,
        options.redisOptions ?? {},
      );
      this.owned = true;
    }
    this.isCluster = (this.client as { isCluster?: boolean }).isCluster === true;
    this.breaker = new CircuitBreaker(opts.breaker);
    this.listeners = {
      error: (err: unknown) => {
        this.lastError = redact(err instanceof Error ? err.message : String(err));
      },
      // A lost connection fails every command at once anyway; stop trying until it is back.
      close: () => {
        this.firstAttemptOver = true;
        if (!this.closed) this.breaker.trip();
      },
      // The first call after Redis comes back must work: close the breaker as soon as we can talk.
      ready: () => {
        this.firstAttemptOver = true;
        this.breaker.reset();
      },
    };
    this.firstAttemptOver = !FIRST_CONNECT.has(this.client.status);
    for (const [event, fn] of Object.entries(this.listeners)) this.client.on(event, fn);
    this.lock = new RedisLock(this.client, `${this.prefix}%!lock:`, (what, fn) => this.run(what, fn));
    this.bus = opts.invalidation
      ? new RedisInvalidationBus(this.client, `${this.prefix}%!bus`, {
          run: (what, fn) => this.run(what, fn),
          connectTimeoutMs: opts.connectTimeoutMs,
          owned: this.owned,
        })
      : undefined;
  }

  /** Breaker state and connection status. */
  health(): TierHealth {
    const state = this.breaker.state === 'open' ? 'down' : this.failures > 0 ? 'degraded' : 'up';
    const h: { state: TierHealth['state']; [k: string]: unknown } = {
      state,
      breaker: this.breaker.state,
      status: this.client.status,
      timesOpened: this.breaker.timesOpened,
      bus: this.bus === undefined ? 'off' : this.bus.connected ? 'connected' : 'disconnected',
    };
    if (this.lastError !== undefined) h.lastError = this.lastError;
    return h;
  }

  /**
   * Connects (clients earshot owns connect lazily) within `connectTimeoutMs`. Rejects with
   * `CacheError(EARSHOT_CACHE_UNAVAILABLE)` when Redis cannot be reached; the client keeps
   * reconnecting in the background and the manager carries on without L2 meanwhile.
   */
  async connect(): Promise<void> {
    const status = this.client.status;
    if (status === 'ready' && !this.isCluster) return;
    try {
      if (status === 'ready') {
        // already connected (a cluster client you passed): only the node connections remain
      } else if (status === 'wait') {
        await withDeadline(this.client.connect(), this.opts.connectTimeoutMs + 100, 'Redis connect');
      } else {
        await withDeadline(
          new Promise<void>((resolve) => this.client.once('ready', () => resolve())),
          this.opts.connectTimeoutMs,
          'Redis connect',
        );
      }
      if (this.isCluster) await this.warmClusterNodes();
    } catch (err) {
      this.firstAttemptOver = true;
      this.breaker.trip();
      throw new CacheError(
        'EARSHOT_CACHE_UNAVAILABLE',
        `Redis is not reachable (${redact(err instanceof Error ? err.message : String(err))}); running without it and reconnecting in the background.`,
        { cause: err },
      );
    }
  }

  /**
   * ioredis opens node connections of a cluster on first use; the handshake alone can exceed
   * a 50 ms command deadline, so open them (PING every master) while connecting instead.
   */
  private async warmClusterNodes(): Promise<void> {
    const masters = (this.client as Cluster).nodes('master');
    await withDeadline(
      Promise.all(masters.map((node) => node.ping())),
      this.opts.connectTimeoutMs,
      'Redis Cluster PING of every master',
    );
  }

  /** Unsubscribes and, for clients earshot created, quits (or disconnects after the deadline). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.bus?.close();
    if (!this.owned) {
      for (const [event, fn] of Object.entries(this.listeners)) this.client.off(event, fn);
      return;
    }
    if (this.client.status === 'ready') {
      try {
        await withDeadline(this.client.quit(), this.opts.connectTimeoutMs, 'Redis QUIT');
      } catch {
        // fall through to disconnect
      }
    }
    this.client.disconnect();
  }

  /** Runs one command behind the breaker and the deadline. */
  run<T>(what: string, fn: () => Promise<T>, timeoutMs = this.opts.commandTimeoutMs): Promise<T> {
    return this.exec(what, fn, undefined, timeoutMs);
  }

  /**
   * `run` with an optional `map` of the reply (decoding), settled through one promise: this is
   * the per-command hot path, so it avoids stacking a promise per concern.
   */
  private exec<T, R = T>(
    what: string,
    fn: () => Promise<T>,
    map: ((value: T) => R) | undefined,
    timeoutMs = this.opts.commandTimeoutMs,
  ): Promise<R> {
    if (this.closed) {
      return Promise.reject(new CacheError('EARSHOT_CACHE_UNAVAILABLE', 'The Redis tier was closed.'));
    }
    if (!this.breaker.allow()) {
      return Promise.reject(
        new CacheError(
          'EARSHOT_CACHE_UNAVAILABLE',
          `Redis ${what} skipped: the circuit breaker is open after repeated failures${this.lastError === undefined ? '' : ` (last: ${this.lastError})`}.`,
        ),
      );
    }
    const status = this.client.status;
    if (status !== 'ready' && !this.firstAttemptOver && FIRST_CONNECT.has(status)) {
      // The first connection is being made (connect() not awaited, or not called at all): the
      // command waits for it, within its own deadline, instead of failing or being dropped.
      return this.afterFirstConnect(what, timeoutMs).then(() => this.exec(what, fn, map, timeoutMs));
    }
    if (status !== 'ready') {
      // Not connected: fail now rather than queue (a client you passed may have an offline queue).
      this.failures++;
      this.breaker.failure();
      return Promise.reject(
        new CacheError(
          'EARSHOT_CACHE_UNAVAILABLE',
          `Redis ${what} skipped: the client is not connected (status ${status}${this.lastError === undefined ? '' : `, last error: ${this.lastError}`}).`,
        ),
      );
    }
    let p: Promise<T>;
    try {
      p = fn();
    } catch (err) {
      this.failed(err);
      return Promise.reject(err);
    }
    let deadlines = this.deadlines.get(timeoutMs);
    if (deadlines === undefined) {
      deadlines = new DeadlineQueue(timeoutMs);
      this.deadlines.set(timeoutMs, deadlines);
    }
    const queue = deadlines;
    return new Promise<R>((resolve, reject) => {
      const deadline = queue.track(() => {
        const err = new TimeoutError(`Redis ${what} did not answer within ${timeoutMs} ms.`, timeoutMs);
        this.failed(err);
        reject(err);
      });
      p.then(
        (v) => {
          if (deadline.done) return;
          deadline.done = true;
          this.breaker.success();
          this.failures = 0;
          if (map === undefined) {
            resolve(v as unknown as R);
            return;
          }
          try {
            resolve(map(v));
          } catch (err) {
            reject(err);
          }
        },
        (err: unknown) => {
          if (deadline.done) return;
          deadline.done = true;
          if (isDataError(err)) {
            // Redis answered: the key holds something else (another type). That is bad data
            // under one key, not a sick server: it must not count toward the breaker.
            this.breaker.success();
            reject(
              new CacheError(
                'EARSHOT_CACHE_SERIALIZATION',
                `Redis ${what} failed on one key's data (${redact(err instanceof Error ? err.message : String(err))}); the key holds another Redis type. Delete it or use a keyPrefix nothing else writes under.`,
                { cause: err },
              ),
            );
            return;
          }
          this.failed(err);
          reject(
            err instanceof CacheError
              ? err
              : new CacheError(
                  'EARSHOT_CACHE_UNAVAILABLE',
                  `Redis ${what} failed: ${redact(err instanceof Error ? err.message : String(err))}`,
                  { cause: err },
                ),
          );
        },
      );
    });
  }

  /**
   * Waits (at most `timeoutMs`) for the first connection, starting it if nobody did. A timeout
   * counts as a failure of the command, like any other deadline.
   */
  private afterFirstConnect(what: string, timeoutMs: number): Promise<void> {
    // Settles on ready, or on close (the attempt failed: the command then fails at once).
    this.firstReady ??= new Promise<void>((resolve) => {
      const done = (): void => {
        this.client.off('ready', done);
        this.client.off('close', done);
        resolve();
      };
      this.client.on('ready', done);
      this.client.on('close', done);
    });
    if (this.client.status === 'wait') this.connect().catch(() => undefined);
    return withDeadline(this.firstReady, timeoutMs, `Redis ${what} (waiting for the first connection)`).catch(
      (err: unknown) => {
        this.failed(err);
        throw err;
      },
    );
  }

  private failed(err: unknown): void {
    this.failures++;
    this.lastError = redact(err instanceof Error ? err.message : String(err));
    this.breaker.failure();
  }

  private decode(key: string, raw: string | null): CacheEntry | undefined {
    if (raw === null) return undefined;
    try {
      const e = decodeEntry(raw, this.serializer);
      if (e.value === undefined)
        throw new CacheError('EARSHOT_CACHE_SERIALIZATION', 'Stored entry decoded to undefined.');
      return e;
    } catch (err) {
      // Malformed (another writer, an old format, corruption): a miss, and do not trip on it again.
      this.run('UNLINK', () => this.client.unlink(key)).catch(() => undefined);
      throw err instanceof CacheError
        ? err
        : new CacheError(
            'EARSHOT_CACHE_SERIALIZATION',
            'Stored entry could not be decoded; it was deleted.',
            { cause: err },
          );
    }
  }

  private encode(id: string, namespace: string, entry: CacheEntry): string {
    const raw = encodeEntry(entry, this.serializer);
    const max = this.opts.maxValueBytes;
    if (max !== undefined && raw.length > max / 3 && Buffer.byteLength(raw) > max) {
      throw new CacheError(
        'EARSHOT_CACHE_VALUE_TOO_LARGE',
        `Serialized value for "${id}" in namespace "${namespace}" is ${Buffer.byteLength(raw)} bytes, over the Redis tier's maxValueBytes (${max}). Nothing was written.`,
      );
    }
    return raw;
  }

  get(id: string): Promise<CacheEntry | undefined> {
    const key = this.prefix + id;
    return this.exec(
      'GET',
      () => this.client.get(key),
      (raw) => this.decode(key, raw),
    );
  }

  getMany(ids: readonly string[]): Promise<(CacheEntry | undefined)[]> {
    if (ids.length === 0) return Promise.resolve([]);
    const keys = ids.map((id) => this.prefix + id);
    // MGET needs every key in one slot on a cluster; there, GETs are pipelined per node instead.
    const fetch = this.isCluster
      ? () => Promise.all(keys.map((k) => this.client.get(k)))
      : () => this.client.mget(keys);
    return this.run('MGET', fetch).then((raws) =>
      raws.map((raw, i) => {
        try {
          return this.decode(keys[i]!, raw);
        } catch {
          return undefined; // counted by the decode deletion; one bad entry must not fail the batch
        }
      }),
    );
  }

  set(id: string, namespace: string, entry: CacheEntry): Promise<void> {
    // Serialize synchronously: an unserializable value throws before anything is sent.
    const raw = this.encode(id, namespace, entry);
    const ttlMs = Math.ceil(entry.staleUntil - Date.now());
    const key = this.prefix + id;
    if (ttlMs <= 0) return this.run('UNLINK', () => this.client.unlink(key)).then(() => undefined);
    return this.run('SET', () => this.client.set(key, raw, 'PX', ttlMs)).then(() => undefined);
  }

  setMany(items: readonly { id: string; entry: CacheEntry }[], namespace: string): Promise<void> {
    const now = Date.now();
    const writes = items.map(({ id, entry }) => ({
      key: this.prefix + id,
      raw: this.encode(id, namespace, entry),
      ttlMs: Math.ceil(entry.staleUntil - now),
    }));
    return this.run('SET (pipeline)', async () => {
      if (this.isCluster) {
        await Promise.all(
          writes.map((w) =>
            w.ttlMs > 0 ? this.client.set(w.key, w.raw, 'PX', w.ttlMs) : this.client.unlink(w.key),
          ),
        );
        return;
      }
      const pipeline = this.client.pipeline();
      for (const w of writes) {
        if (w.ttlMs > 0) pipeline.set(w.key, w.raw, 'PX', w.ttlMs);
        else pipeline.unlink(w.key);
      }
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([err]) => err !== null);
      if (failed) throw failed[0];
    });
  }

  delete(id: string): Promise<boolean> {
    const key = this.prefix + id;
    return this.run('UNLINK', () => this.client.unlink(key)).then((n) => n > 0);
  }

  /**
   * Deletes every key of `namespace` with SCAN MATCH + UNLINK on every master (never KEYS or
   * FLUSH*). On a cluster keys are unlinked one per command, pipelined per node, because a
   * multi-key UNLINK must stay within one hash slot.
   */
  async clearNamespace(namespace: string): Promise<number> {
    const pattern = `${globEscape(this.prefix + escapeNamespace(namespace))}:*`;
    const nodes: Redis[] = this.isCluster ? (this.client as Cluster).nodes('master') : [this.client as Redis];
    const timeout = this.opts.maintenanceTimeoutMs;
    const counts = await Promise.all(
      nodes.map(async (node) => {
        let deleted = 0;
        let cursor = '0';
        do {
          const [next, keys] = await this.run(
            'SCAN',
            () => node.scan(cursor, 'MATCH', pattern, 'COUNT', this.opts.scanCount),
            timeout,
          );
          cursor = next;
          if (keys.length === 0) continue;
          if (this.isCluster) {
            const pipeline = node.pipeline();
            for (const k of keys) pipeline.unlink(k);
            const results = await this.run(
              'UNLINK (pipeline)',
              async () => (await pipeline.exec()) ?? [],
              timeout,
            );
            for (const [err, n] of results) {
              if (err !== null) throw err;
              deleted += Number(n);
            }
          } else {
            deleted += await this.run('UNLINK', () => node.unlink(...keys), timeout);
          }
        } while (cursor !== '0');
        return deleted;
      }),
    );
    return counts.reduce((a, b) => a + b, 0);
  }
}

/**
 * Creates a {@link RedisTier}: pass it as `l2` to `createCacheManager`. With no options it
 * connects to `redis://127.0.0.1:6379`.
 *
 * @example
 * ```ts
 * const tier = createRedisTier({ url: process.env.REDIS_URL, keyPrefix: 'myapp:', commandTimeoutMs: 30 });
 * const clusterTier = createRedisTier({ cluster: { nodes: ['redis://10.0.0.1:7000', 'redis://10.0.0.2:7000'] } });
 * ```
 */
export function createRedisTier(options: RedisTierOptions = {}): RedisTier {
  return new RedisTier(options);
}
