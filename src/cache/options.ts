import { z } from 'zod';
import { cacheConfigSchema } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import type { PerformanceMonitor } from '../perf/index.js';
import type { CacheTier } from './tier.js';

/** Data options of `createCacheManager` (the `cache` config block plus manager-only knobs). */
export const cacheManagerOptionsSchema = cacheConfigSchema.extend({
  /**
   * Reject values JSON cannot round-trip (BigInt, functions, Map/Set, cycles, NaN) even when
   * no Redis tier is configured, so adding Redis later cannot break callers. Default true.
   */
  strictValues: z.boolean().default(true),
  /** Default deadline of `getOrSet` loaders in ms; none when absent. */
  loaderTimeoutMs: z.number().int().positive().max(3_600_000).optional(),
  /** Distributed single-flight (used when the L2 tier offers a lock, e.g. Redis). */
  lock: z
    .object({
      /** How long a loader may hold the lock before others may take over, in ms. Default 5000 (or the loader timeout + 1 s when larger). */
      ttlMs: z.number().int().positive().max(600_000).default(5000),
      /** How often a waiter re-checks the shared tier when no bus message arrived, in ms. Default 25. */
      pollMs: z.number().int().positive().max(10_000).default(25),
    })
    .prefault({}),
});

/** What you may pass to `createCacheManager`. Every field is optional. */
export interface CacheManagerOptions extends Omit<z.input<typeof cacheManagerOptionsSchema>, 'namespaces'> {
  /** Namespace → policy, merged over the defaults (`company_api:load`, `llm`, `pinecone`, ...). */
  namespaces?: Record<string, { ttlSeconds: number; graceSeconds?: number }>;
  /**
   * The local tier. Default: a `MemoryTier` built from `memory`. `false` for none (e.g. a
   * Redis-only cache, or to run the behaviour suite against Redis alone).
   */
  l1?: CacheTier | false;
  /** The shared tier, e.g. `createRedisTier({ url })` from `earshot/redis`. Default: none. */
  l2?: CacheTier;
  /** Where `cache_read` / `cache_write` / `cache_load` are recorded. Default: the shared `performanceMonitor`; `false` for none. */
  monitor?: PerformanceMonitor | false;
  /** Clock in epoch ms for entry times (tests). Default `Date.now`. */
  now?: () => number;
  /**
   * Called for every error the cache absorbs (a tier that failed a read or write, a background
   * refresh that failed, a malformed stored entry). Default: nothing (they are counted in
   * `stats()` and recorded in the monitor).
   */
  onError?: (error: unknown, info: CacheErrorInfo) => void;
  /** Identifies this instance on the invalidation bus. Default: random. */
  instanceId?: string;
}

/** Context given to `onError`. */
export interface CacheErrorInfo {
  /** What the cache was doing: `read`, `write`, `delete`, `invalidate`, `connect`, `subscribe`, `publish`, `lock`, `refresh`, `load`, `metrics`. */
  operation: string;
  namespace?: string;
  /** Tier name (`memory`, `redis`, ...) when a tier failed. */
  tier?: string;
}

/** Resolved data options. */
export type ResolvedCacheManagerOptions = z.output<typeof cacheManagerOptionsSchema>;

/** Parses the data options, throwing a `ConfigError` listing every bad field. */
export function parseCacheManagerOptions(input: CacheManagerOptions): ResolvedCacheManagerOptions {
  const { l1: _l1, l2: _l2, monitor: _m, now: _n, onError: _e, instanceId: _i, ...data } = input;
  const result = cacheManagerOptionsSchema.safeParse(data);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
    { source: 'createCacheManager options' },
  );
}
