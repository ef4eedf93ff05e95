import { describe, expect, it } from 'vitest';
import { createCacheManager, MemoryTier } from '../../src/cache/index.js';
import { cacheId } from '../../src/cache/tier-kit/index.js';

const entry = (value: unknown, ttlMs = 60_000, now = Date.now()) => ({
  value,
  freshUntil: now + ttlMs,
  staleUntil: now + ttlMs,
});

describe('MemoryTier', () => {
  it('evicts the least recently used entry past maxEntries', () => {
    const tier = new MemoryTier({ maxEntries: 2 });
    tier.set('n:a', 'n', entry(1));
    tier.set('n:b', 'n', entry(2));
    tier.get('n:a', 'n');
    tier.set('n:c', 'n', entry(3));
    expect(tier.get('n:b', 'n')).toBeUndefined();
    expect(tier.get('n:a', 'n')?.value).toBe(1);
    expect(tier.size).toBe(2);
  });

  it('evicts by estimated bytes past maxBytes', () => {
    const tier = new MemoryTier({ maxBytes: 10_000 });
    for (let i = 0; i < 10; i++) tier.set(`n:${i}`, 'n', entry('x'.repeat(1000)));
    expect(tier.bytes).toBeLessThanOrEqual(10_000);
    expect(tier.size).toBeLessThan(10);
    expect(tier.get('n:9', 'n')).toBeDefined();
  });

  it('drops entries past their grace period when the manager reads them', async () => {
    let now = 1_000;
    const l1 = new MemoryTier({ now: () => now });
    const cache = createCacheManager({ monitor: false, l1, now: () => now });
    await cache.set('a', 1, 'llm', { ttlSeconds: 0.1, graceSeconds: 0.1 });
    now = 1_150;
    expect(await cache.get('a', 'llm', { allowStale: true })).toBe(1);
    now = 1_200;
    expect(await cache.get('a', 'llm', { allowStale: true })).toBeUndefined();
    expect(l1.size).toBe(0);
  });

  it('clears one namespace in O(1) without touching others', () => {
    const tier = new MemoryTier();
    tier.set(cacheId('a', 'k'), 'a', entry(1));
    tier.set(cacheId('b', 'k'), 'b', entry(2));
    tier.clearNamespace('a');
    expect(tier.get(cacheId('a', 'k'), 'a')).toBeUndefined();
    expect(tier.get(cacheId('b', 'k'), 'b')?.value).toBe(2);
    tier.set(cacheId('a', 'k'), 'a', entry(3));
    expect(tier.get(cacheId('a', 'k'), 'a')?.value).toBe(3);
  });

  it('hands out the stored object itself in reference mode', async () => {
    const cache = createCacheManager({ monitor: false });
    const value = { n: 1 };
    await cache.set('k', value, 'llm');
    expect(await cache.get('k', 'llm')).toBe(value);
  });

  it('deep-freezes stored values in freeze mode', async () => {
    const cache = createCacheManager({ monitor: false, memory: { valueMode: 'freeze' } });
    await cache.set('k', { nested: { n: 1 }, list: [1] }, 'llm');
    const got = (await cache.get<{ nested: { n: number }; list: number[] }>('k', 'llm'))!;
    expect(Object.isFrozen(got.nested)).toBe(true);
    expect(() => {
      got.nested.n = 2;
    }).toThrow(TypeError);
  });

  it('stores and returns copies in clone mode', async () => {
    const cache = createCacheManager({ monitor: false, memory: { valueMode: 'clone' } });
    const value = { n: 1 };
    await cache.set('k', value, 'llm');
    value.n = 99;
    const got = (await cache.get<{ n: number }>('k', 'llm'))!;
    expect(got.n).toBe(1);
    got.n = 5;
    expect((await cache.get<{ n: number }>('k', 'llm'))!.n).toBe(1);
  });
});
