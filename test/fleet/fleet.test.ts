import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { LatencyHistogram, PerformanceMonitor } from '../../src/perf/index.js';
import { FleetPublisher, FleetReader } from '../../src/redis/index.js';
import { OPERATIONS, samplesFor } from './fixtures/samples.js';
import { connectRedis, deletePrefix, REDIS_PORT } from './redis-available.js';

const redis = await connectRedis();
const prefixes: string[] = [];
function uniquePrefix(): string {
  const p = `earshot-test:fleet:${randomBytes(6).toString('hex')}`;
  prefixes.push(p);
  return p;
}
afterEach(async () => {
  if (redis) for (const p of prefixes.splice(0)) await deletePrefix(redis, p);
});
afterAll(async () => {
  await redis?.quit();
});

const CHILD = fileURLToPath(new URL('./fixtures/publish-child.ts', import.meta.url));

function runChild(env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`publisher child exited ${code}: ${stderr}`)),
    );
  });
}

/** A fake wall clock the test moves by hand. */
function clock(start: number) {
  const c = { t: start, now: () => c.t };
  return c;
}

describe.runIf(redis)('fleet-wide percentiles over real Redis', () => {
  it('merges K processes into exactly the percentiles of one histogram fed all their samples', async () => {
    const prefix = uniquePrefix();
    const K = 4;
    // Busy and quiet instances: instance i records COUNTS[i] samples per operation.
    const COUNTS = [100, 200, 400, 800];
    const TOTAL = COUNTS.reduce((a, b) => a + b, 0);
    const windowMs = 60_000;
    await Promise.all(
      Array.from({ length: K }, (_, i) =>
        runChild({
          FLEET_REDIS_PORT: String(REDIS_PORT),
          FLEET_PREFIX: prefix,
          FLEET_INSTANCE: `child-${i}`,
          FLEET_SEED: String(i + 1),
          FLEET_COUNT: String(COUNTS[i]),
          FLEET_WINDOW_MS: String(windowMs),
        }),
      ),
    );
    // Two windows, in case the children straddled a window boundary.
    const fleet = await new FleetReader(redis!, { prefix, windowMs }).read({ windows: 2 });
    expect(fleet.instances).toEqual(['child-0', 'child-1', 'child-2', 'child-3']);

    const truth = new Map<string, { hist: LatencyHistogram; errors: number; sum: number }>();
    for (let i = 0; i < K; i++) {
      for (const s of samplesFor(i + 1, COUNTS[i]!)) {
        let t = truth.get(s.operation);
        if (!t) {
          t = { hist: new LatencyHistogram(), errors: 0, sum: 0 };
          truth.set(s.operation, t);
        }
        t.hist.recordMs(s.ms);
        t.sum += s.ms;
        if (s.outcome === 'error') t.errors++;
      }
    }
    expect(fleet.operations.map((o) => o.name)).toEqual([...OPERATIONS].sort());
    for (const op of fleet.operations) {
      const t = truth.get(op.name)!;
      expect(op.count).toBe(TOTAL);
      expect(op.errors).toBe(t.errors);
      expect(op.instances).toBe(K);
      expect(op.minMs).toBe(t.hist.minMs);
      expect(op.maxMs).toBe(t.hist.maxMs);
      expect(op.meanMs).toBeCloseTo(t.sum / TOTAL, 6);
      for (const p of [1, 25, 50, 75, 90, 95, 99, 99.9, 100]) {
        expect(op.histogram.percentileMs(p), `${op.name} P${p}`).toBe(t.hist.percentileMs(p));
      }
      expect(op.p90).toBe(t.hist.percentileMs(90));
    }
    // Averaging the instances' own P90s, what a dashboard might naively do, is not the fleet P90.
    const e2e = fleet.operations.find((o) => o.name === 'e2e')!;
    const perInstance = Array.from({ length: K }, (_, i) => {
      const h = new LatencyHistogram();
      for (const s of samplesFor(i + 1, COUNTS[i]!)) if (s.operation === 'e2e') h.recordMs(s.ms);
      return h.percentileMs(90);
    });
    const averaged = perInstance.reduce((a, b) => a + b, 0) / K;
    expect(Math.abs(averaged - e2e.p90)).toBeGreaterThan(e2e.p90 * 0.03);
  }, 120_000);

  it('filters on kept labels, so readers can ask for successful calls only', async () => {
    const prefix = uniquePrefix();
    const c = clock(1_000_000_000_000);
    const m = new PerformanceMonitor();
    const pub = new FleetPublisher(redis!, m, {
      prefix,
      keepLabels: ['outcome'],
      now: c.now,
      instanceId: 'a',
    });
    m.record('llm', 100, { outcome: 'ok', provider: 'openai' });
    m.record('llm', 5000, { outcome: 'error', provider: 'openai' });
    await pub.flush();
    const reader = new FleetReader(redis!, { prefix, now: c.now });
    const ok = await reader.read({ labels: { outcome: 'ok' } });
    expect(ok.operations[0]).toMatchObject({ name: 'llm', count: 1, errors: 0 });
    expect(ok.operations[0]!.maxMs).toBeCloseTo(100, 0); // HDR precision (0.1 %)
    const all = await reader.read();
    expect(all.operations[0]).toMatchObject({ count: 2, errors: 1 });
  });

  it('re-publishing the current window replaces the blob instead of double counting', async () => {
    const prefix = uniquePrefix();
    const c = clock(1_000_000_000_000);
    const m = new PerformanceMonitor();
    const pub = new FleetPublisher(redis!, m, {
      prefix,
      now: c.now,
      instanceId: 'a',
      publishIntervalMs: 10_000,
    });
    m.record('stt', 50);
    await pub.flush();
    c.t += 10_000;
    m.record('stt', 60);
    m.record('stt', 70);
    await pub.flush();
    await pub.flush(); // nothing new
    const fleet = await new FleetReader(redis!, { prefix, now: c.now }).read({ windows: 1 });
    expect(fleet.operations[0]).toMatchObject({ name: 'stt', count: 3 });
    expect(fleet.windows).toHaveLength(1);
  });

  it('ages out instances that stop publishing', async () => {
    const prefix = uniquePrefix();
    const windowMs = 10_000;
    const c = clock(1_000_000_000_000 - (1_000_000_000_000 % windowMs));
    const quitter = new PerformanceMonitor();
    const stayer = new PerformanceMonitor();
    const opts = { prefix, windowMs, now: c.now };
    const a = new FleetPublisher(redis!, quitter, { ...opts, instanceId: 'quitter' });
    const b = new FleetPublisher(redis!, stayer, { ...opts, instanceId: 'stayer' });
    quitter.record('tts', 999);
    stayer.record('tts', 10);
    c.t += 5_000;
    await Promise.all([a.flush(), b.flush()]);
    const reader = new FleetReader(redis!, opts);
    expect((await reader.read({ windows: 1 })).instances).toEqual(['quitter', 'stayer']);
    for (let w = 0; w < 3; w++) {
      c.t += windowMs;
      stayer.record('tts', 10);
      await b.flush();
    }
    const recent = await reader.read({ windows: 2 });
    expect(recent.instances).toEqual(['stayer']);
    expect(recent.operations[0]!.maxMs).toBeCloseTo(10, 1);
    expect(await reader.instances()).toEqual(['stayer']);
    // The window key expires on its own after retainWindows.
    const ttl = await redis!.pttl(`${prefix}:w:${windowMs}:${c.t - (c.t % windowMs)}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(61 * windowMs);
  });

  it('counts every sample exactly once when publisher clocks are skewed', async () => {
    const prefix = uniquePrefix();
    const windowMs = 10_000;
    const base = 1_000_000_000_000 - (1_000_000_000_000 % windowMs);
    const reader = clock(base + 8_000);
    const ahead = clock(base + 8_000 + 3_000); // 3 s ahead: already in the next window
    const m1 = new PerformanceMonitor();
    const m2 = new PerformanceMonitor();
    const p1 = new FleetPublisher(redis!, m1, { prefix, windowMs, now: reader.now, instanceId: 'on-time' });
    const p2 = new FleetPublisher(redis!, m2, { prefix, windowMs, now: ahead.now, instanceId: 'ahead' });
    m1.record('e2e', 300);
    m2.record('e2e', 400);
    reader.t += 1_000;
    ahead.t += 1_000;
    await Promise.all([p1.flush(), p2.flush()]);
    const r = new FleetReader(redis!, { prefix, windowMs, now: reader.now });
    // The reader's current window does not hold the fast instance's sample yet ...
    expect((await r.read({ windows: 1 })).operations[0]?.count).toBe(1);
    // ... but a range that covers its window does, once: nothing lost, nothing doubled.
    const range = await r.readRange(base, base + 2 * windowMs);
    expect(range.operations[0]).toMatchObject({ count: 2, instances: 2 });
  });

  it('publishes only what was recorded after the publisher was created (documented: history has no window)', async () => {
    const prefix = uniquePrefix();
    const c = clock(1_000_000_000_000);
    const m = new PerformanceMonitor();
    // History from before, in an operation that goes on and in one that does not, with labels.
    for (let i = 0; i < 100; i++) m.record('stt', 9000, { outcome: 'ok' });
    for (let i = 0; i < 50; i++) m.record('llm', 7000, { outcome: 'error' });
    const pub = new FleetPublisher(redis!, m, {
      prefix,
      now: c.now,
      instanceId: 'late',
      keepLabels: ['outcome'],
    });
    m.record('stt', 20, { outcome: 'ok' });
    await pub.flush();
    const reader = new FleetReader(redis!, { prefix, now: c.now });
    const fleet = await reader.read({ windows: 1 });
    expect(fleet.operations).toHaveLength(1);
    expect(fleet.operations[0]).toMatchObject({ name: 'stt', count: 1, instances: 1 });
    expect(fleet.operations[0]!.maxMs).toBeLessThan(9000);
    // Nor does the history surface later, in the next window.
    c.t += 60_000;
    m.record('stt', 30, { outcome: 'ok' });
    await pub.flush();
    const both = await reader.read({ windows: 2 });
    expect(both.operations).toHaveLength(1);
    expect(both.operations[0]).toMatchObject({ name: 'stt', count: 2 });
    expect(both.operations[0]!.maxMs).toBeLessThan(9000);
    // The monitor itself still holds everything.
    expect(m.stats('stt')?.count).toBe(102);
  });

  it('rejects a publish interval that does not divide the window', () => {
    expect(
      () =>
        new FleetPublisher(redis!, new PerformanceMonitor(), { windowMs: 60_000, publishIntervalMs: 7_000 }),
    ).toThrow(ConfigError);
  });
});

describe('fleet publisher without Redis', () => {
  function deadRedis(): Redis {
    const dead = new Redis(1, '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
    });
    dead.on('error', () => {});
    return dead;
  }

  it('rejects flush() when Redis is unreachable', async () => {
    const dead = deadRedis();
    const m = new PerformanceMonitor();
    const pub = new FleetPublisher(dead, m, { prefix: 'earshot-test:dead' });
    m.record('stt', 10);
    await expect(pub.flush()).rejects.toThrow();
    dead.disconnect();
  });

  it('reports a background publish failure once per outage, not on every tick', async () => {
    const dead = deadRedis();
    const m = new PerformanceMonitor();
    const errors: unknown[] = [];
    const pub = new FleetPublisher(dead, m, {
      prefix: 'earshot-test:dead',
      windowMs: 1000,
      publishIntervalMs: 100,
      onError: (e) => errors.push(e),
    }).start();
    for (let i = 0; i < 5; i++) {
      m.record('stt', 10);
      await new Promise((r) => setTimeout(r, 120));
    }
    await pub.stop().catch(() => {});
    expect(errors.length).toBe(1);
    dead.disconnect();
  });
});
