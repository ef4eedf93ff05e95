import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type CacheManager, createCacheManager } from '../../src/cache/index.js';
import { cacheId, jsonSerializer } from '../../src/cache/tier-kit/index.js';
import { createRedisTier, encodeEntry } from '../../src/redis/index.js';
import {
  cleanupPrefix,
  PrivateRedis,
  REDIS_URL,
  RELAXED,
  requireRedis,
  requireRedisServerBinary,
  uniquePrefix,
  waitFor,
} from './helpers.js';

const shared = await requireRedis('the invalidation bus tests');
const ownServer = await requireRedisServerBinary('the bus reconnect test');

const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await cleanupPrefix(p);
});

const open: CacheManager[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

/** Two managers standing in for two instances sharing one Redis. */
async function pair(url = REDIS_URL): Promise<[CacheManager, CacheManager, string]> {
  const keyPrefix = uniquePrefix('bus');
  prefixes.push(keyPrefix);
  const a = createCacheManager({ monitor: false, l2: createRedisTier({ url, keyPrefix, ...RELAXED }) });
  const b = createCacheManager({ monitor: false, l2: createRedisTier({ url, keyPrefix, ...RELAXED }) });
  open.push(a, b);
  await Promise.all([a.connect(), b.connect()]);
  return [a, b, keyPrefix];
}

describe.runIf(shared)('cross-instance L1 invalidation', () => {
  it("drops the other instance's L1 copy when one instance sets the key", async () => {
    const [a, b] = await pair();
    await a.set('k', 'v1', 'llm');
    expect(await b.get('k', 'llm')).toBe('v1'); // now in b's L1
    await a.set('k', 'v2', 'llm');
    await waitFor(async () => (await b.get('k', 'llm')) === 'v2', 2000, 'b to see v2');
  });

  it("drops the other instance's L1 copy when one instance deletes the key", async () => {
    const [a, b] = await pair();
    await a.set('k', 'v1', 'llm');
    expect(await b.get('k', 'llm')).toBe('v1');
    await a.delete('k', 'llm');
    await waitFor(async () => (await b.get('k', 'llm')) === undefined, 2000, 'b to drop k');
  });

  it("drops the other instance's whole L1 namespace on invalidateNamespace", async () => {
    const [a, b] = await pair();
    await a.setMany(
      [
        { key: 'x', value: 1 },
        { key: 'y', value: 2 },
      ],
      'pinecone',
    );
    await a.set('z', 3, 'llm');
    expect(await b.getMany(['x', 'y'], 'pinecone')).toEqual([1, 2]);
    expect(await b.get('z', 'llm')).toBe(3);
    await a.invalidateNamespace('pinecone');
    await waitFor(
      async () => (await b.getMany(['x', 'y'], 'pinecone')).every((v) => v === undefined),
      2000,
      'b to drop the namespace',
    );
    expect(await b.get('z', 'llm')).toBe(3);
  });

  it('keeps a stale L1 copy when the bus is disabled (the control case)', async () => {
    const keyPrefix = uniquePrefix('nobus');
    prefixes.push(keyPrefix);
    const a = createCacheManager({
      monitor: false,
      l2: createRedisTier({ url: REDIS_URL, keyPrefix, invalidation: false, ...RELAXED }),
    });
    const b = createCacheManager({
      monitor: false,
      l2: createRedisTier({ url: REDIS_URL, keyPrefix, invalidation: false, ...RELAXED }),
    });
    open.push(a, b);
    await Promise.all([a.connect(), b.connect()]);
    await a.set('k', 'v1', 'llm');
    expect(await b.get('k', 'llm')).toBe('v1');
    await a.set('k', 'v2', 'llm');
    await new Promise((r) => setTimeout(r, 100));
    expect(await b.get('k', 'llm')).toBe('v1');
  });
});

describe.runIf(ownServer)('the bus after a reconnect', () => {
  it('drops the whole L1, since messages sent while disconnected are lost', async () => {
    const server = await PrivateRedis.start();
    const raw = new Redis(server.url);
    try {
      const [a, b, prefix] = await pair(server.url);
      await a.set('k', 'v1', 'llm');
      await new Promise((r) => setTimeout(r, 50)); // let a's invalidation reach b before b reads
      expect(await b.get('k', 'llm')).toBe('v1');
      // A write nobody hears about (as if published while b's subscription was down).
      const future = Date.now() + 60_000;
      await raw.set(
        prefix + cacheId('llm', 'k'),
        encodeEntry({ value: 'v2', freshUntil: future, staleUntil: future }, jsonSerializer),
      );
      expect(await b.get('k', 'llm')).toBe('v1');
      await raw.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
      await waitFor(
        async () => (await b.get('k', 'llm')) === 'v2',
        5000,
        'b to drop its L1 after resubscribing',
      );
      await waitFor(() => b.stats().tiers.l2?.bus === 'connected', 5000, 'the bus to be connected again');
      // And messages flow again after the resubscription.
      expect(await b.get('k', 'llm')).toBe('v2');
      await a.set('k', 'v3', 'llm');
      await waitFor(async () => (await b.get('k', 'llm')) === 'v3', 2000, 'b to hear about v3');
    } finally {
      raw.disconnect();
      await Promise.all(open.splice(0).map((c) => c.close()));
      await server.stop();
    }
  });
});
