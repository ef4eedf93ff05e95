import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type CacheEntry,
  type CacheErrorInfo,
  type CacheManagerOptions,
  type CacheTier,
  createCacheManager,
} from '../../src/cache/index.js';
import {
  AbortedError,
  CacheError,
  ConfigError,
  InvalidArgumentError,
  TimeoutError,
} from '../../src/errors.js';
import { PerformanceMonitor } from '../../src/perf/index.js';

/** A manager on a clock the test moves by hand (entry times only; loaders still run for real). */
function clockedCache(extra: Partial<CacheManagerOptions> = {}) {
  let now = 1_700_000_000_000;
  const cache = createCacheManager({ monitor: false, now: () => now, ...extra });
  return { cache, advance: (seconds: number) => (now += seconds * 1000) };
}

/** A shared tier whose every call fails, like a Redis that refuses everything. */
function brokenTier(): CacheTier & { calls: number } {
  const fail = (): never => {
    tier.calls++;
    throw new CacheError('EARSHOT_CACHE_UNAVAILABLE', 'broken on purpose');
  };
  const tier = {
    name: 'broken',
    shared: true,
    calls: 0,
    get: fail,
    getMany: fail,
    set: fail,
    setMany: fail,
    delete: fail,
    clearNamespace: fail,
  };
  return tier;
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('createCacheManager options', () => {
  it('rejects bad options with a ConfigError naming each field', () => {
    const err = (() => {
      try {
        createCacheManager({ memory: { maxEntries: -1 }, namespaces: { x: { ttlSeconds: 0 } } });
      } catch (e) {
        return e;
      }
    })() as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.issues.map((i) => i.path).sort()).toEqual(['memory.maxEntries', 'namespaces.x.ttlSeconds']);
  });

  it('refuses a redis block without an l2 tier and says where the Redis tier lives', () => {
    expect(() => createCacheManager({ redis: { url: 'redis://127.0.0.1:6379' } })).toThrow(/earshot\/redis/);
  });

  it('refuses a cache without any tier', () => {
    expect(() => createCacheManager({ l1: false })).toThrow(InvalidArgumentError);
  });

  it('uses the default namespace TTLs of the source design', async () => {
    const { cache, advance } = clockedCache();
    await cache.set('2314', { status: 'in_transit' }, 'company_api:load');
    advance(299);
    expect(await cache.get('2314', 'company_api:load')).toEqual({ status: 'in_transit' });
    advance(2);
    expect(await cache.get('2314', 'company_api:load')).toBeUndefined();
    expect(cache.namespacePolicy('pinecone')).toEqual({ ttlSeconds: 3600, graceSeconds: 0 });
  });

  it('merges configured namespaces over the defaults and accepts new ones at runtime', async () => {
    const { cache } = clockedCache({
      namespaces: { llm: { ttlSeconds: 5, graceSeconds: 60 }, weather: { ttlSeconds: 60 } },
    });
    expect(cache.namespacePolicy('llm')).toEqual({ ttlSeconds: 5, graceSeconds: 60 });
    expect(cache.namespacePolicy('tts')).toEqual({ ttlSeconds: 86_400, graceSeconds: 0 });
    await cache.set('k', 1, 'weather');
    expect(() => cache.defineNamespace('later', { ttlSeconds: -3 })).toThrow(CacheError);
    cache.defineNamespace('later', { ttlSeconds: 10 });
    await cache.set('k', 2, 'later');
    expect(await cache.get('k', 'later')).toBe(2);
  });
});

describe('getOrSet on a controlled clock', () => {
  it('serves stale inside grace and never past it', async () => {
    const { cache, advance } = clockedCache();
    await cache.set('k', 'v1', 'llm', { ttlSeconds: 10, graceSeconds: 20 });
    advance(15);
    let runs = 0;
    expect(
      await cache.getOrSet('k', 'llm', async (ctx) => {
        runs++;
        expect(ctx.stale).toBe('v1');
        throw new Error('backend down');
      }),
    ).toBe('v1');
    await tick();
    expect(runs).toBe(1);
    advance(16); // 31 s after the write: past TTL + grace
    expect(await cache.get('k', 'llm', { allowStale: true })).toBeUndefined();
    expect(await cache.getOrSet('k', 'llm', async () => 'v2')).toBe('v2');
  });

  it('waits for the refresh with staleWhileRevalidate false and returns its value', async () => {
    const { cache, advance } = clockedCache();
    await cache.set('k', 'v1', 'llm', { ttlSeconds: 10, graceSeconds: 20 });
    advance(15);
    expect(await cache.getOrSet('k', 'llm', async () => 'v2', { staleWhileRevalidate: false })).toBe('v2');
  });

  it("lets the loader set the entry's TTL", async () => {
    const { cache, advance } = clockedCache();
    await cache.getOrSet('k', 'llm', async (ctx) => {
      ctx.setTtl(5);
      return 'short';
    });
    advance(4);
    expect(await cache.get('k', 'llm')).toBe('short');
    advance(2);
    expect(await cache.get('k', 'llm')).toBeUndefined();
  });

  it('runs the loader despite a fresh value with forceRefresh', async () => {
    const { cache } = clockedCache();
    await cache.set('k', 'old', 'llm');
    expect(await cache.getOrSet('k', 'llm', async () => 'new', { forceRefresh: true })).toBe('new');
    expect(await cache.get('k', 'llm')).toBe('new');
  });

  it('infers the value type from a loader that destructures its context', async () => {
    const { cache } = clockedCache();
    const v = await cache.getOrSet('k', 'llm', async ({ signal }) => ({ id: '1', aborted: signal.aborted }));
    expectTypeOf(v).toEqualTypeOf<{ id: string; aborted: boolean }>();
    expect(v).toEqual({ id: '1', aborted: false });
  });

  it('rejects an unknown namespace before running the loader', async () => {
    const { cache } = clockedCache();
    let ran = false;
    await expect(
      cache.getOrSet('k', 'nope', async () => {
        ran = true;
        return 1;
      }),
    ).rejects.toMatchObject({ code: 'EARSHOT_CACHE_NAMESPACE_UNKNOWN' });
    expect(ran).toBe(false);
  });

  it('wraps a non-Error throw in LOADER_FAILED with the thrown value as cause', async () => {
    const { cache } = clockedCache();
    const err = (await cache
      .getOrSet('k', 'llm', () => {
        throw 'a string';
      })
      .catch((e: unknown) => e)) as CacheError;
    expect(err.code).toBe('EARSHOT_CACHE_LOADER_FAILED');
    expect(err.cause).toBe('a string');
  });

  it('gives every waiting caller the SERIALIZATION error of an uncacheable loader result', async () => {
    const { cache } = clockedCache();
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => cache.getOrSet('k', 'llm', async () => ({ big: 1n }))),
    );
    expect(
      results.every(
        (r) => r.status === 'rejected' && (r.reason as CacheError).code === 'EARSHOT_CACHE_SERIALIZATION',
      ),
    ).toBe(true);
  });

  it('applies loaderTimeoutMs when a call gives no timeoutMs', async () => {
    const { cache } = clockedCache({ loaderTimeoutMs: 30 });
    await expect(
      cache.getOrSet('k', 'llm', () => new Promise<never>(() => undefined)),
    ).rejects.toBeInstanceOf(TimeoutError);
  });

  it('aborts only the caller whose signal fired; the shared load continues for the others', async () => {
    const { cache } = clockedCache();
    const controller = new AbortController();
    let release!: (v: string) => void;
    const loader = () =>
      new Promise<string>((r) => {
        release = r;
      });
    const aborted = cache.getOrSet('k', 'llm', loader, { signal: controller.signal });
    const patient = cache.getOrSet('k', 'llm', loader);
    await tick();
    controller.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortedError);
    release('done');
    expect(await patient).toBe('done');
    expect(await cache.get('k', 'llm')).toBe('done');
  });
});

describe('cache.wrap', () => {
  it('caches a function by its arguments and keeps its behaviour', async () => {
    const { cache } = clockedCache();
    let calls = 0;
    async function getLoad(id: string, opts: { fresh: boolean }) {
      calls++;
      return { id, fresh: opts.fresh };
    }
    const cached = cache.wrap(getLoad, { namespace: 'company_api:load' });
    expect(await cached('1', { fresh: true })).toEqual({ id: '1', fresh: true });
    expect(await cached('1', { fresh: true })).toEqual({ id: '1', fresh: true });
    expect(await cached('2', { fresh: true })).toEqual({ id: '2', fresh: true });
    expect(calls).toBe(2);
    expect(cached.name).toBe('getLoad');
  });

  it('uses the key function when given', async () => {
    const { cache } = clockedCache();
    const fn = cache.wrap(async (id: string, _traceId: string) => `load ${id}`, {
      namespace: 'company_api:load',
      key: (id) => id,
    });
    await fn('7', 'trace-a');
    expect(await cache.get('7', 'company_api:load')).toBe('load 7');
  });

  it('refuses an anonymous function without key or name, and an unknown namespace, at wrap time', () => {
    const { cache } = clockedCache();
    expect(() => cache.wrap(async () => 1, { namespace: 'llm' })).toThrow(InvalidArgumentError);
    expect(() => cache.wrap(async function named() {}, { namespace: 'nope' })).toThrow(CacheError);
  });
});

describe('a failing shared tier', () => {
  it('turns reads into misses and skips writes, counting and reporting each error', async () => {
    const errors: [unknown, CacheErrorInfo][] = [];
    const monitor = new PerformanceMonitor();
    const l2 = brokenTier();
    const cache = createCacheManager({ monitor, l2, onError: (e, i) => errors.push([e, i]) });
    await cache.set('k', 'v', 'llm');
    expect(await cache.get('k', 'llm')).toBe('v'); // L1
    expect(await cache.get('other', 'llm')).toBeUndefined();
    expect(await cache.getOrSet('x', 'llm', async () => 'loaded')).toBe('loaded');
    expect(cache.stats().namespaces.llm?.errors).toBeGreaterThanOrEqual(3);
    expect(errors.map(([, i]) => i.operation)).toEqual(expect.arrayContaining(['read', 'write']));
    expect(
      monitor.stats('cache_read', { labels: { tier: 'broken', outcome: 'error' } })?.count,
    ).toBeGreaterThanOrEqual(1);
    expect(
      monitor.stats('cache_write', { labels: { tier: 'broken', outcome: 'error' } })?.count,
    ).toBeGreaterThanOrEqual(1);
    await expect(cache.delete('k', 'llm')).rejects.toMatchObject({ code: 'EARSHOT_CACHE_UNAVAILABLE' });
    expect(await cache.get('k', 'llm')).toBeUndefined(); // the local copy is gone all the same
  });

  it('keeps working when onError itself throws', async () => {
    const cache = createCacheManager({
      monitor: false,
      l2: brokenTier(),
      onError: () => {
        throw new Error('bad handler');
      },
    });
    expect(await cache.get('k', 'llm')).toBeUndefined();
  });
});

describe('metrics', () => {
  it("uses the monitor's pre-resolved recorder when it offers one, once per label set", async () => {
    const made: string[] = [];
    class FastMonitor extends PerformanceMonitor {
      override recorder(name: string, labels?: Record<string, string>) {
        made.push(`${name} ${labels?.tier}/${labels?.outcome}`);
        return super.recorder(name, labels);
      }
    }
    const monitor = new FastMonitor();
    const cache = createCacheManager({ monitor });
    await cache.set('k', 1, 'llm');
    for (let i = 0; i < 5; i++) await cache.get('k', 'llm');
    expect(made).toEqual(['cache_write memory/ok', 'cache_read memory/hit']);
    expect(monitor.stats('cache_read', { labels: { outcome: 'hit' } })?.count).toBe(5);
  });

  it('records loader runs as cache_load with their outcome', async () => {
    const monitor = new PerformanceMonitor();
    const cache = createCacheManager({ monitor });
    await cache.getOrSet('a', 'llm', async () => 1);
    await cache.getOrSet('b', 'llm', async () => Promise.reject(new Error('x'))).catch(() => undefined);
    expect(monitor.stats('cache_load', { labels: { namespace: 'llm' } })).toMatchObject({
      count: 2,
      errors: 1,
    });
  });
});

describe('lifecycle and stats', () => {
  it('rejects calls after close', async () => {
    const cache = createCacheManager({ monitor: false });
    await cache.close();
    await expect(cache.get('k', 'llm')).rejects.toMatchObject({ code: 'EARSHOT_CACHE_UNAVAILABLE' });
  });

  it('does not count has() in the hit statistics', async () => {
    const cache = createCacheManager({ monitor: false });
    await cache.set('k', 1, 'llm');
    await cache.has('k', 'llm');
    await cache.has('z', 'llm');
    expect(cache.stats().namespaces.llm).toMatchObject({ hits: 0, misses: 0 });
  });

  it('reports tier health and zeroes counters on resetStats', async () => {
    const cache = createCacheManager({ monitor: false });
    await cache.set('k', 1, 'llm');
    await cache.get('k', 'llm');
    expect(cache.stats().tiers.l1).toMatchObject({ name: 'memory', state: 'up', entries: 1 });
    cache.resetStats();
    expect(cache.stats().namespaces).toEqual({});
  });

  it('accepts a custom async tier through the tier contract', async () => {
    const store = new Map<string, CacheEntry>();
    const tier: CacheTier = {
      name: 'map',
      shared: false,
      get: async (id) => store.get(id),
      getMany: async (ids) => ids.map((id) => store.get(id)),
      set: async (id, _ns, e) => {
        store.set(id, e);
      },
      setMany: async (items) => {
        for (const { id, entry } of items) store.set(id, entry);
      },
      delete: async (id) => store.delete(id),
      clearNamespace: async () => undefined,
    };
    const cache = createCacheManager({ monitor: false, l1: tier });
    await cache.set('k', 'v', 'llm');
    expect(await cache.get('k', 'llm')).toBe('v');
    expect(store.size).toBe(1);
  });
});

describe('abort', () => {
  it('a caller whose signal is already aborted is rejected at once while the shared load goes on', async () => {
    const cache = createCacheManager({ monitor: new PerformanceMonitor() });
    let release!: (v: string) => void;
    const loader = () => new Promise<string>((r) => (release = r));
    const first = cache.getOrSet('k', 'llm', loader);
    const aborted = AbortSignal.abort(new Error('gone'));
    await expect(cache.getOrSet('k', 'llm', loader, { signal: aborted })).rejects.toMatchObject({
      code: 'EARSHOT_ABORTED',
    });
    release('value');
    expect(await first).toBe('value');
    expect(await cache.get('k', 'llm')).toBe('value');
  });
});
