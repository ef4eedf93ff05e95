/**
 * Turns a finished load run (and the monitor it recorded into) into a {@link SavedRun}: the
 * per-stage percentile table with target verdicts, distributions for the plots, the
 * representative waterfalls, cache hit rates and errors by kind.
 * @module
 */
import type { LatencyHistogram, PerformanceMonitor, TargetsInput } from '../perf/index.js';
import { OP } from '../perf/operations.js';
import type { LoadRunResult } from './run-control.js';
import { RUN_FILE_VERSION, type SavedRun, type StageStats, savedRunSchema } from './run-file.js';

/** Cache counters as `CacheManager.stats()` reports them (only these fields are read). */
export interface CacheCountersInput {
  namespaces: Readonly<Record<string, { hits: number; misses: number; stale?: number }>>;
}

/** Options of {@link summarizeRun}. */
export interface SummarizeRunOptions {
  kind: SavedRun['kind'];
  title: string;
  result: LoadRunResult;
  config: SavedRun['config'];
  /** Targets judged (operation → ms, or `{ operations, percentile, stretch }`). Default none. */
  targets?: TargetsInput;
  /** Percentile judged when `targets` does not say. Default 90. */
  percentile?: number;
  /** Highest error rate that still passes. Default 0.01 (1 %). */
  maxErrorRate?: number;
  /** Cache counters at the end of the run. */
  cache?: CacheCountersInput;
  /** Version of earshot that ran the test. */
  earshotVersion: string;
  /** Overrides the status (e.g. `failed` when the run stopped on an error). */
  status?: SavedRun['status'];
  stopReason?: string;
}

/** Where known operations appear in tables and charts: the order of a turn. */
const STAGE_ORDER: readonly string[] = [
  OP.stt,
  OP.search,
  OP.embed,
  OP.companyApi,
  'tool:*',
  OP.prefetch,
  OP.llmTtft,
  OP.llm,
  OP.ttsTtfb,
  OP.tts,
  OP.endOfTurn,
  OP.timeToFirstAudio,
  OP.timeToAnswerAudio,
  OP.e2e,
  OP.turn,
  'scenario',
  'scenario_from_intended',
  'http_ttfb',
  'http',
  OP.cacheRead,
  OP.cacheWrite,
  OP.cacheLoad,
];

/** Sort key of an operation name in reports. */
function stageRank(name: string): number {
  const i = STAGE_ORDER.indexOf(name.startsWith('tool:') ? 'tool:*' : name);
  return i === -1 ? STAGE_ORDER.length : i;
}

/** Sorts operation names in turn order, unknown names last and alphabetically. */
export function sortStages(names: readonly string[]): string[] {
  return [...names].sort((a, b) => stageRank(a) - stageRank(b) || a.localeCompare(b));
}

const DISTRIBUTION_PERCENTILES = [
  0, 10, 25, 50, 75, 80, 85, 90, 92.5, 95, 96, 97, 97.5, 98, 98.5, 99, 99.25, 99.5, 99.75, 99.9, 99.925,
  99.95, 99.975, 99.99, 99.999,
];

/**
 * The percentile curve of a histogram: points up to the resolution its sample count supports
 * (P99.9 needs at least 1 000 samples), then the maximum as P100.
 */
export function distribution(hist: LatencyHistogram): { percentile: number; ms: number }[] {
  const n = hist.count;
  if (n === 0) return [];
  const out: { percentile: number; ms: number }[] = [];
  for (const p of DISTRIBUTION_PERCENTILES) {
    if (p > 0 && 1 - p / 100 < 1 / n) break;
    out.push({ percentile: p, ms: hist.percentileMs(p) });
  }
  out.push({ percentile: 100, ms: hist.maxMs });
  return out;
}

function mergedHistograms(monitor: PerformanceMonitor): Map<string, LatencyHistogram> {
  const out = new Map<string, LatencyHistogram>();
  for (const s of monitor.collect()) {
    const h = out.get(s.name);
    if (h) h.add(s.histogram);
    else out.set(s.name, s.histogram);
  }
  return out;
}

/** Splits `targets` into operations/percentile/stretch. */
function targetParts(t: TargetsInput | undefined): {
  operations: Record<string, number>;
  percentile?: number;
  stretch?: Record<string, number>;
} {
  if (!t) return { operations: {} };
  if ('operations' in t && typeof t.operations === 'object') {
    const out: { operations: Record<string, number>; percentile?: number; stretch?: Record<string, number> } =
      {
        operations: { ...(t.operations as Record<string, number>) },
      };
    if (typeof t.percentile === 'number') out.percentile = t.percentile;
    if (t.stretch) out.stretch = { ...(t.stretch as Record<string, number>) };
    return out;
  }
  return { operations: { ...(t as Record<string, number>) } };
}

/**
 * Builds the saved run from a finished load run. Only operations with samples get a row;
 * a target without samples is ignored (no data is not a failure of the run: the HTTP target
 * has no `stt`), but a measured operation over its target fails the verdict, and so does an
 * error rate above `maxErrorRate`.
 */
export function summarizeRun(o: SummarizeRunOptions): SavedRun {
  const { result } = o;
  const monitor = result.monitor;
  const parts = targetParts(o.targets);
  const percentile = o.percentile ?? parts.percentile ?? 90;
  const maxErrorRate = o.maxErrorRate ?? 0.01;
  const checks = new Map(
    monitor
      .checkTargets(
        parts.stretch
          ? { operations: parts.operations, stretch: parts.stretch }
          : { operations: parts.operations },
        { percentile, maxErrorRate },
      )
      .map((c) => [c.operation, c]),
  );
  const hists = mergedHistograms(monitor);
  const stages: StageStats[] = [];
  for (const name of sortStages(monitor.operations())) {
    const s = monitor.stats(name);
    const h = hists.get(name);
    if (!s || !h) continue;
    const stage: StageStats = {
      name,
      count: s.count,
      errors: s.errors,
      minMs: s.minMs,
      maxMs: s.maxMs,
      meanMs: Math.round(s.meanMs * 1000) / 1000,
      p50: s.p50,
      p90: s.p90,
      p95: s.p95,
      p99: s.p99,
      p999: s.p999,
      distribution: distribution(h),
      histogram: h.encode(),
    };
    const c = checks.get(name);
    if (c) {
      stage.target = {
        percentile: c.percentile,
        targetMs: c.targetMs,
        actualMs: c.actualMs,
        status: c.status,
        okCount: c.okCount,
        errors: c.errors,
        errorRate: c.errorRate,
        maxErrorRate: c.maxErrorRate,
      };
      if (c.failedOn !== undefined) stage.target.failedOn = c.failedOn;
      if (c.stretchMs !== undefined) stage.target.stretchMs = c.stretchMs;
      if (c.stretchPass !== undefined) stage.target.stretchPass = c.stretchPass;
    }
    stages.push(stage);
  }
  const failures: string[] = [];
  for (const st of stages) {
    const t = st.target;
    if (t?.status !== 'fail') continue;
    const on = t.failedOn ?? 'latency';
    if (on !== 'errors') {
      failures.push(
        t.actualMs === null
          ? `${st.name}: no successful call to measure P${percentile} on (target ${t.targetMs} ms)`
          : `${st.name}: P${percentile} ${t.actualMs.toFixed(1)} ms (successful calls) > target ${t.targetMs} ms`,
      );
    }
    if (on !== 'latency' && t.errorRate !== undefined && t.maxErrorRate !== undefined) {
      failures.push(
        `${st.name}: error rate ${(t.errorRate * 100).toFixed(1)} % (${t.errors} of ${st.count}) > ${(t.maxErrorRate * 100).toFixed(1)} %`,
      );
    }
  }
  const finished = result.completed;
  const errorRate = finished === 0 ? 0 : result.errors / finished;
  if (errorRate > maxErrorRate) {
    failures.push(`error rate ${(errorRate * 100).toFixed(1)} % > ${(maxErrorRate * 100).toFixed(1)} %`);
  }
  if (finished === 0) failures.push('no turn completed');

  let cache: SavedRun['cache'];
  if (o.cache) {
    const namespaces: NonNullable<SavedRun['cache']>['namespaces'] = {};
    let hits = 0;
    let misses = 0;
    let stale = 0;
    for (const [ns, c] of Object.entries(o.cache.namespaces)) {
      const st = c.stale ?? 0;
      const reads = c.hits + c.misses + st;
      if (reads === 0) continue;
      namespaces[ns] = { hits: c.hits, misses: c.misses, stale: st, hitRate: (c.hits + st) / reads };
      hits += c.hits;
      misses += c.misses;
      stale += st;
    }
    const reads = hits + misses + stale;
    cache = { namespaces, total: { hits, misses, stale, hitRate: reads === 0 ? 0 : (hits + stale) / reads } };
  }

  const turns: SavedRun['turns'] = {};
  if (result.turns.typical) turns.typical = result.turns.typical as SavedRun['turns']['typical'];
  if (result.turns.p90) turns.p90 = result.turns.p90 as SavedRun['turns']['p90'];

  const run = {
    version: RUN_FILE_VERSION,
    tool: 'earshot',
    earshotVersion: o.earshotVersion,
    kind: o.kind,
    title: o.title,
    startedAt: result.startedAt.toISOString(),
    durationMs: Math.round(result.durationMs),
    status: o.status ?? result.status,
    stopReason: o.stopReason ?? result.stopReason,
    config: o.config,
    summary: {
      turns: result.completed,
      errors: result.errors,
      interrupted: result.interrupted,
      errorRate,
      throughputPerSec:
        result.durationMs > 0 ? Math.round((result.completed / result.durationMs) * 10_000) / 10 : 0,
    },
    verdict: { pass: failures.length === 0, percentile, maxErrorRate, failures },
    stages,
    timeseries: result.timeseries,
    arrivals: result.arrivals,
    cache,
    errors: result.errorKinds,
    turns,
  };
  // Strips undefined optionals and normalises waterfalls to the saved shape.
  return savedRunSchema.parse(JSON.parse(JSON.stringify(run)));
}
