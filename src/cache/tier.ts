/**
 * The tier contract: what `CacheManager` needs from a storage layer. The memory tier
 * (`MemoryTier`) and the Redis tier (`earshot/redis`) implement it; so can yours. A new tier
 * should pass the tier behaviour suite, `describeCacheBehaviour` from `earshot/tier`.
 *
 * Tiers store {@link CacheEntry} objects under ids made by `cacheId(namespace, key)`; the
 * manager validates keys, namespaces, TTLs and values before a tier sees them. Tiers throw on
 * failure (the manager decides whether that is a miss, a skipped write or an error for the
 * caller) and must never wait longer than their own deadline.
 * @module
 */

/** A value that may or may not be a promise (sync tiers skip a microtask per call). */
export type Awaitable<T> = T | Promise<T>;

/** What a tier stores for one key. Times are epoch milliseconds (`Date.now()` clock). */
export interface CacheEntry<T = unknown> {
  /** The cached value (never `undefined`). */
  readonly value: T;
  /** Until this instant the entry is fresh. */
  readonly freshUntil: number;
  /** Until this instant a stale entry may still be served (grace); equals `freshUntil` without grace. */
  readonly staleUntil: number;
  /** Estimated size in bytes, when the producer knows it (saves the memory tier a walk). */
  readonly size?: number;
}

/** Health of a tier as reported in `cache.stats().tiers`. */
export interface TierHealth {
  /** `up`: answering; `degraded`: failing, calls still tried; `down`: calls skipped (breaker open). */
  readonly state: 'up' | 'degraded' | 'down';
  /** Free-form details (breaker state, connection status, entries held). */
  readonly [detail: string]: unknown;
}

/** One message of the invalidation bus: keys (or a whole namespace) changed elsewhere. */
export interface InvalidationMessage {
  /** Id of the publishing `CacheManager`, so it can ignore its own messages. */
  readonly source: string;
  /** The namespace that changed. */
  readonly namespace: string;
  /** Keys that changed; absent means the whole namespace was invalidated. */
  readonly keys?: readonly string[];
}

/** Callbacks a bus subscriber provides. */
export interface InvalidationHandlers {
  /** A message from another instance arrived. */
  onMessage(message: InvalidationMessage): void;
  /**
   * The bus connection came back after a disconnect: messages may have been missed, so the
   * subscriber should drop whatever local copies it holds.
   */
  onReconnect(): void;
}

/** Cross-instance invalidation (the Redis tier implements it over pub/sub). */
export interface InvalidationBus {
  /** Sends a message to every other subscribed instance. Never waits past its deadline. */
  publish(message: InvalidationMessage): Promise<void>;
  /** Starts delivering messages; resolves once subscribed (or once the deadline passed). Returns the unsubscribe function. */
  subscribe(handlers: InvalidationHandlers): Promise<() => Promise<void>>;
  /** True while the subscription is live. */
  readonly connected: boolean;
}

/** A short lock shared by every process using the same store (distributed single-flight). */
export interface DistributedLock {
  /** Tries once to take the lock for `ttlMs`. Resolves to a token when taken, `undefined` when someone else holds it. */
  acquire(id: string, ttlMs: number): Promise<string | undefined>;
  /** Releases the lock if `token` still owns it. */
  release(id: string, token: string): Promise<void>;
}

/** A storage layer of the cache. */
export interface CacheTier {
  /** Name used in the `tier` metric label, e.g. `memory`, `redis`. */
  readonly name: string;
  /**
   * True when other processes see what this tier stores (Redis). The manager then publishes
   * invalidations and uses {@link DistributedLock} when the tier offers one.
   */
  readonly shared: boolean;
  /** Cross-instance invalidation, for shared tiers. */
  readonly bus?: InvalidationBus | undefined;
  /** Distributed single-flight lock, for shared tiers. */
  readonly lock?: DistributedLock | undefined;

  /** Connects; must resolve (not hang) even when the backend is down, within its deadline. */
  connect?(): Promise<void>;
  /** Releases connections and timers. */
  close?(): Promise<void>;
  /** Health for `cache.stats()`. */
  health?(): TierHealth;

  /** The entry stored under `id`, or `undefined`. May return an expired entry; the manager checks times. */
  get(id: string, namespace: string): Awaitable<CacheEntry | undefined>;
  /** Entries for several ids of one namespace, in order. */
  getMany(ids: readonly string[], namespace: string): Awaitable<(CacheEntry | undefined)[]>;
  /** Stores `entry` until `entry.staleUntil`. Throws `CacheError` (serialization, size) before writing anything. */
  set(id: string, namespace: string, entry: CacheEntry): Awaitable<void>;
  /** Stores several entries of one namespace; validates all before writing any. */
  setMany(items: readonly { id: string; entry: CacheEntry }[], namespace: string): Awaitable<void>;
  /** Deletes `id`; resolves to whether it existed (best effort for shared tiers). */
  delete(id: string, namespace: string): Awaitable<boolean>;
  /** Deletes every entry of `namespace`; resolves to how many were deleted when known. */
  clearNamespace(namespace: string): Awaitable<number | undefined>;
  /** Drops everything this tier holds locally (only local tiers need it; shared tiers may omit it). */
  clear?(): Awaitable<void>;
}

/** True if `value` is a promise-like (used to skip `await` on sync tiers). */
export function isPromiseLike<T>(value: Awaitable<T> | PromiseLike<T>): value is Promise<T> {
  return (
    typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}
