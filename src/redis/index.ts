/**
 * `earshot/redis`: the Redis tier of the cache (single server, TLS, ACL, Cluster), the pub/sub
 * invalidation bus and the distributed single-flight lock. The only part of earshot that
 * imports ioredis (an optional peer dependency: `npm install ioredis`).
 * @module
 */
export {
  createRedisClient,
  createRedisCluster,
  type SafeClientSettings,
  safeRedisOptions,
} from './client.js';
export { decodeEntry, encodeEntry } from './entry-codec.js';
export * from './fleet.js';
export * from './fleet-alarm.js';
export { RedisInvalidationBus, type RedisInvalidationBusSettings } from './invalidation-bus.js';
export { RedisLock } from './lock.js';
export {
  FLEET_KEYSPACE,
  keyPrefixProblem,
  parseRedisTierOptions,
  type RedisTierOptions,
  type ResolvedRedisTierOptions,
  redisTierOptionsSchema,
} from './options.js';
export { createRedisTier, RedisTier } from './redis-tier.js';
