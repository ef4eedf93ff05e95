/**
 * Where the monitor's series live: one map keyed by (operation, labels), the `maxSeries`
 * bound with its overflow series, and the caches that keep the recording hot paths free of
 * key building (ok/error pairs, label-free series, the labelled fast-key cache).
 * @module
 */
import { CardinalityError } from '../errors.js';
import {
  fastLabelKey,
  type Labels,
  type NormalizedLabels,
  normalizeLabels,
  seriesKey,
  validateOperationName,
} from './labels.js';
import { Series } from './series.js';
import type { SeriesPair } from './tracked-decorator.js';

/** @internal what the registry needs to create series, validated by the monitor. */
interface SeriesRegistryOptions {
  maxSeries: number;
  overflowMode: 'overflow' | 'throw';
  sliceMs: number;
  slices: number;
  digits: number;
  now: () => number;
}

/** @internal the series of one `PerformanceMonitor`, bounded by `maxSeries`. */
export class SeriesRegistry {
  private readonly series = new Map<string, Series>();
  private readonly pairs = new Map<string, SeriesPair>();
  /** name → its label-free series (admitted ones only): `record(name, ms)` without a key build. */
  private readonly plain = new Map<string, Series>();
  private readonly byName = new Map<string, Series[]>();
  /** name → fast label key → series: the labelled hot path's cache (see `lookup`). */
  private readonly labelled = new Map<string, Map<string, Series>>();
  private labelledEntries = 0;
  private readonly maxLabelledEntries: number;
  /** Samples sent into overflow series because `maxSeries` was reached. */
  droppedSeries = 0;

  constructor(private readonly options: SeriesRegistryOptions) {
    this.maxLabelledEntries = Math.min(4 * options.maxSeries + 64, 100_000);
  }

  /** Every series, in creation order. */
  all(): IterableIterator<Series> {
    return this.series.values();
  }

  /** The series of one operation, or `undefined` when it has none. */
  named(name: string): readonly Series[] | undefined {
    return this.byName.get(name);
  }

  /** Operation names that have at least one series, sorted. */
  names(): string[] {
    return [...this.byName.keys()].sort();
  }

  /** The ok/error series of `name` with static `labels`. */
  pairFor(name: string, labels?: Labels): SeriesPair {
    if (labels === undefined) {
      const cached = this.pairs.get(name);
      if (cached) return cached;
    }
    const pair = { ok: this.resolve(name, labels, 'ok'), error: this.resolve(name, labels, 'error') };
    // Only a pair of the operation's own series is kept: names refused by maxSeries (recorded
    // into the overflow series) must not grow this map either.
    if (labels === undefined && pair.ok.name === name && pair.error.name === name) {
      this.pairs.set(name, pair);
    }
    return pair;
  }

  /**
   * The labelled hot path: the series of (`name`, `labels`, `outcome`) found by a cheap key in
   * the labels' own order (no sort, no escaping, no validation on a hit), falling back to
   * {@link resolve} the first time. Only admitted series are cached (never overflow ones), and
   * the cache is bounded (cleared when it outgrows 4 × maxSeries entries).
   */
  lookup(name: string, labels: Labels, outcome: string | undefined): Series {
    const fast = fastLabelKey(labels, outcome);
    if (fast === undefined) return this.resolve(name, labels, outcome);
    let byKey = this.labelled.get(name);
    const hit = byKey?.get(fast);
    if (hit !== undefined) return hit;
    const series = this.resolve(name, labels, outcome);
    if (series.name === name && !series.overflowed) {
      if (this.labelledEntries >= this.maxLabelledEntries) {
        this.labelled.clear();
        this.labelledEntries = 0;
        byKey = undefined;
      }
      if (byKey === undefined) {
        byKey = new Map();
        this.labelled.set(name, byKey);
      }
      byKey.set(fast, series);
      this.labelledEntries++;
    }
    return series;
  }

  /** The label-free series of `name`, cached once admitted. */
  plainSeries(name: string): Series {
    const cached = this.plain.get(name);
    if (cached !== undefined) return cached;
    const series = this.resolve(name, undefined);
    if (series.name === name && !series.overflowed) this.plain.set(name, series);
    return series;
  }

  /** The series of (`name`, `labels`, `outcome`), created (or refused into overflow) on first use. */
  resolve(name: string, labels: Labels | undefined, outcome?: string): Series {
    const extraKey = outcome === undefined ? undefined : 'outcome';
    const key = seriesKey(name, labels, extraKey, outcome);
    const existing = this.series.get(key);
    if (existing) return existing;
    validateOperationName(name);
    if (this.series.size >= this.options.maxSeries) return this.overflow(name, key);
    return this.create(name, normalizeLabels(labels, extraKey, outcome), key);
  }

  /** Forgets every series and cache, and the overflow count. */
  clear(): void {
    this.series.clear();
    this.pairs.clear();
    this.plain.clear();
    this.byName.clear();
    this.labelled.clear();
    this.labelledEntries = 0;
    this.droppedSeries = 0;
  }

  /** Entry counts of every map, for memory-bound tests. */
  footprint(): { series: number; pairs: number; plain: number; names: number; labelledCache: number } {
    return {
      series: this.series.size,
      pairs: this.pairs.size,
      plain: this.plain.size,
      names: this.byName.size,
      labelledCache: this.labelledEntries,
    };
  }

  private overflow(name: string, refusedKey: string): Series {
    const { maxSeries } = this.options;
    if (this.options.overflowMode === 'throw') {
      throw new CardinalityError(
        `The monitor already holds ${maxSeries} series; refusing to add ${refusedKey}. Use fewer distinct label values (ids do not belong in labels) or raise maxSeries.`,
      );
    }
    this.droppedSeries++;
    if (this.droppedSeries === 1) {
      process.emitWarning(
        `earshot: the performance monitor reached maxSeries (${maxSeries}); new label sets are recorded into overflow series.`,
        { code: 'EARSHOT_CARDINALITY' },
      );
    }
    // One overflow series per known operation; unknown operations share one, so even an
    // unbounded number of operation names cannot grow memory.
    const target = this.byName.has(name) ? name : 'earshot_overflow';
    const labels = { overflow: 'true' };
    const overflowKey = seriesKey(target, labels);
    return this.series.get(overflowKey) ?? this.create(target, normalizeLabels(labels), overflowKey, true);
  }

  private create(name: string, labels: NormalizedLabels, key: string, overflowed = false): Series {
    const { sliceMs, slices, digits, now } = this.options;
    const s = new Series(name, labels, key, sliceMs, slices, digits, now(), overflowed);
    this.series.set(key, s);
    const list = this.byName.get(name);
    if (list) list.push(s);
    else this.byName.set(name, [s]);
    return s;
  }
}
