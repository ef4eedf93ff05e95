import type { SeriesSnapshot } from '../perf/index.js';

/**
 * What the exporters read: anything with the monitor's `collect()` (a `PerformanceMonitor`, or
 * your own object in tests). Each snapshot is cumulative since the monitor started.
 */
export interface MetricsSource {
  collect(): readonly SeriesSnapshot[];
}

/**
 * Counters of one cache namespace. Only `hits` and `misses` are required. Other finite numeric
 * fields are exported too: the monotonic ones earshot's cache reports (`stale`, `errors`,
 * `sets`, `deletes`, `loads`, `evictions`) as counters, anything else (`hitRate`, `size`) as a
 * gauge.
 */
export interface CacheNamespaceStats {
  readonly hits: number;
  readonly misses: number;
}

/** Either namespace → counters, or an object with such a `namespaces` map (earshot's `CacheManager`). */
export type CacheStatsSnapshot =
  | Readonly<Record<string, CacheNamespaceStats>>
  | { readonly namespaces: Readonly<Record<string, CacheNamespaceStats>> };

/**
 * Anything that reports cache counters per namespace, such as earshot's `CacheManager`.
 * Kept structural so the exporters do not depend on the cache module.
 *
 * @example
 * ```ts
 * const provider: CacheStatsProvider = { stats: () => ({ llm: { hits: 10, misses: 2 } }) };
 * new PrometheusExporter(monitor, { cache: cacheManager }); // or { cache: provider }
 * ```
 */
export interface CacheStatsProvider {
  stats(): CacheStatsSnapshot;
}

/** Cache stats fields that only grow, exported as counters. @internal */
export const CACHE_COUNTER_FIELDS: ReadonlySet<string> = new Set([
  'stale',
  'errors',
  'sets',
  'deletes',
  'loads',
  'evictions',
]);

function isNamespaceStats(v: unknown): v is CacheNamespaceStats {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as CacheNamespaceStats).hits === 'number' &&
    typeof (v as CacheNamespaceStats).misses === 'number'
  );
}

/** The per-namespace stats of a provider, sorted by namespace, whichever shape it returns. @internal */
export function namespaceStats(provider: CacheStatsProvider): [string, CacheNamespaceStats][] {
  const raw = provider.stats() as Record<string, unknown>;
  const map =
    typeof raw.namespaces === 'object' && raw.namespaces !== null && !isNamespaceStats(raw.namespaces)
      ? (raw.namespaces as Record<string, unknown>)
      : raw;
  const out: [string, CacheNamespaceStats][] = [];
  for (const ns of Object.keys(map).sort()) {
    const s = map[ns];
    if (isNamespaceStats(s)) out.push([ns, s]);
  }
  return out;
}

/** Finite numeric fields of a stats object other than hits/misses, sorted by name. @internal */
export function extraNumericFields(stats: CacheNamespaceStats): [string, number][] {
  const out: [string, number][] = [];
  for (const [k, v] of Object.entries(stats)) {
    if (k !== 'hits' && k !== 'misses' && typeof v === 'number' && Number.isFinite(v)) out.push([k, v]);
  }
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** `staleHits` → `stale_hits`, anything outside [a-zA-Z0-9_] → `_`. @internal */
export function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^a-zA-Z0-9_]/g, '_')
    .toLowerCase();
}
