/**
 * The cache of a `--no-cache` run: every read misses and every `getOrSet` runs its loader, so
 * the company-API wrapper always calls the API. It implements the wrapper's cache contract
 * (`CacheLike`) as a class, so a signature drift is a compile error, not a runtime one.
 * @module
 */
import type { CacheLike, CacheLoaderContext, CacheLoadOptions } from '../company-api/cached-call.js';
import { AbortedError } from '../errors.js';

/**
 * A cache that stores nothing.
 *
 * @example
 * ```ts
 * const api = createCachedCompanyApi(client, new NoCache(), { monitor });
 * ```
 */
export class NoCache implements CacheLike {
  /** Loader runs so far (for tests and the report). */
  loads = 0;

  async getOrSet<T>(
    key: string,
    _namespace: string,
    loader: (ctx: CacheLoaderContext) => Promise<T>,
    options: CacheLoadOptions = {},
  ): Promise<T> {
    const signal = options.signal;
    if (signal?.aborted) {
      throw new AbortedError(`getOrSet("${key}") was aborted by its caller.`, { cause: signal.reason });
    }
    this.loads++;
    return loader({ signal: signal ?? new AbortController().signal });
  }

  async get<T = unknown>(_key: string, _namespace: string): Promise<T | undefined> {
    return undefined;
  }

  async set(
    _key: string,
    _value: unknown,
    _namespace: string,
    _options?: { ttlSeconds?: number },
  ): Promise<false> {
    return false;
  }

  async delete(_key: string, _namespace: string): Promise<false> {
    return false;
  }

  async invalidateNamespace(_namespace: string): Promise<0> {
    return 0;
  }
}
