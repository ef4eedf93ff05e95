import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type CacheErrorInfo, type CacheManager, createCacheManager } from '../../src/cache/index.js';
import { cacheId } from '../../src/cache/tier-kit/index.js';
import { CacheError } from '../../src/errors.js';
import { createRedisTier, type RedisTier } from '../../src/redis/index.js';
import {
  cleanupPrefix,
  freePort,
  PrivateRedis,
  REDIS_URL,
  RELAXED,
  requireRedis,
  requireRedisServerBinary,
  uniquePrefix,
  waitFor,
} from './helpers.js';

const shared = await requireRedis('the Redis fault tests');
const ownServer = await requireRedisServerBinary('the Redis kill/restart tests');

/** A bound far above every deadline (50 ms) and far below a hang (ioredis defaults: ~70 s). */
const HANG_GUARD_MS = 1500;

async function timed<T>(p: Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await p;
  return { value, ms: performance.now() - t0 };
}

const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await cleanupPrefix(p);
});

describe('a Redis that is not running at startup', () => {
  it('lets connect, get, set and getOrSet answer within their deadlines, serving from L1', async () => {
    const port = await freePort();
    const errors: [unknown, CacheErrorInfo][] = [];
    const cache = createCacheManager({
      monitor: false,
      l2: createRedisTier({ url: `redis://127.0.0.1:${port}` }),
      onError: (e, i) => errors.push([e, i]),
    });
    try {
      expect((await timed(cache.connect())).ms).toBeLessThan(HANG_GUARD_MS);
      const miss = await timed(cache.get('k', 'llm'));
      expect(miss.value).toBeUndefined();
      expect(miss.ms).toBeLessThan(HANG_GUARD_MS);
      expect((await timed(cache.set('k', 'local', 'llm'))).ms).toBeLessThan(HANG_GUARD_MS);
      expect(await cache.get('k', 'llm')).toBe('local');
      expect(await cache.getOrSet('other', 'llm', async () => 'loaded')).toBe('loaded');
      expect(cache.stats().tiers.l2?.state).toBe('down');
      expect(errors.some(([e, i]) => e instanceof CacheError && i.operation === 'connect')).toBe(true);
    } finally {
      await cache.close();
    }
  });

  it('without L1: reads miss, writes are skipped, delete and invalidate reject as UNAVAILABLE', async () => {
    const port = await freePort();
    const cache = createCacheManager({
      monitor: false,
      l1: false,
      l2: createRedisTier({ url: `redis://127.0.0.1:${port}` }),
    });
    try {
      await cache.connect();
      expect(await cache.get('k', 'llm')).toBeUndefined();
      await cache.set('k', 1, 'llm');
      expect(await cache.get('k', 'llm')).toBeUndefined();
      await expect(cache.delete('k', 'llm')).rejects.toMatchObject({ code: 'EARSHOT_CACHE_UNAVAILABLE' });
      await expect(cache.invalidateNamespace('llm')).rejects.toMatchObject({
        code: 'EARSHOT_CACHE_UNAVAILABLE',
      });
      expect(cache.stats().namespaces.llm?.errors).toBeGreaterThan(0);
    } finally {
      await cache.close();
    }
  });

  it('answers at once even through a client you created with ioredis defaults (offline queue on)', async () => {
    const port = await freePort();
    const client = new Redis(`redis://127.0.0.1:${port}`);
    client.on('error', () => undefined);
    const cache = createCacheManager({ monitor: false, l1: false, l2: createRedisTier({ client }) });
    try {
      const r = await timed(cache.get('k', 'llm'));
      expect(r.value).toBeUndefined();
      expect(r.ms).toBeLessThan(HANG_GUARD_MS);
    } finally {
      await cache.close();
      client.disconnect();
    }
  });

  it('never puts the password of a Redis URL into errors or health', async () => {
    const port = await freePort();
    const errors: unknown[] = [];
    const cache = createCacheManager({
      monitor: false,
      l2: createRedisTier({ url: `redis://app:hunter2-secret-pw@127.0.0.1:${port}` }),
      onError: (e) => errors.push(e),
    });
    try {
      await cache.connect();
      await cache.get('k', 'llm');
      const text =
        JSON.stringify(cache.stats()) + errors.map((e) => `${String(e)} ${JSON.stringify(e)}`).join('\n');
      expect(errors.length).toBeGreaterThan(0);
      expect(text).not.toContain('hunter2-secret-pw');
    } finally {
      await cache.close();
    }
  });
});

describe.runIf(ownServer)('a Redis killed mid-run and restarted', () => {
  it('keeps answering within deadlines while down and works again without a restart', async () => {
    const server = await PrivateRedis.start();
    const raw = new Redis(server.url, { maxRetriesPerRequest: 0, retryStrategy: () => 50 });
    raw.on('error', () => undefined);
    const tier = createRedisTier({ url: server.url, keyPrefix: 'kill:', ...RELAXED });
    const cache = createCacheManager({ monitor: false, l2: tier });
    try {
      await cache.connect();
      await cache.set('before', 'v', 'llm');
      expect(await raw.exists(`kill:${cacheId('llm', 'before')}`)).toBe(1);

      await server.kill();
      for (let i = 0; i < 10; i++) {
        const r = await timed(cache.get(`absent${i}`, 'llm'));
        expect(r.value).toBeUndefined();
        expect(r.ms).toBeLessThan(HANG_GUARD_MS);
      }
      expect(await cache.get('before', 'llm')).toBe('v'); // L1 still serves (fail-safe)
      expect((await timed(cache.set('during', 'x', 'llm'))).ms).toBeLessThan(HANG_GUARD_MS);
      expect(cache.stats().tiers.l2?.state).toBe('down');

      await server.launch();
      await waitFor(() => tier.client.status === 'ready', 10_000, 'the tier to reconnect');
      // The first call after Redis is back goes through.
      await cache.set('after', 'back', 'llm');
      expect(await raw.get(`kill:${cacheId('llm', 'after')}`)).toMatch(/^E1\|.*"back"$/);
      expect(cache.stats().tiers.l2?.breaker).toBe('closed');
    } finally {
      await cache.close();
      raw.disconnect();
      await server.stop();
    }
  });

  it('bounds every call by the command deadline when Redis hangs, then recovers', async () => {
    const server = await PrivateRedis.start();
    const tier = createRedisTier({ url: server.url, keyPrefix: 'hang:', commandTimeoutMs: 40 });
    const cache = createCacheManager({ monitor: false, l1: false, l2: tier });
    try {
      await cache.connect();
      await cache.set('k', 'v', 'llm');
      server.freeze();
      for (let i = 0; i < 6; i++) {
        const r = await timed(cache.get('k', 'llm'));
        expect(r.value).toBeUndefined();
        expect(r.ms).toBeLessThan(HANG_GUARD_MS);
      }
      expect(tier.health().breaker).toBe('open');
      server.thaw();
      await waitFor(async () => (await cache.get('k', 'llm')) === 'v', 10_000, 'reads to work again');
      expect(tier.health().breaker).toBe('closed');
    } finally {
      await cache.close();
      await server.stop();
    }
  });

  it('connects over TLS with rediss:// and refuses an untrusted certificate without hanging', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'earshot-tls-'));
    const { server, ca } = await PrivateRedis.startTls(dir);
    try {
      const trusted = createCacheManager({
        monitor: false,
        l1: false,
        l2: createRedisTier({
          url: server.url,
          keyPrefix: 'tls:',
          redisOptions: { tls: { ca } },
          ...RELAXED,
        }),
      });
      await trusted.connect();
      await trusted.set('k', 'encrypted', 'llm');
      expect(await trusted.get('k', 'llm')).toBe('encrypted');
      expect(trusted.stats().namespaces.llm?.errors).toBe(0);
      await trusted.close();

      const untrusted = createCacheManager({
        monitor: false,
        l1: false,
        l2: createRedisTier({ url: server.url, keyPrefix: 'tls:' }),
      });
      await untrusted.connect();
      const r = await timed(untrusted.get('k', 'llm'));
      expect(r.value).toBeUndefined();
      expect(r.ms).toBeLessThan(HANG_GUARD_MS);
      expect(untrusted.stats().tiers.l2?.state).not.toBe('up');
      await untrusted.close();
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('connects with an ACL user and password from the URL', async () => {
    const server = await PrivateRedis.start();
    const admin = new Redis(server.url);
    try {
      await admin.call('ACL', 'SETUSER', 'app', 'on', '>acl-pass-123456', '~acl:*', '&*', '+@all');
      const cache = createCacheManager({
        monitor: false,
        l1: false,
        l2: createRedisTier({
          url: `redis://app:acl-pass-123456@127.0.0.1:${server.port}`,
          keyPrefix: 'acl:',
          ...RELAXED,
        }),
      });
      await cache.connect();
      await cache.set('k', 'authorized', 'llm');
      expect(await cache.get('k', 'llm')).toBe('authorized');
      expect(cache.stats().namespaces.llm?.errors).toBe(0);
      await cache.close();

      const denied = createCacheManager({
        monitor: false,
        l1: false,
        l2: createRedisTier({
          url: `redis://app:wrong-pass-654321@127.0.0.1:${server.port}`,
          keyPrefix: 'acl:',
          ...RELAXED,
        }),
      });
      await denied.connect();
      expect(await denied.get('k', 'llm')).toBeUndefined();
      expect(JSON.stringify(denied.stats())).not.toContain('wrong-pass-654321');
      await denied.close();
    } finally {
      admin.disconnect();
      await server.stop();
    }
  });
});

describe.runIf(shared)('entries found in Redis', () => {
  const prefix = uniquePrefix('faults');
  prefixes.push(prefix);
  const make = (): { cache: CacheManager; tier: RedisTier; errors: unknown[] } => {
    const errors: unknown[] = [];
    const tier = createRedisTier({ url: REDIS_URL, keyPrefix: prefix, ...RELAXED });
    return {
      cache: createCacheManager({ monitor: false, l1: false, l2: tier, onError: (e) => errors.push(e) }),
      tier,
      errors,
    };
  };

  it('treats malformed entries as a miss, deletes them and counts an error', async () => {
    const { cache, tier, errors } = make();
    const raw = new Redis(REDIS_URL);
    try {
      await cache.connect();
      const future = Date.now() + 60_000;
      await raw.set(prefix + cacheId('llm', 'badjson'), `E1|${future}|${future}|{"unterminated`);
      await raw.set(prefix + cacheId('llm', 'notours'), 'plain text from another app');
      expect(await cache.get('badjson', 'llm')).toBeUndefined();
      expect(await cache.get('notours', 'llm')).toBeUndefined();
      await waitFor(
        async () =>
          (await raw.exists(prefix + cacheId('llm', 'badjson'), prefix + cacheId('llm', 'notours'))) === 0,
        2000,
        'malformed entries to be deleted',
      );
      expect(cache.stats().namespaces.llm?.errors).toBe(2);
      expect(errors.every((e) => e instanceof CacheError && e.code === 'EARSHOT_CACHE_SERIALIZATION')).toBe(
        true,
      );
      expect(tier.health().breaker).toBe('closed');
    } finally {
      await cache.close();
      raw.disconnect();
    }
  });

  it('drops __proto__ and constructor.prototype keys from stored JSON', async () => {
    const { cache } = make();
    const raw = new Redis(REDIS_URL);
    try {
      await cache.connect();
      const future = Date.now() + 60_000;
      const json =
        '{"__proto__":{"polluted":"yes"},"nested":{"constructor":{"prototype":{"polluted":"yes"}}},"\\u005f_proto__":{"polluted":"yes"},"ok":1}';
      await raw.set(prefix + cacheId('llm', 'evil'), `E1|${future}|${future}|${json}`);
      const got = (await cache.get<Record<string, unknown>>('evil', 'llm'))!;
      expect(got).toEqual({ nested: {}, ok: 1 });
      expect(Object.hasOwn(got, '__proto__')).toBe(false);
      const merged = Object.assign({}, got, got.nested);
      expect((merged as Record<string, unknown>).polluted).toBeUndefined();
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    } finally {
      await cache.close();
      raw.disconnect();
    }
  });

  it('leaves a client you passed open after close, without its listeners', async () => {
    const client = new Redis(REDIS_URL);
    const before = client.listenerCount('ready');
    const cache = createCacheManager({
      monitor: false,
      l2: createRedisTier({ client, keyPrefix: prefix, ...RELAXED }),
    });
    try {
      await cache.connect();
      await cache.set('mine', 1, 'llm');
      expect(await cache.get('mine', 'llm')).toBe(1);
      await cache.close();
      expect(client.listenerCount('ready')).toBe(before);
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
    }
  });

  it('fills L1 from L2 with the remaining TTL, not a new one', async () => {
    const tierA = createRedisTier({ url: REDIS_URL, keyPrefix: prefix, invalidation: false, ...RELAXED });
    const tierB = createRedisTier({ url: REDIS_URL, keyPrefix: prefix, invalidation: false, ...RELAXED });
    const a = createCacheManager({ monitor: false, l2: tierA });
    const b = createCacheManager({ monitor: false, l2: tierB });
    const raw = new Redis(REDIS_URL);
    try {
      await Promise.all([a.connect(), b.connect()]);
      const written = Date.now();
      await a.set('ttl', 'v', 'llm', { ttlSeconds: 1.2 });
      await new Promise((r) => setTimeout(r, 300));
      expect(await b.get('ttl', 'llm')).toBe('v'); // L1 of b filled here, ~0.9 s left
      await raw.unlink(prefix + cacheId('llm', 'ttl'));
      expect(await b.get('ttl', 'llm')).toBe('v'); // served by L1
      // 1.35 s after the write: past the original TTL, though a fresh 1.2 s from the fill would still hold.
      await new Promise((r) => setTimeout(r, Math.max(0, written + 1350 - Date.now())));
      expect(await b.get('ttl', 'llm')).toBeUndefined();
    } finally {
      await a.close();
      await b.close();
      raw.disconnect();
    }
  });
});
