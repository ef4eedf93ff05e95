/**
 * Single-flight with a distributed lock, on an in-memory "shared" tier whose lock and bus the
 * test controls: who runs the loader, with which lock TTL, what a waiter does while another
 * process loads (poll, bus wake-up, take-over), and the fallbacks when the lock fails.
 */
import { describe, expect, it } from 'vitest';
import { type CacheErrorInfo, createCacheManager, MemoryTier } from '../../src/cache/index.js';
import type {
  CacheEntry,
  CacheTier,
  DistributedLock,
  InvalidationHandlers,
} from '../../src/cache/tier-kit/index.js';
import { AbortedError, type CacheError } from '../../src/errors.js';
import { OP, PerformanceMonitor } from '../../src/perf/index.js';

class FakeLock implements DistributedLock {
  readonly held = new Map<string, string>();
  readonly acquired: { id: string; ttlMs: number }[] = [];
  readonly released: { id: string; token: string }[] = [];
  failAcquire = false;
  failRelease = false;
  private n = 0;
  async acquire(id: string, ttlMs: number): Promise<string | undefined> {
    if (this.failAcquire) throw new Error('lock backend down');
    this.acquired.push({ id, ttlMs });
    if (this.held.has(id)) return undefined;
    const token = `t${++this.n}`;
    this.held.set(id, token);
    return token;
  }
  async release(id: string, token: string): Promise<void> {
    this.released.push({ id, token });
    if (this.failRelease) throw new Error('release failed');
    if (this.held.get(id) === token) this.held.delete(id);
  }
}

/** A shared tier: a MemoryTier behind a lock and a bus the test drives. */
function shared() {
  const store = new MemoryTier();
  const lock = new FakeLock();
  let handlers: InvalidationHandlers | undefined;
  const tier: CacheTier = {
    name: 'shared',
    shared: true,
    lock,
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
  /** Another process writes `value` under (namespace, key). */
  const writeElsewhere = (key: string, value: unknown, ns = 'llm') => {
    const now = Date.now();
    const entry: CacheEntry = { value, freshUntil: now + 60_000, staleUntil: now + 60_000 };
    store.set(`${ns}:${key}`, ns, entry);
  };
  return { tier, lock, store, writeElsewhere, bus: () => handlers! };
}

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe('single-flight with a distributed lock', () => {
  it('takes the lock for lock.ttlMs (or timeoutMs + 1 s when larger), loads, stores and releases it', async () => {
    const s = shared();
    const cache = createCacheManager({
      monitor: false,
      l1: false,
      l2: s.tier,
      lock: { ttlMs: 3000, pollMs: 10 },
    });
    await cache.connect();
    try {
      expect(await cache.getOrSet('a', 'llm', () => 'A')).toBe('A');
      expect(await cache.getOrSet('b', 'llm', () => 'B', { timeoutMs: 7000 })).toBe('B');
      expect(s.lock.acquired).toEqual([
        { id: 'llm:a', ttlMs: 3000 },
        { id: 'llm:b', ttlMs: 8000 },
      ]);
      expect(s.lock.released).toEqual([
        { id: 'llm:a', token: 't1' },
        { id: 'llm:b', token: 't2' },
      ]);
      expect(s.lock.held.size).toBe(0);
      expect(await cache.get('a', 'llm')).toBe('A');
    } finally {
      await cache.close();
    }
  });

  it('re-reads the shared tier once it holds the lock: a value written meanwhile is used, no loader runs', async () => {
    const s = shared();
    const cache = createCacheManager({ monitor: false, l1: false, l2: s.tier });
    await cache.connect();
    try {
      let runs = 0;
      const acquire = s.lock.acquire.bind(s.lock);
      s.lock.acquire = async (id, ttl) => {
        const token = await acquire(id, ttl);
        s.writeElsewhere('k', 'from-elsewhere'); // filled between our miss and our lock
        return token;
      };
      expect(
        await cache.getOrSet('k', 'llm', () => {
          runs++;
          return 'mine';
        }),
      ).toBe('from-elsewhere');
      expect(runs).toBe(0);
      expect(s.lock.released).toHaveLength(1);
      // forceRefresh skips that re-read and runs the loader.
      expect(await cache.getOrSet('k', 'llm', () => 'forced', { forceRefresh: true })).toBe('forced');
      expect(await cache.get('k', 'llm')).toBe('forced');
    } finally {
      await cache.close();
    }
  });

  it('waits while another process holds the lock and returns what that process wrote', async () => {
    const s = shared();
    const cache = createCacheManager({
      monitor: false,
      l1: false,
      l2: s.tier,
      lock: { ttlMs: 60_000, pollMs: 10 },
    });
    await cache.connect();
    try {
      s.lock.held.set('llm:k', 'other-process');
      let runs = 0;
      const pending = cache.getOrSet('k', 'llm', () => {
        runs++;
        return 'mine';
      });
      await tick(30);
      s.writeElsewhere('k', 'theirs');
      expect(await pending).toBe('theirs');
      expect(runs).toBe(0);
      expect(s.lock.released).toEqual([]); // never held it
      expect(s.lock.acquired.length).toBeGreaterThanOrEqual(2); // retried while waiting
    } finally {
      await cache.close();
    }
  });

  it('is woken by the bus at once instead of waiting for the next poll', async () => {
    const s = shared();
    const cache = createCacheManager({
      monitor: false,
      l1: false,
      l2: s.tier,
      lock: { ttlMs: 600_000, pollMs: 10_000 }, // a poll would outlast the test timeout
    });
    await cache.connect();
    try {
      s.lock.held.set('llm:k', 'other');
      s.lock.held.set('llm:j', 'other');
      const k = cache.getOrSet('k', 'llm', () => 'mine');
      const j = cache.getOrSet('j', 'llm', () => 'mine');
      await tick(20);
      s.writeElsewhere('k', 'theirs-k');
      s.bus().onMessage({ source: 'other', namespace: 'llm', keys: ['k'] });
      expect(await k).toBe('theirs-k');
      s.writeElsewhere('j', 'theirs-j');
      s.bus().onMessage({ source: 'other', namespace: 'llm' }); // a namespace message wakes all of it
      expect(await j).toBe('theirs-j');
    } finally {
      await cache.close();
    }
  }, 30_000);

  it('takes over when the other holder lets its lock lapse without writing', async () => {
    const s = shared();
    const cache = createCacheManager({
      monitor: false,
      l1: false,
      l2: s.tier,
      lock: { ttlMs: 60_000, pollMs: 10 },
    });
    await cache.connect();
    try {
      s.lock.held.set('llm:k', 'dead-process');
      const pending = cache.getOrSet('k', 'llm', () => 'mine');
      await tick(30);
      s.lock.held.delete('llm:k'); // expired
      expect(await pending).toBe('mine');
      expect(s.lock.released.map((r) => r.id)).toEqual(['llm:k']);
      expect(await cache.get('k', 'llm')).toBe('mine');
    } finally {
      await cache.close();
    }
  });

  it('runs the loader itself, once, when the lock backend fails (and reports it)', async () => {
    const s = shared();
    const errors: string[] = [];
    const cache = createCacheManager({
      monitor: false,
      l1: false,
      l2: s.tier,
      onError: (_e, info) => errors.push(info.operation),
    });
    await cache.connect();
    try {
      s.lock.failAcquire = true;
      let runs = 0;
      const results = await Promise.all(
        Array.from({ length: 5 }, () =>
          cache.getOrSet('k', 'llm', async () => {
            runs++;
            await tick();
            return 'mine';
          }),
        ),
      );
      expect(results).toEqual(['mine', 'mine', 'mine', 'mine', 'mine']);
      expect(runs).toBe(1);
      expect(errors).toEqual(['lock']);
      expect(s.lock.released).toEqual([]); // no lock was taken, so none is released
    } finally {
      await cache.close();
    }
  });

  it('falls back to a local load when the lock fails while waiting', async () => {
    const s = shared();
    const errors: string[] = [];
    const cache = createCacheManager({
      monitor: false,
      l1: false,
      l2: s.tier,
      lock: { ttlMs: 60_000, pollMs: 10 },
      onError: (_e, info) => errors.push(info.operation),
    });
    await cache.connect();
    try {
      s.lock.held.set('llm:k', 'other');
      const pending = cache.getOrSet('k', 'llm', () => 'mine');
      await tick(30);
      s.lock.failAcquire = true;
      expect(await pending).toBe('mine');
      expect(errors).toContain('lock');
      expect(s.lock.released).toEqual([]);
    } finally {
      await cache.close();
    }
  });

  it('reports a failed release without failing the call', async () => {
    const s = shared();
    const errors: string[] = [];
    const cache = createCacheManager({
      monitor: false,
      l1: false,
      l2: s.tier,
      onError: (_e, info) => errors.push(info.operation),
    });
    await cache.connect();
    try {
      s.lock.failRelease = true;
      expect(await cache.getOrSet('k', 'llm', () => 'v')).toBe('v');
      await tick();
      expect(errors).toEqual(['lock']);
    } finally {
      await cache.close();
    }
  });

  it('does not touch the lock with distributed: false', async () => {
    const s = shared();
    const cache = createCacheManager({ monitor: false, l1: false, l2: s.tier });
    await cache.connect();
    try {
      expect(await cache.getOrSet('k', 'llm', () => 'v', { distributed: false })).toBe('v');
      expect(s.lock.acquired).toEqual([]);
    } finally {
      await cache.close();
    }
  });

  it('serves the stale value and leaves the refresh to the process holding the lock', async () => {
    const s = shared();
    let now = Date.now();
    const cache = createCacheManager({ monitor: false, l1: false, l2: s.tier, now: () => now });
    await cache.connect();
    try {
      await cache.set('k', 'old', 'llm', { ttlSeconds: 60, graceSeconds: 600 });
      now += 61_000;
      s.lock.held.set('llm:k', 'other');
      let runs = 0;
      expect(
        await cache.getOrSet('k', 'llm', () => {
          runs++;
          return 'new';
        }),
      ).toBe('old');
      for (let i = 0; i < 200 && cache.stats().inflight > 0; i++) await tick();
      expect(cache.stats().inflight).toBe(0);
      expect(runs).toBe(0);
      expect(s.lock.acquired.map((a) => a.id)).toEqual(['llm:k']);
    } finally {
      await cache.close();
    }
  });

  it('counts one load in flight in stats() while it runs, none after', async () => {
    const cache = createCacheManager({ monitor: false });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const p = cache.getOrSet('k', 'llm', async () => {
      await gate;
      return 1;
    });
    expect(cache.stats().inflight).toBe(1);
    release();
    await p;
    expect(cache.stats().inflight).toBe(0);
    await cache.close();
  });
});

describe('single-flight edges pinned by the mutation run', () => {
  it('a namespace message wakes the lock waiters of that namespace only', async () => {
    const s = shared();
    const cache = createCacheManager({
      monitor: false,
      l1: false,
      l2: s.tier,
      lock: { ttlMs: 600_000, pollMs: 10_000 }, // a poll would outlast the test
    });
    await cache.connect();
    try {
      s.lock.held.set('llm:k', 'other');
      s.lock.held.set('pinecone:k', 'other');
      const llm = cache.getOrSet('k', 'llm', () => 'mine');
      const pinecone = cache.getOrSet('k', 'pinecone', () => 'mine');
      await tick(20);
      const tries = (id: string) => s.lock.acquired.filter((a) => a.id === id).length;
      expect([tries('llm:k'), tries('pinecone:k')]).toEqual([1, 1]);
      s.bus().onMessage({ source: 'other', namespace: 'llm' });
      await tick(20);
      // the llm waiter re-read the shared tier and asked for the lock again; the other slept on
      expect([tries('llm:k'), tries('pinecone:k')]).toEqual([2, 1]);
      s.writeElsewhere('k', 'theirs-llm');
      s.bus().onMessage({ source: 'other', namespace: 'llm', keys: ['k'] });
      s.writeElsewhere('k', 'theirs-pinecone', 'pinecone');
      s.bus().onMessage({ source: 'other', namespace: 'pinecone', keys: ['k'] });
      expect(await llm).toBe('theirs-llm');
      expect(await pinecone).toBe('theirs-pinecone');
    } finally {
      await cache.close();
    }
  }, 30_000);

  it('closing the manager wakes every lock waiter at once', async () => {
    const s = shared();
    const cache = createCacheManager({
      monitor: false,
      l1: false,
      l2: s.tier,
      lock: { ttlMs: 600_000, pollMs: 10_000 }, // the longest poll allowed
    });
    await cache.connect();
    s.lock.held.set('llm:k', 'other');
    const pending = cache.getOrSet('k', 'llm', () => 'mine');
    await tick(20);
    await cache.close();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      pending.then(
        () => 'settled',
        () => 'settled',
      ),
      new Promise<string>((r) => {
        timer = setTimeout(() => r('still waiting'), 5_000); // half the poll
      }),
    ]);
    clearTimeout(timer);
    expect(outcome).toBe('settled');
  }, 30_000);

  it('invalidating a namespace supersedes only the loads of that namespace', async () => {
    const cache = createCacheManager({ monitor: false });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const llm = cache.getOrSet('k', 'llm', async () => {
      await gate;
      return 'llm-load';
    });
    const pinecone = cache.getOrSet('k', 'pinecone', async () => {
      await gate;
      return 'pinecone-load';
    });
    await tick();
    await cache.invalidateNamespace('llm');
    release();
    expect([await llm, await pinecone]).toEqual(['llm-load', 'pinecone-load']);
    expect(await cache.get('k', 'llm')).toBeUndefined();
    expect(await cache.get('k', 'pinecone')).toBe('pinecone-load');
    await cache.close();
  });

  it('a bus reconnect supersedes every running load (messages may have been missed)', async () => {
    const s = shared();
    const cache = createCacheManager({ monitor: false, l2: s.tier });
    await cache.connect();
    try {
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const load = cache.getOrSet(
        'k',
        'llm',
        async () => {
          await gate;
          return 'loaded-before-reconnect';
        },
        { distributed: false },
      );
      await tick();
      s.bus().onReconnect();
      release();
      expect(await load).toBe('loaded-before-reconnect');
      expect(await cache.get('k', 'llm')).toBeUndefined();
    } finally {
      await cache.close();
    }
  });

  it("an aborted caller's error names the key and carries the signal's reason", async () => {
    const cache = createCacheManager({ monitor: false });
    const reason = new Error('caller hung up');
    const err = await cache
      .getOrSet('load-7', 'llm', () => 'v', { signal: AbortSignal.abort(reason) })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortedError);
    expect((err as Error).message).toBe('getOrSet("load-7") was aborted by its caller.');
    expect((err as Error).cause).toBe(reason);
    await cache.close();
  });

  it('reports a failed background refresh as a refresh of its namespace', async () => {
    let now = 1_700_000_000_000;
    const infos: CacheErrorInfo[] = [];
    const cache = createCacheManager({ monitor: false, now: () => now, onError: (_e, i) => infos.push(i) });
    await cache.set('k', 'old', 'llm', { ttlSeconds: 60, graceSeconds: 600 });
    now += 61_000;
    expect(
      await cache.getOrSet('k', 'llm', async () => {
        throw new Error('still down');
      }),
    ).toBe('old');
    for (let i = 0; i < 200 && infos.length === 0; i++) await tick();
    expect(infos).toEqual([{ operation: 'refresh', namespace: 'llm' }]);
    await cache.close();
  });

  it('reports lock failures with the namespace, and the tier for a failed acquire', async () => {
    const s = shared();
    const infos: CacheErrorInfo[] = [];
    const cache = createCacheManager({
      monitor: false,
      l1: false,
      l2: s.tier,
      onError: (_e, i) => infos.push(i),
    });
    await cache.connect();
    try {
      s.lock.failAcquire = true;
      expect(await cache.getOrSet('a', 'llm', () => 'A')).toBe('A');
      s.lock.failAcquire = false;
      s.lock.failRelease = true;
      expect(await cache.getOrSet('b', 'llm', () => 'B')).toBe('B');
      await tick();
      expect(infos).toEqual([
        { operation: 'lock', namespace: 'llm', tier: 'shared' },
        { operation: 'lock', namespace: 'llm' },
      ]);
    } finally {
      await cache.close();
    }
  });

  it("the loader's setTtl sets the grace period too, or keeps the call's grace when given none", async () => {
    let now = 1_700_000_000_000;
    const cache = createCacheManager({ monitor: false, now: () => now });
    await cache.getOrSet(
      'own-grace',
      'llm',
      (ctx) => {
        ctx.setTtl(10, 5);
        return 'a';
      },
      { graceSeconds: 600 },
    );
    await cache.getOrSet(
      'call-grace',
      'llm',
      (ctx) => {
        ctx.setTtl(10);
        return 'b';
      },
      { graceSeconds: 600 },
    );
    now += 12_000; // past both TTLs, inside both graces
    expect(await cache.get('own-grace', 'llm', { allowStale: true })).toBe('a');
    expect(await cache.get('call-grace', 'llm', { allowStale: true })).toBe('b');
    now += 5_000; // 17 s: past the loader's 5 s grace, inside the call's 600 s
    expect(await cache.get('own-grace', 'llm', { allowStale: true })).toBeUndefined();
    expect(await cache.get('call-grace', 'llm', { allowStale: true })).toBe('b');
    await cache.close();
  });

  it("the loader's setTtl checks its arguments and names the bad one", async () => {
    const cache = createCacheManager({ monitor: false });
    const bad = (ttl: number, grace?: number) =>
      cache
        .getOrSet('k', 'llm', (ctx) => {
          ctx.setTtl(ttl, grace);
          return 'v';
        })
        .then(
          () => {
            throw new Error('expected setTtl to throw');
          },
          (e: unknown) => e as CacheError,
        );
    const zeroTtl = await bad(0);
    expect(zeroTtl.code).toBe('EARSHOT_CACHE_TTL_INVALID');
    expect(zeroTtl.message).toMatch(/^ttlSeconds must be/);
    const negativeGrace = await bad(10, -1);
    expect(negativeGrace.code).toBe('EARSHOT_CACHE_TTL_INVALID');
    expect(negativeGrace.message).toMatch(/^graceSeconds must be/);
    const zeroGrace = await cache.getOrSet('k', 'llm', (ctx) => {
      ctx.setTtl(10, 0);
      return 'zero grace is fine';
    });
    expect(zeroGrace).toBe('zero grace is fine');
    await cache.close();
  });

  it('a cached absence (negativeTtlSeconds) gets no grace period', async () => {
    let now = 1_700_000_000_000;
    const cache = createCacheManager({ monitor: false, now: () => now });
    expect(
      await cache.getOrSet('gone', 'llm', () => null, { negativeTtlSeconds: 30, graceSeconds: 600 }),
    ).toBe(null);
    now += 29_000;
    expect(await cache.get('gone', 'llm')).toBeNull();
    now += 2_000;
    expect(await cache.get('gone', 'llm', { allowStale: true })).toBeUndefined();
    await cache.close();
  });

  it('an undefined loader result is refused with a message naming the key and namespace', async () => {
    const cache = createCacheManager({ monitor: false });
    const fromJavaScript: Record<string, string> = {};
    const err = (await cache
      .getOrSet('load-9', 'llm', () => fromJavaScript.missing as string)
      .catch((e: unknown) => e)) as CacheError;
    expect(err.code).toBe('EARSHOT_CACHE_LOADER_FAILED');
    expect(err.message).toContain('key "load-9" in namespace "llm" returned undefined');
    await cache.close();
  });

  it('a skipped load is still validated: a value too large to cache is refused', async () => {
    const cache = createCacheManager({ monitor: false, maxValueBytes: 100 });
    const err = (await cache
      .getOrSet('k', 'llm', (ctx) => {
        ctx.skip();
        return 'x'.repeat(1000);
      })
      .catch((e: unknown) => e)) as CacheError;
    expect(err.code).toBe('EARSHOT_CACHE_VALUE_TOO_LARGE');
    await cache.close();
  });

  it('records each load as cache_load with its outcome', async () => {
    const monitor = new PerformanceMonitor();
    const cache = createCacheManager({ monitor });
    await cache.getOrSet('ok', 'llm', () => 'v');
    await cache
      .getOrSet('bad', 'llm', () => {
        throw new Error('down');
      })
      .catch(() => undefined);
    expect(monitor.stats(OP.cacheLoad, { labels: { namespace: 'llm', outcome: 'ok' } })?.count).toBe(1);
    expect(monitor.stats(OP.cacheLoad, { labels: { namespace: 'llm', outcome: 'error' } })?.count).toBe(1);
    await cache.close();
  });
});

describe('single-flight: more edges pinned by the mutation run', () => {
  it('reports nothing on an ordinary load: memory only, a shared tier without a lock, distributed: false', async () => {
    const infos: CacheErrorInfo[] = [];
    const onError = (_e: unknown, i: CacheErrorInfo) => infos.push(i);
    const memoryOnly = createCacheManager({ monitor: false, onError });
    expect(await memoryOnly.getOrSet('k', 'llm', () => 'v')).toBe('v');
    await memoryOnly.close();
    const s = shared();
    const { lock: _lock, ...lockless } = s.tier;
    const noLock = createCacheManager({ monitor: false, l1: false, l2: lockless, onError });
    await noLock.connect();
    expect(await noLock.getOrSet('k', 'llm', () => 'v')).toBe('v');
    await noLock.close();
    const local = createCacheManager({ monitor: false, l1: false, l2: s.tier, onError });
    await local.connect();
    expect(await local.getOrSet('j', 'llm', () => 'v', { distributed: false })).toBe('v');
    await local.close();
    expect(infos).toEqual([]);
    expect(s.lock.acquired).toEqual([]);
  });

  it('a waiter whose holder never writes nor releases loads by itself once the lock TTL has passed', async () => {
    const s = shared();
    const cache = createCacheManager({
      monitor: false,
      l1: false,
      l2: s.tier,
      lock: { ttlMs: 200, pollMs: 10 }, // the wait is at least 1 s (no loader timeout + 1 s)
    });
    await cache.connect();
    try {
      // the fake lock never expires: only the waiter's own deadline ends the wait
      s.lock.held.set('llm:k', 'stuck-process');
      expect(await cache.getOrSet('k', 'llm', () => 'mine')).toBe('mine');
      expect(s.lock.acquired.length).toBeGreaterThanOrEqual(2);
      expect(s.lock.acquired.every((a) => a.ttlMs === 1000)).toBe(true);
    } finally {
      await cache.close();
    }
  }, 30_000);

  it("a caller aborted while it waits gets an error naming the key, with the signal's reason as cause", async () => {
    const cache = createCacheManager({ monitor: false });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const controller = new AbortController();
    const waiting = cache
      .getOrSet(
        'load-8',
        'llm',
        async () => {
          await gate;
          return 'v';
        },
        { signal: controller.signal },
      )
      .catch((e: unknown) => e);
    await tick();
    const reason = new Error('caller hung up');
    controller.abort(reason);
    const err = (await waiting) as AbortedError;
    expect(err).toBeInstanceOf(AbortedError);
    expect(err.message).toBe('getOrSet("load-8") was aborted by its caller.');
    expect(err.cause).toBe(reason);
    release();
    await cache.close();
  });

  it('negativeTtlSeconds applies to a null result only, never to a value', async () => {
    let now = 1_700_000_000_000;
    const cache = createCacheManager({ monitor: false, now: () => now });
    expect(await cache.getOrSet('k', 'llm', () => 'value', { ttlSeconds: 600, negativeTtlSeconds: 30 })).toBe(
      'value',
    );
    now += 31_000;
    expect(await cache.get('k', 'llm')).toBe('value');
    await cache.close();
  });

  it('a null result without negativeTtlSeconds is cached with the ordinary TTL', async () => {
    let now = 1_700_000_000_000;
    const cache = createCacheManager({ monitor: false, now: () => now });
    let runs = 0;
    const loader = () => {
      runs++;
      return null;
    };
    expect(await cache.getOrSet('gone', 'llm', loader, { ttlSeconds: 60 })).toBeNull();
    now += 59_000;
    expect(await cache.getOrSet('gone', 'llm', loader, { ttlSeconds: 60 })).toBeNull();
    expect(runs).toBe(1);
    now += 2_000;
    expect(await cache.get('gone', 'llm')).toBeUndefined();
    await cache.close();
  });

  it('a write of another key while a load runs neither fails nor stops that load from being stored', async () => {
    const cache = createCacheManager({ monitor: false });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const load = cache.getOrSet('a', 'llm', async () => {
      await gate;
      return 'loaded';
    });
    await tick();
    await cache.set('b', 'written', 'llm');
    await cache.setMany([{ key: 'c', value: 'written too' }], 'llm');
    release();
    expect(await load).toBe('loaded');
    expect(await cache.get('a', 'llm')).toBe('loaded');
    expect(await cache.get('b', 'llm')).toBe('written');
    await cache.close();
  });
});
