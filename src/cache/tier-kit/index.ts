/**
 * `earshot/tier`: what a cache tier author needs, and nothing a cache user does. The tier
 * contract (`CacheTier`, `CacheEntry`, bus and lock), the plumbing earshot's own Redis tier is
 * built from (circuit breaker, deadlines, ids, the strict JSON serializer, value checks) and
 * the tier behaviour suite (`describeCacheBehaviour`) a new tier must pass.
 *
 * @example
 * ```ts
 * import { afterEach, describe, it } from 'vitest';
 * import { createCacheManager } from 'earshot';
 * import { type CacheTier, describeCacheBehaviour } from 'earshot/tier';
 *
 * class MyTier implements CacheTier { ... }
 * describeCacheBehaviour('my tier', () => (extra) => createCacheManager({ ...extra, l2: new MyTier() }), { describe, it, afterEach });
 * ```
 * @module
 */

export { CircuitBreaker, type CircuitBreakerOptions, type CircuitState } from '../circuit-breaker.js';
export { DeadlineQueue, delay, type TrackedDeadline, withDeadline } from '../deadline.js';
export {
  cacheId,
  escapeNamespace,
  RESERVED_ID_PREFIX,
  splitCacheId,
  unescapeNamespace,
} from '../keys.js';
export { BYTES_TAG, jsonSerializer, type Serializer, safeJsonParse } from '../serializer.js';
export {
  type Awaitable,
  type CacheEntry,
  type CacheTier,
  type DistributedLock,
  type InvalidationBus,
  type InvalidationHandlers,
  type InvalidationMessage,
  isPromiseLike,
  type TierHealth,
} from '../tier.js';
export { deepFreeze, measureValue } from '../value-size.js';
export {
  type BehaviourSuiteOptions,
  type BehaviourSuiteTestApi,
  type CacheFactory,
  describeCacheBehaviour,
} from './behaviour-suite.js';
