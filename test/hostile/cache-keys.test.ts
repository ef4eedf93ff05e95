/**
 * Hostile cache keys and namespaces, through the memory tier and the Redis tier: every call
 * either works or throws `EARSHOT_CACHE_KEY_INVALID`; two different (namespace, key) pairs
 * never share an entry (in Redis too, where strings travel as UTF-8); invalidating one
 * namespace never touches another, whatever glob or escape characters the names hold.
 */
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  type CacheManager,
  createCacheManager,
  MAX_KEY_LENGTH,
  MAX_NAMESPACE_LENGTH,
  stableKey,
  validateKey,
  validateNamespace,
} from '../../src/cache/index.js';
import { CacheError } from '../../src/errors.js';
import { createRedisTier } from '../../src/redis/index.js';
import { cleanupPrefix, REDIS_URL, RELAXED, requireRedis, uniquePrefix } from '../redis/helpers.js';
import { assertNoPollution, runs, timeoutFor, typedOutcome, typedOutcomeSync } from './helpers.js';

afterEach(() => assertNoPollution());

// biome-ignore lint/suspicious/noControlCharactersInRegex: what validation rejects
const CONTROL = /[\u0000-\u001f\u007f]/;
const LONE = /[\uD800-\uDFFF]/u;

/** Strings biased toward what breaks joins, globs, UTF-8 and terminals. */
const hostileString = fc.oneof(
  fc.string({
    unit: fc.constantFrom('a', ':', '%', '3', 'A', '2', '5', '*', '?', '[', ']', '\\', '^', '-', '!'),
    minLength: 1,
    maxLength: 10,
  }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }),
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    '\ud800',
    '\udc00',
    'a\ud800',
    'a\udc00',
    'a\ufffd',
    '\ud83d\ude00',
    '\u202eevil',
    '\u200d',
    'e\u0301',
    '👩‍👩‍👧‍👦',
    ' ',
    '\t',
    'a\u0000b',
    '\u007f',
    '%!lock:x',
    '%!bus',
    '*',
    '[a-z]*',
    'x'.repeat(MAX_NAMESPACE_LENGTH),
    'x'.repeat(MAX_NAMESPACE_LENGTH + 1),
    'k'.repeat(MAX_KEY_LENGTH),
    'k'.repeat(MAX_KEY_LENGTH + 1),
    '',
  ),
);

const keyValid = (k: string) =>
  k.length > 0 && k.length <= MAX_KEY_LENGTH && !CONTROL.test(k) && !LONE.test(k);
const nsValid = (n: string) =>
  n.length > 0 && n.length <= MAX_NAMESPACE_LENGTH && !CONTROL.test(n) && !LONE.test(n);

function expectKeyInvalid(err: unknown): void {
  expect(err).toBeInstanceOf(CacheError);
  expect((err as CacheError).code).toBe('EARSHOT_CACHE_KEY_INVALID');
}

/** Every operation of the manager on one (namespace, key): works or throws KEY_INVALID. */
async function exercise(cache: CacheManager, ns: string, key: string): Promise<void> {
  const valid = keyValid(key) && nsValid(ns);
  const ops: [string, () => Promise<unknown>][] = [
    ['set', () => cache.set(key, { v: key }, ns, { ttlSeconds: 30 })],
    ['get', () => cache.get(key, ns)],
    ['has', () => cache.has(key, ns)],
    ['getMany', () => cache.getMany([key, key], ns)],
    ['setMany', () => cache.setMany([{ key, value: 1 }], ns, { ttlSeconds: 30 })],
    ['getOrSet', () => cache.getOrSet(key, ns, async () => 'loaded', { ttlSeconds: 30 })],
    ['delete', () => cache.delete(key, ns)],
  ];
  for (const [name, op] of ops) {
    const r = await typedOutcome(
      op,
      5000,
      `${name}(${JSON.stringify(key.slice(0, 20))}, ${JSON.stringify(ns.slice(0, 20))})`,
    );
    if (valid) {
      if (!r.ok)
        throw new Error(`${name} rejected a valid key/namespace: ${r.error.message}`, { cause: r.error });
    } else {
      expect(r.ok).toBe(false);
      if (!r.ok) expectKeyInvalid(r.error);
    }
  }
}

describe('hostile keys and namespaces (memory tier)', () => {
  it('every operation works or throws EARSHOT_CACHE_KEY_INVALID', {
    timeout: timeoutFor(20_000),
  }, async () => {
    const cache = createCacheManager({ monitor: false });
    try {
      await fc.assert(
        fc.asyncProperty(hostileString, hostileString, async (ns, key) => {
          await exercise(cache, ns, key);
          assertNoPollution();
        }),
        runs(300),
      );
    } finally {
      await cache.close();
    }
  });

  it('validation agrees with the documented rule', { timeout: timeoutFor(20_000) }, () => {
    fc.assert(
      fc.property(hostileString, (s) => {
        const k = typedOutcomeSync(() => validateKey(s), 'validateKey');
        expect(k.ok).toBe(keyValid(s));
        if (!k.ok) expectKeyInvalid(k.error);
        const n = typedOutcomeSync(() => validateNamespace(s), 'validateNamespace');
        expect(n.ok).toBe(nsValid(s));
      }),
      runs(1000),
    );
  });

  it('distinct pairs never read each other’s values', { timeout: timeoutFor(20_000) }, async () => {
    const cache = createCacheManager({ monitor: false, memory: { maxEntries: 100_000 } });
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(fc.tuple(hostileString, hostileString), {
            minLength: 2,
            maxLength: 20,
            selector: ([n, k]) => `${n}\u0000${k}`,
          }),
          async (pairs) => {
            const ok = pairs.filter(([n, k]) => nsValid(n) && keyValid(k));
            for (const [i, [n, k]] of ok.entries()) await cache.set(k, i, n, { ttlSeconds: 60 });
            for (const [i, [n, k]] of ok.entries()) expect(await cache.get(k, n)).toBe(i);
            for (const [n] of ok) await cache.invalidateNamespace(n);
          },
        ),
        runs(150),
      );
    } finally {
      await cache.close();
    }
  });

  it('stableKey always builds a key that passes validation, or throws KEY_INVALID', {
    timeout: timeoutFor(20_000),
  }, () => {
    const arg = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.string({ unit: 'binary' }),
      fc.constantFrom('\ud800', 'x\u0000', 'a'.repeat(500), () => 1, Symbol('s'), 10n, new Date(0)),
    );
    fc.assert(
      fc.property(fc.oneof(hostileString, fc.constant('')), fc.array(arg, { maxLength: 4 }), (name, args) => {
        const r = typedOutcomeSync(() => stableKey(name, args), 'stableKey');
        if (r.ok) expect(() => validateKey(r.value)).not.toThrow();
        else expectKeyInvalid(r.error);
      }),
      runs(1000),
    );
  });

  it('stableKey keeps keys that differ only by a lone surrogate apart', {
    timeout: timeoutFor(20_000),
  }, () => {
    const long = 'x'.repeat(300);
    expect(stableKey('f', [`${long}\ud800`])).not.toBe(stableKey('f', [`${long}\udc00`]));
    expect(stableKey(`f\ud800${long}`, [])).not.toBe(stableKey(`f\udc00${long}`, []));
  });
});

const redisUp = await requireRedis('the hostile key tests against Redis');
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await cleanupPrefix(p);
});

function redisCache(extra: { l1?: false } = {}): CacheManager {
  const keyPrefix = uniquePrefix('hostile-keys');
  prefixes.push(keyPrefix);
  return createCacheManager({
    ...extra,
    monitor: false,
    l2: createRedisTier({ url: REDIS_URL, keyPrefix, ...RELAXED, invalidation: false }),
  });
}

describe.runIf(redisUp)('hostile keys and namespaces (Redis tier)', () => {
  it('every operation works or throws EARSHOT_CACHE_KEY_INVALID', {
    timeout: timeoutFor(20_000),
  }, async () => {
    const cache = redisCache({ l1: false });
    try {
      await cache.connect();
      await fc.assert(
        fc.asyncProperty(hostileString, hostileString, async (ns, key) => {
          await exercise(cache, ns, key);
          assertNoPollution();
        }),
        runs(120),
      );
    } finally {
      await cache.close();
    }
  });

  it('distinct pairs never share a Redis key (UTF-8 on the wire included)', {
    timeout: timeoutFor(20_000),
  }, async () => {
    const cache = redisCache({ l1: false });
    try {
      await cache.connect();
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(fc.tuple(hostileString, hostileString), {
            minLength: 2,
            maxLength: 12,
            selector: ([n, k]) => `${n}\u0000${k}`,
          }),
          async (pairs) => {
            const ok = pairs.filter(([n, k]) => nsValid(n) && keyValid(k));
            for (const [i, [n, k]] of ok.entries()) await cache.set(k, i, n, { ttlSeconds: 60 });
            for (const [i, [n, k]] of ok.entries()) expect(await cache.get(k, n)).toBe(i);
            for (const [n] of ok) await cache.invalidateNamespace(n);
          },
        ),
        runs(60),
      );
    } finally {
      await cache.close();
    }
  });

  it('rejects the lone-surrogate keys that UTF-8 would merge instead of colliding', {
    timeout: timeoutFor(20_000),
  }, async () => {
    const cache = redisCache({ l1: false });
    try {
      await cache.connect();
      await cache.set('a\ufffd', 'replacement', 'llm');
      for (const key of ['a\ud800', 'a\udc00']) {
        await expect(cache.set(key, 'lone', 'llm')).rejects.toMatchObject({
          code: 'EARSHOT_CACHE_KEY_INVALID',
        });
      }
      expect(await cache.get('a\ufffd', 'llm')).toBe('replacement');
    } finally {
      await cache.close();
    }
  });

  it('invalidating a namespace never deletes another namespace’s entries', {
    timeout: timeoutFor(20_000),
  }, async () => {
    const cache = redisCache({ l1: false });
    try {
      await cache.connect();
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(hostileString.filter(nsValid), { minLength: 2, maxLength: 6 }),
          fc.array(hostileString.filter(keyValid), { minLength: 1, maxLength: 4 }),
          fc.nat(),
          async (namespaces, keys, pick) => {
            for (const n of namespaces)
              for (const k of keys) await cache.set(k, `${n}/${k}`, n, { ttlSeconds: 60 });
            const victim = namespaces[pick % namespaces.length]!;
            await cache.invalidateNamespace(victim);
            for (const n of namespaces) {
              for (const k of keys) {
                const v = await cache.get(k, n);
                expect(v).toBe(n === victim ? undefined : `${n}/${k}`);
              }
            }
            for (const n of namespaces) await cache.invalidateNamespace(n);
          },
        ),
        runs(40),
      );
    } finally {
      await cache.close();
    }
  });
});
