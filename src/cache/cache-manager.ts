import { randomUUID } from 'node:crypto';
import type { NamespaceConfig } from '../config/schema.js';
import { AbortedError, CacheError, type CacheErrorCode, InvalidArgumentError } from '../errors.js';
import { raceSignal } from '../internal/abort.js';
import { type PerformanceMonitor, performanceMonitor } from '../perf/index.js';
import type {
  CacheGetOptions,
  CacheLoader,
  CacheSetManyItem,
  CacheSetOptions,
  GetOrSetOptions,
  LoaderContext,
  WrapOptions,
} from './call-options.js';
import { validateKey, validateNamespace } from './keys.js';
import { checkSeconds, type Job, type Policy, runLoader } from './loader.js';
import { MemoryTier } from './memory-tier.js';
import {
  type CacheErrorInfo,
  type CacheManagerOptions,
  parseCacheManagerOptions,
  type ResolvedCacheManagerOptions,
} from './options.js';
import { stableKey } from './stable-key.js';
import {
  type CacheNamespaceStats,
  type CacheStats,
  emptyCounters,
  NamespaceState,
  toStats,
} from './stats.js';
import {
  type Awaitable,
  type CacheEntry,
  type CacheTier,
  type InvalidationMessage,
  isPromiseLike,
} from './tier.js';
import { measureValue } from './value-size.js';

interface Found {
  entry: CacheEntry;
  stale: boolean;
}

const CALLER_ERRORS: ReadonlySet<CacheErrorCode> = new Set<CacheErrorCode>([
  'EARSHOT_CACHE_KEY_INVALID',
  'EARSHOT_CACHE_NAMESPACE_UNKNOWN',
  'EARSHOT_CACHE_TTL_INVALID',
  'EARSHOT_CACHE_VALUE_TOO_LARGE',
  'EARSHOT_CACHE_SERIALIZATION',
]);

/** True for errors caused by the caller's input (they propagate instead of degrading to a miss). */
function isCallerError(err: unknown): boolean {
  return err instanceof CacheError && CALLER_ERRORS.has(err.code as CacheErrorCode);
}

const perfNow = (): number => performance.now();

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
 * @example
 * ```ts
 * const cache = createCacheManager({ namespaces: { weather: { ttlSeconds: 60, graceSeconds: 300 } } });
 * await cache.connect();
 * const load = await cache.getOrSet('2314', 'company_api:load', ({ signal }) => api.getLoad('2314', { signal }));
 * ```
 */
export class CacheManager {
  /** Identifies this instance on the invalidation bus. */
  readonly instanceId: string;
  private readonly l1: CacheTier | undefined;
  private readonly l2: CacheTier | undefined;
  private readonly monitor: PerformanceMonitor | undefined;
  private readonly now: () => number;
  private readonly onError: ((error: unknown, info: CacheErrorInfo) => void) | undefined;
  private readonly opts: ResolvedCacheManagerOptions;
  private readonly states = new Map<string, NamespaceState>();
  private readonly inflight = new Map<string, { promise: Promise<unknown>; job: Job<unknown> }>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private busEpoch = 0;
  private connecting: Promise<void> | undefined;
  private unsubscribe: (() => Promise<void>) | undefined;
  private closed = false;

  constructor(options: CacheManagerOptions = {}) {
    this.opts = parseCacheManagerOptions(options);
    if (options.l2 === undefined && options.redis !== undefined) {
      throw new InvalidArgumentError(
        "createCacheManager cannot open Redis itself (the core never imports ioredis). Pass l2: createRedisTier(config.cache.redis) from 'earshot/redis'.",
      );
    }
    this.now = options.now ?? Date.now;
    this.l1 =
      options.l1 === false
        ? undefined
        : (options.l1 ??
          new MemoryTier({
            maxEntries: this.opts.memory.maxEntries,
            maxBytes: this.opts.memory.maxBytes,
            valueMode: this.opts.memory.valueMode,
            now: this.now,
          }));
    this.l2 = options.l2;
    if (this.l1 === undefined && this.l2 === undefined) {
      throw new InvalidArgumentError('A cache needs at least one tier: keep the default l1 or pass l2.');
    }
    if (this.l1 !== undefined && this.l1 === this.l2)
      throw new InvalidArgumentError('l1 and l2 must be different tiers.');
    this.monitor = options.monitor === false ? undefined : (options.monitor ?? performanceMonitor);
    this.onError = options.onError;
    this.instanceId = options.instanceId ?? randomUUID();
    for (const [name, policy] of Object.entries(this.opts.namespaces)) {
      this.states.set(name, new NamespaceState(name, policy));
    }
  }

  // ───────────────────────── lifecycle ─────────────────────────

  /**
   * Connects the tiers and subscribes to the invalidation bus. Resolves (within the tiers'
   * connect deadlines) even when Redis is down: the cache then runs on L1 and retries Redis
   * in the background (see `stats().tiers`). Calling it is optional (the first operation
   * starts it) but lets startup wait for Redis.
   */
  connect(): Promise<void> {
    this.connecting ??= this.doConnect();
    return this.connecting;
  }

  private async doConnect(): Promise<void> {
    for (const tier of [this.l1, this.l2]) {
      if (tier?.connect === undefined) continue;
      try {
        await tier.connect();
      } catch (err) {
        this.report(err, { operation: 'connect', tier: tier.name });
      }
    }
    const bus = this.l2?.bus;
    if (bus !== undefined) {
      try {
        this.unsubscribe = await bus.subscribe({
          onMessage: (m) => this.onBusMessage(m),
          onReconnect: () => this.onBusReconnect(),
        });
      } catch (err) {
        this.report(err, { operation: 'subscribe', tier: this.l2!.name });
      }
    }
  }

  /** Unsubscribes and closes the tiers. The manager cannot be used afterwards. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.connecting !== undefined) await this.connecting.catch(() => undefined);
    if (this.unsubscribe !== undefined)
      await this.unsubscribe().catch((err) => this.report(err, { operation: 'subscribe' }));
    for (const wake of [...this.waiters.values()].flatMap((s) => [...s])) wake();
    await this.l1?.close?.();
    await this.l2?.close?.();
  }

  private ensureOpen(): void {
    if (this.closed) {
      throw new CacheError('EARSHOT_CACHE_UNAVAILABLE', 'This CacheManager was closed; create a new one.');
    }
    if (this.connecting === undefined) void this.connect();
  }

  // ───────────────────────── namespaces ─────────────────────────

  /** Adds or replaces a namespace policy at runtime. */
  defineNamespace(name: string, policy: { ttlSeconds: number; graceSeconds?: number }): void {
    validateNamespace(name);
    const ttl = checkSeconds('ttlSeconds', policy.ttlSeconds, false);
    const grace = checkSeconds('graceSeconds', policy.graceSeconds ?? 0, true);
    const state = this.state(name);
    state.policy = { ttlSeconds: ttl, graceSeconds: grace };
  }

  /** The policy of a namespace, or `undefined` if unknown. */
  namespacePolicy(name: string): NamespaceConfig | undefined {
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
  async get<T = unknown>(key: string, namespace: string, options?: CacheGetOptions): Promise<T | undefined> {
    this.ensureOpen();
    const ns = this.state(namespace);
    validateKey(key);
    const r = this.lookup(ns, ns.prefix + key);
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
  async has(key: string, namespace: string): Promise<boolean> {
    this.ensureOpen();
    const ns = this.state(namespace);
    validateKey(key);
    const r = this.lookup(ns, ns.prefix + key);
    const found = isPromiseLike(r) ? await r : r;
    return found !== undefined && !found.stale;
  }

  /**
   * Values of several keys of one namespace, in order (`undefined` for misses). Misses in L1
   * are fetched from L2 in one round trip (MGET, or pipelined GETs on a cluster).
   */
  async getMany<T = unknown>(
    keys: readonly string[],
    namespace: string,
    options?: CacheGetOptions,
  ): Promise<(T | undefined)[]> {
    this.ensureOpen();
    const ns = this.state(namespace);
    for (const k of keys) validateKey(k);
    const out = new Array<T | undefined>(keys.length).fill(undefined);
    const best = new Array<Found | undefined>(keys.length).fill(undefined);
    let pending: number[] = keys.map((_, i) => i);
    const tiers = [this.l1, this.l2];
    for (let t = 0; t < tiers.length && pending.length > 0; t++) {
      const tier = tiers[t];
      if (tier === undefined) continue;
      const ids = pending.map((i) => ns.prefix + keys[i]!);
      const epoch = this.busEpoch;
      const t0 = this.monitor === undefined ? 0 : perfNow();
      let entries: (CacheEntry | undefined)[];
      try {
        const r = tier.getMany(ids, ns.name);
        entries = isPromiseLike(r) ? await r : r;
      } catch (err) {
        this.tierFailed(ns, tier, 'read', err, t0);
        continue;
      }
      const now = this.now();
      const still: number[] = [];
      let allFresh = true;
      for (let j = 0; j < pending.length; j++) {
        const i = pending[j]!;
        const e = entries[j];
        if (e !== undefined && now < e.freshUntil) {
          best[i] = { entry: e, stale: false };
          if (t === 1 && this.l1 !== undefined && epoch === this.busEpoch) this.fillL1(ns, ids[j]!, e);
          continue;
        }
        allFresh = false;
        if (e !== undefined && now < e.staleUntil) {
          const prev = best[i];
          if (prev === undefined || e.staleUntil > prev.entry.staleUntil) best[i] = { entry: e, stale: true };
        }
        still.push(i);
      }
      this.recordRead(ns, tier.name, allFresh ? 'hit' : 'miss', t0);
      pending = still;
    }
    for (let i = 0; i < keys.length; i++) {
      const f = best[i];
      if (f === undefined || (f.stale && options?.allowStale !== true)) {
        ns.misses++;
      } else {
        if (f.stale) ns.stale++;
        else ns.hits++;
        out[i] = f.entry.value as T;
      }
    }
    return out;
  }

  /**
   * Finds the best entry for `id`: fresh from L1, else fresh from L2 (filling L1 with the
   * remaining TTL), else the freshest stale one still in grace, else `undefined`.
   */
  private lookup(ns: NamespaceState, id: string): Found | undefined | Promise<Found | undefined> {
    // Sync all the way for a sync L1 hit: no promise is created until a tier needs one.
    const first = this.l1 === undefined ? undefined : this.lookupL1(ns, id);
    if (isPromiseLike(first)) {
      return first.then((f) =>
        this.l2 === undefined || (f !== undefined && !f.stale) ? f : this.lookupL2(ns, id, f),
      );
    }
    if (this.l2 === undefined || (first !== undefined && !first.stale)) return first;
    return this.lookupL2(ns, id, first);
  }

  private lookupL1(ns: NamespaceState, id: string): Found | undefined | Promise<Found | undefined> {
    const l1 = this.l1!;
    const t0 = this.monitor === undefined ? 0 : perfNow();
    let r: Awaitable<CacheEntry | undefined>;
    try {
      r = l1.get(id, ns.name);
    } catch (err) {
      this.tierFailed(ns, l1, 'read', err, t0);
      return undefined;
    }
    if (isPromiseLike(r)) {
      return r.then(
        (e) => this.classifyL1(ns, l1, id, e, t0),
        (err: unknown) => {
          this.tierFailed(ns, l1, 'read', err, t0);
          return undefined;
        },
      );
    }
    return this.classifyL1(ns, l1, id, r, t0);
  }

  private classifyL1(
    ns: NamespaceState,
    l1: CacheTier,
    id: string,
    e: CacheEntry | undefined,
    t0: number,
  ): Found | undefined {
    if (e === undefined) {
      this.recordRead(ns, l1.name, 'miss', t0);
      return undefined;
    }
    const now = this.now();
    if (now < e.freshUntil) {
      this.recordRead(ns, l1.name, 'hit', t0);
      return { entry: e, stale: false };
    }
    if (now < e.staleUntil) {
      this.recordRead(ns, l1.name, 'stale', t0);
      return { entry: e, stale: true };
    }
    this.recordRead(ns, l1.name, 'miss', t0);
    try {
      void l1.delete(id, ns.name); // past grace: free the slot now
    } catch {
      // best effort
    }
    return undefined;
  }

  private async lookupL2(
    ns: NamespaceState,
    id: string,
    stale: Found | undefined,
  ): Promise<Found | undefined> {
    const l1 = this.l1;
    const l2 = this.l2!;
    const epoch = this.busEpoch;
    const t0 = this.monitor === undefined ? 0 : perfNow();
    let e: CacheEntry | undefined;
    try {
      const r = l2.get(id, ns.name);
      e = isPromiseLike(r) ? await r : r;
    } catch (err) {
      this.tierFailed(ns, l2, 'read', err, t0);
      return stale;
    }
    if (e === undefined) {
      this.recordRead(ns, l2.name, 'miss', t0);
      return stale;
    }
    const now = this.now();
    if (now < e.freshUntil) {
      this.recordRead(ns, l2.name, 'hit', t0);
      // A bus message during the read may concern this key: then our copy may be old.
      if (l1 !== undefined && epoch === this.busEpoch) this.fillL1(ns, id, e);
      return { entry: e, stale: false };
    }
    if (now < e.staleUntil) {
      this.recordRead(ns, l2.name, 'stale', t0);
      if (stale === undefined || e.staleUntil > stale.entry.staleUntil) {
        stale = { entry: e, stale: true };
        if (l1 !== undefined && epoch === this.busEpoch) this.fillL1(ns, id, e);
      }
    } else {
      this.recordRead(ns, l2.name, 'miss', t0);
    }
    return stale;
  }

  private fillL1(ns: NamespaceState, id: string, e: CacheEntry): void {
    try {
      const r = this.l1!.set(id, ns.name, e);
      if (isPromiseLike(r))
        r.catch((err: unknown) =>
          this.report(err, { operation: 'write', namespace: ns.name, tier: this.l1!.name }),
        );
    } catch (err) {
      this.report(err, { operation: 'write', namespace: ns.name, tier: this.l1!.name });
    }
  }

  // ───────────────────────── writes ─────────────────────────

  /**
   * Stores `value` under `key` in `namespace` with the namespace's TTL (or `ttlSeconds`).
   * Rejects, writing nothing, on an unknown namespace without `ttlSeconds`, an invalid TTL, an
   * unserializable value or one over `maxValueBytes`. A shared tier that is down is skipped.
   */
  async set<T>(key: string, value: T, namespace: string, options?: CacheSetOptions): Promise<void> {
    this.ensureOpen();
    const ns = this.state(namespace);
    validateKey(key);
    const policy = this.policy(ns, options?.ttlSeconds, options?.graceSeconds);
    const entry = this.makeEntry(ns, key, value, policy);
    await this.write(ns, [{ id: ns.prefix + key, key, entry }]);
  }

  /** Stores several values of one namespace (one pipeline to Redis). All are validated before any is written. */
  async setMany(
    items: readonly CacheSetManyItem[],
    namespace: string,
    options?: CacheSetOptions,
  ): Promise<void> {
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
    if (prepared.length > 0) await this.write(ns, prepared);
  }

  private async write(
    ns: NamespaceState,
    items: { id: string; key: string; entry: CacheEntry }[],
    from?: Job<unknown>,
  ): Promise<void> {
    if (this.inflight.size > 0) {
      for (const item of items) {
        const f = this.inflight.get(item.id);
        if (f !== undefined && f.job !== from) f.job.superseded = true;
      }
    }
    let sharedOk = false;
    // L2 first: it serializes, and a value it rejects must not be left in L1 either.
    const l2 = this.l2;
    if (l2 !== undefined) {
      const t0 = this.monitor === undefined ? 0 : perfNow();
      try {
        const r =
          items.length === 1 ? l2.set(items[0]!.id, ns.name, items[0]!.entry) : l2.setMany(items, ns.name);
        if (isPromiseLike(r)) await r;
        this.recordWrite(ns, l2.name, 'ok', t0);
        sharedOk = true;
      } catch (err) {
        if (isCallerError(err)) {
          this.recordWrite(ns, l2.name, 'error', t0);
          throw err;
        }
        this.tierFailed(ns, l2, 'write', err, t0);
      }
    }
    const l1 = this.l1;
    if (l1 !== undefined) {
      const t0 = this.monitor === undefined ? 0 : perfNow();
      try {
        const r =
          items.length === 1 ? l1.set(items[0]!.id, ns.name, items[0]!.entry) : l1.setMany(items, ns.name);
        if (isPromiseLike(r)) await r;
        this.recordWrite(ns, l1.name, 'ok', t0);
      } catch (err) {
        if (isCallerError(err)) {
          this.recordWrite(ns, l1.name, 'error', t0);
          throw err;
        }
        this.tierFailed(ns, l1, 'write', err, t0);
      }
    }
    ns.sets += items.length;
    if (sharedOk)
      this.publish(
        ns,
        items.map((i) => i.key),
      );
  }

  /**
   * Deletes `key` from every tier and tells other instances to drop their L1 copy. Resolves to
   * whether a fresh or stale entry existed. Rejects with `CacheError(EARSHOT_CACHE_UNAVAILABLE)`
   * if the shared tier could not be reached (the local copy is gone, the shared one may not be).
   */
  async delete(key: string, namespace: string): Promise<boolean> {
    this.ensureOpen();
    const ns = this.state(namespace);
    validateKey(key);
    const id = ns.prefix + key;
    ns.deletes++;
    this.supersede(id);
    let existed = false;
    if (this.l1 !== undefined) {
      const r = this.l1.delete(id, ns.name);
      existed = isPromiseLike(r) ? await r : r;
    }
    if (this.l2 !== undefined) {
      const t0 = this.monitor === undefined ? 0 : perfNow();
      try {
        const r = this.l2.delete(id, ns.name);
        existed = (isPromiseLike(r) ? await r : r) || existed;
        this.recordWrite(ns, this.l2.name, 'ok', t0);
      } catch (err) {
        this.tierFailed(ns, this.l2, 'delete', err, t0);
        throw new CacheError(
          'EARSHOT_CACHE_UNAVAILABLE',
          `Could not delete "${key}" from the ${this.l2.name} tier of namespace "${ns.name}"; other instances may still serve it until its TTL. Retry, or invalidate once the tier is back.`,
          { cause: err },
        );
      }
      this.publish(ns, [key]);
    }
    return existed;
  }

  /**
   * Deletes every entry of `namespace` in every tier (Redis: SCAN + UNLINK on every master,
   * never KEYS or FLUSH) and tells other instances to drop theirs. Resolves to the number of
   * shared entries deleted when known. Rejects with `CacheError(EARSHOT_CACHE_UNAVAILABLE)` if
   * the shared tier could not be reached.
   */
  async invalidateNamespace(namespace: string): Promise<number | undefined> {
    this.ensureOpen();
    const ns = this.state(namespace);
    this.supersedeNamespace(ns.prefix);
    let count: number | undefined;
    if (this.l1 !== undefined) {
      const r = this.l1.clearNamespace(ns.name);
      count = isPromiseLike(r) ? await r : r;
    }
    if (this.l2 !== undefined) {
      const t0 = this.monitor === undefined ? 0 : perfNow();
      try {
        const r = this.l2.clearNamespace(ns.name);
        count = isPromiseLike(r) ? await r : r;
        this.recordWrite(ns, this.l2.name, 'ok', t0);
      } catch (err) {
        this.tierFailed(ns, this.l2, 'invalidate', err, t0);
        throw new CacheError(
          'EARSHOT_CACHE_UNAVAILABLE',
          `Could not invalidate namespace "${ns.name}" in the ${this.l2.name} tier; other instances may serve old entries until their TTL. Retry once the tier is back.`,
          { cause: err },
        );
      }
      this.publish(ns, undefined);
    }
    return count;
  }

  // ───────────────────────── loading ─────────────────────────

  /**
   * The cached value of `key`, or the loader's result (cached, then returned). Concurrent
   * callers of one missing key share one loader run (single-flight); with a Redis L2 one
   * process in the fleet runs it (distributed lock, waiters notified over the bus).
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
    namespace: string,
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
      const r = this.lookup(ns, id);
      const found = isPromiseLike(r) ? await r : r;
      if (found !== undefined && !found.stale) {
        ns.hits++;
        return found.entry.value as T;
      }
      if (found !== undefined) {
        ns.stale++;
        job.stale = found.entry as CacheEntry<T>;
        if (options.staleWhileRevalidate !== false) {
          this.refreshInBackground(job);
          return found.entry.value as T;
        }
        try {
          return await this.join(job);
        } catch (err) {
          // Fail-safe: the refresh failed (already counted), the stale value is still good.
          this.report(err, { operation: 'refresh', namespace: ns.name });
          return found.entry.value as T;
        }
      }
    }
    ns.misses++;
    return this.join(job);
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
  wrap<F extends (...args: never[]) => Promise<unknown>>(fn: F, options: WrapOptions<Parameters<F>>): F {
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

  private join<T>(job: Job<T>): Promise<T> {
    let flight = this.inflight.get(job.id)?.promise as Promise<T> | undefined;
    if (flight === undefined) {
      const started: Promise<T> = this.load(job, false).finally(() => {
        if (this.inflight.get(job.id)?.promise === started) this.inflight.delete(job.id);
      });
      flight = started;
      this.inflight.set(job.id, { promise: flight, job: job as Job<unknown> });
    }
    const signal = job.options.signal;
    if (signal === undefined) return flight;
    // Leaving must not cancel the load for the other callers: only this caller stops waiting.
    return raceSignal(
      flight,
      signal,
      () => new AbortedError(`getOrSet("${job.key}") was aborted by its caller.`, { cause: signal.reason }),
    );
  }

  private refreshInBackground<T>(job: Job<T>): void {
    if (this.inflight.has(job.id)) return;
    const started: Promise<T> = this.load(job, true).finally(() => {
      if (this.inflight.get(job.id)?.promise === started) this.inflight.delete(job.id);
    });
    this.inflight.set(job.id, { promise: started, job: job as Job<unknown> });
    started.catch((err: unknown) => this.report(err, { operation: 'refresh', namespace: job.ns.name }));
  }

  /** A load whose key changed meanwhile must not store its (older) result over the change. */
  private supersede(id: string): void {
    const f = this.inflight.get(id);
    if (f !== undefined) f.job.superseded = true;
  }

  private supersedeNamespace(prefix: string | undefined): void {
    for (const [id, f] of this.inflight)
      if (prefix === undefined || id.startsWith(prefix)) f.job.superseded = true;
  }

  /** Runs the loader once for the fleet when the shared tier has a lock, else once for this process. */
  private async load<T>(job: Job<T>, background: boolean): Promise<T> {
    const l2 = this.l2;
    const lock = job.options.distributed === false ? undefined : l2?.lock;
    if (l2 === undefined || lock === undefined) return this.runAndStore(job);
    const ttlMs = Math.max(this.opts.lock.ttlMs, (job.timeoutMs ?? 0) + 1000);
    let token: string | undefined;
    try {
      token = await lock.acquire(job.id, ttlMs);
    } catch (err) {
      // Shared tier down: fall back to this process's single-flight.
      this.report(err, { operation: 'lock', namespace: job.ns.name, tier: l2.name });
      return this.runAndStore(job);
    }
    if (token !== undefined) return this.loadHoldingLock(job, lock, token);
    if (background) return job.stale!.value; // another process is refreshing it
    // Another process is loading: wait for its write (bus message or poll), take over if its lock lapses.
    const deadline = perfNow() + ttlMs;
    while (perfNow() < deadline && !this.closed) {
      await this.waitForKey(job.id, this.opts.lock.pollMs);
      const e = await this.readShared(job.ns, job.id);
      if (e !== undefined) return e.value as T;
      try {
        token = await lock.acquire(job.id, ttlMs);
      } catch (err) {
        this.report(err, { operation: 'lock', namespace: job.ns.name, tier: l2.name });
        return this.runAndStore(job);
      }
      if (token !== undefined) return this.loadHoldingLock(job, lock, token);
    }
    return this.runAndStore(job);
  }

  private async loadHoldingLock<T>(
    job: Job<T>,
    lock: NonNullable<CacheTier['lock']>,
    token: string,
  ): Promise<T> {
    try {
      // Someone may have filled it between our miss and our lock.
      if (job.options.forceRefresh !== true) {
        const e = await this.readShared(job.ns, job.id);
        if (e !== undefined) return e.value as T;
      }
      return await this.runAndStore(job);
    } finally {
      lock
        .release(job.id, token)
        .catch((err: unknown) => this.report(err, { operation: 'lock', namespace: job.ns.name }));
    }
  }

  /** A fresh entry from L2 (filling L1), or `undefined` (miss or tier error). */
  private async readShared(ns: NamespaceState, id: string): Promise<CacheEntry | undefined> {
    const l2 = this.l2!;
    const epoch = this.busEpoch;
    const t0 = this.monitor === undefined ? 0 : perfNow();
    let e: CacheEntry | undefined;
    try {
      const r = l2.get(id, ns.name);
      e = isPromiseLike(r) ? await r : r;
    } catch (err) {
      this.tierFailed(ns, l2, 'read', err, t0);
      return undefined;
    }
    if (e === undefined || this.now() >= e.freshUntil) {
      this.recordRead(ns, l2.name, 'miss', t0);
      return undefined;
    }
    this.recordRead(ns, l2.name, 'hit', t0);
    if (this.l1 !== undefined && epoch === this.busEpoch) this.fillL1(ns, id, e);
    return e;
  }

  private async runAndStore<T>(job: Job<T>): Promise<T> {
    const { ns, key } = job;
    let policy = job.policy;
    let skip = false;
    const controller = new AbortController();
    const ctx: LoaderContext = {
      signal: controller.signal,
      namespace: ns.name,
      key,
      stale: job.stale?.value,
      setTtl(ttlSeconds: number, graceSeconds?: number) {
        policy = {
          ttlMs: checkSeconds('ttlSeconds', ttlSeconds, false) * 1000,
          graceMs:
            graceSeconds === undefined
              ? policy.graceMs
              : checkSeconds('graceSeconds', graceSeconds, true) * 1000,
        };
      },
      skip() {
        skip = true;
      },
    };
    ns.loads++;
    const t0 = this.monitor === undefined ? 0 : perfNow();
    let value: T;
    try {
      value = await runLoader(job, ctx, controller);
      if (value === undefined) {
        throw new CacheError(
          'EARSHOT_CACHE_LOADER_FAILED',
          `The loader for key "${key}" in namespace "${ns.name}" returned undefined. Return null to cache an absence, or throw.`,
        );
      }
    } catch (err) {
      ns.errors++;
      this.sample(ns, 'cache_load', 'loader', 'error', t0);
      throw err;
    }
    this.sample(ns, 'cache_load', 'loader', 'ok', t0);
    if (value === null && job.options.negativeTtlSeconds !== undefined) {
      policy = { ttlMs: job.options.negativeTtlSeconds * 1000, graceMs: 0 };
    }
    const entry = this.makeEntry(ns, key, value, policy); // validated even when not stored
    if (!skip && !job.superseded) await this.write(ns, [{ id: job.id, key, entry }], job);
    return value;
  }

  private waitForKey(id: string, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let set = this.waiters.get(id);
      if (set === undefined) {
        set = new Set();
        this.waiters.set(id, set);
      }
      const waiters = set;
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0 && this.waiters.get(id) === waiters) this.waiters.delete(id);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waiters.add(done);
    });
  }

  // ───────────────────────── bus ─────────────────────────

  private publish(ns: NamespaceState, keys: string[] | undefined): void {
    const bus = this.l2?.bus;
    if (bus === undefined) return;
    const message: InvalidationMessage =
      keys === undefined
        ? { source: this.instanceId, namespace: ns.name }
        : { source: this.instanceId, namespace: ns.name, keys };
    bus
      .publish(message)
      .catch((err: unknown) =>
        this.report(err, { operation: 'publish', namespace: ns.name, tier: this.l2!.name }),
      );
  }

  private onBusMessage(m: InvalidationMessage): void {
    if (m.source === this.instanceId || typeof m.namespace !== 'string') return;
    this.busEpoch++;
    let ns: NamespaceState;
    try {
      ns = this.state(m.namespace);
    } catch {
      return; // not a namespace we could have cached
    }
    const l1 = this.l1;
    if (m.keys === undefined) {
      this.supersedeNamespace(ns.prefix);
      if (l1 !== undefined) void l1.clearNamespace(ns.name);
      for (const [id, set] of [...this.waiters])
        if (id.startsWith(ns.prefix)) for (const wake of [...set]) wake();
      return;
    }
    for (const key of m.keys) {
      if (typeof key !== 'string') continue;
      const id = ns.prefix + key;
      this.supersede(id);
      if (l1 !== undefined) void l1.delete(id, ns.name);
      const set = this.waiters.get(id);
      if (set !== undefined) for (const wake of [...set]) wake();
    }
  }

  private onBusReconnect(): void {
    // We cannot know what was published while we were away: drop every local copy.
    this.busEpoch++;
    this.supersedeNamespace(undefined);
    const l1 = this.l1;
    if (l1 === undefined) return;
    if (l1.clear !== undefined) void l1.clear();
    else for (const ns of this.states.values()) void l1.clearNamespace(ns.name);
  }

  // ───────────────────────── stats & metrics ─────────────────────────

  /** Per-namespace counters and hit rates, their total, and tier health. */
  stats(): CacheStats {
    const namespaces: Record<string, CacheNamespaceStats> = {};
    const total = emptyCounters();
    for (const s of this.states.values()) {
      if (s.hits + s.misses + s.stale + s.errors + s.sets + s.deletes + s.loads === 0) continue;
      namespaces[s.name] = s.snapshot();
      total.hits += s.hits;
      total.misses += s.misses;
      total.stale += s.stale;
      total.errors += s.errors;
      total.sets += s.sets;
      total.deletes += s.deletes;
      total.loads += s.loads;
    }
    const tiers: CacheStats['tiers'] = {};
    if (this.l1 !== undefined) tiers.l1 = { name: this.l1.name, ...(this.l1.health?.() ?? { state: 'up' }) };
    if (this.l2 !== undefined) tiers.l2 = { name: this.l2.name, ...(this.l2.health?.() ?? { state: 'up' }) };
    return { namespaces, total: toStats(total), tiers, inflight: this.inflight.size };
  }

  /** Zeroes the counters of `stats()`. */
  resetStats(): void {
    for (const s of this.states.values()) s.reset();
  }

  private recordRead(
    ns: NamespaceState,
    tier: string,
    outcome: 'hit' | 'miss' | 'stale' | 'error',
    t0: number,
  ): void {
    if (this.monitor !== undefined) this.sample(ns, 'cache_read', tier, outcome, t0);
  }

  private recordWrite(ns: NamespaceState, tier: string, outcome: 'ok' | 'error', t0: number): void {
    if (this.monitor !== undefined) this.sample(ns, 'cache_write', tier, outcome, t0);
  }

  private sample(ns: NamespaceState, operation: string, tier: string, outcome: string, t0: number): void {
    const m = this.monitor;
    if (m === undefined) return;
    try {
      ns.recorder(m, operation, tier, outcome)(perfNow() - t0);
    } catch (err) {
      this.report(err, { operation: 'metrics' });
    }
  }

  private tierFailed(ns: NamespaceState, tier: CacheTier, operation: string, err: unknown, t0: number): void {
    ns.errors++;
    if (operation === 'read') this.recordRead(ns, tier.name, 'error', t0);
    else this.recordWrite(ns, tier.name, 'error', t0);
    this.report(err, { operation, namespace: ns.name, tier: tier.name });
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
 * @example
 * ```ts
 * import { createCacheManager } from 'earshot';
 * import { createRedisTier } from 'earshot/redis';
 * const cache = createCacheManager({ l2: createRedisTier({ url: process.env.REDIS_URL }) });
 * await cache.connect();
 * ```
 */
export function createCacheManager(options: CacheManagerOptions = {}): CacheManager {
  return new CacheManager(options);
}
