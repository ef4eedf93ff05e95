import { randomUUID } from 'node:crypto';
import type { DEFAULT_NAMESPACES, NamespaceConfig } from '../config/schema.js';
import { AbortedError, CacheError, InvalidArgumentError } from '../errors.js';
import { performanceMonitor } from '../perf/index.js';
import type {
  CacheGetOptions,
  CacheLoader,
  CacheSetManyItem,
  CacheSetOptions,
  GetOrSetOptions,
  WrapOptions,
} from './call-options.js';
import { Invalidation } from './invalidation.js';
import { validateKey, validateNamespace } from './keys.js';
import { checkSeconds, type Job, type Policy } from './loader.js';
import { MemoryTier } from './memory-tier.js';
import { CacheMetrics } from './metrics.js';
import {
  type CacheErrorInfo,
  type CacheManagerOptions,
  parseCacheManagerOptions,
  type ResolvedCacheManagerOptions,
} from './options.js';
import { SingleFlight } from './single-flight.js';
import { stableKey } from './stable-key.js';
import {
  type CacheNamespaceStats,
  type CacheStats,
  emptyCounters,
  NamespaceState,
  toStats,
} from './stats.js';
import { type CacheEntry, isPromiseLike } from './tier.js';
import { TierStack, type WriteItem } from './tier-stack.js';
import { measureValue } from './value-size.js';

/** The namespaces every manager knows without configuration (`company_api:load`, `llm`, `tts`, ...). */
export type DefaultNamespace = keyof typeof DEFAULT_NAMESPACES;

/** A namespace policy as given in `namespaces` or to `defineNamespace`. */
export interface NamespacePolicy {
  ttlSeconds: number;
  graceSeconds?: number;
}

/**
 * The namespace names of a manager built with the namespaces object `NS`: its keys plus the
 * defaults when `NS` is a literal, any `string` when it is not (e.g. read from a file).
 */
export type NamespaceNames<NS> = string extends keyof NS ? string : (keyof NS & string) | DefaultNamespace;

/**
 * A namespaced TTL cache: an in-memory L1 (lru-cache), an optional shared L2 (Redis, from
 * `earshot/redis`), single-flight loading (in-process and, with Redis, across processes),
 * stale-while-revalidate / grace with fail-safe, cross-instance L1 invalidation, and metrics
 * (`cache_read`, `cache_write`, `cache_load`) in the performance monitor.
 *
 * Reads never fail because a tier is down: a tier error is a miss (counted in `stats().errors`).
 * Writes skip a failing shared tier. `delete` and `invalidateNamespace` reject with
 * `CacheError(EARSHOT_CACHE_UNAVAILABLE)` when the shared tier could not be reached, because
 * other instances would keep serving the old value.
 *
 * `N` is the union of namespace names the manager accepts: `string` by default; the configured
 * names (plus the defaults) when `createCacheManager` is given a literal `namespaces` object, so
 * a typo in `get` / `set` / `getOrSet` is a compile error. `defineNamespace` adds a name at
 * runtime and returns the manager typed with it.
 *
 * The manager itself keeps options, namespaces and validation; reads and writes go through the
 * tier stack (`tier-stack.ts`), loads through single-flight (`single-flight.ts`), cross-instance
 * invalidation through `invalidation.ts`.
 *
 * @example
 * ```ts
 * const cache = createCacheManager({ namespaces: { weather: { ttlSeconds: 60, graceSeconds: 300 } } });
 * await cache.connect();
 * const load = await cache.getOrSet('2314', 'company_api:load', ({ signal }) => api.getLoad('2314', { signal }));
 * ```
 */
export class CacheManager<N extends string = string> {
  /** Identifies this instance on the invalidation bus. */
  readonly instanceId: string;
  private readonly now: () => number;
  private readonly onError: ((error: unknown, info: CacheErrorInfo) => void) | undefined;
  private readonly opts: ResolvedCacheManagerOptions;
  private readonly states = new Map<string, NamespaceState>();
  private readonly tiers: TierStack;
  private readonly flights: SingleFlight;
  private readonly invalidation: Invalidation;
  private connecting: Promise<void> | undefined;
  private closed = false;

  constructor(options: CacheManagerOptions = {}) {
    this.opts = parseCacheManagerOptions(options);
    if (options.l2 === undefined && options.redis !== undefined) {
      throw new InvalidArgumentError(
        "createCacheManager cannot open Redis itself (the core never imports ioredis). Pass l2: createRedisTier(config.cache.redis) from 'earshot/redis'.",
      );
    }
    this.now = options.now ?? Date.now;
    const l1 =
      options.l1 === false
        ? undefined
        : (options.l1 ??
          new MemoryTier({
            maxEntries: this.opts.memory.maxEntries,
            maxBytes: this.opts.memory.maxBytes,
            valueMode: this.opts.memory.valueMode,
            now: this.now,
          }));
    const l2 = options.l2;
    if (l1 === undefined && l2 === undefined) {
      throw new InvalidArgumentError('A cache needs at least one tier: keep the default l1 or pass l2.');
    }
    if (l1 !== undefined && l1 === l2) throw new InvalidArgumentError('l1 and l2 must be different tiers.');
    this.onError = options.onError;
    this.instanceId = options.instanceId ?? randomUUID();
    const report = (error: unknown, info: CacheErrorInfo): void => this.report(error, info);
    const monitor = options.monitor === false ? undefined : (options.monitor ?? performanceMonitor);
    const metrics = new CacheMetrics(monitor, report);
    this.tiers = new TierStack(l1, l2, this.now, metrics, report);
    this.flights = new SingleFlight({
      tiers: this.tiers,
      metrics,
      lock: this.opts.lock,
      makeEntry: (ns, key, value, policy) => this.makeEntry(ns, key, value, policy),
      store: (ns, items, from) => this.store(ns, items, from),
      report,
      isClosed: () => this.closed,
    });
    this.invalidation = new Invalidation(l2?.bus, l2?.name ?? '', {
      instanceId: this.instanceId,
      tiers: this.tiers,
      flights: this.flights,
      known: (name) => this.states.get(name),
      all: () => this.states.values(),
      report,
    });
    for (const [name, policy] of Object.entries(this.opts.namespaces)) {
      this.states.set(name, new NamespaceState(name, policy));
    }
  }

  // ───────────────────────── lifecycle ─────────────────────────

  /**
   * Connects the tiers and subscribes to the invalidation bus. Resolves (within the tiers'
   * connect deadlines) even when Redis is down: the cache then runs on L1 and retries Redis
   * in the background (see `stats().tiers`). Calling it is optional (the first operation
   * starts it, and commands issued while that first connection is made wait for it, within
   * their deadline) but lets startup wait for Redis.
   */
  connect(): Promise<void> {
    this.connecting ??= this.tiers.connect().then(() => this.invalidation.subscribe());
    return this.connecting;
  }

  /** Unsubscribes and closes the tiers. The manager cannot be used afterwards. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.connecting !== undefined) await this.connecting.catch(() => undefined);
    await this.invalidation.close();
    this.flights.wakeAll();
    await this.tiers.close();
  }

  private ensureOpen(): void {
    if (this.closed) {
      throw new CacheError('EARSHOT_CACHE_UNAVAILABLE', 'This CacheManager was closed; create a new one.');
    }
    if (this.connecting === undefined) void this.connect();
  }

  // ───────────────────────── namespaces ─────────────────────────

  /**
   * Adds or replaces a namespace policy at runtime. Returns this manager, typed to accept the
   * new name as well.
   *
   * @example
   * ```ts
   * const cache = createCacheManager({ namespaces: { weather: { ttlSeconds: 60 } } }).defineNamespace('geo', { ttlSeconds: 3600 });
   * await cache.get('paris', 'geo');
   * ```
   */
  defineNamespace<M extends string>(name: M, policy: NamespacePolicy): CacheManager<N | M> {
    validateNamespace(name);
    const ttl = checkSeconds('ttlSeconds', policy.ttlSeconds, false);
    const grace = checkSeconds('graceSeconds', policy.graceSeconds ?? 0, true);
    this.state(name).policy = { ttlSeconds: ttl, graceSeconds: grace };
    return this;
  }

  /** The policy of a namespace, or `undefined` if unknown. */
  namespacePolicy(name: N): NamespaceConfig | undefined {
    return this.states.get(name)?.policy;
  }

  private state(namespace: string): NamespaceState {
    let s = this.states.get(namespace);
    if (s === undefined) {
      validateNamespace(namespace);
      s = new NamespaceState(namespace, undefined);
      this.states.set(namespace, s);
    }
    return s;
  }

  private policy(
    ns: NamespaceState,
    ttlSeconds: number | undefined,
    graceSeconds: number | undefined,
  ): Policy {
    const ttl = ttlSeconds ?? ns.policy?.ttlSeconds;
    if (ttl === undefined) {
      const known = [...this.states.values()]
        .filter((s) => s.policy !== undefined)
        .map((s) => s.name)
        .join(', ');
      throw new CacheError(
        'EARSHOT_CACHE_NAMESPACE_UNKNOWN',
        `Unknown cache namespace "${ns.name}" and no ttlSeconds given. Add it to the namespaces option (namespaces: { '${ns.name}': { ttlSeconds: 300 } }), call defineNamespace, or pass ttlSeconds. Known: ${known}.`,
      );
    }
    const t = ttlSeconds === undefined ? ttl : checkSeconds('ttlSeconds', ttl, false);
    const g =
      graceSeconds === undefined
        ? (ns.policy?.graceSeconds ?? 0)
        : checkSeconds('graceSeconds', graceSeconds, true);
    return { ttlMs: t * 1000, graceMs: g * 1000 };
  }

  private makeEntry(ns: NamespaceState, key: string, value: unknown, policy: Policy): CacheEntry {
    if (value === undefined) {
      throw new CacheError(
        'EARSHOT_CACHE_SERIALIZATION',
        `Cannot cache undefined (key "${key}" in namespace "${ns.name}"): undefined means "missing". Cache null to remember an absence.`,
      );
    }
    const size = measureValue(value, this.opts.strictValues);
    if (size > this.opts.maxValueBytes) {
      throw new CacheError(
        'EARSHOT_CACHE_VALUE_TOO_LARGE',
        `Value for key "${key}" in namespace "${ns.name}" is about ${size} bytes, over maxValueBytes (${this.opts.maxValueBytes}). Cache a smaller projection or raise maxValueBytes. Nothing was written.`,
      );
    }
    const freshUntil = this.now() + policy.ttlMs;
    return { value, freshUntil, staleUntil: freshUntil + policy.graceMs, size };
  }

  // ───────────────────────── reads ─────────────────────────

  /**
   * The fresh value of `key` in `namespace`, or `undefined`. Never rejects because a tier is
   * down (that is a miss); rejects on an invalid key or namespace.
   */
  async get<T = unknown>(key: string, namespace: N, options?: CacheGetOptions): Promise<T | undefined> {
    this.ensureOpen();
    const ns = this.state(namespace);
    validateKey(key);
    const r = this.tiers.lookup(ns, ns.prefix + key);
    const found = isPromiseLike(r) ? await r : r;
    if (found === undefined || (found.stale && options?.allowStale !== true)) {
      ns.misses++;
      return undefined;
    }
    if (found.stale) ns.stale++;
    else ns.hits++;
    return found.entry.value as T;
  }

  /** True if a fresh value is cached (not counted in hit statistics). */
  async has(key: string, namespace: N): Promise<boolean> {
    this.ensureOpen();
    const ns = this.state(namespace);
    validateKey(key);
    const r = this.tiers.lookup(ns, ns.prefix + key);
    const found = isPromiseLike(r) ? await r : r;
    return found !== undefined && !found.stale;
  }

  /**
   * Values of several keys of one namespace, in order (`undefined` for misses). Misses in L1
   * are fetched from L2 in one round trip (MGET, or pipelined GETs on a cluster).
   */
  async getMany<T = unknown>(
    keys: readonly string[],
    namespace: N,
    options?: CacheGetOptions,
  ): Promise<(T | undefined)[]> {
    this.ensureOpen();
    const ns = this.state(namespace);
    for (const k of keys) validateKey(k);
    const found = await this.tiers.lookupMany(
      ns,
      keys.map((k) => ns.prefix + k),
    );
    return found.map((f) => {
      if (f === undefined || (f.stale && options?.allowStale !== true)) {
        ns.misses++;
        return undefined;
      }
      if (f.stale) ns.stale++;
      else ns.hits++;
      return f.entry.value as T;
    });
  }

  // ───────────────────────── writes ─────────────────────────

  /**
   * Stores `value` under `key` in `namespace` with the namespace's TTL (or `ttlSeconds`).
   * Rejects, writing nothing, on an unknown namespace without `ttlSeconds`, an invalid TTL, an
   * unserializable value or one over `maxValueBytes`. A shared tier that is down is skipped.
   */
  async set<T>(key: string, value: T, namespace: N, options?: CacheSetOptions): Promise<void> {
    this.ensureOpen();
    const ns = this.state(namespace);
    validateKey(key);
    const policy = this.policy(ns, options?.ttlSeconds, options?.graceSeconds);
    const entry = this.makeEntry(ns, key, value, policy);
    await this.store(ns, [{ id: ns.prefix + key, key, entry }], undefined);
  }

  /** Stores several values of one namespace (one pipeline to Redis). All are validated before any is written. */
  async setMany(items: readonly CacheSetManyItem[], namespace: N, options?: CacheSetOptions): Promise<void> {
    this.ensureOpen();
    const ns = this.state(namespace);
    const prepared = items.map((item) => {
      validateKey(item.key);
      const policy = this.policy(
        ns,
        item.ttlSeconds ?? options?.ttlSeconds,
        item.graceSeconds ?? options?.graceSeconds,
      );
      return {
        id: ns.prefix + item.key,
        key: item.key,
        entry: this.makeEntry(ns, item.key, item.value, policy),
      };
    });
    if (prepared.length > 0) await this.store(ns, prepared, undefined);
  }

  /** The one write path: supersede loads of these keys (other than `from`), write the tiers, publish. */
  private async store(ns: NamespaceState, items: WriteItem[], from: Job<unknown> | undefined): Promise<void> {
    this.flights.supersedeWrites(items, from);
    const sharedOk = await this.tiers.write(ns, items);
    ns.sets += items.length;
    if (sharedOk)
      this.invalidation.publish(
        ns,
        items.map((i) => i.key),
      );
  }

  /**
   * Deletes `key` from every tier and tells other instances to drop their L1 copy. Resolves to
   * whether a fresh or stale entry existed. Rejects with `CacheError(EARSHOT_CACHE_UNAVAILABLE)`
   * if the shared tier could not be reached (the local copy is gone, the shared one may not be).
   */
  async delete(key: string, namespace: N): Promise<boolean> {
    this.ensureOpen();
    const ns = this.state(namespace);
    validateKey(key);
    const id = ns.prefix + key;
    ns.deletes++;
    this.flights.supersede(id);
    const existed = await this.tiers.delete(ns, id, key);
    this.invalidation.publish(ns, [key]);
    return existed;
  }

  /**
   * Deletes every entry of `namespace` in every tier (Redis: SCAN + UNLINK on every master,
   * never KEYS or FLUSH) and tells other instances to drop theirs. Resolves to the number of
   * shared entries deleted when known. Rejects with `CacheError(EARSHOT_CACHE_UNAVAILABLE)` if
   * the shared tier could not be reached.
   */
  async invalidateNamespace(namespace: N): Promise<number | undefined> {
    this.ensureOpen();
    const ns = this.state(namespace);
    this.flights.supersedeNamespace(ns.prefix);
    const count = await this.tiers.clearNamespace(ns);
    this.invalidation.publish(ns, undefined);
    return count;
  }

  // ───────────────────────── loading ─────────────────────────

  /**
   * The cached value of `key`, or the loader's result (cached, then returned). Concurrent
   * callers of one missing key share one loader run (single-flight; the first counts as a
   * miss, the others as `joined`); with a Redis L2 one process in the fleet runs it
   * (distributed lock, waiters notified over the bus).
   *
   * Inside the grace period a stale value is returned at once while one background refresh
   * runs; if that refresh fails the stale value stays and the failure is counted (fail-safe).
   * Past the grace period nothing stale is served.
   *
   * The loader's own error propagates unchanged; a non-Error throw or an `undefined` result
   * becomes `CacheError(EARSHOT_CACHE_LOADER_FAILED)`; past `timeoutMs` callers get a
   * `TimeoutError` and the loader's signal aborts. Return `null` to cache an absence for
   * `negativeTtlSeconds`.
   *
   * @example
   * ```ts
   * const load = await cache.getOrSet(`load:${id}`, 'company_api:load', async ({ signal }) => {
   *   try { return await api.getLoad(id, { signal }); }
   *   catch (e) { if (e instanceof NotFoundError) return null; throw e; }  // cache "not found" briefly
   * }, { timeoutMs: 2000, negativeTtlSeconds: 15 });
   * ```
   */
  async getOrSet<T>(
    key: string,
    namespace: N,
    loader: CacheLoader<T>,
    options: GetOrSetOptions = {},
  ): Promise<T> {
    this.ensureOpen();
    const ns = this.state(namespace);
    validateKey(key);
    if (typeof loader !== 'function') throw new InvalidArgumentError('getOrSet needs a loader function.');
    const policy = this.policy(ns, options.ttlSeconds, options.graceSeconds);
    const timeoutMs = options.timeoutMs ?? this.opts.loaderTimeoutMs;
    if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
      throw new InvalidArgumentError(`timeoutMs must be a positive number of ms, got ${timeoutMs}.`);
    }
    if (options.negativeTtlSeconds !== undefined)
      checkSeconds('negativeTtlSeconds', options.negativeTtlSeconds, false);
    if (options.signal?.aborted === true) {
      throw new AbortedError(`getOrSet("${key}") was aborted by its caller.`, {
        cause: options.signal.reason,
      });
    }
    const id = ns.prefix + key;
    const job: Job<T> = {
      ns,
      key,
      id,
      loader,
      policy,
      options,
      timeoutMs,
      stale: undefined,
      superseded: false,
    };

    if (options.forceRefresh !== true) {
      const r = this.tiers.lookup(ns, id);
      const found = isPromiseLike(r) ? await r : r;
      if (found !== undefined && !found.stale) {
        ns.hits++;
        return found.entry.value as T;
      }
      if (found !== undefined) {
        ns.stale++;
        job.stale = found.entry as CacheEntry<T>;
        if (options.staleWhileRevalidate !== false) {
          this.flights.refreshInBackground(job);
          return found.entry.value as T;
        }
        try {
          return await this.flights.join(job);
        } catch (err) {
          // Fail-safe: the refresh failed (already counted), the stale value is still good.
          this.report(err, { operation: 'refresh', namespace: ns.name });
          return found.entry.value as T;
        }
      }
    }
    if (this.flights.has(id)) ns.joined++;
    else ns.misses++;
    return this.flights.join(job);
  }

  /**
   * Returns `fn` wrapped so that calls go through `getOrSet`, keyed by `options.key(...args)`
   * (default: `stableKey(name, args)`). The wrapper has the same type as `fn`.
   *
   * @example
   * ```ts
   * const getLoad = cache.wrap(api.getLoad.bind(api), { namespace: 'company_api:load', key: (id) => id });
   * ```
   */
  wrap<F extends (...args: never[]) => Promise<unknown>>(fn: F, options: WrapOptions<Parameters<F>, N>): F {
    const { namespace, key, name, ...rest } = options;
    const ns = this.state(namespace);
    this.policy(ns, rest.ttlSeconds, rest.graceSeconds); // fail at wrap time, not at the first call
    const label = name ?? fn.name;
    if (key === undefined && label === '') {
      throw new InvalidArgumentError(
        'cache.wrap needs options.key or options.name for an anonymous function.',
      );
    }
    const manager = this;
    const wrapped = function (this: unknown, ...args: Parameters<F>): Promise<unknown> {
      let k: string;
      try {
        k = key === undefined ? stableKey(label, args) : key.apply(this, args);
      } catch (err) {
        return Promise.reject(err);
      }
      return manager.getOrSet(k, namespace, () => fn.apply(this, args), rest);
    };
    Object.defineProperty(wrapped, 'name', { value: fn.name, configurable: true });
    return wrapped as unknown as F;
  }

  // ───────────────────────── stats ─────────────────────────

  /** Per-namespace counters and hit rates, their total, and tier health. */
  stats(): CacheStats {
    const namespaces: Record<string, CacheNamespaceStats> = {};
    const total = emptyCounters();
    for (const s of this.states.values()) {
      if (!s.active()) continue;
      namespaces[s.name] = s.snapshot();
      s.addTo(total);
    }
    return { namespaces, total: toStats(total), tiers: this.tiers.health(), inflight: this.flights.size };
  }

  /** Zeroes the counters of `stats()`. */
  resetStats(): void {
    for (const s of this.states.values()) s.reset();
  }

  private report(error: unknown, info: CacheErrorInfo): void {
    if (this.onError === undefined) return;
    try {
      this.onError(error, info);
    } catch {
      // A throwing onError must not break the cache.
    }
  }
}

/**
 * Creates a {@link CacheManager}. With no options: a memory-only cache with the default
 * namespaces. Add Redis with `l2: createRedisTier({ url })` from `earshot/redis`.
 *
 * Given a literal `namespaces` object, the manager's namespace parameters are typed with its
 * names plus the defaults: a typo is a compile error. Namespaces read at runtime (a config
 * file) give a manager typed with `string`.
 *
 * @example
 * ```ts
 * import { createCacheManager } from 'earshot';
 * import { createRedisTier } from 'earshot/redis';
 * const cache = createCacheManager({
 *   namespaces: { weather: { ttlSeconds: 60 } },
 *   l2: createRedisTier({ url: process.env.REDIS_URL }),
 * });
 * await cache.get('paris', 'weather'); // 'wether' would not compile
 * ```
 */
export function createCacheManager<
  NS extends Record<string, NamespacePolicy> = Record<string, NamespacePolicy>,
>(options: CacheManagerOptions & { namespaces?: NS } = {}): CacheManager<NamespaceNames<NS>> {
  return new CacheManager<NamespaceNames<NS>>(options);
}
