import type { NamespaceConfig } from '../config/schema.js';
import type { Labels, PerformanceMonitor } from '../perf/index.js';
import { escapeNamespace } from './keys.js';

/** Counters of one namespace, as returned by `cache.stats()`. */
export interface CacheNamespaceStats {
  /** Reads answered with a fresh value (`get`, `getMany`, `getOrSet`). */
  hits: number;
  /**
   * Reads that found nothing usable. For `getOrSet`: the callers that started a load (or
   * waited for another process's load behind the distributed lock).
   */
  misses: number;
  /**
   * `getOrSet` callers that found nothing cached but joined a load another caller of this
   * process had already started (single-flight): they ran no loader, yet waited for one.
   */
  joined: number;
  /** Reads answered with a stale value inside its grace period. */
  stale: number;
  /** Errors absorbed or thrown: tier failures, malformed entries, loader failures. */
  errors: number;
  /** Entries written. */
  sets: number;
  /** `delete` calls. */
  deletes: number;
  /** Loader runs (`getOrSet`, `wrap`, `@cached`), foreground and background. */
  loads: number;
  /**
   * Share of reads answered from the cache without waiting for a loader:
   * `(hits + stale) / (hits + stale + misses + joined)`; 0 before the first read. Joined
   * callers count as reads that were not hits (they waited for the origin), but only
   * `misses` started a load: `loads` ≤ `misses` (plus background refreshes).
   */
  hitRate: number;
}

/** What `cache.stats()` returns. */
export interface CacheStats {
  /** Per namespace that saw traffic. */
  namespaces: Record<string, CacheNamespaceStats>;
  /** Sum over namespaces. */
  total: CacheNamespaceStats;
  /** Health of each configured tier. */
  tiers: {
    l1?: { name: string; [detail: string]: unknown };
    l2?: { name: string; [detail: string]: unknown };
  };
  /** Loaders running now (single-flight keys in flight). */
  inflight: number;
}

/** A monitor that can hand out a pre-resolved recording function (optional fast path). */
type MonitorWithRecorder = PerformanceMonitor & {
  recorder?: (name: string, labels?: Labels) => (durationMs: number) => void;
};

/** @internal per-namespace state kept by the manager: escaped id prefix, policy, counters, metric recorders. */
export class NamespaceState {
  readonly prefix: string;
  hits = 0;
  misses = 0;
  joined = 0;
  stale = 0;
  errors = 0;
  sets = 0;
  deletes = 0;
  loads = 0;
  private readonly recorders = new Map<string, (ms: number) => void>();

  constructor(
    readonly name: string,
    public policy: NamespaceConfig | undefined,
  ) {
    this.prefix = `${escapeNamespace(name)}:`;
  }

  /**
   * A function recording one sample of `operation` with this namespace's labels, made once per
   * (operation, tier, outcome). Uses the monitor's pre-resolved `recorder` when it has one
   * (then a sample skips label normalization), else `monitor.record` with a reused label object.
   */
  recorder(
    monitor: PerformanceMonitor,
    operation: string,
    tier: string,
    outcome: string,
  ): (ms: number) => void {
    const k = `${operation}\u0000${tier}\u0000${outcome}`;
    let r = this.recorders.get(k);
    if (r === undefined) {
      const labels: Labels = Object.freeze({ namespace: this.name, tier, outcome });
      const fast = (monitor as MonitorWithRecorder).recorder;
      r =
        typeof fast === 'function'
          ? fast.call(monitor, operation, labels)
          : (ms) => monitor.record(operation, ms, labels);
      this.recorders.set(k, r);
    }
    return r;
  }

  snapshot(): CacheNamespaceStats {
    return toStats(this);
  }

  /** True once any counter moved (namespaces without traffic are left out of `stats()`). */
  active(): boolean {
    return (
      this.hits +
        this.misses +
        this.joined +
        this.stale +
        this.errors +
        this.sets +
        this.deletes +
        this.loads >
      0
    );
  }

  /** Adds this namespace's counters to `total`. */
  addTo(total: Counters): void {
    total.hits += this.hits;
    total.misses += this.misses;
    total.joined += this.joined;
    total.stale += this.stale;
    total.errors += this.errors;
    total.sets += this.sets;
    total.deletes += this.deletes;
    total.loads += this.loads;
  }

  reset(): void {
    this.hits =
      this.misses =
      this.joined =
      this.stale =
      this.errors =
      this.sets =
      this.deletes =
      this.loads =
        0;
  }
}

/** @internal The counters of {@link CacheNamespaceStats} without the derived rate. */
type Counters = Omit<CacheNamespaceStats, 'hitRate'>;

export function toStats(c: Counters): CacheNamespaceStats {
  const reads = c.hits + c.stale + c.misses + c.joined;
  return {
    hits: c.hits,
    misses: c.misses,
    joined: c.joined,
    stale: c.stale,
    errors: c.errors,
    sets: c.sets,
    deletes: c.deletes,
    loads: c.loads,
    hitRate: reads === 0 ? 0 : (c.hits + c.stale) / reads,
  };
}

export function emptyCounters(): Counters {
  return { hits: 0, misses: 0, joined: 0, stale: 0, errors: 0, sets: 0, deletes: 0, loads: 0 };
}
