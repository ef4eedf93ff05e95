/** Options and callback types of `CacheManager` calls. */

/** Per-call TTL overrides. */
export interface CacheSetOptions {
  /** TTL in seconds (0 < ttl ≤ one year). Default: the namespace's. */
  ttlSeconds?: number;
  /** Grace after the TTL in seconds during which a stale value may be served. Default: the namespace's (0). */
  graceSeconds?: number;
}

/** Options of `get`. */
export interface CacheGetOptions {
  /** Also return a stale value still inside its grace period (counted as `stale`). Default false. */
  allowStale?: boolean;
}

/** One item of `setMany`. */
export interface CacheSetManyItem<T = unknown> extends CacheSetOptions {
  key: string;
  value: T;
}

/** What a loader receives. */
export interface LoaderContext {
  /** Aborted when the loader's `timeoutMs` passes. Pass it to fetch / SDK calls. */
  readonly signal: AbortSignal;
  readonly namespace: string;
  readonly key: string;
  /** The stale value being refreshed, when there is one (grace / stale-while-revalidate). */
  readonly stale: unknown;
  /** Overrides the TTL (and grace) for the value being returned, e.g. short TTLs for partial data. */
  setTtl(ttlSeconds: number, graceSeconds?: number): void;
  /** Returns the value to the callers without caching it. */
  skip(): void;
}

/** Computes a value on a miss. Return `null` to cache an absence (see `negativeTtlSeconds`); never `undefined`. */
// The context is deliberately not generic in T: `({ signal }) => fetchLoad(id, signal)` must
// infer T from the return type alone (a T in the parameter would make TypeScript infer `{}`).
export type CacheLoader<T> = (ctx: LoaderContext) => T | Promise<T>;

/** Options of `getOrSet`. */
export interface GetOrSetOptions extends CacheSetOptions {
  /** Deadline of the loader in ms: past it the loader's signal aborts and callers get a `TimeoutError` (or the stale value). */
  timeoutMs?: number;
  /**
   * TTL in seconds for a `null` result (negative caching: "this load does not exist", cached
   * briefly). Default: the normal TTL.
   */
  negativeTtlSeconds?: number;
  /**
   * With a stale value inside its grace period: `true` (default) returns it at once and
   * refreshes in the background; `false` waits for the refresh and falls back to the stale
   * value only if the loader fails (fail-safe).
   */
  staleWhileRevalidate?: boolean;
  /** Use the shared tier's lock so that one process in the fleet runs the loader. Default true when the L2 tier has one. */
  distributed?: boolean;
  /** Skip the read and run the loader (still single-flight), then store the result. */
  forceRefresh?: boolean;
  /** Cancels this caller's wait (the shared load continues for other callers). */
  signal?: AbortSignal;
}

/** Options of `wrap`. */
export interface WrapOptions<A extends readonly unknown[], N extends string = string>
  extends Omit<GetOrSetOptions, 'signal' | 'forceRefresh'> {
  namespace: N;
  /** Builds the key from the call's arguments. Default: `stableKey(name, args)`. */
  key?: (...args: A) => string;
  /** Name used by the default key builder. Default: the function's name. */
  name?: string;
}
