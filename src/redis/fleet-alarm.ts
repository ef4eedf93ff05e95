import { InvalidArgumentError } from '../errors.js';
import {
  type AlarmDatapoint,
  AlarmEvaluator,
  type LatencyAlarmOptions,
  parseLatencyAlarmOptions,
} from '../perf/alarms.js';
import type { Labels } from '../perf/index.js';
import type { FleetReader } from './fleet.js';

/** Missed periods judged at most, oldest first, after a read failure. */
const MAX_CATCH_UP = 10;

/** Options of {@link createFleetLatencyAlarm}: the latency alarm's, plus when a window is settled. */
export type FleetLatencyAlarmOptions = LatencyAlarmOptions & {
  /**
   * How long after a window ends before it is judged, in ms, so that every publisher (late
   * timers, clocks a little behind) has written it. Default: the reader's window / 6, at most 10 s.
   */
  settleMs?: number;
};

/**
 * A latency alarm on the fleet-wide percentile: each period it merges the complete windows of
 * the period from Redis (see {@link FleetReader}) and judges their percentile, so "P90 of the
 * whole fleet above 500 ms for 2 periods" means exactly that, not an average of instances.
 * `periodSeconds × 1000` must be a multiple of the reader's `windowMs`.
 */
export class FleetLatencyAlarm extends AlarmEvaluator {
  private readonly clock: () => number;
  private readonly settleMs: number;
  private readonly periodMs: number;
  private lastEnd = Number.NEGATIVE_INFINITY;
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<AlarmDatapoint | undefined> | undefined;

  constructor(
    private readonly reader: FleetReader,
    options: FleetLatencyAlarmOptions,
  ) {
    const { settleMs, ...rest } = options;
    super(parseLatencyAlarmOptions(rest));
    this.clock = this.options.now ?? Date.now;
    this.periodMs = this.options.periodSeconds * 1000;
    if (this.periodMs % reader.windowMs !== 0) {
      throw new InvalidArgumentError(
        `periodSeconds × 1000 (${this.periodMs}) must be a multiple of the fleet windowMs (${reader.windowMs}).`,
      );
    }
    this.settleMs = settleMs ?? Math.min(10_000, Math.floor(reader.windowMs / 6));
    if (!(this.settleMs >= 0 && this.settleMs < reader.windowMs)) {
      throw new InvalidArgumentError(`settleMs must be in [0, windowMs), got ${settleMs}.`);
    }
  }

  /** Evaluates every fleet window until {@link stop} (each settled period is judged once). */
  start(): this {
    if (this.timer === undefined) {
      this.timer = setInterval(
        () => {
          this.evaluate().catch((err: unknown) =>
            process.emitWarning(
              `earshot fleet alarm "${this.name}": reading Redis failed: ${err instanceof Error ? err.message : String(err)}`,
              { code: 'EARSHOT_ALARM_FLEET' },
            ),
          );
        },
        Math.min(this.reader.windowMs, this.periodMs),
      );
      this.timer.unref?.();
    }
    return this;
  }

  /** Stops the timer. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Judges the latest settled period, unless it was judged already (then resolves
   * `undefined`). Rejects if Redis fails; the state is then unchanged.
   */
  evaluate(): Promise<AlarmDatapoint | undefined> {
    this.running ??= this.doEvaluate().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async doEvaluate(): Promise<AlarmDatapoint | undefined> {
    const now = this.clock();
    const end = this.reader.windowStart(now - this.settleMs);
    // Periods are aligned to the epoch so every instance judges the same ones.
    const periodEnd = end - (end % this.periodMs);
    if (periodEnd <= this.lastEnd) return undefined;
    const o = this.options;
    const query: { operations: string[]; labels?: Labels } = { operations: [o.operation] };
    if (o.labels) query.labels = o.labels;
    // Periods not judged yet (after a failed read, or a late timer) are judged in order, up to
    // MAX_CATCH_UP of them. The judged range advances only after a successful read: a failed
    // read leaves the state and the range unchanged, so the next evaluate() judges it again.
    let first = periodEnd;
    if (Number.isFinite(this.lastEnd)) {
      first = Math.max(this.lastEnd + this.periodMs, periodEnd - (MAX_CATCH_UP - 1) * this.periodMs);
    }
    let last: AlarmDatapoint | undefined;
    for (let judged = first; judged <= periodEnd; judged += this.periodMs) {
      const stats = await this.reader.readRange(judged - this.periodMs, judged, query);
      this.lastEnd = judged;
      const op = stats.operations[0];
      last = this.push(op?.count ?? 0, op ? op.histogram.percentileMs(o.percentile) : null, now);
    }
    return last;
  }
}

/**
 * Creates a {@link FleetLatencyAlarm}. Not started: call `.start()`.
 *
 * @example
 * ```ts
 * const alarm = createFleetLatencyAlarm(new FleetReader(redis), {
 *   operation: 'e2e', percentile: 90, thresholdMs: 500, evaluationPeriods: 2, periodSeconds: 60,
 * }).start();
 * alarm.on('alarm', (t) => console.error(t.reason));
 * ```
 */
export function createFleetLatencyAlarm(
  reader: FleetReader,
  options: FleetLatencyAlarmOptions,
): FleetLatencyAlarm {
  return new FleetLatencyAlarm(reader, options);
}
