/**
 * The manager's facade over its modules: bus messages for namespaces this instance never used
 * allocate nothing (issue 15.16), joined single-flight callers are counted apart (17.16), and
 * namespace names are typed from the configuration (17.15).
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type CacheManager,
  createCacheManager,
  type DefaultNamespace,
  MemoryTier,
} from '../../src/cache/index.js';
import type { CacheTier, InvalidationHandlers, InvalidationMessage } from '../../src/cache/tier-kit/index.js';

/** An L1 that records which namespaces it was asked to touch. */
class SpyTier extends MemoryTier {
  readonly touched: string[] = [];
  override delete(id: string, namespace: string): boolean {
    this.touched.push(namespace);
    return super.delete(id, namespace);
  }
  override clearNamespace(namespace: string): undefined {
    this.touched.push(namespace);
    return super.clearNamespace(namespace);
  }
}

/** A shared tier (a second MemoryTier) with a bus whose messages the test delivers by hand. */
function sharedTierWithBus(): { tier: CacheTier; deliver: (m: InvalidationMessage) => void } {
  const store = new MemoryTier();
  let handlers: InvalidationHandlers | undefined;
  const tier: CacheTier = {
    name: 'shared',
    shared: true,
    bus: {
      connected: true,
      publish: async () => undefined,
      subscribe: async (h) => {
        handlers = h;
        return async () => undefined;
      },
    },
    get: (id, ns) => store.get(id, ns),
    getMany: (ids, ns) => store.getMany(ids, ns),
    set: (id, ns, e) => store.set(id, ns, e),
    setMany: (items, ns) => store.setMany(items, ns),
    delete: (id, ns) => store.delete(id, ns),
    clearNamespace: (ns) => store.clearNamespace(ns),
  };
  return { tier, deliver: (m) => handlers?.onMessage(m) };
}

describe('the invalidation bus (issue 15.16)', () => {
  it('ignores messages naming namespaces this instance never used, allocating nothing for them', async () => {
    const l1 = new SpyTier();
    const { tier, deliver } = sharedTierWithBus();
    const cache = createCacheManager({ monitor: false, l1, l2: tier });
    await cache.connect();
    try {
      await cache.set('k', 'v', 'llm');
      l1.touched.length = 0;
      for (let i = 0; i < 20_000; i++) {
        deliver({ source: 'other', namespace: `flood-${i}`, ...(i % 2 === 0 ? { keys: [`k${i}`] } : {}) });
      }
      expect(l1.touched).toEqual([]);
      expect(cache.namespacePolicy('flood-7')).toBeUndefined();
      expect(Object.keys(cache.stats().namespaces)).toEqual(['llm']);
      // A namespace it knows is still invalidated.
      deliver({ source: 'other', namespace: 'llm', keys: ['k'] });
      expect(l1.touched).toEqual(['llm']);
      expect(l1.get('llm:k', 'llm')).toBeUndefined();
    } finally {
      await cache.close();
    }
  });

  it('still applies messages for configured namespaces it has not read yet, and ignores its own', async () => {
    const l1 = new SpyTier();
    const { tier, deliver } = sharedTierWithBus();
    const cache = createCacheManager({ monitor: false, l1, l2: tier, instanceId: 'me' });
    await cache.connect();
    try {
      deliver({ source: 'me', namespace: 'pinecone' });
      expect(l1.touched).toEqual([]);
      deliver({ source: 'other', namespace: 'pinecone' });
      expect(l1.touched).toEqual(['pinecone']);
    } finally {
      await cache.close();
    }
  });
});

describe('joined single-flight callers (issue 17.16)', () => {
  it('counts 20 concurrent callers of one load as 1 miss and 19 joined; the hit rate counts joined as not hits', async () => {
    const cache = createCacheManager({ monitor: false });
    try {
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const all = Promise.all(
        Array.from({ length: 20 }, () =>
          cache.getOrSet('k', 'llm', async () => {
            await gate;
            return 1;
          }),
        ),
      );
      release();
      await all;
      await cache.get('k', 'llm');
      const s = cache.stats().namespaces.llm!;
      expect(s).toMatchObject({ hits: 1, misses: 1, joined: 19, loads: 1 });
      expect(s.hitRate).toBeCloseTo(1 / 21);
      expect(cache.stats().total.joined).toBe(19);
      cache.resetStats();
      expect(cache.stats().namespaces.llm).toBeUndefined();
    } finally {
      await cache.close();
    }
  });
});

describe('typed namespace names (issue 17.15)', () => {
  it('types get / set / getOrSet / delete with the configured names plus the defaults', async () => {
    const cache = createCacheManager({ monitor: false, namespaces: { weather: { ttlSeconds: 60 } } });
    try {
      expectTypeOf(cache).toEqualTypeOf<CacheManager<'weather' | DefaultNamespace>>();
      await cache.set('paris', 21, 'weather');
      expect(await cache.get('paris', 'weather')).toBe(21);
      expect(await cache.get('k', 'llm')).toBeUndefined();
      // @ts-expect-error a typo in a namespace is a compile error
      expect(await cache.get('paris', 'wether')).toBeUndefined();
      // @ts-expect-error also for set
      await cache.set('paris', 21, 'wether', { ttlSeconds: 5 });
      // @ts-expect-error and getOrSet
      await cache.getOrSet('paris', 'wether', () => 1, { ttlSeconds: 5 });
      // Runtime namespaces: defineNamespace returns the manager typed with the new name.
      const more = cache.defineNamespace('geo', { ttlSeconds: 3600 });
      expectTypeOf(more).toEqualTypeOf<CacheManager<'weather' | DefaultNamespace | 'geo'>>();
      await more.set('paris', [48.85, 2.35], 'geo');
      expect(await more.get('paris', 'geo')).toEqual([48.85, 2.35]);
      // A typed manager still goes where a plain CacheManager is expected.
      const plain: CacheManager = cache;
      expect(await plain.get('paris', 'geo')).toEqual([48.85, 2.35]);
    } finally {
      await cache.close();
    }
  });

  it('keeps any string for managers built without a literal namespaces object', () => {
    const fromFile: Record<string, { ttlSeconds: number }> = JSON.parse('{"a":{"ttlSeconds":5}}');
    expectTypeOf(createCacheManager({ monitor: false, namespaces: fromFile })).toEqualTypeOf<
      CacheManager<string>
    >();
    expectTypeOf(createCacheManager()).toEqualTypeOf<CacheManager<string>>();
    expect(
      createCacheManager({ monitor: false, namespaces: fromFile }).namespacePolicy('a')?.ttlSeconds,
    ).toBe(5);
  });
});
