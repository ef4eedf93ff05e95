/**
 * The open load model: arrivals on a schedule fixed in advance (constant or Poisson), sent
 * whether or not earlier turns have answered, so a slow target cannot slow the load down and
 * hide its own latency (coordinated omission).
 * @module
 */
import { type OpenModelOptionsInput, openModelOptionsSchema, parseLoadOptions } from './options.js';
import { exponentialGapMs, seededRandom, weightedPicker } from './random.js';
import { RunRecorder } from './recorder.js';
import {
  type ArrivalStats,
  type LoadRunInput,
  type LoadRunResult,
  monitorOf,
  RunStop,
  runResultOf,
} from './run-control.js';

/**
 * Runs an open-model load test at `ratePerSec` arrivals per second.
 *
 * Each iteration is recorded twice: `scenario` from the actual send and `scenario_from_intended` from the
 * moment the schedule said it should start. When the scheduler falls behind (a blocked event
 * loop, a saturated target), the second keeps the wait that a real user would have had, which
 * the first hides. Arrivals sent more than `lateThresholdMs` late are counted as `late`;
 * arrivals that find `maxInFlight` turns already running are `dropped` (not sent).
 *
 * @example
 * ```ts
 * const r = await runOpenModel({ ratePerSec: 20, runTimeMs: 10_000, scenarios: [ask] });
 * r.arrivals; // { scheduled, sent, late, dropped, ... }
 * r.monitor.stats('scenario_from_intended')?.p99;
 * ```
 */
export async function runOpenModel(input: OpenModelOptionsInput & LoadRunInput): Promise<LoadRunResult> {
  const { scenarios, monitor: _m, signal, onProgress, ...numeric } = input;
  const o = parseLoadOptions(openModelOptionsSchema, numeric, 'open-model');
  const monitor = monitorOf(input);
  const random = seededRandom(o.seed);
  const pick = weightedPicker(scenarios, random);
  const gapRandom = seededRandom(o.seed + 7919);
  const rec = new RunRecorder({ monitor, random, keepWaterfalls: o.keepWaterfalls });
  const running = new Set<Promise<void>>();
  const arrivals: ArrivalStats = {
    targetRatePerSec: o.ratePerSec,
    scheduled: 0,
    sent: 0,
    late: 0,
    dropped: 0,
    lateThresholdMs: o.lateThresholdMs,
    maxSendLagMs: 0,
  };
  let timer: NodeJS.Timeout | undefined;
  const stop = new RunStop(signal, () => clearTimeout(timer));
  const hard = stop.hard;
  let runTimer: NodeJS.Timeout | undefined;
  // Intended start of the next arrival, ms since the run started.
  let nextAt = 0;
  const gap = () =>
    o.arrival === 'poisson' ? exponentialGapMs(o.ratePerSec, gapRandom) : 1000 / o.ratePerSec;

  const tick = (): void => {
    timer = undefined;
    const elapsed = rec.elapsed();
    while (!stop.stopping && nextAt <= elapsed) {
      if (o.runTimeMs !== undefined && nextAt >= o.runTimeMs) break;
      if (o.iterations !== undefined && arrivals.scheduled >= o.iterations) break;
      const index = arrivals.scheduled++;
      const lag = elapsed - nextAt;
      const intendedAt = rec.startedAt + nextAt;
      nextAt += gap();
      if (lag > arrivals.maxSendLagMs) arrivals.maxSendLagMs = Math.round(lag * 10) / 10;
      if (rec.inFlight >= o.maxInFlight) {
        arrivals.dropped++;
        continue;
      }
      arrivals.sent++;
      if (lag > o.lateThresholdMs) arrivals.late++;
      const scenario = pick();
      const ctx = {
        signal: hard.signal,
        user: index,
        iteration: 0,
        state: new Map<string, unknown>(),
        random,
        monitor,
      };
      const p = rec.run(scenario.name, () => scenario.run(ctx), hard.signal, intendedAt);
      running.add(p);
      void p.finally(() => running.delete(p));
    }
    if (stop.stopping) return;
    if (o.iterations !== undefined && arrivals.scheduled >= o.iterations) {
      stop.request('all arrivals sent', false);
      return;
    }
    // The schedule is over; the run timer ends the run.
    if (o.runTimeMs !== undefined && nextAt >= o.runTimeMs) return;
    timer = setTimeout(tick, Math.max(0, nextAt - rec.elapsed()));
  };

  const sample = () => {
    rec.sample({ targetRate: stop.stopping ? 0 : o.ratePerSec });
    onProgress?.(
      rec.progress({
        phase: stop.stopping ? 'stopping' : 'steady',
        targetRate: o.ratePerSec,
        late: arrivals.late,
        dropped: arrivals.dropped,
      }),
    );
  };

  stop.listen();
  const sampler = setInterval(sample, o.sampleIntervalMs);
  if (o.runTimeMs !== undefined)
    runTimer = setTimeout(() => stop.request('run time reached', false), o.runTimeMs);
  if (!stop.stopping) tick();

  await stop.stopped;
  clearTimeout(timer);
  clearTimeout(runTimer);
  await stop.drain(running, o.stopTimeoutMs);
  clearInterval(sampler);
  sample();

  return { ...runResultOf('open', stop, rec, monitor), arrivals };
}
