import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type CacheManager, type CacheManagerOptions, createCacheManager } from '../../src/cache/index.js';
import { createRedisTier, type RedisTier } from '../../src/redis/index.js';
import { cleanupPrefix, REDIS_URL, RELAXED, requireRedis, uniquePrefix } from './helpers.js';

const shared = await requireRedis('the distributed single-flight tests');

const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await cleanupPrefix(p);
});
const open: CacheManager[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function instances(
  n: number,
  extra: Partial<CacheManagerOptions> = {},
): Promise<{ caches: CacheManager[]; tiers: RedisTier[] }> {
  const keyPrefix = uniquePrefix('lock');
  prefixes.push(keyPrefix);
  const tiers = Array.from({ length: n }, () => createRedisTier({ url: REDIS_URL, keyPrefix, ...RELAXED }));
  const caches = tiers.map((l2) => createCacheManager({ monitor: false, l2, ...extra }));
  open.push(...caches);
  await Promise.all(caches.map((c) => c.connect()));
  return { caches, tiers };
}

describe.runIf(shared)('distributed single-flight', () => {
  it('runs the loader once across two instances with 50 concurrent callers each', async () => {
    const { caches } = await instances(2);
    let runs = 0;
    const loader = async () => {
      runs++;
      await sleep(100);
      return { computed: true };
    };
    const results = await Promise.all(
      Array.from({ length: 50 }).flatMap(() => caches.map((c) => c.getOrSet('stampede', 'llm', loader))),
    );
    expect(runs).toBe(1);
    expect(results).toHaveLength(100);
    expect(results.every((r) => r.computed)).toBe(true);
  });

  it('wakes waiters through the bus instead of their poll interval', async () => {
    const { caches } = await instances(2, { lock: { pollMs: 10_000 } });
    const [a, b] = caches as [CacheManager, CacheManager];
    let runs = 0;
    const loader = async () => {
      runs++;
      await sleep(150);
      return 'from-a';
    };
    const first = a.getOrSet('k', 'llm', loader);
    await sleep(30); // a holds the lock now
    const t0 = performance.now();
    const second = await b.getOrSet('k', 'llm', loader);
    expect(second).toBe('from-a');
    expect(await first).toBe('from-a');
    expect(runs).toBe(1);
    expect(performance.now() - t0).toBeLessThan(5000); // a poll would have taken 10 s
  });

  it('takes over when the lock holder died without releasing (the lock expires)', async () => {
    const { caches, tiers } = await instances(1, { lock: { ttlMs: 400, pollMs: 25 } });
    const cache = caches[0]!;
    // A holder that took the lock and then vanished.
    const token = await tiers[0]!.lock.acquire(`${'llm'}:orphan`, 400);
    expect(token).toMatch(/^[0-9a-f-]{36}$/); // a random token: the lock was taken
    // While it is held, nobody else gets it.
    expect(await tiers[0]!.lock.acquire(`${'llm'}:orphan`, 400)).toBeUndefined();
    let runs = 0;
    const t0 = performance.now();
    const value = await cache.getOrSet('orphan', 'llm', async () => {
      runs++;
      return 'recovered';
    });
    expect(value).toBe('recovered');
    expect(runs).toBe(1);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(300); // it did wait for the lock
  });

  it('runs the loader in each process when distributed is false', async () => {
    const { caches } = await instances(2);
    let runs = 0;
    const loader = async () => {
      runs++;
      await sleep(50);
      return 1;
    };
    await Promise.all(caches.map((c) => c.getOrSet('local-only', 'llm', loader, { distributed: false })));
    expect(runs).toBe(2);
  });

  it('falls back to the loader when the holder fails, so waiters are not stuck', async () => {
    const { caches } = await instances(2);
    const [a, b] = caches as [CacheManager, CacheManager];
    let runs = 0;
    const failing = a.getOrSet('k', 'llm', async () => {
      runs++;
      await sleep(80);
      throw new Error('holder failed');
    });
    await sleep(20);
    const waiting = b.getOrSet('k', 'llm', async () => {
      runs++;
      return 'b-loaded';
    });
    await expect(failing).rejects.toThrow('holder failed');
    expect(await waiting).toBe('b-loaded');
    expect(runs).toBe(2);
  });
});
