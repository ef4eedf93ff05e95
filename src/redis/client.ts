import { createRequire } from 'node:module';
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import { MissingDependencyError, registerSecret } from '../errors.js';

/** The parts of the ioredis module earshot constructs. */
interface IoredisModule {
  Redis: typeof Redis;
  Cluster: typeof Cluster;
}

let ioredis: IoredisModule | undefined;

function isModuleNotFound(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND';
}

function requireIoredis(): IoredisModule {
  // ESM build: resolve from this file's URL; CJS build: from its filename.
  const from = typeof __filename === 'string' ? __filename : import.meta.url;
  return createRequire(from)('ioredis') as IoredisModule;
}

/**
 * @internal Loads ioredis on first use (not when `earshot/redis` is imported), so a missing
 * package is a `MissingDependencyError` naming the `npm install` to run instead of Node's raw
 * `ERR_MODULE_NOT_FOUND` at import. `load` replaces the loader (tests of the missing path).
 */
export function loadIoredis(feature: string, load: () => IoredisModule = requireIoredis): IoredisModule {
  if (ioredis !== undefined && load === requireIoredis) return ioredis;
  try {
    const mod = load();
    if (load === requireIoredis) ioredis = mod;
    return mod;
  } catch (err) {
    if (isModuleNotFound(err)) throw new MissingDependencyError('ioredis', feature, { cause: err });
    throw err;
  }
}

// ioredis declares `replyMapping?: X | undefined` in RedisOptions but `replyMapping?: X` in its
// constructors, which `exactOptionalPropertyTypes` rejects for any spread options object.
type LegacyReplyOptions = RedisOptions & { replyMapping?: 'legacy' };

/** Settings of the clients earshot creates (see {@link createRedisClient}). */
export interface SafeClientSettings {
  /** Deadline to establish a connection in ms. Default 1000. */
  connectTimeoutMs?: number;
  /** Longest wait between reconnect attempts in ms. Default 1000. */
  reconnectMaxDelayMs?: number;
  /** Name shown by `CLIENT LIST`. Default `earshot`. */
  connectionName?: string;
}

/**
 * The ioredis options that keep a dead Redis from stalling callers. With ioredis defaults a
 * command sent while Redis is down sits in the offline queue through up to 20 reconnect
 * attempts with a backoff capped at 5 s (about 70 s measured, see docs/cache.md); these
 * settings fail such a command at once instead and reconnect quickly in the background.
 */
export function safeRedisOptions(settings: SafeClientSettings = {}): RedisOptions {
  const maxDelay = settings.reconnectMaxDelayMs ?? 1000;
  return {
    lazyConnect: true,
    // Fail at once while disconnected instead of queueing for tens of seconds.
    enableOfflineQueue: false,
    // Never re-send a command after a reconnect: the caller has long moved on.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout: settings.connectTimeoutMs ?? 1000,
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 10), maxDelay),
    connectionName: settings.connectionName ?? 'earshot',
  };
}

function registerUrlSecret(url: string): void {
  try {
    const u = new URL(url);
    if (u.password) registerSecret(decodeURIComponent(u.password));
  } catch {
    // ioredis reports unparsable URLs itself
  }
}

/**
 * Creates an ioredis client with {@link safeRedisOptions} (no offline queue, no re-sends,
 * short connect timeout, reconnect backoff capped at 1 s), connecting lazily. `url` may be
 * `redis://` or `rediss://` (TLS) and carry an ACL user and password (registered as a secret,
 * so it never appears in earshot's errors).
 *
 * @example
 * ```ts
 * const client = createRedisClient('rediss://app:secret@cache.example.com:6380/0');
 * const tier = createRedisTier({ client });
 * ```
 */
export function createRedisClient(
  url = 'redis://127.0.0.1:6379',
  settings: SafeClientSettings = {},
  extra: RedisOptions = {},
): Redis {
  registerUrlSecret(url);
  if (typeof extra.password === 'string') registerSecret(extra.password);
  const { Redis } = loadIoredis('createRedisClient (earshot/redis)');
  return new Redis(url, { ...safeRedisOptions(settings), ...extra } as LegacyReplyOptions);
}

/**
 * Creates an ioredis `Cluster` from startup node URLs with the same safe settings on every
 * node connection. The first URL's user, password and scheme (`rediss://` → TLS) apply to all
 * nodes.
 *
 * @example
 * ```ts
 * const cluster = createRedisCluster(['redis://10.0.0.1:7000', 'redis://10.0.0.2:7000']);
 * ```
 */
export function createRedisCluster(
  nodes: readonly string[],
  settings: SafeClientSettings = {},
  extra: { redisOptions?: RedisOptions; clusterOptions?: ClusterOptions } = {},
): Cluster {
  const startup = nodes.map((n) => {
    registerUrlSecret(n);
    const u = new URL(n);
    return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port === '' ? 6379 : Number(u.port) };
  });
  const first = new URL(nodes[0]!);
  const auth: RedisOptions = {};
  if (first.username) auth.username = decodeURIComponent(first.username);
  if (first.password) auth.password = decodeURIComponent(first.password);
  if (first.protocol === 'rediss:') auth.tls = {};
  const {
    lazyConnect: _l,
    enableOfflineQueue: _q,
    retryStrategy: _r,
    ...nodeOptions
  } = safeRedisOptions(settings);
  const maxDelay = settings.reconnectMaxDelayMs ?? 1000;
  const { Cluster } = loadIoredis('createRedisCluster (earshot/redis)');
  return new Cluster(startup, {
    lazyConnect: true,
    enableOfflineQueue: false,
    clusterRetryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 10), maxDelay),
    slotsRefreshTimeout: settings.connectTimeoutMs ?? 1000,
    ...extra.clusterOptions,
    redisOptions: {
      ...nodeOptions,
      ...auth,
      ...extra.clusterOptions?.redisOptions,
      ...extra.redisOptions,
    } as LegacyReplyOptions,
  });
}
