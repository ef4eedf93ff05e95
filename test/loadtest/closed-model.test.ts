import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, UpstreamError } from '../../src/errors.js';
import { runClosedModel, type Scenario, type TurnWaterfall } from '../../src/loadtest/index.js';
import { PerformanceMonitor } from '../../src/perf/index.js';

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

const waiting = (name: string, ms: number, weight = 1): Scenario => ({
  name,
  weight,
  run: async ({ signal }) => {
    await sleep(ms, signal);
  },
});

describe('runClosedModel', () => {
  it('runs exactly the number of iterations asked for and records each under "scenario"', async () => {
    const r = await runClosedModel({ users: 3, iterations: 17, scenarios: [waiting('a', 2)] });
    expect(r.status).toBe('completed');
    expect(r.stopReason).toBe('all iterations done');
    expect(r.completed).toBe(17);
    expect(r.monitor.stats('scenario')?.count).toBe(17);
  });

  it('ramps users up at the spawn rate and never runs more than asked', async () => {
    const r = await runClosedModel({
      users: 4,
      spawnRate: 20,
      runTimeMs: 400,
      sampleIntervalMs: 20,
      scenarios: [waiting('a', 5)],
    });
    const users = r.timeseries.filter((p) => p.tMs < 380).map((p) => p.users ?? 0);
    expect(Math.max(...users)).toBe(4);
    // the first samples see fewer users than the target: they arrive one every 50 ms
    expect(users[0]).toBeLessThan(4);
    for (let i = 1; i < users.length; i++) expect(users[i]).toBeGreaterThanOrEqual(users[i - 1]!);
  });

  it('picks scenarios by weight', async () => {
    const r = await runClosedModel({
      users: 2,
      iterations: 400,
      scenarios: [waiting('often', 0, 3), waiting('rarely', 0, 1)],
    });
    const often = r.monitor.stats('scenario', { labels: { scenario: 'often' } })?.count ?? 0;
    const rarely = r.monitor.stats('scenario', { labels: { scenario: 'rarely' } })?.count ?? 0;
    expect(often + rarely).toBe(400);
    expect(often / 400).toBeGreaterThan(0.65);
    expect(often / 400).toBeLessThan(0.85);
  });

  it('counts failures by kind without stopping the run', async () => {
    let n = 0;
    const flaky: Scenario = {
      name: 'flaky',
      run: async () => {
        n++;
        if (n % 3 === 0)
          throw new UpstreamError('bad gateway', { provider: 'http', status: 502, retryable: true });
        if (n % 5 === 0) throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
        return undefined;
      },
    };
    const r = await runClosedModel({ users: 1, iterations: 30, scenarios: [flaky] });
    expect(r.completed).toBe(30);
    expect(r.errors).toBe(10 + 6 - 2);
    expect(r.errorKinds).toEqual([
      { kind: 'EARSHOT_UPSTREAM_FAILED http 502', count: 10, message: 'bad gateway' },
      { kind: 'ECONNRESET', count: 4, message: 'socket hang up' },
    ]);
    expect(r.monitor.stats('scenario')?.errors).toBe(14);
  });

  it('stops at the run time and lets turns in flight finish within the stop timeout', async () => {
    const r = await runClosedModel({
      users: 2,
      runTimeMs: 150,
      stopTimeoutMs: 2000,
      scenarios: [waiting('a', 40)],
    });
    expect(r.stopReason).toBe('run time reached');
    expect(r.interrupted).toBe(0);
    expect(r.completed).toBeGreaterThan(0);
  });

  it('aborts turns still running after the stop timeout and counts them as interrupted, not as errors', async () => {
    const r = await runClosedModel({
      users: 2,
      runTimeMs: 50,
      stopTimeoutMs: 20,
      scenarios: [waiting('slow', 5000)],
    });
    expect(r.status).toBe('completed');
    expect(r.interrupted).toBe(2);
    expect(r.errors).toBe(0);
    expect(r.abandoned).toBe(0);
  });

  it('an aborted signal interrupts the run at once and keeps the partial results', async () => {
    const stop = new AbortController();
    let done = 0;
    const s: Scenario = {
      name: 'a',
      run: async ({ signal }) => {
        await sleep(10, signal);
        if (++done === 5) stop.abort('interrupted (SIGINT)');
        return undefined;
      },
    };
    const r = await runClosedModel({ users: 1, runTimeMs: 60_000, signal: stop.signal, scenarios: [s] });
    expect(r.status).toBe('interrupted');
    expect(r.stopReason).toBe('interrupted (SIGINT)');
    expect(r.completed).toBe(5);
    expect(r.timeseries.length).toBeGreaterThan(0);
  });

  it('keeps an iteration that reports an interruption out of the latency figures', async () => {
    const s: Scenario = { name: 'barge-in', run: async () => ({ interrupted: true }) };
    const r = await runClosedModel({ users: 1, iterations: 4, scenarios: [s] });
    expect(r.interrupted).toBe(4);
    expect(r.monitor.stats('scenario')).toBeUndefined();
  });

  it('picks the typical and P90 turns from the waterfalls by time to first audio', async () => {
    let i = 0;
    const s: Scenario = {
      name: 'turn',
      run: async () => {
        const ttfa = ((++i % 10) + 1) * 100; // 100 … 1000 ms, ten of each
        const waterfall: TurnWaterfall = {
          timeToFirstAudioMs: ttfa,
          spans: [{ id: 0, name: 'stt', startMs: 0, endMs: ttfa }],
        };
        return { waterfall };
      },
    };
    const r = await runClosedModel({ users: 1, iterations: 100, scenarios: [s] });
    expect(r.turns.typical?.timeToFirstAudioMs).toBe(500);
    expect(r.turns.p90?.timeToFirstAudioMs).toBe(900);
  });

  it("thinks between a user's turns", async () => {
    const starts: number[] = [];
    const s: Scenario = {
      name: 'a',
      run: async () => {
        starts.push(performance.now());
        return undefined;
      },
    };
    await runClosedModel({ users: 1, iterations: 3, thinkTimeMs: 40, scenarios: [s] });
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(35);
    expect(starts[2]! - starts[1]!).toBeGreaterThanOrEqual(35);
  });

  it('records into the monitor it is given', async () => {
    const monitor = new PerformanceMonitor();
    const s: Scenario = {
      name: 'a',
      run: async (ctx) => {
        ctx.monitor.record('stt', 12, { provider: 'fake' });
        return undefined;
      },
    };
    const r = await runClosedModel({ users: 1, iterations: 3, monitor, scenarios: [s] });
    expect(r.monitor).toBe(monitor);
    expect(monitor.stats('stt')?.count).toBe(3);
  });

  it('rejects options that would never end or make no sense', async () => {
    await expect(runClosedModel({ users: 1, scenarios: [waiting('a', 1)] })).rejects.toThrow(
      /runTimeMs or iterations/,
    );
    await expect(runClosedModel({ users: 0, iterations: 1, scenarios: [waiting('a', 1)] })).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(
      runClosedModel({ users: 1, iterations: 1, thinkTimeMs: [30, 10], scenarios: [waiting('a', 1)] }),
    ).rejects.toThrow(/think time/);
  });
});
