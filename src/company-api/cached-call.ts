/**
 * The one cached call both wrappers are built on: `getOrSet` with single-flight and
 * stale-while-revalidate from the cache manager, short negative entries for "not found"
 * answers, a caller-side AbortSignal that never cancels a load other callers share, and the
 * knowledge of whether this call was served by the cache.
 * @module
 */
import { CacheError, NotFoundError } from '../errors.js';
import { raceAbort } from '../internal/abort.js';

/** Options the wrappers pass to `getOrSet`. */
export interface CacheLoadOptions {
  ttlSeconds?: number;
  graceSeconds?: number;
  timeoutMs?: number;
  /** Cancels this caller's wait; the shared load goes on for the others. */
  signal?: AbortSignal;
}

/** What a loader receives from the cache. `setTtl` overrides the TTL of the value it returns. */
export interface CacheLoaderContext {
  readonly signal: AbortSignal;
  setTtl?(ttlSeconds: number, graceSeconds?: number): void;
}

/**
 * What the cached wrappers need of a cache: the part of `CacheManager` they use. A
 * `CacheManager` (memory, Redis or tiered) fits; so does any object with these methods.
 */
export interface CacheLike {
  getOrSet<T>(
    key: string,
    namespace: string,
    loader: (ctx: CacheLoaderContext) => Promise<T>,
    options?: CacheLoadOptions,
  ): Promise<T>;
  get<T = unknown>(key: string, namespace: string): Promise<T | undefined>;
  set(key: string, value: unknown, namespace: string, options?: { ttlSeconds?: number }): Promise<unknown>;
  delete(key: string, namespace: string): Promise<unknown>;
  invalidateNamespace(namespace: string): Promise<unknown>;
}

/**
 * What a negative entry stores: enough to rebuild the NotFoundError, small, JSON-safe (it may
 * live in Redis). No resource has a `$earshotNotFound` field, so it cannot be mistaken for one.
 */
interface NotFoundMarker {
  $earshotNotFound: 1;
  message: string;
  provider: string;
  status: number;
}

export function isNotFoundMarker(value: unknown): value is NotFoundMarker {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { $earshotNotFound?: unknown }).$earshotNotFound === 1 &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

function markerOf(err: unknown, ttlSeconds: number): NotFoundMarker {
  const e = err as { message?: unknown; provider?: unknown; status?: unknown };
  const message = typeof e?.message === 'string' ? e.message : 'Not found.';
  return {
    $earshotNotFound: 1,
    message: `${message} (remembered for ${ttlSeconds} s)`,
    provider: typeof e?.provider === 'string' ? e.provider : 'unknown',
    status: typeof e?.status === 'number' ? e.status : 404,
  };
}

/** One cached call. */
interface CachedCallSpec<T> {
  cache: CacheLike;
  namespace: string;
  key: string;
  /** Fetches the value; `signal` is the cache's (shared by every caller waiting on this load). */
  load: (signal: AbortSignal) => Promise<T>;
  cacheOptions: CacheLoadOptions;
  /** Seconds to remember a "not found" answer; 0 turns negative caching off. */
  negativeTtlSeconds: number;
  isNotFound: (err: unknown) => boolean;
  /** The caller's signal: abandons the wait with AbortedError, not the shared load. */
  signal: AbortSignal | undefined;
  what: string;
  /** Builds the error thrown for a remembered "not found". Default: earshot's NotFoundError. */
  notFoundError?: ((message: string) => unknown) | undefined;
}

/** How a cached call ended, for the monitor. */
interface CachedCallResult<T> {
  value: T;
  /** True unless this very call ran the loader to completion (a hit, a stale hit, or a single-flight joiner). */
  fromCache: boolean;
}

/** Carries whether the loader of a failed call ran, so the caller records the right sample. */
export class CachedCallFailure {
  constructor(
    readonly error: unknown,
    readonly loaderRan: boolean,
    readonly loaderDone: boolean,
  ) {}
}

// A cache manager may wrap a loader's error (EARSHOT_CACHE_LOADER_FAILED); callers of the
// company API want the NotFoundError or UpstreamError itself.
function unwrapLoaderError(err: unknown): unknown {
  if (err instanceof CacheError && err.code === 'EARSHOT_CACHE_LOADER_FAILED' && err.cause instanceof Error) {
    return err.cause;
  }
  return err;
}

/**
 * Runs one cached call. Rejects with a {@link CachedCallFailure} (whose `error` is what the
 * caller should see) so that the wrapper can tell who recorded what.
 */
export async function cachedCall<T>(spec: CachedCallSpec<T>): Promise<CachedCallResult<T>> {
  const { cache, namespace, key, negativeTtlSeconds } = spec;
  let loaderRan = false;
  let loaderDone = false;
  let ownNotFound: unknown;
  const loader = async (ctx: CacheLoaderContext): Promise<T | NotFoundMarker> => {
    loaderRan = true;
    try {
      return await spec.load(ctx.signal);
    } catch (err) {
      if (negativeTtlSeconds > 0 && spec.isNotFound(err)) {
        ownNotFound = err;
        const marker = markerOf(err, negativeTtlSeconds);
        if (typeof ctx.setTtl === 'function') {
          // The cache's own per-value TTL: the marker is cached briefly, whatever the
          // namespace's TTL, and every caller waiting on this load gets it. (Not the cache's
          // null-based negative caching: a marker keeps the error's message, and a host
          // client's legitimate null stays distinct from "not found".)
          ctx.setTtl(negativeTtlSeconds, 0);
          return marker;
        }
        // A cache without setTtl: store the marker beside the failing load instead.
        await cache.set(key, marker, namespace, { ttlSeconds: negativeTtlSeconds }).catch(() => {});
      }
      throw err;
    } finally {
      loaderDone = true;
    }
  };
  const options: CacheLoadOptions = { ...spec.cacheOptions };
  if (spec.signal) options.signal = spec.signal;
  let value: T | NotFoundMarker;
  try {
    value = await raceAbort(
      cache.getOrSet<T | NotFoundMarker>(key, namespace, loader, options),
      spec.signal,
      spec.what,
    );
  } catch (err) {
    throw new CachedCallFailure(unwrapLoaderError(err), loaderRan, loaderDone);
  }
  if (isNotFoundMarker(value)) {
    // The caller whose own request got the 404 sees that very error (with its request id).
    const err =
      loaderRan && loaderDone && ownNotFound !== undefined
        ? ownNotFound
        : spec.notFoundError
          ? spec.notFoundError(value.message)
          : new NotFoundError(value.message, { provider: value.provider, status: value.status });
    throw new CachedCallFailure(err, loaderRan, loaderDone);
  }
  return { value, fromCache: !(loaderRan && loaderDone) };
}
