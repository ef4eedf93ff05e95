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
  ABANDON_AFTER_MS,
  type ArrivalStats,
  abortReasonText,
  deferred,
  type LoadRunInput,
  type LoadRunResult,
  monitorOf,
  settlesWithin,
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
  const hard = new AbortController();
  const stopped = deferred();
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
  let stopping = false;
  let stopReason = '';
  let status: LoadRunResult['status'] = 'completed';
  let timer: NodeJS.Timeout | undefined;
  let runTimer: NodeJS.Timeout | undefined;
  // Intended start of the next arrival, ms since the run started.
  let nextAt = 0;
  const gap = () =>
    o.arrival === 'poisson' ? exponentialGapMs(o.ratePerSec, gapRandom) : 1000 / o.ratePerSec;

  const requestStop = (reason: string, interrupt: boolean): void => {
    if (stopping) return;
    stopping = true;
    stopReason = reason;
    clearTimeout(timer);
    if (interrupt) {
      status = 'interrupted';
      hard.abort(reason);
    }
    stopped.resolve();
  };
  const onAbort = () => requestStop(abortReasonText(signal?.reason), true);

  const tick = (): void => {
    timer = undefined;
    const elapsed = rec.elapsed();
    while (!stopping && nextAt <= elapsed) {
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
    if (stopping) return;
    if (o.iterations !== undefined && arrivals.scheduled >= o.iterations) {
      requestStop('all arrivals sent', false);
      return;
    }
    // The schedule is over; the run timer ends the run.
    if (o.runTimeMs !== undefined && nextAt >= o.runTimeMs) return;
    timer = setTimeout(tick, Math.max(0, nextAt - rec.elapsed()));
  };

  const sample = () => {
    rec.sample({ targetRate: stopping ? 0 : o.ratePerSec });
    onProgress?.(
      rec.progress({
        phase: stopping ? 'stopping' : 'steady',
        targetRate: o.ratePerSec,
        late: arrivals.late,
        dropped: arrivals.dropped,
      }),
    );
  };

  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  const sampler = setInterval(sample, o.sampleIntervalMs);
  if (o.runTimeMs !== undefined)
    runTimer = setTimeout(() => requestStop('run time reached', false), o.runTimeMs);
  if (!stopping) tick();

  await stopped.promise;
  clearTimeout(timer);
  clearTimeout(runTimer);
  const all = Promise.allSettled([...running]);
  if (!hard.signal.aborted && !(await settlesWithin(all, o.stopTimeoutMs))) hard.abort('stop timeout');
  await settlesWithin(all, ABANDON_AFTER_MS);
  clearInterval(sampler);
  signal?.removeEventListener('abort', onAbort);
  stopping = true;
  sample();

  return {
    model: 'open',
    status,
    stopReason,
    startedAt: rec.startedAtDate,
    durationMs: rec.elapsed(),
    monitor,
    started: rec.started,
    completed: rec.completed,
    errors: rec.errors,
    interrupted: rec.interrupted,
    abandoned: rec.inFlight,
    errorKinds: rec.errorKinds(),
    timeseries: rec.timeseries,
    turns: rec.representativeTurns(),
    arrivals,
  };
}
