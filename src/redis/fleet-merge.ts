/**
 * Merging fleet blobs into fleet-wide statistics per operation: every blob validated whole
 * before any of it counts, histograms added bucket by bucket (never percentiles averaged),
 * and the shapes a fleet read returns.
 * @module
 */
import { InvalidArgumentError } from '../errors.js';
import type { Labels, LatencyHistogram } from '../perf/index.js';
import {
  decodeFleetBlob,
  type FleetSeriesEntry,
  HistogramCountsAccumulator,
  type ParsedV2,
  ParseScratch,
  parseRawV2,
} from './fleet-codec.js';

/** Fleet-wide statistics of one operation over the windows read. */
export interface FleetOperationStats {
  name: string;
  count: number;
  errors: number;
  errorRate: number;
  minMs: number;
  maxMs: number;
  /** Exact mean of the recorded durations. */
  meanMs: number;
  p50: number;
  p75: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  /** Instances that contributed samples. */
  instances: number;
  /** The merged histogram (ask it for any other percentile). */
  histogram: LatencyHistogram;
}

/** What {@link FleetReader.read} returns. */
export interface FleetStats {
  /** Start of the oldest window read (ms since epoch, reader's clock). */
  fromMs: number;
  /** End (exclusive) of the newest window read. */
  toMs: number;
  windowMs: number;
  /** Window starts that held data. */
  windows: number[];
  /** Instances that published into the windows read, sorted. */
  instances: string[];
  /** One entry per operation, sorted by name. */
  operations: FleetOperationStats[];
  /**
   * Blobs (or whole window keys) that were not valid fleet data and were left out of the
   * merge, with the reason: corrupt or forged data from one instance never breaks a read.
   */
  skipped: FleetSkip[];
}

/** A blob or window key {@link FleetReader.read} skipped. */
export interface FleetSkip {
  /** The instance whose blob was skipped; absent when a whole window key was unreadable. */
  instance?: string;
  /** Why it was skipped. May quote data from Redis: strip control characters before printing. */
  reason: string;
}

/** Which windows and series {@link FleetReader.read} merges. */
export interface FleetReadOptions {
  /** Number of windows, newest first. Default 5. */
  windows?: number;
  /**
   * Whether the newest window is the current, still-filling one (default `true`). Alarms use
   * `false` to judge complete windows only.
   */
  includeCurrent?: boolean;
  /** Only these operations. */
  operations?: readonly string[];
  /** Only series whose kept labels include these (see the publisher's `keepLabels`). */
  labels?: Labels;
}

interface OperationAccumulator {
  name: string;
  count: number;
  errors: number;
  sumMs: number;
  instances: Set<string>;
  byDigits: Map<number, HistogramCountsAccumulator>;
}

/**
 * Merges fleet blobs (instance id → blob, as stored in a window hash) into statistics per
 * operation. {@link FleetReader} uses it on what it reads from Redis; it is exported for tools
 * that keep blobs elsewhere (files, another store) and for the benchmark.
 */
export function mergeFleetBlobs(
  blobs: Iterable<readonly [instanceId: string, blob: Uint8Array]>,
  options: Pick<FleetReadOptions, 'operations' | 'labels'> = {},
): { operations: FleetOperationStats[]; instances: string[]; skipped: FleetSkip[] } {
  const only = options.operations ? new Set(options.operations) : undefined;
  const filter = options.labels;
  const ops = new Map<string, OperationAccumulator>();
  const instances = new Set<string>();
  const skipped: FleetSkip[] = [];
  // The staged histograms of one blob are views into these buffers, added before the next blob.
  const scratch = new ParseScratch();
  for (const [instance, blob] of blobs) {
    scratch.reset();
    // A blob is validated whole before any of it is merged: one bad publisher (corrupt data,
    // another version, forged counts) is skipped and counted, the rest of the fleet is merged.
    const staged: { entry: FleetSeriesEntry; hist: ParsedV2 }[] = [];
    let header: ReturnType<typeof decodeFleetBlob>;
    try {
      header = decodeFleetBlob(blob, (entry, rawV2) => {
        if (only && !only.has(entry.name)) return;
        if (filter) {
          for (const k of Object.keys(filter)) {
            if (!Object.hasOwn(entry.labels, k) || entry.labels[k] !== String(filter[k])) return;
          }
        }
        const hist = parseRawV2(rawV2, entry.minMs, entry.maxMs, scratch);
        if (hist.total > entry.count) {
          throw new InvalidArgumentError(
            'Invalid fleet blob: the histogram holds more samples than its count.',
          );
        }
        staged.push({ entry, hist });
      });
    } catch (err) {
      skipped.push({ instance, reason: err instanceof Error ? err.message : String(err) });
      continue;
    }
    if (header === undefined) {
      skipped.push({
        instance,
        reason: 'Unknown fleet blob format version (published by another earshot version?).',
      });
      continue;
    }
    instances.add(instance);
    for (const { entry, hist } of staged) {
      let acc = ops.get(entry.name);
      if (!acc) {
        acc = { name: entry.name, count: 0, errors: 0, sumMs: 0, instances: new Set(), byDigits: new Map() };
        ops.set(entry.name, acc);
      }
      let counts = acc.byDigits.get(hist.significantDigits);
      if (!counts) {
        counts = new HistogramCountsAccumulator(hist.significantDigits);
        acc.byDigits.set(hist.significantDigits, counts);
      }
      counts.addParsed(hist);
      acc.count += entry.count;
      acc.errors += entry.errors;
      acc.sumMs += entry.sumMs;
      acc.instances.add(instance);
    }
  }
  const operations: FleetOperationStats[] = [];
  for (const acc of [...ops.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    let histogram: LatencyHistogram | undefined;
    for (const counts of acc.byDigits.values()) {
      if (counts.empty) continue;
      const h = counts.toHistogram();
      if (histogram) histogram.add(h);
      else histogram = h;
    }
    if (!histogram || acc.count === 0) continue;
    operations.push({
      name: acc.name,
      count: acc.count,
      errors: acc.errors,
      errorRate: acc.errors / acc.count,
      minMs: histogram.minMs,
      maxMs: histogram.maxMs,
      meanMs: acc.sumMs / acc.count,
      p50: histogram.percentileMs(50),
      p75: histogram.percentileMs(75),
      p90: histogram.percentileMs(90),
      p95: histogram.percentileMs(95),
      p99: histogram.percentileMs(99),
      p999: histogram.percentileMs(99.9),
      instances: acc.instances.size,
      histogram,
    });
  }
  return { operations, instances: [...instances].sort(), skipped };
}
