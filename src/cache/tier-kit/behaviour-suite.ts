/**
 * The tier behaviour suite: what every cache configuration must show, run against a manager
 * built on your tier. earshot runs it against the memory tier, the Redis tier alone and the
 * tiered (memory + Redis) setup; a third-party tier runs it the same way.
 *
 * The suite brings its own assertions (`node:assert`) and takes the test functions from you,
 * so it runs under vitest, jest, mocha or `node:test`. Entry times are judged on a clock the
 * suite moves by hand (it passes `now` to your factory): no test depends on how fast the
 * machine is.
 * @module
 */
import assert from 'node:assert/strict';
import { CacheError, TimeoutError } from '../../errors.js';
import { PerformanceMonitor } from '../../perf/index.js';
import { OP } from '../../perf/operations.js';
import type { CacheManager } from '../cache-manager.js';
import type { CacheManagerOptions } from '../options.js';

/**
 * Builds a manager for one test. Pass `extra` into `createCacheManager` as given (it carries
 * the suite's clock `now` and `monitor`), and give each manager its own keyspace (e.g. a
 * unique key prefix) so tests do not see each other's keys.
 */
export type CacheFactory = (extra?: Partial<CacheManagerOptions>) => CacheManager;

/** The test functions of your runner (vitest, jest, mocha and `node:test` all have them). */
export interface BehaviourSuiteTestApi {
  describe(name: string, fn: () => void): unknown;
  it(name: string, fn: () => Promise<void>, timeoutMs?: number): unknown;
  afterEach(fn: () => Promise<void>): unknown;
}

/** Options of {@link describeCacheBehaviour}. */
export interface BehaviourSuiteOptions {
  /** Per-test timeout in ms handed to `it`. Default 30 000 (generous: CI machines are loaded). */
  timeoutMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 10 ms until it is true or `ms` passed (then the last result stands). */
async function eventually(check: () => Promise<boolean> | boolean, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > end) return false;
    await sleep(10);
  }
}

async function rejectsWithCode(p: Promise<unknown>, code: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof CacheError, `expected a CacheError ${code}, got ${String(err)}`);
  assert.equal(err.code, code);
}

/** A loader that waits for `release()`; `started` resolves once it runs. */
function gatedLoader<T>(value: T): { loader: () => Promise<T>; started: Promise<void>; release: () => void } {
  let release!: () => void;
  let markStarted!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const started = new Promise<void>((r) => {
    markStarted = r;
  });
  return {
    loader: async () => {
      markStarted();
      await gate;
      return value;
    },
    started,
    release,
  };
}

/**
 * Registers the behaviour suite: `make` returns the factory (or `undefined` when its backend is
 * unavailable: each test then fails with a clear message).
 *
 * @example
 * ```ts
 * import { afterEach, describe, it } from 'vitest';
 * import { createCacheManager } from 'earshot';
 * import { describeCacheBehaviour } from 'earshot/tier';
 *
 * describeCacheBehaviour(
 *   'my tier',
 *   () => (extra) => createCacheManager({ ...extra, l1: false, l2: new MyTier({ prefix: crypto.randomUUID() }) }),
 *   { describe, it, afterEach },
 * );
 * ```
 */
export function describeCacheBehaviour(
  label: string,
  make: () => CacheFactory | undefined,
  test: BehaviourSuiteTestApi,
  options: BehaviourSuiteOptions = {},
): void {
  const timeout = options.timeoutMs ?? 30_000;
  test.describe(`cache behaviour: ${label}`, () => {
    const open: CacheManager[] = [];
    // The suite's clock: frozen at the first manager of a test, moved only by advance(). TTLs
    // here are long (a minute): a shared tier that also expires keys on its own (real) clock
    // keeps them for the whole test however slow the machine.
    let time = Date.now();
    const now = (): number => time;
    const advance = (ms: number): void => {
      time += ms;
    };
    const cache = (extra?: Partial<CacheManagerOptions>): CacheManager => {
      if (open.length === 0) time = Date.now();
      const factory = make();
      if (factory === undefined)
        throw new Error(`the ${label} factory is unavailable (is its backend running?)`);
      const c = factory({ monitor: false, now, ...extra });
      open.push(c);
      return c;
    };
    const it = (name: string, fn: () => Promise<void>): void => {
      test.it(name, fn, timeout);
    };
    test.afterEach(async () => {
      await Promise.all(open.splice(0).map((c) => c.close()));
    });

    it('resolves undefined for a key that was never set', async () => {
      const c = cache();
      await c.connect();
      assert.equal(await c.get('missing', 'llm'), undefined);
      assert.equal(await c.has('missing', 'llm'), false);
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
      for (const [k, v] of values) assert.deepStrictEqual(await c.get(k, 'llm'), v, `value of ${k}`);
      assert.equal(await c.has('obj', 'llm'), true);
    });

    it('rejects a write to an unknown namespace without a TTL and writes nothing', async () => {
      const c = cache();
      await c.connect();
      await rejectsWithCode(c.set('k', 1, 'no-such-namespace'), 'EARSHOT_CACHE_NAMESPACE_UNKNOWN');
      assert.equal(await c.get('k', 'no-such-namespace'), undefined);
    });

    it('accepts an unknown namespace when a TTL is given', async () => {
      const c = cache();
      await c.connect();
      await c.set('k', 'v', 'adhoc', { ttlSeconds: 30 });
      assert.equal(await c.get('k', 'adhoc'), 'v');
    });

    it('rejects TTLs of 0, negative, NaN, Infinity and over a year', async () => {
      const c = cache();
      await c.connect();
      for (const ttlSeconds of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 365 * 24 * 3600 + 1]) {
        await rejectsWithCode(c.set('k', 1, 'llm', { ttlSeconds }), 'EARSHOT_CACHE_TTL_INVALID');
      }
      await rejectsWithCode(c.set('k', 1, 'llm', { graceSeconds: -1 }), 'EARSHOT_CACHE_TTL_INVALID');
      assert.equal(await c.get('k', 'llm'), undefined);
    });

    it('rejects empty, over-long and control-character keys and namespaces', async () => {
      const c = cache();
      await c.connect();
      for (const key of ['', 'x'.repeat(1025), 'a\nb', 'nul\u0000']) {
        await rejectsWithCode(c.get(key, 'llm'), 'EARSHOT_CACHE_KEY_INVALID');
        await rejectsWithCode(c.set(key, 1, 'llm'), 'EARSHOT_CACHE_KEY_INVALID');
      }
      for (const ns of ['', 'n'.repeat(129), 'tab\there']) {
        await rejectsWithCode(c.get('k', ns), 'EARSHOT_CACHE_KEY_INVALID');
      }
    });

    it('expires a value after its TTL', async () => {
      const c = cache();
      await c.connect();
      await c.set('short', 'lived', 'llm', { ttlSeconds: 60 });
      assert.equal(await c.get('short', 'llm'), 'lived');
      advance(59_999);
      assert.equal(await c.get('short', 'llm'), 'lived', 'still fresh 1 ms before its TTL');
      advance(1);
      assert.equal(await c.get('short', 'llm'), undefined);
      assert.equal(await c.has('short', 'llm'), false);
    });

    it('deletes a key and reports whether it existed', async () => {
      const c = cache();
      await c.connect();
      await c.set('k', 1, 'llm');
      assert.equal(await c.delete('k', 'llm'), true);
      assert.equal(await c.get('k', 'llm'), undefined);
      assert.equal(await c.delete('k', 'llm'), false);
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
      assert.deepStrictEqual(await c.getMany(['a', 'b', 'c', 'd'], 'llm'), [
        1,
        { two: 2 },
        undefined,
        'four',
      ]);
      assert.deepStrictEqual(await c.getMany([], 'llm'), []);
    });

    it('writes none of a setMany batch when one value is invalid', async () => {
      const c = cache();
      await c.connect();
      await rejectsWithCode(
        c.setMany(
          [
            { key: 'ok', value: 1 },
            { key: 'bad', value: 10n },
          ],
          'llm',
        ),
        'EARSHOT_CACHE_SERIALIZATION',
      );
      assert.deepStrictEqual(await c.getMany(['ok', 'bad'], 'llm'), [undefined, undefined]);
    });

    it('invalidates one namespace without touching its neighbours', async () => {
      const c = cache();
      await c.connect();
      await c.set('k', 'load', 'company_api:load');
      await c.set('load:k', 'api', 'company_api', { ttlSeconds: 60 });
      await c.set('k', 'inv', 'company_api:inventory');
      for (let i = 0; i < 30; i++) await c.set(`bulk${i}`, i, 'company_api:load');
      await c.invalidateNamespace('company_api:load');
      assert.equal(await c.get('k', 'company_api:load'), undefined);
      assert.equal(await c.get('bulk7', 'company_api:load'), undefined);
      assert.equal(await c.get('load:k', 'company_api'), 'api');
      assert.equal(await c.get('k', 'company_api:inventory'), 'inv');
      await c.set('k', 'again', 'company_api:load');
      assert.equal(await c.get('k', 'company_api:load'), 'again');
    });

    it('keeps (namespace, key) pairs apart even when their naive joins collide', async () => {
      const c = cache();
      await c.connect();
      await c.set('b:c', 'first', 'a', { ttlSeconds: 60 });
      await c.set('c', 'second', 'a:b', { ttlSeconds: 60 });
      await c.set('%3Ab:c', 'third', 'a', { ttlSeconds: 60 });
      await c.set('b:c', 'fourth', 'a%3A', { ttlSeconds: 60 });
      assert.equal(await c.get('b:c', 'a'), 'first');
      assert.equal(await c.get('c', 'a:b'), 'second');
      assert.equal(await c.get('%3Ab:c', 'a'), 'third');
      assert.equal(await c.get('b:c', 'a%3A'), 'fourth');
    });

    it('rejects unserializable values with a clear error and keeps the previous value', async () => {
      const c = cache();
      await c.connect();
      await c.set('k', 'good', 'llm');
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic.self = cyclic;
      for (const bad of [10n, cyclic, { fn: () => 1 }, new Map([[1, 2]]), { n: Number.NaN }, undefined]) {
        await rejectsWithCode(c.set('k', bad, 'llm'), 'EARSHOT_CACHE_SERIALIZATION');
      }
      assert.equal(await c.get('k', 'llm'), 'good');
    });

    it('rejects a value over maxValueBytes and writes nothing', async () => {
      const c = cache({ maxValueBytes: 1000 });
      await c.connect();
      await rejectsWithCode(c.set('big', 'x'.repeat(5000), 'llm'), 'EARSHOT_CACHE_VALUE_TOO_LARGE');
      assert.equal(await c.get('big', 'llm'), undefined);
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
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal(Object.getPrototypeOf(got), Object.prototype);
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
      assert.equal(runs, 1);
      assert.ok(results.every((r) => r.answer === 42));
      assert.deepStrictEqual(await c.get('hot', 'llm'), { answer: 42 });
      const s = c.stats().namespaces.llm;
      assert.equal(s?.misses, 1, 'the caller that started the load is the one miss');
      assert.equal(s?.joined, 99, 'the callers that joined it are counted apart');
      assert.equal(s?.loads, 1);
    });

    it('serves a cached value from getOrSet without running the loader', async () => {
      const c = cache();
      await c.connect();
      await c.set('k', 'cached', 'llm');
      let runs = 0;
      const got = await c.getOrSet('k', 'llm', async () => {
        runs++;
        return 'loaded';
      });
      assert.equal(got, 'cached');
      assert.equal(runs, 0);
    });

    it("propagates a loader's error unchanged, caches nothing, and retries on the next call", async () => {
      const c = cache();
      await c.connect();
      const boom = new Error('upstream down');
      const err = await c.getOrSet('k', 'llm', async () => Promise.reject(boom)).catch((e: unknown) => e);
      assert.equal(err, boom);
      assert.equal(await c.get('k', 'llm'), undefined);
      assert.equal(await c.getOrSet('k', 'llm', async () => 'recovered'), 'recovered');
      assert.equal(c.stats().namespaces.llm?.errors, 1);
    });

    it('rejects a loader result of undefined with LOADER_FAILED', async () => {
      const c = cache();
      await c.connect();
      // What a JavaScript caller's loader can do although the types forbid it.
      const fromJavaScript: Record<string, string> = {};
      await rejectsWithCode(
        c.getOrSet('k', 'llm', async () => fromJavaScript.missing as string),
        'EARSHOT_CACHE_LOADER_FAILED',
      );
      assert.equal(await c.get('k', 'llm'), undefined);
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
      assert.ok(err instanceof TimeoutError, `expected a TimeoutError, got ${String(err)}`);
      assert.equal(signal?.aborted, true);
      assert.equal(await c.get('k', 'llm'), undefined);
    });

    it('serves a stale value inside grace at once while one background refresh runs', async () => {
      const c = cache();
      await c.connect();
      await c.set('k', 'v1', 'llm', { ttlSeconds: 60, graceSeconds: 600 });
      advance(61_000);
      assert.equal(await c.get('k', 'llm'), undefined);
      assert.equal(await c.get('k', 'llm', { allowStale: true }), 'v1');
      let runs = 0;
      const gate = gatedLoader('v2');
      const loader = () => {
        runs++;
        return gate.loader();
      };
      const first = await Promise.all([c.getOrSet('k', 'llm', loader), c.getOrSet('k', 'llm', loader)]);
      assert.deepStrictEqual(first, ['v1', 'v1']);
      gate.release();
      assert.ok(await eventually(async () => (await c.get('k', 'llm')) === 'v2'), 'the refresh stored v2');
      assert.equal(runs, 1);
      assert.ok((c.stats().namespaces.llm?.stale ?? 0) >= 2);
    });

    it('keeps serving the stale value when the refresh fails, and counts the failure', async () => {
      const c = cache();
      await c.connect();
      await c.set('k', 'old', 'llm', { ttlSeconds: 60, graceSeconds: 600 });
      advance(61_000);
      const failing = async (): Promise<string> => {
        throw new Error('still down');
      };
      assert.equal(await c.getOrSet('k', 'llm', failing), 'old');
      assert.ok(await eventually(() => c.stats().inflight === 0), 'the background refresh ended');
      assert.ok((c.stats().namespaces.llm?.errors ?? 0) >= 1);
      assert.equal(await c.getOrSet('k', 'llm', failing, { staleWhileRevalidate: false }), 'old');
      assert.ok((c.stats().namespaces.llm?.errors ?? 0) >= 2);
    });

    it('never serves a value expired past its grace period', async () => {
      const c = cache();
      await c.connect();
      await c.set('k', 'ancient', 'llm', { ttlSeconds: 60, graceSeconds: 60 });
      advance(90_000);
      assert.equal(await c.get('k', 'llm', { allowStale: true }), 'ancient', 'inside grace');
      advance(30_000);
      assert.equal(await c.get('k', 'llm', { allowStale: true }), undefined);
      assert.equal(await c.getOrSet('k', 'llm', async () => 'fresh'), 'fresh');
    });

    it('caches a null result for negativeTtlSeconds only', async () => {
      const c = cache();
      await c.connect();
      let runs = 0;
      const loader = async () => {
        runs++;
        return null;
      };
      assert.equal(await c.getOrSet('gone', 'llm', loader, { negativeTtlSeconds: 30 }), null);
      assert.equal(await c.getOrSet('gone', 'llm', loader, { negativeTtlSeconds: 30 }), null);
      assert.equal(runs, 1);
      advance(30_001);
      await c.getOrSet('gone', 'llm', loader, { negativeTtlSeconds: 30 });
      assert.equal(runs, 2);
    });

    it('does not cache a result the loader skipped', async () => {
      const c = cache();
      await c.connect();
      const got = await c.getOrSet('k', 'llm', async (ctx) => {
        ctx.skip();
        return 'partial';
      });
      assert.equal(got, 'partial');
      assert.equal(await c.get('k', 'llm'), undefined);
    });

    it('does not store a load that a set, delete or invalidation overtook while it ran', async () => {
      const c = cache();
      await c.connect();
      const a = gatedLoader('from-slow-load');
      const overSet = c.getOrSet('set-during', 'llm', a.loader);
      await a.started;
      await c.set('set-during', 'newer', 'llm');
      a.release();
      assert.equal(await overSet, 'from-slow-load');
      assert.equal(await c.get('set-during', 'llm'), 'newer');

      const b = gatedLoader('from-slow-load');
      const overDelete = c.getOrSet('delete-during', 'llm', b.loader);
      await b.started;
      await c.delete('delete-during', 'llm');
      b.release();
      assert.equal(await overDelete, 'from-slow-load');
      assert.equal(await c.get('delete-during', 'llm'), undefined);

      const d = gatedLoader('from-slow-load');
      const overInvalidate = c.getOrSet('inv-during', 'llm', d.loader);
      await d.started;
      await c.invalidateNamespace('llm');
      d.release();
      assert.equal(await overInvalidate, 'from-slow-load');
      assert.equal(await c.get('inv-during', 'llm'), undefined);
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
      assert.equal(s.namespaces.pinecone?.hits, 2);
      assert.equal(s.namespaces.pinecone?.misses, 1);
      assert.equal(s.namespaces.pinecone?.sets, 1);
      assert.ok(Math.abs((s.namespaces.pinecone?.hitRate ?? 0) - 2 / 3) < 1e-9);
      assert.equal(s.namespaces.llm?.hits, 0);
      assert.equal(s.namespaces.llm?.misses, 1);
      assert.equal(s.namespaces.llm?.hitRate, 0);
      assert.equal(s.total.hits, 2);
      assert.equal(s.total.misses, 2);
    });

    it('records cache_read and cache_write with namespace, tier and outcome labels', async () => {
      const monitor = new PerformanceMonitor();
      const c = cache({ monitor });
      await c.connect();
      await c.set('a', 1, 'llm');
      await c.get('a', 'llm');
      await c.get('zz', 'llm');
      assert.ok((monitor.stats(OP.cacheWrite, { labels: { namespace: 'llm' } })?.count ?? 0) >= 1);
      assert.equal(monitor.stats(OP.cacheRead, { labels: { namespace: 'llm', outcome: 'hit' } })?.count, 1);
      assert.ok(
        (monitor.stats(OP.cacheRead, { labels: { namespace: 'llm', outcome: 'miss' } })?.count ?? 0) >= 1,
      );
      const tiers = new Set(monitor.collect().map((s) => s.labels.tier));
      assert.ok(tiers.size >= 1);
      const names = [c.stats().tiers.l1?.name, c.stats().tiers.l2?.name];
      for (const t of tiers)
        assert.ok(names.includes(t), `tier label ${String(t)} is one of ${names.join(', ')}`);
    });
  });
}
