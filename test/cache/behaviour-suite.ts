/**
 * The behaviour every cache configuration must show, run against the memory tier, the Redis
 * tier alone and the tiered (memory + Redis) setup. A new tier passes this suite or it is not
 * a tier. Times are real (Redis expires keys on its own clock), so TTLs here are fractions of
 * a second.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CacheManager, CacheManagerOptions } from '../../src/cache/index.js';
import { CacheError, TimeoutError } from '../../src/errors.js';
import { PerformanceMonitor } from '../../src/perf/index.js';

/** Builds a manager for one test; `extra` is merged into its options. */
export type CacheFactory = (extra?: Partial<CacheManagerOptions>) => CacheManager;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function expectCacheError(p: Promise<unknown>, code: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CacheError);
  expect((err as CacheError).code).toBe(code);
}

export function describeCacheBehaviour(label: string, make: () => CacheFactory | undefined): void {
  describe(`cache behaviour: ${label}`, () => {
    const open: CacheManager[] = [];
    const cache = (extra?: Partial<CacheManagerOptions>): CacheManager => {
      const factory = make();
      if (factory === undefined) throw new Error('factory unavailable');
      const c = factory({ monitor: false, ...extra });
      open.push(c);
      return c;
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map((c) => c.close()));
    });

    it('resolves undefined for a key that was never set', async () => {
      const c = cache();
      await c.connect();
      expect(await c.get('missing', 'llm')).toBeUndefined();
      expect(await c.has('missing', 'llm')).toBe(false);
    });

    it('returns what was set, for objects, strings, numbers, null, arrays and bytes', async () => {
      const c = cache();
      await c.connect();
      const values: [string, unknown][] = [
        [
          'obj',
          { id: '2314', status: 'in_transit', stops: [{ city: 'Reno', eta: 12.5 }], ok: true, none: null },
        ],
        ['str', 'héllo 👋'],
        ['num', 42.25],
        ['nul', null],
        ['arr', [1, 'two', { three: 3 }]],
        ['bytes', new Uint8Array([0, 1, 254, 255])],
      ];
      for (const [k, v] of values) await c.set(k, v, 'llm');
      for (const [k, v] of values) expect(await c.get(k, 'llm')).toEqual(v);
      expect(await c.has('obj', 'llm')).toBe(true);
    });

    it('rejects a write to an unknown namespace without a TTL and writes nothing', async () => {
      const c = cache();
      await c.connect();
      await expectCacheError(c.set('k', 1, 'no-such-namespace'), 'EARSHOT_CACHE_NAMESPACE_UNKNOWN');
      expect(await c.get('k', 'no-such-namespace')).toBeUndefined();
    });

    it('accepts an unknown namespace when a TTL is given', async () => {
      const c = cache();
      await c.connect();
      await c.set('k', 'v', 'adhoc', { ttlSeconds: 30 });
      expect(await c.get('k', 'adhoc')).toBe('v');
    });

    it('rejects TTLs of 0, negative, NaN, Infinity and over a year', async () => {
      const c = cache();
      await c.connect();
      for (const ttlSeconds of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 365 * 24 * 3600 + 1]) {
        await expectCacheError(c.set('k', 1, 'llm', { ttlSeconds }), 'EARSHOT_CACHE_TTL_INVALID');
      }
      await expectCacheError(c.set('k', 1, 'llm', { graceSeconds: -1 }), 'EARSHOT_CACHE_TTL_INVALID');
      expect(await c.get('k', 'llm')).toBeUndefined();
    });

    it('rejects empty, over-long and control-character keys and namespaces', async () => {
      const c = cache();
      await c.connect();
      for (const key of ['', 'x'.repeat(1025), 'a\nb', 'nul\u0000']) {
        await expectCacheError(c.get(key, 'llm'), 'EARSHOT_CACHE_KEY_INVALID');
        await expectCacheError(c.set(key, 1, 'llm'), 'EARSHOT_CACHE_KEY_INVALID');
      }
      for (const ns of ['', 'n'.repeat(129), 'tab\there']) {
        await expectCacheError(c.get('k', ns), 'EARSHOT_CACHE_KEY_INVALID');
      }
    });

    it('expires a value after its TTL', async () => {
      const c = cache();
      await c.connect();
      await c.set('short', 'lived', 'llm', { ttlSeconds: 0.2 });
      expect(await c.get('short', 'llm')).toBe('lived');
      await sleep(350);
      expect(await c.get('short', 'llm')).toBeUndefined();
      expect(await c.has('short', 'llm')).toBe(false);
    });

    it('deletes a key and reports whether it existed', async () => {
      const c = cache();
      await c.connect();
      await c.set('k', 1, 'llm');
      expect(await c.delete('k', 'llm')).toBe(true);
      expect(await c.get('k', 'llm')).toBeUndefined();
      expect(await c.delete('k', 'llm')).toBe(false);
    });

    it('gets many keys in order with undefined for misses', async () => {
      const c = cache();
      await c.connect();
      await c.setMany(
        [
          { key: 'a', value: 1 },
          { key: 'b', value: { two: 2 } },
          { key: 'd', value: 'four', ttlSeconds: 60 },
        ],
        'llm',
      );
      expect(await c.getMany(['a', 'b', 'c', 'd'], 'llm')).toEqual([1, { two: 2 }, undefined, 'four']);
      expect(await c.getMany([], 'llm')).toEqual([]);
    });

    it('writes none of a setMany batch when one value is invalid', async () => {
      const c = cache();
      await c.connect();
      await expectCacheError(
        c.setMany(
          [
            { key: 'ok', value: 1 },
            { key: 'bad', value: 10n },
          ],
          'llm',
        ),
        'EARSHOT_CACHE_SERIALIZATION',
      );
      expect(await c.getMany(['ok', 'bad'], 'llm')).toEqual([undefined, undefined]);
    });

    it('invalidates one namespace without touching its neighbours', async () => {
      const c = cache();
      await c.connect();
      await c.set('k', 'load', 'company_api:load');
      await c.set('load:k', 'api', 'company_api', { ttlSeconds: 60 });
      await c.set('k', 'inv', 'company_api:inventory');
      for (let i = 0; i < 30; i++) await c.set(`bulk${i}`, i, 'company_api:load');
      await c.invalidateNamespace('company_api:load');
      expect(await c.get('k', 'company_api:load')).toBeUndefined();
      expect(await c.get('bulk7', 'company_api:load')).toBeUndefined();
      expect(await c.get('load:k', 'company_api')).toBe('api');
      expect(await c.get('k', 'company_api:inventory')).toBe('inv');
      await c.set('k', 'again', 'company_api:load');
      expect(await c.get('k', 'company_api:load')).toBe('again');
    });

    it('keeps (namespace, key) pairs apart even when their naive joins collide', async () => {
      const c = cache();
      await c.connect();
      await c.set('b:c', 'first', 'a', { ttlSeconds: 60 });
      await c.set('c', 'second', 'a:b', { ttlSeconds: 60 });
      await c.set('%3Ab:c', 'third', 'a', { ttlSeconds: 60 });
      expect(await c.get('b:c', 'a')).toBe('first');
      expect(await c.get('c', 'a:b')).toBe('second');
      expect(await c.get('%3Ab:c', 'a')).toBe('third');
    });

    it('rejects unserializable values with a clear error and keeps the previous value', async () => {
      const c = cache();
      await c.connect();
      await c.set('k', 'good', 'llm');
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic.self = cyclic;
      for (const bad of [10n, cyclic, { fn: () => 1 }, new Map([[1, 2]]), { n: Number.NaN }, undefined]) {
        await expectCacheError(c.set('k', bad, 'llm'), 'EARSHOT_CACHE_SERIALIZATION');
      }
      expect(await c.get('k', 'llm')).toBe('good');
    });

    it('rejects a value over maxValueBytes and writes nothing', async () => {
      const c = cache({ maxValueBytes: 1000 });
      await c.connect();
      await expectCacheError(c.set('big', 'x'.repeat(5000), 'llm'), 'EARSHOT_CACHE_VALUE_TOO_LARGE');
      expect(await c.get('big', 'llm')).toBeUndefined();
    });

    it('never lets stored __proto__ keys reach Object.prototype', async () => {
      const c = cache();
      await c.connect();
      await c.set(
        'evil',
        JSON.parse('{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}}'),
        'llm',
      );
      const got = (await c.get<Record<string, unknown>>('evil', 'llm'))!;
      Object.assign({}, got);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
    });

    it('runs the loader once for 100 concurrent getOrSet callers of one missing key', async () => {
      const c = cache();
      await c.connect();
      let runs = 0;
      const results = await Promise.all(
        Array.from({ length: 100 }, () =>
          c.getOrSet('hot', 'llm', async () => {
            runs++;
            await sleep(30);
            return { answer: 42 };
          }),
        ),
      );
      expect(runs).toBe(1);
      expect(results.every((r) => r.answer === 42)).toBe(true);
      expect(await c.get('hot', 'llm')).toEqual({ answer: 42 });
    });

    it('serves a cached value from getOrSet without running the loader', async () => {
      const c = cache();
      await c.connect();
      await c.set('k', 'cached', 'llm');
      let runs = 0;
      expect(
        await c.getOrSet('k', 'llm', async () => {
          runs++;
          return 'loaded';
        }),
      ).toBe('cached');
      expect(runs).toBe(0);
    });

    it("propagates a loader's error unchanged, caches nothing, and retries on the next call", async () => {
      const c = cache();
      await c.connect();
      const boom = new Error('upstream down');
      await expect(c.getOrSet('k', 'llm', async () => Promise.reject(boom))).rejects.toBe(boom);
      expect(await c.get('k', 'llm')).toBeUndefined();
      expect(await c.getOrSet('k', 'llm', async () => 'recovered')).toBe('recovered');
      expect(c.stats().namespaces.llm?.errors).toBe(1);
    });

    it('rejects a loader result of undefined with LOADER_FAILED', async () => {
      const c = cache();
      await c.connect();
      await expectCacheError(
        c.getOrSet('k', 'llm', async () => undefined as unknown as string),
        'EARSHOT_CACHE_LOADER_FAILED',
      );
      expect(await c.get('k', 'llm')).toBeUndefined();
    });

    it('times out a hanging loader, aborts its signal and caches nothing', async () => {
      const c = cache();
      await c.connect();
      let signal: AbortSignal | undefined;
      const err = await c
        .getOrSet(
          'k',
          'llm',
          (ctx) => {
            signal = ctx.signal;
            return new Promise<string>(() => undefined);
          },
          { timeoutMs: 50 },
        )
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TimeoutError);
      expect(signal?.aborted).toBe(true);
      expect(await c.get('k', 'llm')).toBeUndefined();
    });

    it('serves a stale value inside grace at once while one background refresh runs', async () => {
      const c = cache();
      await c.connect();
      await c.set('k', 'v1', 'llm', { ttlSeconds: 0.15, graceSeconds: 30 });
      await sleep(250);
      expect(await c.get('k', 'llm')).toBeUndefined();
      expect(await c.get('k', 'llm', { allowStale: true })).toBe('v1');
      let runs = 0;
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      const loader = async () => {
        runs++;
        await gate;
        return 'v2';
      };
      const first = await Promise.all([c.getOrSet('k', 'llm', loader), c.getOrSet('k', 'llm', loader)]);
      expect(first).toEqual(['v1', 'v1']);
      release();
      let now: unknown;
      for (let i = 0; i < 100 && now !== 'v2'; i++) {
        await sleep(10);
        now = await c.get('k', 'llm');
      }
      expect(now).toBe('v2');
      expect(runs).toBe(1);
      expect(c.stats().namespaces.llm?.stale).toBeGreaterThanOrEqual(2);
    });

    it('keeps serving the stale value when the refresh fails, and counts the failure', async () => {
      const c = cache();
      await c.connect();
      await c.set('k', 'old', 'llm', { ttlSeconds: 0.15, graceSeconds: 30 });
      await sleep(250);
      const failing = async (): Promise<string> => {
        throw new Error('still down');
      };
      expect(await c.getOrSet('k', 'llm', failing)).toBe('old');
      for (let i = 0; i < 200 && c.stats().inflight > 0; i++) await sleep(5); // the background refresh ends
      expect(c.stats().namespaces.llm?.errors).toBeGreaterThanOrEqual(1);
      expect(await c.getOrSet('k', 'llm', failing, { staleWhileRevalidate: false })).toBe('old');
      expect(c.stats().namespaces.llm?.errors).toBeGreaterThanOrEqual(2);
    });

    it('never serves a value expired past its grace period', async () => {
      const c = cache();
      await c.connect();
      await c.set('k', 'ancient', 'llm', { ttlSeconds: 0.1, graceSeconds: 0.1 });
      await sleep(350);
      expect(await c.get('k', 'llm', { allowStale: true })).toBeUndefined();
      expect(await c.getOrSet('k', 'llm', async () => 'fresh')).toBe('fresh');
    });

    it('caches a null result for negativeTtlSeconds only', async () => {
      const c = cache();
      await c.connect();
      let runs = 0;
      const loader = async () => {
        runs++;
        return null;
      };
      expect(await c.getOrSet('gone', 'llm', loader, { negativeTtlSeconds: 0.15 })).toBeNull();
      expect(await c.getOrSet('gone', 'llm', loader, { negativeTtlSeconds: 0.15 })).toBeNull();
      expect(runs).toBe(1);
      await sleep(300);
      await c.getOrSet('gone', 'llm', loader, { negativeTtlSeconds: 0.15 });
      expect(runs).toBe(2);
    });

    it('does not cache a result the loader skipped', async () => {
      const c = cache();
      await c.connect();
      expect(
        await c.getOrSet('k', 'llm', async (ctx) => {
          ctx.skip();
          return 'partial';
        }),
      ).toBe('partial');
      expect(await c.get('k', 'llm')).toBeUndefined();
    });

    it('does not store a load that a set, delete or invalidation overtook while it ran', async () => {
      const c = cache();
      await c.connect();
      const gated = () => {
        let release!: () => void;
        const gate = new Promise<void>((r) => {
          release = r;
        });
        const loader = async () => {
          await gate;
          return 'from-slow-load';
        };
        return { release, loader };
      };
      const a = gated();
      const overSet = c.getOrSet('set-during', 'llm', a.loader);
      await sleep(10);
      await c.set('set-during', 'newer', 'llm');
      a.release();
      expect(await overSet).toBe('from-slow-load');
      expect(await c.get('set-during', 'llm')).toBe('newer');

      const b = gated();
      const overDelete = c.getOrSet('delete-during', 'llm', b.loader);
      await sleep(10);
      await c.delete('delete-during', 'llm');
      b.release();
      expect(await overDelete).toBe('from-slow-load');
      expect(await c.get('delete-during', 'llm')).toBeUndefined();

      const d = gated();
      const overInvalidate = c.getOrSet('inv-during', 'llm', d.loader);
      await sleep(10);
      await c.invalidateNamespace('llm');
      d.release();
      expect(await overInvalidate).toBe('from-slow-load');
      expect(await c.get('inv-during', 'llm')).toBeUndefined();
    });

    it('counts hits, misses and the hit rate per namespace', async () => {
      const c = cache();
      await c.connect();
      await c.set('a', 1, 'pinecone');
      await c.get('a', 'pinecone');
      await c.get('a', 'pinecone');
      await c.get('b', 'pinecone');
      await c.get('b', 'llm');
      const s = c.stats();
      expect(s.namespaces.pinecone).toMatchObject({ hits: 2, misses: 1, sets: 1 });
      expect(s.namespaces.pinecone?.hitRate).toBeCloseTo(2 / 3);
      expect(s.namespaces.llm).toMatchObject({ hits: 0, misses: 1, hitRate: 0 });
      expect(s.total).toMatchObject({ hits: 2, misses: 2 });
    });

    it('records cache_read and cache_write with namespace, tier and outcome labels', async () => {
      const monitor = new PerformanceMonitor();
      const c = cache({ monitor });
      await c.connect();
      await c.set('a', 1, 'llm');
      await c.get('a', 'llm');
      await c.get('zz', 'llm');
      expect(monitor.stats('cache_write', { labels: { namespace: 'llm' } })?.count).toBeGreaterThanOrEqual(1);
      expect(monitor.stats('cache_read', { labels: { namespace: 'llm', outcome: 'hit' } })?.count).toBe(1);
      expect(
        monitor.stats('cache_read', { labels: { namespace: 'llm', outcome: 'miss' } })?.count,
      ).toBeGreaterThanOrEqual(1);
      const tiers = new Set(monitor.collect().map((s) => s.labels.tier));
      expect(tiers.size).toBeGreaterThanOrEqual(1);
      for (const t of tiers) expect(['memory', 'redis']).toContain(t);
    });
  });
}
