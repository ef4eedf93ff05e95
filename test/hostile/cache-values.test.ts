/**
 * Hostile cached values through the memory tier, the Redis tier and both: `__proto__` /
 * `constructor.prototype` payloads, huge and deeply nested values, values JSON cannot carry,
 * and entries planted in Redis by another writer. Required: the value read back is the value
 * written (as JSON carries it) or the write rejects with a typed `CacheError` and leaves
 * nothing behind (a failed `set` keeps the previous value, a failed `setMany` writes no item),
 * and no prototype changes, even after the value read back is merged into another object.
 */

import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type CacheManager, createCacheManager, MemoryTier } from '../../src/cache/index.js';
import { BYTES_TAG, jsonSerializer } from '../../src/cache/tier-kit/index.js';
import { CacheError } from '../../src/errors.js';
import { createRedisTier } from '../../src/redis/index.js';
import { cleanupPrefix, REDIS_URL, RELAXED, requireRedis, uniquePrefix } from '../redis/helpers.js';
import { assertNoPollution, RAW_FRAGMENTS, runs, timeoutFor, typedOutcome } from './helpers.js';

afterEach(() => assertNoPollution());

const NS = 'llm';
const MAX_VALUE_BYTES = 256 * 1024;

/** A naive deep merge, as apps write it: the classic way a stored `__proto__` reaches a prototype. */
function naiveMerge(target: Record<string, unknown>, source: unknown): Record<string, unknown> {
  if (source === null || typeof source !== 'object' || ArrayBuffer.isView(source)) return target;
  for (const key in source as Record<string, unknown>) {
    const v = (source as Record<string, unknown>)[key];
    if (v !== null && typeof v === 'object' && !ArrayBuffer.isView(v)) {
      if (typeof target[key] !== 'object' || target[key] === null) target[key] = {};
      naiveMerge(target[key] as Record<string, unknown>, v);
    } else target[key] = v;
  }
  return target;
}

function nested(depth: number, leaf: unknown = 1, inArray = false): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = inArray ? [v] : { a: v };
  return v;
}

/** `xs` with a hole at `at` (a sparse array). */
function holey(xs: unknown[], at: number): unknown[] {
  const copy = [...xs];
  delete copy[at];
  return copy;
}

function cyclic(): unknown {
  const o: Record<string, unknown> = { a: 1 };
  o.self = { back: o };
  return o;
}

/** Values JSON can carry: expected back equal to their JSON form. */
const jsonish = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.constantFrom(...RAW_FRAGMENTS.filter((f) => f.length < 100_000)).map((t) => JSON.parse(t) as unknown),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom('\ud800', 'x\udfff\ud800y', '\u202e\u0000', nested(200), nested(200, 'leaf', true), {
    a: [1, { b: [2, { c: null }] }],
    '': '',
    ' ': ' ',
  }),
);

/** Values that must be rejected (strictValues: true, the default). */
const rejected = fc.constantFrom<[string, () => unknown]>(
  ['BigInt', () => ({ n: 10n })],
  ['function', () => ({ f: () => 1 })],
  ['symbol', () => ({ s: Symbol('x') })],
  ['NaN', () => ({ x: Number.NaN })],
  ['Infinity', () => [Number.POSITIVE_INFINITY]],
  ['Map', () => new Map([[1, 2]])],
  ['Set', () => ({ s: new Set([1]) })],
  ['cycle', cyclic],
  ['undefined', () => undefined],
  ['too deep', () => nested(2000)],
  ['too deep (arrays)', () => nested(2000, 1, true)],
  ['too large', () => 'x'.repeat(MAX_VALUE_BYTES)],
  ['too large (wide)', () => Array.from({ length: 40_000 }, (_, i) => i)],
  ['ArrayBuffer', () => ({ buf: new ArrayBuffer(8) })],
  ['Float32Array', () => ({ embedding: new Float32Array([0.25, 0.5]) })],
  ['reserved bytes tag', () => ({ [BYTES_TAG]: 'AAAA' })],
  ['promise', () => ({ p: Promise.resolve(1) })],
  // Issue 15.12: JSON would change these (the memory tier used to keep them as they were).
  ['undefined property', () => ({ a: undefined, b: 1 })],
  ['sparse array', () => holey([1, 2, 3], 1)],
  ['undefined in an array', () => [1, undefined]],
  [
    'class instance',
    () => ({
      when: new (class Slot {
        start = 1;
      })(),
    }),
  ],
  ['Error', () => ({ err: new Error('boom') })],
  ['URL', () => new URL('https://example.com/a')],
  ['-0', () => ({ delta: -0 })],
  ['Date', () => ({ at: new Date(0) })],
  ['Invalid Date', () => ({ at: new Date(Number.NaN) })],
  ['RegExp', () => [/a+/g]],
  ['boxed number', () => ({ n: new Number(1) })],
  ['boxed string', () => new String('s')],
  ['boxed boolean', () => ({ b: new Boolean(false) })],
  ['symbol key', () => ({ [Symbol('k')]: 1, a: 1 })],
  ['Array subclass', () => ({ list: new (class Stack extends Array<number> {})() })],
);

type Setup = { name: string; make: () => CacheManager; sharedOnly: boolean };

/** A connected cache (a Redis tier skips commands until it is connected). */
async function open(setup: Setup): Promise<CacheManager> {
  const cache = setup.make();
  await cache.connect();
  return cache;
}

const redisUp = await requireRedis('the hostile value tests against Redis');
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await cleanupPrefix(p);
});

function redisTier(prefix?: string) {
  const keyPrefix = prefix ?? uniquePrefix('hostile-values');
  prefixes.push(keyPrefix);
  return createRedisTier({ url: REDIS_URL, keyPrefix, ...RELAXED, invalidation: false });
}

const setups: Setup[] = [
  {
    name: 'memory',
    make: () => createCacheManager({ monitor: false, maxValueBytes: MAX_VALUE_BYTES }),
    sharedOnly: false,
  },
  {
    name: 'memory (clone mode)',
    make: () =>
      createCacheManager({
        monitor: false,
        maxValueBytes: MAX_VALUE_BYTES,
        l1: new MemoryTier({ valueMode: 'clone' }),
      }),
    sharedOnly: false,
  },
];
if (redisUp) {
  setups.push(
    {
      name: 'Redis',
      make: () =>
        createCacheManager({ monitor: false, maxValueBytes: MAX_VALUE_BYTES, l1: false, l2: redisTier() }),
      sharedOnly: true,
    },
    {
      name: 'memory + Redis',
      make: () => createCacheManager({ monitor: false, maxValueBytes: MAX_VALUE_BYTES, l2: redisTier() }),
      sharedOnly: false,
    },
  );
}

/**
 * What a value looks like after the Redis tier's JSON round trip, as documented: `__proto__`
 * keys and `constructor.prototype` objects are dropped.
 */
function asJson(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v), (k, x) => {
    if (k === '__proto__') return undefined;
    if (x !== null && typeof x === 'object') {
      const c = (x as Record<string, unknown>).constructor;
      if (
        Object.hasOwn(x, 'constructor') &&
        c !== null &&
        typeof c === 'object' &&
        Object.hasOwn(c, 'prototype')
      )
        Reflect.deleteProperty(x, 'constructor');
    }
    return x;
  });
}

/**
 * A value the cache parsed (Redis) must be safe to merge: no `__proto__` own key anywhere, no
 * `constructor.prototype`. A memory hit is the caller's own object (the memory tier parses
 * nothing), so it is only checked for not having changed any prototype.
 */
function checkNoPrototypeSurprises(v: unknown, parsedByCache: boolean): void {
  assertNoPollution();
  if (v === null || typeof v !== 'object') return;
  const proto = Object.getPrototypeOf(v);
  expect(proto === Object.prototype || proto === Array.prototype || proto === Uint8Array.prototype).toBe(
    true,
  );
  if (!parsedByCache) return;
  naiveMerge({}, v);
  Object.assign({}, v);
  assertNoPollution();
}

for (const setup of setups) {
  describe(`hostile values (${setup.name})`, () => {
    it('reads back what JSON carries, with no prototype reachable, or rejects with a typed error', {
      timeout: timeoutFor(20_000),
    }, async () => {
      const cache = await open(setup);
      try {
        await fc.assert(
          fc.asyncProperty(jsonish, fc.nat(), async (value, n) => {
            const key = `k${n % 50}`;
            const r = await typedOutcome(() => cache.set(key, value, NS), 5000, 'set');
            if (!r.ok) {
              expect(r.error).toBeInstanceOf(CacheError);
              expect(['EARSHOT_CACHE_SERIALIZATION', 'EARSHOT_CACHE_VALUE_TOO_LARGE']).toContain(
                r.error.code,
              );
              return;
            }
            const back = await cache.get(key, NS);
            if (setup.sharedOnly) expect(back).toEqual(asJson(value));
            else expect(back).toEqual(value);
            checkNoPrototypeSurprises(back, setup.sharedOnly);
          }),
          runs(setup.sharedOnly ? 150 : 250),
        );
      } finally {
        await cache.close();
      }
    });

    it('rejects what JSON cannot carry with a typed error and keeps the previous value', {
      timeout: timeoutFor(20_000),
    }, async () => {
      const cache = await open(setup);
      try {
        await fc.assert(
          fc.asyncProperty(rejected, async ([what, make]) => {
            await cache.set('victim', { previous: true }, NS);
            const r = await typedOutcome(() => cache.set('victim', make(), NS), 5000, `set(${what})`);
            expect(r.ok, `${what} was accepted`).toBe(false);
            if (!r.ok) {
              expect(r.error).toBeInstanceOf(CacheError);
              expect(['EARSHOT_CACHE_SERIALIZATION', 'EARSHOT_CACHE_VALUE_TOO_LARGE']).toContain(
                r.error.code,
              );
            }
            expect(await cache.get('victim', NS)).toEqual({ previous: true });
          }),
          runs(60),
        );
      } finally {
        await cache.close();
      }
    });

    it('writes no item of a setMany batch that holds one bad value', {
      timeout: timeoutFor(20_000),
    }, async () => {
      const cache = await open(setup);
      try {
        await fc.assert(
          fc.asyncProperty(
            fc.array(
              jsonish.filter((v) => v !== null),
              { minLength: 1, maxLength: 6 },
            ),
            rejected,
            fc.nat(),
            fc.nat(),
            async (good, [what, make], at, round) => {
              const items: { key: string; value: unknown }[] = good.map((value, i) => ({
                key: `batch-${round}-${i}`,
                value,
              }));
              items.splice(at % (items.length + 1), 0, { key: `batch-${round}-bad`, value: make() });
              const r = await typedOutcome(() => cache.setMany(items, NS), 5000, `setMany(${what})`);
              expect(r.ok, `${what} was accepted in a batch`).toBe(false);
              const back = await cache.getMany(
                items.map((i) => i.key),
                NS,
              );
              expect(back.every((v) => v === undefined)).toBe(true);
            },
          ),
          runs(60),
        );
      } finally {
        await cache.close();
      }
    });

    it('serves getOrSet loader results the same way, and caches nothing a loader cannot store', {
      timeout: timeoutFor(20_000),
    }, async () => {
      const cache = await open(setup);
      try {
        await fc.assert(
          fc.asyncProperty(
            fc.oneof(
              jsonish,
              rejected.map(([, make]) => make()),
            ),
            fc.nat(),
            async (value, n) => {
              const key = `load-${n}`;
              const r = await typedOutcome(
                () => cache.getOrSet(key, NS, async () => value, { timeoutMs: 2000 }),
                5000,
                'getOrSet',
              );
              if (!r.ok) {
                expect(r.error).toBeInstanceOf(CacheError);
                expect(await cache.get(key, NS)).toBeUndefined();
              } else checkNoPrototypeSurprises(r.value, false);
            },
          ),
          runs(100),
        );
      } finally {
        await cache.close();
      }
    });
  });
}

// ───────────── issue 15.12: strictValues = exactly what the JSON tier round-trips ─────────────

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

/** Keys JSON carries as they are (`__proto__` / `constructor` payloads are a separate, documented case). */
const safeKey = fc
  .string({ maxLength: 4 })
  .filter((k) => k !== '__proto__' && k !== 'constructor' && k !== BYTES_TAG);

/** Leaves JSON carries unchanged, and leaves it changes (the class of issue 15.12). */
const trickyLeaf = fc.oneof(
  fc.constantFrom<unknown>(null, true, false, 0, 1.5, -7, '', 'x', '\ud800', 2 ** 53, 5e-324),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 6 }),
  fc.uint8Array({ maxLength: 4 }),
  fc
    .constantFrom<() => unknown>(
      () => -0,
      () => undefined,
      () => new Date(0),
      () => new Date(Number.NaN),
      () => new Error('e'),
      () => new URL('https://example.com/'),
      () => /x/i,
      () => new Number(2),
      () => new String('s'),
      () => new Boolean(true),
      () => new Point(1, 2),
      () => new Float64Array([1]),
      () => new Map(),
      () => Number.NaN,
    )
    .map((make) => make()),
);

const trickyValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    trickyLeaf,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.array(tie('value'), { minLength: 2, maxLength: 4 }).map((xs) => holey(xs, 1)),
    fc.dictionary(safeKey, tie('value'), { maxKeys: 4 }).map((d) => ({ ...d })),
  ),
})).value;

/** True when the JSON tier's serializer gives back exactly `v` (prototypes, -0, holes and all). */
function jsonRoundTrips(v: unknown): boolean {
  let text: string;
  try {
    text = jsonSerializer.serialize(v);
  } catch {
    return false;
  }
  return isDeepStrictEqual(jsonSerializer.deserialize(text), v);
}

describe('strictValues: the memory tier rejects exactly what the JSON tier cannot round-trip (issue 15.12)', () => {
  it('accepts a value if and only if JSON reads it back unchanged (seeded property)', async () => {
    const cache = createCacheManager({ monitor: false, strictValues: true });
    try {
      await fc.assert(
        fc.asyncProperty(trickyValue, async (value) => {
          const r = await typedOutcome(() => cache.set('v', value, NS), 5000, 'set');
          const roundTrips = value !== undefined && jsonRoundTrips(value);
          expect(
            r.ok,
            `memory ${r.ok ? 'accepted' : 'rejected'} ${String(value)}; JSON round-trips: ${roundTrips}`,
          ).toBe(roundTrips);
          if (!r.ok) expect(r.error.code).toBe('EARSHOT_CACHE_SERIALIZATION');
        }),
        { ...runs(400), seed: 1512 },
      );
    } finally {
      await cache.close();
    }
  });

  it('names the offending path and the fix for each class', async () => {
    const cache = createCacheManager({ monitor: false });
    try {
      const cases: [unknown, string, RegExp][] = [
        [{ a: { b: undefined } }, 'value.a.b', /a property set to undefined.*omit it or use null/],
        [{ list: holey([1, 2, 3], 1) }, 'value.list[1]', /sparse array.*fill it/],
        [{ at: new Date(Number.NaN) }, 'value.at', /an Invalid Date.*toISOString/],
        [{ at: new Date(0) }, 'value.at', /a Date.*toISOString/],
        [{ p: new Point(1, 2) }, 'value.p', /an instance of Point.*plain object/],
        [[new URL('https://x.test/')], 'value[0]', /an instance of URL/],
        [{ d: -0 }, 'value.d', /-0.*store 0/],
      ];
      for (const [value, path, fix] of cases) {
        const err = await cache.set('v', value, NS).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(CacheError);
        expect((err as CacheError).code).toBe('EARSHOT_CACHE_SERIALIZATION');
        expect((err as CacheError).message).toContain(` at ${path}:`);
        expect((err as CacheError).message).toMatch(fix);
      }
    } finally {
      await cache.close();
    }
  });

  it('still accepts these without strictValues (the memory tier keeps them as given)', async () => {
    const cache = createCacheManager({ monitor: false, strictValues: false });
    try {
      const p = new Point(1, 2);
      await cache.set('v', p, NS);
      expect(await cache.get('v', NS)).toBe(p);
    } finally {
      await cache.close();
    }
  });

  it.runIf(redisUp)(
    'reads back from Redis what the memory tier reads back, for every value both accept',
    {
      timeout: timeoutFor(60_000),
    },
    async () => {
      const memory = createCacheManager({ monitor: false });
      const redis = createCacheManager({ monitor: false, l1: false, l2: redisTier() });
      await redis.connect();
      try {
        await fc.assert(
          fc.asyncProperty(trickyValue, async (value) => {
            const m = await typedOutcome(() => memory.set('v', value, NS), 5000, 'memory set');
            const r = await typedOutcome(() => redis.set('v', value, NS), 5000, 'redis set');
            expect(r.ok).toBe(m.ok);
            if (!m.ok) return;
            const fromMemory = await memory.get('v', NS);
            const fromRedis = await redis.get('v', NS);
            expect(isDeepStrictEqual(fromRedis, fromMemory), `${JSON.stringify(fromMemory)}`).toBe(true);
          }),
          { ...runs(150), seed: 1512 },
        );
      } finally {
        await memory.close();
        await redis.close();
      }
    },
  );
});

describe.runIf(redisUp)('entries planted in Redis by another writer', () => {
  it('are read safely: a value with no prototype payloads, or a miss (deleted) for anything malformed', {
    timeout: timeoutFor(20_000),
  }, async () => {
    const prefix = uniquePrefix('hostile-planted');
    const raw = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const errors: unknown[] = [];
    const cache = createCacheManager({
      monitor: false,
      l1: false,
      l2: redisTier(prefix),
      onError: (e) => errors.push(e),
    });
    try {
      await cache.connect();
      const far = Date.now() + 60_000;
      const payload = fc.oneof(
        fc.constantFrom(...RAW_FRAGMENTS),
        fc.constantFrom(
          '{"__proto__":{"polluted":1},"ok":true}',
          '{"a":{"constructor":{"prototype":{"isAdmin":true}}}}',
          '{"$earshot:bytes":"////"}',
          '{"$earshot:bytes":123}',
          '{"$earshot:bytes":"AA==","x":1}',
          '{"a":',
          '',
          'undefined',
          '\u0000',
        ),
        fc.string({ unit: 'binary', maxLength: 50 }),
      );
      const header = fc.oneof(
        fc.constant(`E1|${far}|${far}|`),
        fc.constantFrom(
          'E1|',
          'E1||',
          `E1|x|${far}|`,
          `E2|${far}|${far}|`,
          `E1|${far}|`,
          '',
          `E1|1e999|1e999|`,
        ),
      );
      await fc.assert(
        fc.asyncProperty(header, payload, fc.nat(), async (h, p, n) => {
          const key = `planted-${n % 20}`;
          await raw.set(`${prefix}${NS}:${key}`, h + p, 'PX', 60_000);
          const r = await typedOutcome(() => cache.get(key, NS), 5000, 'get of a planted entry');
          expect(r.ok).toBe(true);
          if (r.ok) checkNoPrototypeSurprises(r.value, true);
        }),
        runs(200),
      );
      // Malformed entries are deleted: nothing planted and unreadable is left behind.
      await raw.set(`${prefix}${NS}:bad`, 'E1|garbage', 'PX', 60_000);
      expect(await cache.get('bad', NS)).toBeUndefined();
      await new Promise((r) => setTimeout(r, 100));
      expect(await raw.exists(`${prefix}${NS}:bad`)).toBe(0);
      expect(errors.length).toBeGreaterThan(0);
    } finally {
      await cache.close();
      raw.disconnect();
    }
  });
});
