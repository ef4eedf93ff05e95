/**
 * Redis-tier edges from issues 15 and 17: commands issued before the first connection is made
 * (15.7), a key holding another Redis type (15.9), key prefixes that overlap the fleet's
 * keyspace or are empty (15.3 / 15.23), and ioredis missing (17.12).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createCacheManager } from '../../src/cache/index.js';
import { cacheId } from '../../src/cache/tier-kit/index.js';
import { ConfigError, EarshotError, MissingDependencyError } from '../../src/errors.js';
import { loadIoredis } from '../../src/redis/client.js';
import { createRedisTier, FLEET_KEYSPACE } from '../../src/redis/index.js';
import { cleanupPrefix, freePort, REDIS_URL, requireRedis, uniquePrefix } from './helpers.js';

const redisUp = await requireRedis('the Redis tier edge tests');
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await cleanupPrefix(p);
});
function prefix(label: string): string {
  const p = uniquePrefix(label);
  prefixes.push(p);
  return p;
}

describe.runIf(redisUp)('commands issued while the first connection is being made (issue 15.7)', () => {
  it('writes the first set to Redis and deletes without rejecting, with connect() never awaited', async () => {
    const keyPrefix = prefix('first-connect');
    // Generous deadlines: this tests waiting for the connection, not the machine's speed.
    const cache = createCacheManager({
      monitor: false,
      l2: createRedisTier({ url: REDIS_URL, keyPrefix, commandTimeoutMs: 5000, connectTimeoutMs: 5000 }),
    });
    const raw = new Redis(REDIS_URL);
    try {
      await cache.set('first', 'in-redis', 'llm'); // no connect() before it
      expect(await raw.exists(keyPrefix + cacheId('llm', 'first'))).toBe(1);
      expect(await cache.delete('first', 'llm')).toBe(true);
      expect(await raw.exists(keyPrefix + cacheId('llm', 'first'))).toBe(0);
    } finally {
      await cache.close();
      raw.disconnect();
    }
  });

  it('answers a tier used directly, before anyone connected it', async () => {
    const keyPrefix = prefix('first-connect-tier');
    const tier = createRedisTier({
      url: REDIS_URL,
      keyPrefix,
      commandTimeoutMs: 5000,
      connectTimeoutMs: 5000,
    });
    try {
      const now = Date.now();
      await tier.set('llm:k', 'llm', { value: 1, freshUntil: now + 60_000, staleUntil: now + 60_000 });
      expect((await tier.get('llm:k'))?.value).toBe(1);
      expect(tier.health().breaker).toBe('closed');
    } finally {
      await tier.close();
    }
  });
});

describe('a first connection that fails', () => {
  it('fails the waiting command within its deadline with a typed error (nothing listens on the port)', async () => {
    const port = await freePort();
    const tier = createRedisTier({
      url: `redis://127.0.0.1:${port}`,
      commandTimeoutMs: 300,
      connectTimeoutMs: 300,
    });
    try {
      const t0 = performance.now();
      const err = await tier.get('llm:k').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EarshotError);
      expect(performance.now() - t0).toBeLessThan(10_000); // bounded (by the deadline), never a hang
    } finally {
      await tier.close();
    }
  });
});

describe.runIf(redisUp)('a key holding another Redis type (issue 15.9)', () => {
  it('is a miss that does not count toward the circuit breaker: good keys keep hitting', async () => {
    const keyPrefix = prefix('wrongtype');
    const errors: unknown[] = [];
    const cache = createCacheManager({
      monitor: false,
      l1: false,
      l2: createRedisTier({ url: REDIS_URL, keyPrefix, commandTimeoutMs: 2000 }),
      onError: (e) => errors.push(e),
    });
    const raw = new Redis(REDIS_URL);
    try {
      await cache.connect();
      await cache.set('good', 'value', 'llm');
      for (let i = 0; i < 6; i++) await raw.hset(keyPrefix + cacheId('llm', `bad${i}`), 'field', 'x');
      for (let i = 0; i < 6; i++) expect(await cache.get(`bad${i}`, 'llm')).toBeUndefined();
      expect(cache.stats().tiers.l2?.breaker).toBe('closed');
      expect(await cache.get('good', 'llm')).toBe('value');
      expect(cache.stats().namespaces.llm?.errors).toBe(6); // still counted and reported, as data errors
      expect(errors).toHaveLength(6);
      expect((errors[0] as EarshotError).code).toBe('EARSHOT_CACHE_SERIALIZATION');
      expect((errors[0] as Error).message).toMatch(/another Redis type/);
      // The key is not deleted: it may be someone else's data.
      expect(await raw.type(keyPrefix + cacheId('llm', 'bad0'))).toBe('hash');
    } finally {
      await cache.close();
      raw.disconnect();
    }
  });
});

describe('key prefixes (issue 15.3 / 15.23)', () => {
  const rejected = ['', FLEET_KEYSPACE, 'earshot-fleet:cache:', 'earshot-fleet', 'earshot', 'e'];
  for (const keyPrefix of rejected) {
    it(`rejects keyPrefix ${JSON.stringify(keyPrefix)} with a ConfigError naming keyPrefix`, () => {
      const err = (() => {
        try {
          createRedisTier({ url: REDIS_URL, keyPrefix });
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues.map((i) => i.path)).toContain('keyPrefix');
      expect((err as ConfigError).message).toMatch(keyPrefix === '' ? /whole database/ : /fleet/);
    });
  }

  for (const keyPrefix of ['earshot:', 'myapp:cache:', 'earshot-test:x:', 'earshot-fleetx:']) {
    it(`accepts keyPrefix ${JSON.stringify(keyPrefix)}`, async () => {
      const tier = createRedisTier({ url: REDIS_URL, keyPrefix });
      await tier.close();
      expect(tier.name).toBe('redis');
    });
  }
});

describe('ioredis not installed (issue 17.12)', () => {
  it('is a MissingDependencyError naming the install, not a raw ERR_MODULE_NOT_FOUND', () => {
    const missing = () => {
      throw Object.assign(new Error("Cannot find module 'ioredis'"), { code: 'MODULE_NOT_FOUND' });
    };
    const err = (() => {
      try {
        loadIoredis('createRedisTier', missing);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(MissingDependencyError);
    expect((err as MissingDependencyError).packageName).toBe('ioredis');
    expect((err as Error).message).toContain('npm install ioredis');
  });

  it('passes other load errors through untouched', () => {
    const boom = new SyntaxError('broken install');
    expect(() =>
      loadIoredis('createRedisTier', () => {
        throw boom;
      }),
    ).toThrow(boom);
  });

  it('is never imported for its values at the top of an earshot/redis module (only on first use)', () => {
    const dir = join(import.meta.dirname, '../../src/redis');
    const offenders = readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .filter((f) => /^import\s+(?!type\b)[^;]*from\s+'ioredis'/m.test(readFileSync(join(dir, f), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
