import { afterAll, afterEach, describe, it } from 'vitest';
import { createCacheManager } from '../../src/cache/index.js';
import { describeCacheBehaviour } from '../../src/cache/tier-kit/index.js';
import { createRedisTier } from '../../src/redis/index.js';
import { cleanupPrefix, REDIS_URL, RELAXED, requireRedis, uniquePrefix } from './helpers.js';

const available = await requireRedis('the cache behaviour suite against Redis');
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await cleanupPrefix(p);
});

function tier() {
  const keyPrefix = uniquePrefix('suite');
  prefixes.push(keyPrefix);
  return createRedisTier({ url: REDIS_URL, keyPrefix, ...RELAXED });
}

if (available) {
  describeCacheBehaviour(
    'Redis tier alone',
    () => (extra) => createCacheManager({ ...extra, l1: false, l2: tier() }),
    { describe, it, afterEach },
  );
  describeCacheBehaviour(
    'memory + Redis (tiered)',
    () => (extra) => createCacheManager({ ...extra, l2: tier() }),
    { describe, it, afterEach },
  );
}
