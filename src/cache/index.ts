/**
 * The namespaced TTL cache: `CacheManager` over an in-memory L1 (lru-cache) and an optional
 * shared L2 (Redis, from `earshot/redis`), with single-flight loading, grace / fail-safe,
 * cross-instance invalidation and metrics. Writing your own tier: `earshot/tier`.
 * @module
 */

export {
  CacheManager,
  createCacheManager,
  type DefaultNamespace,
  type NamespaceNames,
  type NamespacePolicy,
} from './cache-manager.js';
export type {
  CacheGetOptions,
  CacheLoader,
  CacheSetManyItem,
  CacheSetOptions,
  GetOrSetOptions,
  LoaderContext,
  WrapOptions,
} from './call-options.js';
export {
  type CachedDecorator,
  type CachedOptions,
  cached,
  getDefaultCacheManager,
  setDefaultCacheManager,
} from './decorators.js';
export { MAX_KEY_LENGTH, MAX_NAMESPACE_LENGTH, validateKey, validateNamespace } from './keys.js';
export { MemoryTier, type MemoryTierOptions, type MemoryValueMode } from './memory-tier.js';
export {
  type CacheErrorInfo,
  type CacheManagerOptions,
  cacheManagerOptionsSchema,
  type ResolvedCacheManagerOptions,
} from './options.js';
export type { Serializer } from './serializer.js';
export { STABLE_KEY_HASH_THRESHOLD, stableKey, stableStringify } from './stable-key.js';
export type { CacheNamespaceStats, CacheStats } from './stats.js';
// The tier contract's types stay visible here (`l1` / `l2` options take a CacheTier); the
// plumbing to build one lives in `earshot/tier`.
export type { CacheEntry, CacheTier, TierHealth } from './tier.js';
