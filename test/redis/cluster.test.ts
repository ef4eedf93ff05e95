import { Cluster } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createCacheManager } from '../../src/cache/index.js';
import { describeCacheBehaviour } from '../../src/cache/tier-kit/index.js';
import { createRedisTier } from '../../src/redis/index.js';
import { PrivateCluster, RELAXED, requireRedisServerBinary, waitFor } from './helpers.js';

const canRun = await requireRedisServerBinary('the Redis Cluster tests');
const cluster = canRun ? await PrivateCluster.start(3) : undefined;
afterAll(async () => {
  await cluster?.stop();
});

let n = 0;
const tier = (invalidation = true) =>
  createRedisTier({ cluster: { nodes: cluster!.urls }, keyPrefix: `c${n++}:`, invalidation, ...RELAXED });

if (cluster !== undefined) {
  describeCacheBehaviour(
    'Redis Cluster (3 masters), tiered',
    () => (extra) => createCacheManager({ ...extra, l2: tier() }),
    { describe, it, afterEach },
  );
}

describe.runIf(canRun)('on a Redis Cluster', () => {
  it('invalidates a namespace whose keys live on every master', async () => {
    const cache = createCacheManager({ monitor: false, l1: false, l2: tier() });
    const raw = new Cluster(cluster!.urls.map((u) => ({ host: '127.0.0.1', port: Number(new URL(u).port) })));
    try {
      await cache.connect();
      await cache.setMany(
        Array.from({ length: 300 }, (_, i) => ({ key: `k${i}`, value: i })),
        'pinecone',
      );
      await cache.set('keep', 'me', 'llm');
      const perMaster = await Promise.all(raw.nodes('master').map((node) => node.dbsize()));
      expect(perMaster.filter((size) => size > 0).length).toBe(3);
      const deleted = await cache.invalidateNamespace('pinecone');
      expect(deleted).toBe(300);
      expect((await cache.getMany(['k0', 'k150', 'k299'], 'pinecone')).every((v) => v === undefined)).toBe(
        true,
      );
      expect(await cache.get('keep', 'llm')).toBe('me');
    } finally {
      await cache.close();
      raw.disconnect();
    }
  });

  it('delivers invalidations between instances over cluster pub/sub', async () => {
    const keyPrefix = `bus${n++}:`;
    const a = createCacheManager({
      monitor: false,
      l2: createRedisTier({ cluster: { nodes: cluster!.urls }, keyPrefix, ...RELAXED }),
    });
    const b = createCacheManager({
      monitor: false,
      l2: createRedisTier({ cluster: { nodes: cluster!.urls }, keyPrefix, ...RELAXED }),
    });
    try {
      await Promise.all([a.connect(), b.connect()]);
      await a.set('k', 'v1', 'llm');
      await new Promise((r) => setTimeout(r, 50));
      expect(await b.get('k', 'llm')).toBe('v1');
      await a.set('k', 'v2', 'llm');
      await waitFor(async () => (await b.get('k', 'llm')) === 'v2', 3000, 'b to see v2');
    } finally {
      await a.close();
      await b.close();
    }
  });
});
