/**
 * Shared pieces of the chaos suite: the run scale (short in `npm test`, the full
 * figures with `EARSHOT_CHAOS_FULL=1`), a watch on unhandled rejections, snapshots of the
 * process's active resources, an event-loop lag probe, and a figures printer.
 */

import { getEventListeners } from 'node:events';
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** `EARSHOT_CHAOS_FULL=1`: the full scenario (10 s Redis outage, longer runs). */
export const CHAOS_FULL = process.env.EARSHOT_CHAOS_FULL === '1';

/**
 * Prints a block of figures (always: they are what docs/reliability.md quotes) and, when
 * `EARSHOT_CHAOS_FIGURES=<file>` is set, appends them as one JSON line to that file.
 */
export function reportFigures(name: string, figures: Record<string, unknown>): void {
  const lines = Object.entries(figures).map(
    ([k, v]) => `  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`,
  );
  console.log(`\n[chaos] ${name}${CHAOS_FULL ? ' (EARSHOT_CHAOS_FULL)' : ''}\n${lines.join('\n')}\n`);
  const file = process.env.EARSHOT_CHAOS_FIGURES;
  if (file)
    writeFileSync(
      file,
      `${JSON.stringify({ name, full: CHAOS_FULL, at: new Date().toISOString(), ...figures })}\n`,
      { flag: 'a' },
    );
}

/** Collects every unhandled rejection while it is installed. */
export class RejectionWatch {
  readonly reasons: unknown[] = [];
  readonly #onRejection = (reason: unknown): void => {
    this.reasons.push(reason);
  };

  constructor() {
    process.on('unhandledRejection', this.#onRejection);
  }

  /** Lets pending microtasks and a macrotask turn run, so late rejections are seen. */
  async settle(): Promise<void> {
    await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setImmediate(r));
  }

  dispose(): void {
    process.off('unhandledRejection', this.#onRejection);
  }
}

/** Counts of `process.getActiveResourcesInfo()` by type (what keeps the event loop alive). */
export function activeResources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) out[type] = (out[type] ?? 0) + 1;
  return out;
}

/** Resource types whose count grew between two snapshots, with the growth. */
export function resourceGrowth(
  before: Record<string, number>,
  after: Record<string, number>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [type, n] of Object.entries(after)) {
    const d = n - (before[type] ?? 0);
    if (d > 0) out[type] = d;
  }
  return out;
}

/**
 * Waits until no resource type has grown past `before` (sockets close asynchronously after a
 * server or client hangs up), or `timeoutMs` passed. Returns the growth left (empty: clean).
 */
export async function settleResources(
  before: Record<string, number>,
  timeoutMs: number,
): Promise<Record<string, number>> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const growth = resourceGrowth(before, activeResources());
    if (Object.keys(growth).length === 0 || performance.now() >= until) return growth;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Abort listeners still attached to `signal` (a turn or an adapter that forgot to remove its own). */
export function abortListeners(signal: AbortSignal): number {
  return getEventListeners(signal, 'abort').length;
}

/**
 * Event-loop lag, sampled every 10 ms: how late a timer can fire right now. A deadline is a
 * timer, so a call can overrun its deadline by the lag at that moment, whatever the code does.
 */
export class LoopLag {
  readonly #h = monitorEventLoopDelay({ resolution: 10 });

  constructor() {
    this.#h.enable();
  }

  reset(): void {
    this.#h.reset();
  }

  /** Worst lag since the last reset, ms. */
  get maxMs(): number {
    return this.#h.max / 1e6;
  }

  get p99Ms(): number {
    return this.#h.percentile(99) / 1e6;
  }

  dispose(): void {
    this.#h.disable();
  }
}

/** Milliseconds rounded to 0.1 for figures. */
export const ms1 = (v: number | undefined): number | undefined =>
  v === undefined || !Number.isFinite(v) ? undefined : Math.round(v * 10) / 10;

/** Seconds rounded to 0.01 for figures. */
export const s2 = (msValue: number): number => Math.round(msValue / 10) / 100;

/** Percentile of an unsorted list of numbers (nearest rank). */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** A sleep that does not keep the process alive past an abort. */
export function sleep(msValue: number): Promise<void> {
  return new Promise((r) => setTimeout(r, msValue));
}
