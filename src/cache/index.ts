/**
 * The namespaced TTL cache: `CacheManager` over an in-memory L1 (lru-cache) and an optional
 * shared L2 (Redis, from `earshot/redis`), with single-flight loading, grace / fail-safe,
 * cross-instance invalidation and metrics. The tier contract lets you plug in other stores.
 * @module
 */

export { CacheManager, createCacheManager } from './cache-manager.js';
export type {
  CacheGetOptions,
  CacheLoader,
  CacheSetManyItem,
  CacheSetOptions,
  GetOrSetOptions,
  LoaderContext,
  WrapOptions,
} from './call-options.js';
export { CircuitBreaker, type CircuitBreakerOptions, type CircuitState } from './circuit-breaker.js';
export { DeadlineQueue, delay, withDeadline } from './deadline.js';
export {
  type CachedDecorator,
  type CachedOptions,
  cached,
  getDefaultCacheManager,
  setDefaultCacheManager,
} from './decorators.js';
export {
  cacheId,
  escapeNamespace,
  MAX_KEY_LENGTH,
  MAX_NAMESPACE_LENGTH,
  RESERVED_ID_PREFIX,
  splitCacheId,
  unescapeNamespace,
  validateKey,
  validateNamespace,
} from './keys.js';
export { MemoryTier, type MemoryTierOptions, type MemoryValueMode } from './memory-tier.js';
export {
  type CacheErrorInfo,
  type CacheManagerOptions,
  cacheManagerOptionsSchema,
  type ResolvedCacheManagerOptions,
} from './options.js';
export { BYTES_TAG, jsonSerializer, type Serializer, safeJsonParse } from './serializer.js';
export { STABLE_KEY_HASH_THRESHOLD, stableKey, stableStringify } from './stable-key.js';
export type { CacheNamespaceStats, CacheStats } from './stats.js';
export type {
  Awaitable,
  CacheEntry,
  CacheTier,
  DistributedLock,
  InvalidationBus,
  InvalidationHandlers,
  InvalidationMessage,
  TierHealth,
} from './tier.js';
export { isPromiseLike } from './tier.js';
export { deepFreeze, measureValue } from './value-size.js';
