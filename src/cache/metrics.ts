import type { PerformanceMonitor } from '../perf/index.js';
import { OP } from '../perf/operations.js';
import type { CacheErrorInfo } from './options.js';
import type { NamespaceState } from './stats.js';

/** Outcome label of a `cache_read` sample. */
export type ReadOutcome = 'hit' | 'miss' | 'stale' | 'error';

/**
 * @internal The cache's metrics in one place: `cache_read`, `cache_write` and `cache_load`
 * samples with `namespace`, `tier` and `outcome` labels. Without a monitor every call is a
 * no-op and {@link start} returns 0 without reading the clock.
 */
export class CacheMetrics {
  constructor(
    private readonly monitor: PerformanceMonitor | undefined,
    private readonly report: (error: unknown, info: CacheErrorInfo) => void,
  ) {}

  /** A start time for a later sample (0 when nothing is recorded). */
  start(): number {
    return this.monitor === undefined ? 0 : performance.now();
  }

  read(ns: NamespaceState, tier: string, outcome: ReadOutcome, t0: number): void {
    this.sample(ns, OP.cacheRead, tier, outcome, t0);
  }

  write(ns: NamespaceState, tier: string, outcome: 'ok' | 'error', t0: number): void {
    this.sample(ns, OP.cacheWrite, tier, outcome, t0);
  }

  load(ns: NamespaceState, outcome: 'ok' | 'error', t0: number): void {
    this.sample(ns, OP.cacheLoad, 'loader', outcome, t0);
  }

  private sample(ns: NamespaceState, operation: string, tier: string, outcome: string, t0: number): void {
    const m = this.monitor;
    if (m === undefined) return;
    try {
      ns.recorder(m, operation, tier, outcome)(performance.now() - t0);
    } catch (err) {
      this.report(err, { operation: 'metrics' });
    }
  }
}
