/**
 * Put earshot's caching around any API client: give it the client, a cache and, per method to
 * cache, a namespace (and optionally a TTL and a key function); get back an object with the
 * same typed methods, served through `getOrSet` (single-flight, stale-while-revalidate,
 * optional negative caching of "not found").
 * @module
 */
import { stableKey } from '../cache/index.js';
import { AbortedError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { type Labels, performanceMonitor } from '../perf/index.js';
import { CachedCallFailure, type CacheLike, type CacheLoadOptions, cachedCall } from './cached-call.js';
import type { MonitorLike } from './client.js';

type AnyAsyncFn = (...args: never[]) => Promise<unknown>;
type ArgsOf<F> = F extends (...args: infer A) => Promise<unknown> ? A : never;

/** The names of the methods of `T` that return a promise. */
export type AsyncMethodNames<T> = {
  [K in keyof T]-?: T[K] extends AnyAsyncFn ? K : never;
}[keyof T] &
  string;

/** How one method is cached. */
export interface CachedMethodConfig<A extends readonly unknown[]> {
  /** Cache namespace. Its TTL comes from the cache's namespace config unless `ttlSeconds` is given. */
  namespace: string;
  /**
   * Builds the cache key from the call's arguments. Default: a stable serialization of every
   * argument (object keys sorted), prefixed with the method name; pass your own when an
   * argument is not data (an AbortSignal, a callback) or only part of it identifies the call.
   */
  key?: (...args: A) => string;
  ttlSeconds?: number;
  graceSeconds?: number;
  /** Deadline the cache gives the loader (see `CacheManager.getOrSet`). */
  timeoutMs?: number;
  /** Remember "not found" answers this many seconds (default 0: not remembered). */
  negativeTtlSeconds?: number;
  /** Which errors mean "not found". Default: earshot's NotFoundError. */
  isNotFound?: (err: unknown) => boolean;
  /**
   * Builds the error thrown when a remembered "not found" is served (the original error object
   * cannot be kept: the entry may live in Redis). Default: earshot's NotFoundError with the
   * original message. Give your own so callers keep catching your error class.
   */
  notFoundError?: (message: string) => Error;
}

/** Per-method cache configuration for {@link createCachedClient}. */
export type CachedMethodMap<T> = {
  [K in AsyncMethodNames<T>]?: CachedMethodConfig<ArgsOf<T[K]>>;
};

/** Options of {@link createCachedClient}. */
export interface CachedClientOptions {
  /**
   * Operation name under which every call is recorded in the monitor, with labels `method`,
   * `outcome` (`ok`, `not_found`, `error`, `aborted`) and `cached`. Default: nothing recorded.
   */
  operation?: string;
  /** Extra labels of every sample. */
  labels?: Labels;
  /** Monitor to record into. Default the shared `performanceMonitor`. */
  monitor?: MonitorLike;
}

/** The object {@link createCachedClient} returns. */
export type CachedClient<T, M> = {
  readonly [K in keyof M & keyof T]: T[K];
} & {
  /** The client itself, for calls that must bypass the cache. */
  readonly uncached: T;
  /** Drops the cached answer of `method(...args)`. */
  invalidate<K extends keyof M & AsyncMethodNames<T>>(method: K, ...args: ArgsOf<T[K]>): Promise<void>;
  /** Drops every cached answer of every configured namespace. */
  invalidateAll(): Promise<void>;
};

/**
 * Wraps the async methods of `client` named in `methods` with the cache. Methods not named are
 * left out of the wrapper (use `uncached` for them). Each call runs through
 * `cache.getOrSet`, so 100 concurrent calls with the same arguments reach your API once.
 *
 * @example
 * ```ts
 * const crm = new MyCrmClient(...);
 * const cached = createCachedClient(crm, cache, {
 *   getCustomer: { namespace: 'crm:customer', ttlSeconds: 120, key: (id) => id, negativeTtlSeconds: 30,
 *                  isNotFound: (e) => e instanceof CrmNotFound },
 *   searchOrders: { namespace: 'crm:orders', ttlSeconds: 30 },
 * }, { operation: 'crm' });
 * const customer = await cached.getCustomer('c-42');   // typed like crm.getCustomer
 * await cached.invalidate('getCustomer', 'c-42');       // after a webhook says it changed
 * ```
 */
export function createCachedClient<T extends object, const M extends CachedMethodMap<T>>(
  client: T,
  cache: CacheLike,
  methods: M,
  options: CachedClientOptions = {},
): CachedClient<T, M> {
  const monitor = options.operation ? (options.monitor ?? performanceMonitor) : undefined;
  const configs = methods as Record<string, CachedMethodConfig<unknown[]> | undefined>;
  const wrapper: Record<string, unknown> = {};
  const keyOf = (name: string, cfg: CachedMethodConfig<unknown[]>, args: unknown[]): string =>
    cfg.key ? cfg.key(...args) : stableKey(name, args);

  for (const [name, cfg] of Object.entries(configs)) {
    if (!cfg) continue;
    const fn = (client as Record<string, unknown>)[name];
    if (typeof fn !== 'function') {
      throw new InvalidArgumentError(`createCachedClient: the client has no method "${name}" to cache.`);
    }
    if (typeof cfg.namespace !== 'string' || cfg.namespace.length === 0) {
      throw new InvalidArgumentError(`createCachedClient: method "${name}" needs a namespace.`);
    }
    const cacheOptions: CacheLoadOptions = {};
    if (cfg.ttlSeconds !== undefined) cacheOptions.ttlSeconds = cfg.ttlSeconds;
    if (cfg.graceSeconds !== undefined) cacheOptions.graceSeconds = cfg.graceSeconds;
    if (cfg.timeoutMs !== undefined) cacheOptions.timeoutMs = cfg.timeoutMs;
    const isNotFound = cfg.isNotFound ?? ((err: unknown) => err instanceof NotFoundError);

    wrapper[name] = async (...args: unknown[]): Promise<unknown> => {
      const started = performance.now();
      const record = (outcome: string, cached: boolean): void => {
        if (!monitor || !options.operation) return;
        try {
          monitor.record(options.operation, performance.now() - started, {
            ...options.labels,
            method: name,
            outcome,
            cached,
          });
        } catch {
          // Recording must never fail the call.
        }
      };
      try {
        const { value, fromCache } = await cachedCall({
          cache,
          namespace: cfg.namespace,
          key: keyOf(name, cfg, args),
          load: () => (fn as (...a: unknown[]) => Promise<unknown>).apply(client, args),
          cacheOptions,
          negativeTtlSeconds: cfg.negativeTtlSeconds ?? 0,
          isNotFound,
          signal: undefined,
          what: `cached ${name}`,
          notFoundError: cfg.notFoundError,
        });
        record('ok', fromCache);
        return value;
      } catch (failure) {
        if (!(failure instanceof CachedCallFailure)) throw failure;
        const err = failure.error;
        const outcome =
          isNotFound(err) || err instanceof NotFoundError
            ? 'not_found'
            : err instanceof AbortedError
              ? 'aborted'
              : 'error';
        record(outcome, !(failure.loaderRan && failure.loaderDone));
        throw err;
      }
    };
  }

  wrapper.uncached = client;
  wrapper.invalidate = async (method: string, ...args: unknown[]): Promise<void> => {
    const cfg = configs[method];
    if (!cfg) throw new InvalidArgumentError(`invalidate: "${method}" is not a cached method.`);
    await cache.delete(keyOf(method, cfg, args), cfg.namespace);
  };
  wrapper.invalidateAll = async (): Promise<void> => {
    const namespaces = new Set(
      Object.values(configs)
        .filter((c) => c !== undefined)
        .map((c) => c.namespace),
    );
    for (const ns of namespaces) await cache.invalidateNamespace(ns);
  };
  return wrapper as CachedClient<T, M>;
}
