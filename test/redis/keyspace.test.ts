/**
 * Issue 17.6: no test of the cache area leaves keys in the shared Redis. Two checks: every
 * Redis tier those tests build against the shared server writes under a unique key prefix
 * (never the default `earshot:`, which a CLI run would then read as a warm cache), and a
 * prefix cleaned the way the tests clean theirs is left empty.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createCacheManager } from '../../src/cache/index.js';
import { createRedisTier } from '../../src/redis/index.js';
import { cleanupPrefix, REDIS_URL, RELAXED, requireRedis, uniquePrefix } from './helpers.js';

const root = join(import.meta.dirname, '..');
const files = [
  ...readdirSync(join(root, 'cache'))
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(root, 'cache', f)),
  ...readdirSync(join(root, 'redis'))
    .filter((f) => f.endsWith('.ts') && f !== 'keyspace.test.ts')
    .map((f) => join(root, 'redis', f)),
  join(root, 'hostile', 'cache-keys.test.ts'),
  join(root, 'hostile', 'cache-values.test.ts'),
  join(root, 'chaos', 'redis-outage.test.ts'),
];

/** The argument text of every `createRedisTier(...)` call in `source`. */
function tierCalls(source: string): string[] {
  const out: string[] = [];
  for (
    let at = source.indexOf('createRedisTier(');
    at >= 0;
    at = source.indexOf('createRedisTier(', at + 1)
  ) {
    let depth = 0;
    let end = at + 'createRedisTier'.length;
    for (; end < source.length; end++) {
      if (source[end] === '(') depth++;
      else if (source[end] === ')' && --depth === 0) break;
    }
    out.push(source.slice(at, end + 1));
  }
  return out;
}

describe('keyspace hygiene of the cache tests (issue 17.6)', () => {
  it('builds every tier on the shared Redis with an explicit key prefix', () => {
    const offenders: string[] = [];
    for (const file of files) {
      const source = readFileSync(file, 'utf8');
      for (const call of tierCalls(source)) {
        // The shared server: REDIS_URL, or a `url` variable (private servers use server.url / a free port).
        const shared = /REDIS_URL|[{,]\s*url\s*[,}]/.test(call);
        if (shared && !/keyPrefix/.test(call)) offenders.push(`${file}: ${call.replace(/\s+/g, ' ')}`);
      }
    }
    expect(offenders).toEqual([]);
    expect(files.length).toBeGreaterThan(10); // the scan did look at the area's files
  });

  it('leaves nothing under a prefix once the test cleaned it', async () => {
    if (!(await requireRedis('the keyspace hygiene check'))) return;
    const keyPrefix = uniquePrefix('hygiene');
    const cache = createCacheManager({
      monitor: false,
      l2: createRedisTier({ url: REDIS_URL, keyPrefix, ...RELAXED }),
    });
    const raw = new Redis(REDIS_URL);
    try {
      await cache.connect();
      await cache.setMany(
        Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: i })),
        'llm',
      );
      await cache.getOrSet('loaded', 'pinecone', () => 'v');
      const before = await raw.keys(`${keyPrefix}*`);
      expect(before.length).toBeGreaterThanOrEqual(31);
      await cache.close();
      await cleanupPrefix(keyPrefix);
      expect(await raw.keys(`${keyPrefix}*`)).toEqual([]);
    } finally {
      raw.disconnect();
    }
  });
});
