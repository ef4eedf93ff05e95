import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { PerformanceMonitor } from '../../src/perf/index.js';
import { createRedisClient, FleetPublisher } from '../../src/redis/index.js';
import { cli } from './helpers.js';

const URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const redis = createRedisClient(URL);
redis.on('error', () => {});
const up = await redis.connect().then(
  () => true,
  () => false,
);
const inCi = process.env.CI === 'true';
if (!up && !inCi) console.warn(`\n⚠️  SKIPPING the earshot fleet CLI test: no Redis answers at ${URL}.\n`);

describe.skipIf(!up && !inCi)('earshot fleet', () => {
  const prefix = `earshot-test-fleet-cli:${randomUUID()}`;
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('prints the percentiles of the merged histograms of every instance', async () => {
    const all = new PerformanceMonitor();
    for (const [id, base] of [
      ['a', 100],
      ['b', 300],
    ] as const) {
      const m = new PerformanceMonitor();
      const publisher = new FleetPublisher(redis, m, { instanceId: id, prefix });
      for (let i = 0; i < 100; i++) {
        m.record('llm', base + i);
        all.record('llm', base + i);
      }
      await publisher.flush();
    }
    const r = await cli(['fleet', '--redis', URL, '--prefix', prefix, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      instances: string[];
      operations: Array<{ name: string; count: number; p90: number }>;
    };
    expect(out.instances).toEqual(['a', 'b']);
    expect(out.operations[0]).toMatchObject({ name: 'llm', count: 200 });
    // Fleet P90 equals the P90 of one histogram fed all the data, not the mean of 199 and 399.
    expect(out.operations[0]!.p90).toBe(all.percentile('llm', 90));
    const text = await cli(['fleet', '--redis', URL, '--prefix', prefix]);
    expect(text.stdout).toMatch(/llm\s+200\s+0\s+2/);
  });

  it('exits 3 with a clear message when Redis is unreachable, and 2 without a Redis URL', async () => {
    const down = await cli(['fleet', '--redis', 'redis://127.0.0.1:1']);
    expect(down.code).toBe(3);
    expect(down.stderr).toContain('not reachable');
    expect(down.stderr).not.toContain('Unhandled');
    const none = await cli(['fleet']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('REDIS_URL');
  });
});
