import { z } from 'zod';
import { ConfigError, InvalidArgumentError } from '../errors.js';
import { LatencyHistogram } from './histogram.js';
import { type Labels, matchesLabels } from './labels.js';
import type { SeriesSnapshot } from './types.js';

/**
 * Latency alarms in the manner of CloudWatch: every period, the chosen percentile of the
 * samples recorded in that period is one datapoint; the alarm goes to ALARM when
 * `datapointsToAlarm` of the last `evaluationPeriods` datapoints are above the threshold, and
 * back to OK when they no longer are. A period with fewer than `minSamples` samples is no
 * datapoint at all (missing data), so a quiet minute with one slow call does not page anyone.
 *
 * The source design's alarm, "P90 above 500 ms for 2 periods":
 * ```ts
 * const alarm = createLatencyAlarm(monitor, {
 *   operation: OP.e2e, percentile: 90, thresholdMs: 500, evaluationPeriods: 2, periodSeconds: 60,
 *   onChange: (t) => console.warn(`${t.alarm}: ${t.previousState} → ${t.state} (${t.reason})`),
 * }).start();
 * ```
 * @module
 */

/** State of an alarm. It starts in `INSUFFICIENT_DATA` until its first datapoint. */
export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/** How a period with fewer than `minSamples` samples is treated. */
export type TreatMissingData = 'ignore' | 'notBreaching' | 'breaching';

/** One evaluated period. */
export interface AlarmDatapoint {
  /** Percentile value of the period in ms, or `null` when it had too few samples. */
  valueMs: number | null;
  /** Samples in the period. */
  count: number;
  /** When the period was evaluated (ms since epoch). */
  timestamp: number;
  /** `true` above the threshold, `false` at or below it, `null` for missing data. */
  breaching: boolean | null;
}

/** What an alarm reports when its state changes. */
export interface AlarmTransition {
  /** The alarm's name. */
  alarm: string;
  operation: string;
  percentile: number;
  thresholdMs: number;
  state: AlarmState;
  previousState: AlarmState;
  /** The datapoint that caused the change. */
  datapoint: AlarmDatapoint;
  /** Breaching datapoints among the last `evaluationPeriods` evaluated ones. */
  breachingDatapoints: number;
  /** A sentence for logs and pages. */
  reason: string;
}

/** Events of an alarm: every state change, and the two that matter for paging. */
export type AlarmEvent = 'change' | 'alarm' | 'ok';

const MAX_PERIOD_SECONDS = 86_400;

/** Options shared by local and fleet latency alarms. */
export const latencyAlarmOptionsSchema = z
  .object({
    /** Operation name, e.g. `e2e`. */
    operation: z.string().min(1),
    /** Percentile judged, in (0, 100]. Default 90. */
    percentile: z.number().gt(0).lte(100).default(90),
    /** Breaching when the percentile is strictly above this, in ms. */
    thresholdMs: z.number().finite().positive(),
    /** Datapoints looked at. Default 1. */
    evaluationPeriods: z.number().int().min(1).max(1000).default(1),
    /** Breaching datapoints (of `evaluationPeriods`) that raise the alarm. Default `evaluationPeriods`. */
    datapointsToAlarm: z.number().int().min(1).optional(),
    /** Length of one period in seconds. Default 60. */
    periodSeconds: z.number().positive().max(MAX_PERIOD_SECONDS).default(60),
    /** Fewest samples for a period to count as a datapoint. Default 10. */
    minSamples: z.number().int().min(1).default(10),
    /** What a period with too few samples counts as. Default `ignore` (the state is kept). */
    treatMissingData: z.enum(['ignore', 'notBreaching', 'breaching']).default('ignore'),
    /** Only series whose labels include these, e.g. `{ provider: 'openai' }`. */
    labels: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    /** Name used in events. Default `<operation> P<percentile> > <thresholdMs> ms`. */
    name: z.string().min(1).optional(),
    /** Called on every state change (same as `alarm.on('change', ...)`). */
    onChange: z.custom<(t: AlarmTransition) => void>((v) => typeof v === 'function').optional(),
    /** Wall clock in ms for timestamps. Default `Date.now`. */
    now: z.custom<() => number>((v) => typeof v === 'function').optional(),
  })
  .refine((o) => o.datapointsToAlarm === undefined || o.datapointsToAlarm <= o.evaluationPeriods, {
    message: 'datapointsToAlarm must be at most evaluationPeriods',
    path: ['datapointsToAlarm'],
  });

/** Options of {@link createLatencyAlarm}, as you pass them. */
export type LatencyAlarmOptions = z.input<typeof latencyAlarmOptionsSchema>;
type ParsedOptions = z.output<typeof latencyAlarmOptionsSchema>;

/** @internal parses alarm options into a `ConfigError` listing every bad field. */
export function parseLatencyAlarmOptions(options: LatencyAlarmOptions): ParsedOptions {
  const r = latencyAlarmOptionsSchema.safeParse(options);
  if (r.success) return r.data;
  throw new ConfigError(
    r.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
    { source: 'latency alarm options' },
  );
}

/**
 * The state machine and events shared by {@link LatencyAlarm} and the fleet alarm: feed it
 * one datapoint per period with {@link AlarmEvaluator.push}.
 */
export class AlarmEvaluator {
  readonly name: string;
  readonly options: Readonly<ParsedOptions>;
  private current: AlarmState = 'INSUFFICIENT_DATA';
  private readonly recent: boolean[] = [];
  private readonly listeners = new Map<AlarmEvent, Set<(t: AlarmTransition) => void>>();
  private last: AlarmDatapoint | undefined;

  constructor(options: ParsedOptions) {
    this.options = options;
    this.name = options.name ?? `${options.operation} P${options.percentile} > ${options.thresholdMs} ms`;
    if (options.onChange) this.on('change', options.onChange);
  }

  /** Current state. */
  get state(): AlarmState {
    return this.current;
  }

  /** The most recent datapoint, if any. */
  get lastDatapoint(): AlarmDatapoint | undefined {
    return this.last;
  }

  /**
   * Subscribes to `change` (every transition), `alarm` (entering ALARM) or `ok` (leaving ALARM
   * for OK). Returns the unsubscribe function. A listener that throws is reported as a process
   * warning and does not stop the others.
   */
  on(event: AlarmEvent, listener: (t: AlarmTransition) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  /** Evaluates one period from its sample count and percentile value. */
  push(count: number, valueMs: number | null, timestamp: number): AlarmDatapoint {
    const o = this.options;
    const enough = count >= o.minSamples && valueMs !== null;
    let breaching: boolean | null = enough ? valueMs > o.thresholdMs : null;
    if (breaching === null && o.treatMissingData !== 'ignore') breaching = o.treatMissingData === 'breaching';
    const datapoint: AlarmDatapoint = { valueMs: enough ? valueMs : null, count, timestamp, breaching };
    this.last = datapoint;
    if (breaching === null) return datapoint;
    this.recent.push(breaching);
    if (this.recent.length > o.evaluationPeriods) this.recent.shift();
    const breaches = this.recent.reduce((n, b) => n + (b ? 1 : 0), 0);
    const next: AlarmState = breaches >= (o.datapointsToAlarm ?? o.evaluationPeriods) ? 'ALARM' : 'OK';
    if (next !== this.current) this.transition(next, datapoint, breaches);
    return datapoint;
  }

  private transition(next: AlarmState, datapoint: AlarmDatapoint, breaches: number): void {
    const o = this.options;
    const previousState = this.current;
    this.current = next;
    const value = datapoint.valueMs === null ? 'no data' : `${datapoint.valueMs.toFixed(1)} ms`;
    const reason =
      next === 'ALARM'
        ? `P${o.percentile} of ${o.operation} above ${o.thresholdMs} ms in ${breaches} of the last ${o.evaluationPeriods} period(s) (latest ${value}, ${datapoint.count} samples)`
        : `P${o.percentile} of ${o.operation} at or below ${o.thresholdMs} ms (latest ${value}, ${datapoint.count} samples)`;
    const t: AlarmTransition = {
      alarm: this.name,
      operation: o.operation,
      percentile: o.percentile,
      thresholdMs: o.thresholdMs,
      state: next,
      previousState,
      datapoint,
      breachingDatapoints: breaches,
      reason,
    };
    this.emit('change', t);
    if (next === 'ALARM') this.emit('alarm', t);
    else if (previousState === 'ALARM') this.emit('ok', t);
  }

  private emit(event: AlarmEvent, t: AlarmTransition): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const l of set) {
      try {
        l(t);
      } catch (err) {
        process.emitWarning(
          `earshot alarm "${this.name}": a ${event} listener threw: ${err instanceof Error ? err.message : String(err)}`,
          { code: 'EARSHOT_ALARM_LISTENER' },
        );
      }
    }
  }
}

/** What {@link createLatencyAlarm} needs from the monitor. */
export interface AlarmSource {
  intervalReader(): { read(): readonly SeriesSnapshot[] };
}

/**
 * An alarm on one operation's latency percentile, evaluated once per period over the samples
 * recorded in that period (the monitor's interval reader). Call {@link start} to evaluate on a
 * timer, or {@link evaluate} yourself (tests, cron, a serverless tick).
 */
export class LatencyAlarm extends AlarmEvaluator {
  private readonly reader: { read(): readonly SeriesSnapshot[] };
  private readonly clock: () => number;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(source: AlarmSource, options: LatencyAlarmOptions) {
    super(parseLatencyAlarmOptions(options));
    this.reader = source.intervalReader();
    // The first read returns everything so far: take it now so the first period starts here.
    this.reader.read();
    this.clock = this.options.now ?? Date.now;
  }

  /** Evaluates every `periodSeconds` until {@link stop}. The timer does not keep the process alive. */
  start(): this {
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.evaluate(), this.options.periodSeconds * 1000);
      this.timer.unref?.();
    }
    return this;
  }

  /** Stops the timer. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Closes one period: judges what was recorded since the previous evaluation. */
  evaluate(): AlarmDatapoint {
    const o = this.options;
    const labels = o.labels as Labels | undefined;
    let merged: LatencyHistogram | undefined;
    let count = 0;
    for (const s of this.reader.read()) {
      if (s.name !== o.operation || s.count === 0 || !matchesLabels(s.labels, labels)) continue;
      if (!merged)
        merged = new LatencyHistogram({ significantDigits: s.histogram.significantDigits, storage: 'dense' });
      merged.add(s.histogram);
      count += s.count;
    }
    return this.push(count, merged && count > 0 ? merged.percentileMs(o.percentile) : null, this.clock());
  }
}

/**
 * Creates a {@link LatencyAlarm} on `monitor`. Not started: call `.start()`.
 *
 * @example
 * ```ts
 * const alarm = createLatencyAlarm(performanceMonitor, {
 *   operation: OP.e2e, percentile: 90, thresholdMs: 500, evaluationPeriods: 2, periodSeconds: 60,
 * }).start();
 * alarm.on('alarm', (t) => pager.trigger(t.reason));
 * alarm.on('ok', (t) => pager.resolve(t.alarm));
 * ```
 */
export function createLatencyAlarm(monitor: AlarmSource, options: LatencyAlarmOptions): LatencyAlarm {
  if (monitor === null || typeof monitor !== 'object' || typeof monitor.intervalReader !== 'function') {
    throw new InvalidArgumentError(
      'createLatencyAlarm needs a PerformanceMonitor (an object with intervalReader()).',
    );
  }
  return new LatencyAlarm(monitor, options);
}
