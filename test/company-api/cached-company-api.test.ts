import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { type CacheManager, createCacheManager } from '../../src/cache/index.js';
import {
  type CachedCompanyApiConfig,
  type CacheLike,
  createCachedCompanyApi,
  createCompanyApiClient,
} from '../../src/company-api/index.js';
import { AbortedError, InvalidArgumentError, NotFoundError, UpstreamError } from '../../src/errors.js';
import { PerformanceMonitor } from '../../src/perf/index.js';
import { createRedisTier } from '../../src/redis/index.js';
import {
  type FakeCompanyApi,
  type FakeCompanyApiOptions,
  startFakeCompanyApi,
} from '../../src/testing/index.js';
import { REDIS_URL, redisAvailable } from './helpers.js';

// Compile-time check: the real CacheManager is what the wrapper asks for.
const _fits: (c: CacheManager) => CacheLike = (c) => c;
void _fits;

const hasRedis = await redisAvailable();

interface Tier {
  name: string;
  needsRedis: boolean;
  make: (now: () => number) => CacheManager;
}
const tiers: Tier[] = [
  { name: 'memory', needsRedis: false, make: (now) => createCacheManager({ now, monitor: false }) },
  {
    name: 'redis',
    needsRedis: true,
    make: (now) =>
      createCacheManager({
        now,
        monitor: false,
        l1: false,
        l2: createRedisTier({
          url: REDIS_URL,
          keyPrefix: `earshot-test:company-api:${randomUUID()}:`,
          commandTimeoutMs: 500,
        }),
      }),
  },
  {
    name: 'memory + redis',
    needsRedis: true,
    make: (now) =>
      createCacheManager({
        now,
        monitor: false,
        l2: createRedisTier({
          url: REDIS_URL,
          keyPrefix: `earshot-test:company-api:${randomUUID()}:`,
          commandTimeoutMs: 500,
        }),
      }),
  },
];

for (const tier of tiers) {
  describe.skipIf(tier.needsRedis && !hasRedis)(`cached company API on the ${tier.name} tier`, () => {
    let clock = Date.now();
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      while (cleanups.length) await cleanups.pop()!();
    });

    async function setup(fakeOptions: FakeCompanyApiOptions = {}, config: CachedCompanyApiConfig = {}) {
      clock = Date.now();
      const fake = await startFakeCompanyApi({
        size: { loads: 200, inventory: 100, equipment: 100 },
        ...fakeOptions,
      });
      const cache = tier.make(() => clock);
      await cache.connect();
      const monitor = new PerformanceMonitor();
      const client = createCompanyApiClient({ baseUrl: fake.url, monitor, retries: 0 });
      const api = createCachedCompanyApi(client, cache, { monitor, ...config });
      cleanups.push(async () => {
        await api.invalidateAll().catch(() => {});
        await cache.close();
        await fake.close();
      });
      return { fake, cache, api, monitor };
    }
    const advance = (seconds: number) => {
      clock += seconds * 1000;
    };
    const upstream = (fake: FakeCompanyApi) => fake.requests.total;

    it('answers a repeated question from the cache with one upstream request', async () => {
      const { fake, api } = await setup();
      const first = await api.getLoadStatus('1010');
      const second = await api.getLoadStatus('1010');
      expect(second).toEqual(first);
      expect(upstream(fake)).toBe(1);
    });

    it('records hits as company_api with cached: true and misses with cached: false', async () => {
      const { api, monitor } = await setup();
      await api.getLoadStatus('1011');
      await api.getLoadStatus('1011');
      await api.getLoadStatus('1011');
      expect(
        monitor.stats('company_api', { labels: { cached: 'true', method: 'getLoadStatus', outcome: 'ok' } })
          ?.count,
      ).toBe(2);
      expect(
        monitor.stats('company_api', { labels: { cached: 'false', method: 'getLoadStatus', outcome: 'ok' } })
          ?.count,
      ).toBe(1);
      expect(monitor.stats('company_api')?.count).toBe(3);
    });

    it('bypasses the cache with useCache: false, neither reading nor writing it', async () => {
      const { fake, api } = await setup();
      await api.getLoadStatus('1012', { useCache: false });
      await api.getLoadStatus('1012', { useCache: false });
      expect(upstream(fake)).toBe(2);
      await api.getLoadStatus('1012');
      expect(upstream(fake)).toBe(3);
    });

    it('fetches again once the TTL has passed', async () => {
      const { fake, api } = await setup({}, { ttlSeconds: { load: 10 } });
      await api.getLoadStatus('1013');
      advance(9);
      await api.getLoadStatus('1013');
      expect(upstream(fake)).toBe(1);
      advance(2);
      await api.getLoadStatus('1013');
      expect(upstream(fake)).toBe(2);
    });

    it('uses the namespace TTL of the cache config by default (load 300 s)', async () => {
      const { fake, api } = await setup();
      await api.getLoadStatus('1014');
      advance(299);
      await api.getLoadStatus('1014');
      expect(upstream(fake)).toBe(1);
      advance(2);
      await api.getLoadStatus('1014');
      expect(upstream(fake)).toBe(2);
    });

    it('remembers "not found" for negativeTtlSeconds, then asks again', async () => {
      const { fake, api, monitor } = await setup({}, { negativeTtlSeconds: 30 });
      for (let i = 0; i < 5; i++)
        await expect(api.getLoadStatus('no-such-load')).rejects.toBeInstanceOf(NotFoundError);
      expect(upstream(fake)).toBe(1);
      expect(monitor.stats('company_api', { labels: { cached: 'true', outcome: 'not_found' } })?.count).toBe(
        4,
      );
      advance(31);
      await expect(api.getLoadStatus('no-such-load')).rejects.toBeInstanceOf(NotFoundError);
      expect(upstream(fake)).toBe(2);
    });

    it('does not remember "not found" when negativeTtlSeconds is 0', async () => {
      const { fake, api } = await setup({}, { negativeTtlSeconds: 0 });
      await expect(api.getLoadStatus('no-such-load')).rejects.toBeInstanceOf(NotFoundError);
      await expect(api.getLoadStatus('no-such-load')).rejects.toBeInstanceOf(NotFoundError);
      expect(upstream(fake)).toBe(2);
    });

    it('sends one upstream request for 100 concurrent questions about the same load', async () => {
      const { fake, api } = await setup({ latency: 50 });
      const answers = await Promise.all(Array.from({ length: 100 }, () => api.getLoadStatus('1015')));
      expect(fake.requests.getLoad).toBe(1);
      expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    });

    it('sends one upstream request for 100 concurrent questions about a load that does not exist', async () => {
      const { fake, api } = await setup({ latency: 50 });
      const results = await Promise.allSettled(Array.from({ length: 100 }, () => api.getLoadStatus('ghost')));
      expect(results.every((r) => r.status === 'rejected' && r.reason instanceof NotFoundError)).toBe(true);
      expect(fake.requests.getLoad).toBe(1);
    });

    it('does not cache failures', async () => {
      const { fake, api } = await setup();
      fake.faults.enqueue('error');
      await expect(api.getLoadStatus('1016')).rejects.toBeInstanceOf(UpstreamError);
      expect((await api.getLoadStatus('1016')).id).toBe('1016');
      expect(upstream(fake)).toBe(2);
    });

    it('lets one caller abort without failing the others sharing the request', async () => {
      const { fake, api } = await setup({ latency: 150 });
      const controller = new AbortController();
      const leaving = api.getLoadStatus('1017', { signal: controller.signal });
      const staying = Promise.all(Array.from({ length: 5 }, () => api.getLoadStatus('1017')));
      setTimeout(() => controller.abort(), 20);
      await expect(leaving).rejects.toBeInstanceOf(AbortedError);
      const answers = await staying;
      expect(answers.every((a) => a.id === '1017')).toBe(true);
      expect(fake.requests.getLoad).toBe(1);
    });

    it('serves fresh data after invalidateLoad', async () => {
      const { fake, api } = await setup();
      expect((await api.getLoadStatus('1018')).driverName).not.toBe('Zed Updated');
      fake.update('load', '1018', { driverName: 'Zed Updated' });
      expect((await api.getLoadStatus('1018')).driverName).not.toBe('Zed Updated');
      await api.invalidateLoad('1018');
      expect((await api.getLoadStatus('1018')).driverName).toBe('Zed Updated');
      expect(upstream(fake)).toBe(2);
    });

    it('finds an item cached by SKU when asked by item id, and invalidates both names', async () => {
      const { fake, api } = await setup();
      const item = fake.data.inventory[3]!;
      await api.getInventory(item.sku);
      await new Promise((r) => setTimeout(r, 20)); // the alias is written beside the answer
      await api.getInventory(item.id);
      expect(fake.requests.getInventoryItem).toBe(1);
      await api.invalidateInventory(item.sku);
      await api.getInventory(item.id);
      expect(fake.requests.getInventoryItem).toBe(2);
    });

    it('caches list pages by their filter, whatever the key order', async () => {
      const { fake, api } = await setup();
      const a = await api.listLoads({ status: 'delayed', limit: 5 });
      const b = await api.listLoads({ limit: 5, status: 'delayed' });
      expect(b).toEqual(a);
      expect(fake.requests.listLoads).toBe(1);
      await api.listLoads({ status: 'delayed', limit: 6 });
      expect(fake.requests.listLoads).toBe(2);
    });

    it('does not cache lists when cacheLists is false', async () => {
      const { fake, api } = await setup({}, { cacheLists: false });
      await api.listEquipment({ type: 'tractor' });
      await api.listEquipment({ type: 'tractor' });
      expect(fake.requests.listEquipment).toBe(2);
    });

    it('iterates pages through the cache', async () => {
      const { fake, api } = await setup();
      const count = async () => {
        let n = 0;
        for await (const page of api.pages('listInventory', { limit: 40 }, { maxPages: 10 }))
          n += page.items.length;
        return n;
      };
      expect(await count()).toBe(100);
      expect(await count()).toBe(100);
      expect(fake.requests.listInventory).toBe(3);
    });

    it('drops every entry of a kind with invalidateAll', async () => {
      const { fake, api } = await setup();
      const id = fake.data.equipment[0]!.id;
      await api.getEquipmentStatus(id);
      await api.listEquipment();
      const before = upstream(fake);
      await api.invalidateAll('equipment');
      await api.getEquipmentStatus(id);
      await api.listEquipment();
      expect(upstream(fake)).toBe(before + 2);
    });

    it('serves a stale value at once within grace and refreshes it in the background', async () => {
      const { fake, api, monitor } = await setup(
        { latency: 100 },
        { ttlSeconds: { load: 10 }, graceSeconds: { load: 60 } },
      );
      await api.getLoadStatus('1019');
      fake.update('load', '1019', { driverName: 'Zed Refreshed' });
      advance(11);
      const stale = await api.getLoadStatus('1019');
      expect(stale.driverName).not.toBe('Zed Refreshed');
      expect(monitor.stats('company_api', { labels: { cached: 'true' } })?.count).toBe(1);
      // The refresh takes ~100 ms at the fake; wait for it, then the new value is served.
      for (let i = 0; i < 100 && fake.requests.getLoad < 2; i++) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 250));
      expect((await api.getLoadStatus('1019')).driverName).toBe('Zed Refreshed');
      expect(fake.requests.getLoad).toBe(2);
    });

    it('rejects a bad id with InvalidArgumentError before touching the cache or the API', async () => {
      const { fake, api } = await setup();
      await expect(api.getLoadStatus('a:b')).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(api.listLoads({ limit: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(api.invalidateLoad('')).rejects.toBeInstanceOf(InvalidArgumentError);
      expect(upstream(fake)).toBe(0);
    });
  });
}

describe('createCachedCompanyApi options', () => {
  it('rejects unknown or invalid options with InvalidArgumentError', () => {
    const cache = createCacheManager({ monitor: false });
    const client = createCompanyApiClient({ baseUrl: 'http://127.0.0.1:9', monitor: false });
    expect(() => createCachedCompanyApi(client, cache, { negativeTtlSeconds: -1 })).toThrow(
      InvalidArgumentError,
    );
    expect(() => createCachedCompanyApi(client, cache, { ttlSeconds: { load: 0 } })).toThrow(
      InvalidArgumentError,
    );
    expect(() => createCachedCompanyApi(client, cache, { ttl: 5 } as never)).toThrow(InvalidArgumentError);
  });
});
