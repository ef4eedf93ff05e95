import { describe, expect, it } from 'vitest';
import { runOpenModel, type Scenario } from '../../src/loadtest/index.js';

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(new Error('aborted'));
      },
      { once: true },
    );
  });

describe('runOpenModel', () => {
  it('sends arrivals on schedule whatever the responses do', async () => {
    // Each turn takes 300 ms; a closed model with one user would manage ~3 in the same time.
    const slow: Scenario = { name: 'slow', run: async ({ signal }) => sleep(300, signal) };
    const r = await runOpenModel({ ratePerSec: 50, iterations: 25, sampleIntervalMs: 50, scenarios: [slow] });
    expect(r.arrivals).toMatchObject({ scheduled: 25, sent: 25, dropped: 0 });
    expect(r.completed).toBe(25);
    // many turns overlapped: the peak in-flight count is far above one
    expect(Math.max(...r.timeseries.map((p) => p.inFlight))).toBeGreaterThan(5);
  });

  it('drops arrivals that find maxInFlight turns running, and counts them', async () => {
    const slow: Scenario = { name: 'slow', run: async ({ signal }) => sleep(400, signal) };
    const r = await runOpenModel({ ratePerSec: 100, iterations: 30, maxInFlight: 5, scenarios: [slow] });
    expect(r.arrivals!.scheduled).toBe(30);
    expect(r.arrivals!.sent).toBe(5);
    expect(r.arrivals!.dropped).toBe(25);
    expect(r.completed).toBe(5);
  });

  it('measures from the intended start as well as from the send, and counts late arrivals (coordinated omission)', async () => {
    let n = 0;
    // The 5th arrival blocks the event loop for 250 ms, as a saturated in-process target would:
    // the arrivals due meanwhile are sent late, and only the intended-start figure shows the wait.
    const s: Scenario = {
      name: 'blocking',
      run: async () => {
        if (++n === 5) {
          const until = performance.now() + 250;
          while (performance.now() < until) {
            // busy
          }
        }
        return undefined;
      },
    };
    const r = await runOpenModel({ ratePerSec: 100, iterations: 40, lateThresholdMs: 10, scenarios: [s] });
    expect(r.arrivals!.late).toBeGreaterThan(5);
    expect(r.arrivals!.maxSendLagMs).toBeGreaterThan(150);
    const fromSend = r.monitor.stats('scenario')!;
    const fromIntended = r.monitor.stats('scenario_from_intended')!;
    expect(fromIntended.count).toBe(40);
    expect(fromIntended.maxMs).toBeGreaterThan(150);
    expect(fromIntended.p90).toBeGreaterThan(fromSend.p90);
  });

  it('runs for the run time at the asked rate, constant or Poisson', async () => {
    const quick: Scenario = { name: 'q', run: async () => undefined };
    for (const arrival of ['constant', 'poisson'] as const) {
      const r = await runOpenModel({ ratePerSec: 200, runTimeMs: 500, arrival, seed: 3, scenarios: [quick] });
      expect(r.stopReason).toBe('run time reached');
      // 100 expected; Poisson varies (sd 10) and timers are coarse, so the bounds are loose
      expect(r.arrivals!.scheduled).toBeGreaterThan(60);
      expect(r.arrivals!.scheduled).toBeLessThan(140);
    }
  });

  it('an aborted signal interrupts the run; turns in flight count as interrupted', async () => {
    const stop = new AbortController();
    const s: Scenario = { name: 's', run: async ({ signal }) => sleep(10_000, signal) };
    setTimeout(() => stop.abort('interrupted (SIGINT)'), 100);
    const r = await runOpenModel({ ratePerSec: 50, runTimeMs: 60_000, signal: stop.signal, scenarios: [s] });
    expect(r.status).toBe('interrupted');
    expect(r.interrupted).toBe(r.arrivals!.sent);
    expect(r.errors).toBe(0);
  });
});
