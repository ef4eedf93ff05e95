import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { PerformanceMonitor } from '../../src/perf/index.js';
import { createFleetLatencyAlarm, FleetPublisher, FleetReader } from '../../src/redis/index.js';
import { connectRedis, deletePrefix } from '../fleet/redis-available.js';

const redis = await connectRedis();
const prefixes: string[] = [];
afterEach(async () => {
  if (redis) for (const p of prefixes.splice(0)) await deletePrefix(redis, p);
});
afterAll(async () => {
  await redis?.quit();
});

const WINDOW = 10_000;

describe.runIf(redis)('fleet latency alarm', () => {
  function setup() {
    const prefix = `earshot-test:fleet-alarm:${randomBytes(6).toString('hex')}`;
    prefixes.push(prefix);
    const c = { t: 2_000_000_000_000 - (2_000_000_000_000 % WINDOW) };
    const now = () => c.t;
    const a = new PerformanceMonitor();
    const b = new PerformanceMonitor();
    const pa = new FleetPublisher(redis!, a, { prefix, windowMs: WINDOW, now, instanceId: 'a' });
    const pb = new FleetPublisher(redis!, b, { prefix, windowMs: WINDOW, now, instanceId: 'b' });
    const reader = new FleetReader(redis!, { prefix, windowMs: WINDOW, now });
    return { c, a, b, pa, pb, reader, now };
  }

  it('judges the merged fleet percentile of each settled window, P90 above 500 ms for 2 periods', async () => {
    const { c, a, b, pa, pb, reader, now } = setup();
    const alarm = createFleetLatencyAlarm(reader, {
      operation: 'e2e',
      percentile: 90,
      thresholdMs: 500,
      evaluationPeriods: 2,
      periodSeconds: WINDOW / 1000,
      minSamples: 10,
      settleMs: 1000,
      now,
    });
    // A quiet fast instance and a busy slow one: only the merged histogram says the fleet P90.
    const period = async (fastMs: number, slowMs: number) => {
      for (let i = 0; i < 5; i++) a.record('e2e', fastMs);
      for (let i = 0; i < 45; i++) b.record('e2e', slowMs);
      c.t += WINDOW / 2;
      await Promise.all([pa.flush(), pb.flush()]);
      c.t += WINDOW / 2 + 1500; // next window, past the settle time
      return alarm.evaluate();
    };
    expect((await period(100, 700))?.breaching).toBe(true);
    expect(alarm.state).toBe('OK');
    const dp = await period(100, 800);
    expect(dp?.count).toBe(50);
    expect(alarm.state).toBe('ALARM');
    // The same period is never judged twice.
    expect(await alarm.evaluate()).toBeUndefined();
    await period(100, 200);
    expect(alarm.state).toBe('OK');
  });

  it('requires the period to be a whole number of fleet windows', () => {
    const { reader } = setup();
    expect(() =>
      createFleetLatencyAlarm(reader, { operation: 'e2e', thresholdMs: 500, periodSeconds: 15 }),
    ).toThrow(InvalidArgumentError);
  });
});
