import { Redis } from 'ioredis';

export const REDIS_PORT = 6379;

/**
 * Connects to the Redis on 127.0.0.1:6379, or returns undefined after a loud warning when it is
 * unreachable on a dev machine. Under CI=true an unreachable Redis fails the run instead.
 */
export async function connectRedis(): Promise<Redis | undefined> {
  const redis = new Redis(REDIS_PORT, '127.0.0.1', {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
    return redis;
  } catch (err) {
    redis.disconnect();
    const msg = `Redis is not reachable on 127.0.0.1:${REDIS_PORT} (${(err as Error).message}): the fleet tests need it.`;
    if (process.env.CI === 'true') throw new Error(msg);
    console.warn(`\n*** SKIPPING fleet tests: ${msg}\n`);
    return undefined;
  }
}

/** Deletes every key under `prefix` (tests use a unique prefix each). */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}
