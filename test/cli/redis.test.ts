/**
 * The CLI on the shared Redis (issue 17 items 4–7): it reads EARSHOT_REDIS_KEY_PREFIX, each run
 * writes under a fresh sub-prefix and deletes it at the end (nothing is left, a second run is
 * not warmed by the first), `--warm-cache` reuses the shared prefix and says so loudly, and the
 * cache line is printed once. Every key this file writes is under its own unique prefix.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSavedRun } from '../../src/loadtest/index.js';
import { cleanupPrefix, REDIS_URL, requireRedis, uniquePrefix } from '../redis/helpers.js';
import { runInProcess } from './in-process.js';

const up = await requireRedis('the CLI Redis tests');
const PREFIX = uniquePrefix('cli');
const T = 120_000;

async function keysUnder(prefix: string): Promise<string[]> {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
    return found;
  } finally {
    client.disconnect();
  }
}

afterAll(async () => {
  if (up) await cleanupPrefix(PREFIX);
});

describe.skipIf(!up)('earshot demo with REDIS_URL', () => {
  const env = { REDIS_URL, EARSHOT_REDIS_KEY_PREFIX: PREFIX };
  const args = [
    'demo',
    '--turns',
    '6',
    '--users',
    '2',
    '--no-compare',
    '--warmup',
    '0',
    '--providers',
    'fake',
    '--profile',
    'instant',
  ];

  it(
    'runs under the configured prefix, in a fresh sub-prefix, prints the cache line once, and leaves nothing behind',
    async () => {
      const r = await runInProcess([...args, '--json'], { env });
      expect(r.code).toBe(0);
      const run = parseSavedRun(JSON.parse(r.stdout));
      expect(run.config.cache).toMatch(
        new RegExp(
          `^memory \\+ Redis \\(127\\.0\\.0\\.1:6379\\), fresh key prefix "${PREFIX}run-[a-z0-9]+-[0-9a-f]{6}:" \\(deleted at the end\\)$`,
        ),
      );
      expect(run.cache?.total.misses).toBeGreaterThan(0);
      expect(r.stderr.match(/^ {2}cache: /gm)).toHaveLength(1);
      expect(await keysUnder(PREFIX)).toEqual([]);
    },
    T,
  );

  it(
    'a second run is not warmed by the first: each run starts cold',
    async () => {
      const first = parseSavedRun(JSON.parse((await runInProcess([...args, '--json'], { env })).stdout));
      const second = parseSavedRun(JSON.parse((await runInProcess([...args, '--json'], { env })).stdout));
      expect(second.config.cache).not.toBe(first.config.cache);
      // every LLM answer is a miss on its first ask in a cold cache
      expect(second.cache?.namespaces.llm?.misses).toBeGreaterThan(0);
      expect(second.cache?.total.hitRate).toBeLessThan(1);
      expect(await keysUnder(PREFIX)).toEqual([]);
    },
    T,
  );

  it(
    '--warm-cache reuses the shared prefix and says loudly that earlier entries answer',
    async () => {
      const first = await runInProcess([...args, '--warm-cache', '--json'], { env });
      expect(first.code).toBe(0);
      expect(first.stderr).toContain(`WARM CACHE: entries cached in Redis by earlier runs under "${PREFIX}"`);
      expect((await keysUnder(PREFIX)).length).toBeGreaterThan(0);
      const second = parseSavedRun(
        JSON.parse((await runInProcess([...args, '--warm-cache', '--json'], { env })).stdout),
      );
      expect(second.config.cache).toContain(`shared key prefix "${PREFIX}" reused (--warm-cache)`);
      expect(second.cache?.total.hits).toBeGreaterThan(0);
      await cleanupPrefix(PREFIX);
      expect(await keysUnder(PREFIX)).toEqual([]);
    },
    T,
  );

  it(
    'reads the other EARSHOT_* cache variables (a bad one is a usage error naming it)',
    async () => {
      const r = await runInProcess(args, { env: { ...env, EARSHOT_REDIS_TIMEOUT_MS: '0x10' } });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('EARSHOT_REDIS_TIMEOUT_MS');
    },
    T,
  );
});
