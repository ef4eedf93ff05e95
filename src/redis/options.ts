import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import { z } from 'zod';
import type { Serializer } from '../cache/serializer.js';
import { redisConfigSchema } from '../config/schema.js';
import { ConfigError } from '../errors.js';

/**
 * The fleet's default keyspace (`earshot/redis` fleet publisher and reader). The cache's keys
 * must never share it: `invalidateNamespace` would delete fleet windows and a cache `set` could
 * overwrite one.
 */
export const FLEET_KEYSPACE = 'earshot-fleet:';

/**
 * Why `keyPrefix` cannot be the cache's keyspace, or `undefined` when it can. An empty prefix
 * makes `invalidateNamespace` scan the bare database; a prefix that contains the fleet's
 * keyspace, or is contained in it, makes the two keyspaces overlap.
 */
export function keyPrefixProblem(keyPrefix: string): string | undefined {
  if (keyPrefix === '') {
    return "must not be empty: invalidateNamespace would scan the whole database. Use e.g. 'myapp:cache:'";
  }
  if (keyPrefix.startsWith(FLEET_KEYSPACE) || FLEET_KEYSPACE.startsWith(keyPrefix)) {
    return `overlaps the fleet's keyspace "${FLEET_KEYSPACE}" (cache and fleet keys would mix). Use a prefix neither contains nor is contained in it, e.g. 'earshot:' (the default)`;
  }
  return undefined;
}

const nodeUrl = z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://');

/** Data options of `createRedisTier` (the `cache.redis` config block plus tier-only knobs). */
export const redisTierOptionsSchema = redisConfigSchema.extend({
  /**
   * Redis Cluster: startup nodes as `redis://` / `rediss://` URLs (credentials and TLS are taken
   * from the first URL). Mutually exclusive with `url` and `client`.
   */
  cluster: z
    .object({
      nodes: z.array(nodeUrl).min(1, 'give at least one startup node'),
    })
    .optional(),
  /** Circuit breaker in front of every command. */
  breaker: z
    .object({
      /** Consecutive failures (errors or deadlines) that open it. Default 3. */
      failureThreshold: z.number().int().positive().max(1000).default(3),
      /** Time it stays open before one probe command, in ms. Default 500. */
      openMs: z.number().int().positive().max(600_000).default(500),
      /** Each failed probe doubles the open time up to this, in ms. Default 5000. */
      maxOpenMs: z.number().int().positive().max(600_000).default(5000),
    })
    .prefault({}),
  /** Publish and receive L1 invalidations over pub/sub. Default true. */
  invalidation: z.boolean().default(true),
  /** Longest wait between reconnect attempts of clients earshot creates, in ms. Default 1000. */
  reconnectMaxDelayMs: z.number().int().positive().max(60_000).default(1000),
  /** Deadline of each SCAN / UNLINK batch of `clearNamespace`, in ms. Default 2000. */
  maintenanceTimeoutMs: z.number().int().positive().max(600_000).default(2000),
  /** COUNT hint of each SCAN. Default 500. */
  scanCount: z.number().int().positive().max(100_000).default(500),
  /** Largest serialized value written, in bytes; none when absent (the manager's `maxValueBytes` applies first). */
  maxValueBytes: z.number().int().positive().optional(),
  /** Name shown by `CLIENT LIST`. Default `earshot`. */
  connectionName: z.string().max(64).default('earshot'),
});

/** What you may pass to `createRedisTier`. */
export interface RedisTierOptions extends z.input<typeof redisTierOptionsSchema> {
  /**
   * An existing ioredis `Redis` or `Cluster` client. earshot does not close it. Its settings are
   * yours: every command still gets earshot's deadline, but prefer `enableOfflineQueue: false`
   * (see `createRedisClient`) so commands are not queued while Redis is down.
   */
  client?: Redis | Cluster;
  /** How values become strings. Default `jsonSerializer` (strict, prototype-pollution safe). */
  serializer?: Serializer;
  /** Extra ioredis options for clients earshot creates (TLS `ca`, `family`, `db`...). They override earshot's defaults. */
  redisOptions?: RedisOptions;
  /** Extra ioredis Cluster options (`natMap`, `dnsLookup`, `scaleReads`...). */
  clusterOptions?: ClusterOptions;
}

/** Resolved data options. */
export type ResolvedRedisTierOptions = z.output<typeof redisTierOptionsSchema>;

/** Parses the data options, throwing a `ConfigError` listing every bad field. */
export function parseRedisTierOptions(input: RedisTierOptions): ResolvedRedisTierOptions {
  const { client: _c, serializer: _s, redisOptions: _r, clusterOptions: _co, ...data } = input;
  const issues: { path: string; message: string }[] = [];
  const result = redisTierOptionsSchema.safeParse(data);
  if (!result.success) {
    for (const i of result.error.issues)
      issues.push({ path: i.path.map(String).join('.'), message: i.message });
  }
  const sources = [input.url !== undefined, input.cluster !== undefined, input.client !== undefined].filter(
    Boolean,
  ).length;
  if (sources > 1) issues.push({ path: 'url', message: 'give only one of url, cluster and client' });
  const prefixProblem = result.success ? keyPrefixProblem(result.data.keyPrefix) : undefined;
  if (prefixProblem !== undefined) issues.push({ path: 'keyPrefix', message: prefixProblem });
  if (issues.length > 0 || !result.success)
    throw new ConfigError(issues, { source: 'createRedisTier options' });
  return result.data;
}
