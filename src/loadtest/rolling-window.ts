/**
 * The rolling windows of the over-time latency chart: P50 and P90 over the last N iterations
 * (never less than one interval), so a run with few users draws a readable trend instead of
 * per-interval noise. With enough throughput the window is the interval itself; with little it
 * stretches back over as many intervals as it takes. The recorder keeps one window per size in
 * {@link ROLLING_WINDOW_SIZES}; the report picks the size that suits the run's length.
 * @module
 */

/** The window sizes (iterations) recorded in every time-series point, smallest first. */
export const ROLLING_WINDOW_SIZES: readonly number[] = [20, 50];

/** Rolling percentiles at the end of one interval (saved in the run file's time series). */
interface RollingPercentiles {
  /** The window's size: the last `size` iterations. */
  size: number;
  /** Iterations in the window (fewer than `size` early in a run). */
  turns: number;
  /** How far back the window reaches: from the start of its oldest interval to the sample. */
  windowMs: number;
  p50: number;
  p90: number;
}

interface ClosedInterval {
  startMs: number;
  latencies: number[];
}

/** Nearest-rank percentile of sorted values (the smallest value with at least p % at or below it). */
export function nearestRank(sorted: readonly number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/**
 * Collects the latencies of the current interval (at most `size`, all a window can use) and of
 * the closed intervals the next window may reach back to.
 * @internal Used by the run recorder.
 */
export class RollingWindow {
  readonly size: number;
  #current: number[] = [];
  #currentCount = 0;
  readonly #closed: ClosedInterval[] = [];
  #closedTurns = 0;

  constructor(size: number) {
    this.size = Math.max(1, Math.floor(size));
  }

  /** Records one iteration's latency in the current interval. */
  add(latencyMs: number): void {
    this.#currentCount++;
    if (this.#current.length < this.size) this.#current.push(latencyMs);
    else {
      // Keep the latest `size` (the window is "the last N iterations").
      this.#current.shift();
      this.#current.push(latencyMs);
    }
  }

  /**
   * Closes the current interval and returns the rolling percentiles at its end, or `undefined`
   * when no iteration has finished yet. `own` are the interval's own percentiles (from its full
   * histogram): used as they are when the interval alone holds a full window.
   */
  close(
    intervalStartMs: number,
    nowMs: number,
    own?: { p50: number; p90: number },
  ): RollingPercentiles | undefined {
    const current = this.#current;
    const count = this.#currentCount;
    this.#current = [];
    this.#currentCount = 0;
    let result: RollingPercentiles | undefined;
    if (count >= this.size && own) {
      result = {
        size: this.size,
        turns: count,
        windowMs: round1(nowMs - intervalStartMs),
        p50: own.p50,
        p90: own.p90,
      };
    } else {
      const values = [...current];
      let startMs = intervalStartMs;
      for (let i = this.#closed.length - 1; i >= 0 && values.length < this.size; i--) {
        const c = this.#closed[i]!;
        const need = this.size - values.length;
        const take = c.latencies.length <= need ? c.latencies : c.latencies.slice(c.latencies.length - need);
        for (const v of take) values.push(v);
        startMs = c.startMs;
      }
      if (values.length > 0) {
        values.sort((a, b) => a - b);
        result = {
          size: this.size,
          turns: values.length,
          windowMs: round1(nowMs - startMs),
          p50: round3(nearestRank(values, 50)),
          p90: round3(nearestRank(values, 90)),
        };
      }
    }
    if (current.length > 0) {
      this.#closed.push({ startMs: intervalStartMs, latencies: current });
      this.#closedTurns += current.length;
      // Keep only the intervals the next window can reach: drop the oldest while the rest
      // still hold a full window.
      while (this.#closed.length > 0 && this.#closedTurns - this.#closed[0]!.latencies.length >= this.size) {
        this.#closedTurns -= this.#closed.shift()!.latencies.length;
      }
    }
    return result;
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
