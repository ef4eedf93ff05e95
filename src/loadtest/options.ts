/**
 * Options of the two load models, their defaults, the Locust-style presets of the source
 * design, and parsers for the human forms the CLI accepts (`5m`, `20/s`).
 * @module
 */
import { z } from 'zod';
import { InvalidArgumentError } from '../errors.js';

/**
 * The source design's load levels (`--users N --spawn-rate R`): light 10/2, medium 50/5,
 * heavy 100/10, stress 200/20.
 */
export const LOAD_PRESETS = {
  light: { users: 10, spawnRate: 2 },
  medium: { users: 50, spawnRate: 5 },
  heavy: { users: 100, spawnRate: 10 },
  stress: { users: 200, spawnRate: 20 },
} as const satisfies Record<string, { users: number; spawnRate: number }>;

/** Name of a {@link LOAD_PRESETS} entry. */
export type LoadPresetName = keyof typeof LOAD_PRESETS;

/**
 * Looks up a preset by name.
 * @throws InvalidArgumentError listing the presets when the name is unknown.
 */
export function loadPreset(name: string): { users: number; spawnRate: number } {
  const p = (LOAD_PRESETS as Record<string, { users: number; spawnRate: number }>)[name];
  if (!p) {
    const list = Object.entries(LOAD_PRESETS)
      .map(([k, v]) => `${k} (${v.users} users, ${v.spawnRate}/s)`)
      .join(', ');
    throw new InvalidArgumentError(`Unknown preset "${name}". Use one of: ${list}.`);
  }
  return p;
}

const thinkTime = z.union([
  z.number().finite().min(0),
  z
    .tuple([z.number().finite().min(0), z.number().finite().min(0)])
    .refine(([a, b]) => a <= b, 'the minimum think time must not exceed the maximum'),
]);

const common = {
  /** Stop after this long (ms). */
  runTimeMs: z.number().finite().positive().optional(),
  /** Stop after this many iterations in total (closed) or arrivals (open). */
  iterations: z.number().int().positive().optional(),
  /** After the stop, how long in-flight turns may finish before they are aborted. Default 5000 ms. */
  stopTimeoutMs: z.number().finite().min(0).default(5000),
  /** Interval of progress reports and of the over-time series. Default 1000 ms. */
  sampleIntervalMs: z.number().finite().min(10).default(1000),
  /** Seed of scenario picks, think times and Poisson gaps. Default 1. */
  seed: z.number().int().default(1),
  /** Waterfalls kept (reservoir sample) to pick the typical and P90 turns from. Default 500. */
  keepWaterfalls: z.number().int().min(0).max(100_000).default(500),
};

/** Closed model: a fixed population of users, each running turns back to back. */
export const closedModelOptionsSchema = z
  .object({
    /** Users to reach. */
    users: z.number().int().min(1).max(100_000),
    /** Users started per second while ramping up. Default: all at once. */
    spawnRate: z.number().finite().positive().max(100_000).optional(),
    /** Pause between a user's turns, ms, or `[min, max]` drawn uniformly. Default 0. */
    thinkTimeMs: thinkTime.default(0),
    ...common,
  })
  .strict()
  .refine((o) => o.runTimeMs !== undefined || o.iterations !== undefined, {
    message: 'set runTimeMs or iterations, or the run never ends',
  });

/** Open model: arrivals at a fixed rate, whatever the responses do. */
export const openModelOptionsSchema = z
  .object({
    /** Arrivals per second. */
    ratePerSec: z.number().finite().positive().max(100_000),
    /** `constant` spacing (default) or `poisson` (exponential gaps, same mean). */
    arrival: z.enum(['constant', 'poisson']).default('constant'),
    /** Most turns in flight; an arrival beyond it is dropped (and counted). Default 1000. */
    maxInFlight: z.number().int().min(1).max(1_000_000).default(1000),
    /** An arrival sent more than this after its intended time counts as late. Default 10 ms. */
    lateThresholdMs: z.number().finite().min(0).default(10),
    ...common,
  })
  .strict()
  .refine((o) => o.runTimeMs !== undefined || o.iterations !== undefined, {
    message: 'set runTimeMs or iterations, or the run never ends',
  });

export type ClosedModelOptionsInput = z.input<typeof closedModelOptionsSchema>;
export type ClosedModelOptions = z.output<typeof closedModelOptionsSchema>;
export type OpenModelOptionsInput = z.input<typeof openModelOptionsSchema>;
export type OpenModelOptions = z.output<typeof openModelOptionsSchema>;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration the way Locust's `--run-time` does, in ms: `90` (seconds), `500ms`, `30s`,
 * `5m`, `1h30m`, `1m30s`.
 * @throws InvalidArgumentError on anything else.
 */
export function parseDuration(text: string, what = 'duration'): number {
  const t = text.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(t)) {
    const v = Number(t) * 1000;
    if (v > 0) return v;
  }
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    consumed = re.lastIndex;
  }
  if (consumed !== t.length || consumed === 0 || !(total > 0) || !Number.isFinite(total)) {
    throw new InvalidArgumentError(
      `Invalid ${what} "${text}": use a positive number with a unit, e.g. 500ms, 30s, 5m, 1h30m (a bare number means seconds).`,
    );
  }
  return total;
}

/**
 * Parses an arrival rate: `20`, `20/s`, `1200/m`, `0.5/s`. Returns arrivals per second.
 * @throws InvalidArgumentError on anything else.
 */
export function parseRate(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(s|sec|second|m|min|minute|h|hour))?\s*$/i.exec(text);
  const n = m ? Number(m[1]) : Number.NaN;
  if (!m || !(n > 0)) {
    throw new InvalidArgumentError(
      `Invalid rate "${text}": use arrivals per second or minute, e.g. 20/s, 1200/m (a bare number means per second).`,
    );
  }
  const unit = (m[2] ?? 's').toLowerCase();
  const perSec = unit.startsWith('m') ? n / 60 : unit.startsWith('h') ? n / 3600 : n;
  return perSec;
}

/** Formats ms as the shortest readable duration: `850ms`, `30s`, `5m`, `1m30s`. */
export function formatDuration(msValue: number): string {
  if (msValue < 1000) return `${Math.round(msValue)}ms`;
  const s = Math.round(msValue / 100) / 10;
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  const rest = Math.round(s - m * 60);
  return rest === 0 ? `${m}m` : `${m}m${rest}s`;
}

/**
 * Validates load-model options with `schema`.
 * @throws InvalidArgumentError naming every bad option.
 */
export function parseLoadOptions<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const list = r.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ');
  throw new InvalidArgumentError(`Invalid ${what} options: ${list}.`);
}
