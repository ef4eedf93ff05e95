/**
 * The closed load model (Locust's): a population of users ramped up at a spawn rate, each
 * running weighted scenarios back to back with an optional think time, until the run time or
 * the iteration budget is spent.
 * @module
 */
import { type ClosedModelOptionsInput, closedModelOptionsSchema, parseLoadOptions } from './options.js';
import { seededRandom, weightedPicker } from './random.js';
import { RunRecorder } from './recorder.js';
import {
  type LoadRunInput,
  type LoadRunResult,
  monitorOf,
  RunStop,
  runResultOf,
  sleep,
} from './run-control.js';

/**
 * Runs a closed-model load test: `users` virtual users, started at `spawnRate` per second,
 * each looping over the scenarios (picked by weight) until `runTimeMs` passes or `iterations`
 * turns have run. Latency is recorded under `turn` in the monitor; the target records its own
 * stages there too.
 *
 * Closed models under-report latency when the target slows down (each user waits for its
 * answer before sending the next request); use {@link runOpenModel} to measure what users at a
 * given arrival rate would see.
 *
 * @example
 * ```ts
 * const result = await runClosedModel({
 *   users: 10, spawnRate: 2, runTimeMs: 30_000,
 *   scenarios: [{ name: 'ask', run: async ({ signal }) => { await fetch(url, { signal }); } }],
 * });
 * result.monitor.stats('scenario')?.p90;
 * ```
 */
export async function runClosedModel(input: ClosedModelOptionsInput & LoadRunInput): Promise<LoadRunResult> {
  const { scenarios, monitor: _m, signal, onProgress, ...numeric } = input;
  const o = parseLoadOptions(closedModelOptionsSchema, numeric, 'closed-model');
  const monitor = monitorOf(input);
  const random = seededRandom(o.seed);
  const pick = weightedPicker(scenarios, random);
  const rec = new RunRecorder({ monitor, random, keepWaterfalls: o.keepWaterfalls });
  const stop = new RunStop(signal);
  const hard = stop.hard;
  let spawned = 0;
  let active = 0;
  let tickets = o.iterations ?? Number.POSITIVE_INFINITY;
  const loops: Promise<void>[] = [];
  const timers: NodeJS.Timeout[] = [];

  const thinkTime = (): number => {
    const t = o.thinkTimeMs;
    return typeof t === 'number' ? t : t[0] + random() * (t[1] - t[0]);
  };

  const userLoop = async (user: number): Promise<void> => {
    const state = new Map<string, unknown>();
    let iteration = 0;
    try {
      while (!stop.stopping) {
        if (tickets <= 0) break;
        tickets--;
        const scenario = pick();
        const ctx = { signal: hard.signal, user, iteration, state, random, monitor };
        await rec.run(scenario.name, () => scenario.run(ctx), hard.signal);
        iteration++;
        const think = thinkTime();
        if (think > 0 && !stop.stopping) await sleep(think, hard.signal);
      }
    } finally {
      active--;
      if (tickets <= 0 && active === 0 && spawned > 0) stop.request('all iterations done', false);
    }
  };

  const spawnDue = (): void => {
    if (stop.stopping) return;
    const due =
      o.spawnRate === undefined
        ? o.users
        : Math.min(o.users, Math.floor((rec.elapsed() * o.spawnRate) / 1000) + 1);
    while (spawned < due && !stop.stopping && tickets > 0) {
      active++;
      loops.push(userLoop(spawned++));
    }
    if (spawned < o.users && !stop.stopping && tickets > 0 && o.spawnRate !== undefined) {
      const nextAt = (spawned * 1000) / o.spawnRate;
      timers.push(setTimeout(spawnDue, Math.max(1, nextAt - rec.elapsed())));
    }
  };

  const phase = () =>
    (stop.stopping ? 'stopping' : spawned < o.users ? 'ramping' : 'steady') as
      | 'stopping'
      | 'ramping'
      | 'steady';
  const sample = () => {
    rec.sample({ users: active });
    onProgress?.(rec.progress({ phase: phase(), users: active, targetUsers: o.users }));
  };

  stop.listen();
  const sampler = setInterval(sample, o.sampleIntervalMs);
  if (o.runTimeMs !== undefined)
    timers.push(setTimeout(() => stop.request('run time reached', false), o.runTimeMs));
  spawnDue();

  await stop.stopped;
  for (const t of timers) clearTimeout(t);
  await stop.drain(loops, o.stopTimeoutMs);
  clearInterval(sampler);
  rec.sample({ users: active });
  onProgress?.(rec.progress({ phase: 'stopping', users: active, targetUsers: o.users }));

  return runResultOf('closed', stop, rec, monitor);
}
