/**
 * Options of the fleet publisher and reader (zod schemas with documented defaults) and the
 * keyspace rule they share: the fleet prefix must never overlap the cache's key prefix.
 * @module
 */
import { z } from 'zod';
import { toConfigIssues } from '../config/define.js';
import { ConfigError, InvalidArgumentError } from '../errors.js';

// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const INSTANCE_ID = /^[^\s\u0000-\u001f\u007f]{1,200}$/;
/**
 * Default key prefix of the fleet: `earshot-fleet`, so fleet keys (`earshot-fleet:w:…`) lie
 * outside the cache's default keyspace (`earshot:`), and neither `invalidateNamespace('fleet')`
 * nor a cache write in namespace `fleet` can touch a window.
 */
export const DEFAULT_FLEET_PREFIX = 'earshot-fleet';
const DEFAULT_PREFIX = DEFAULT_FLEET_PREFIX;
/** The cache tier's default key prefix (see `RedisTierOptions.keyPrefix`). */
const DEFAULT_CACHE_PREFIX = 'earshot:';

/**
 * Throws `InvalidArgumentError` when the fleet's keys (`<fleetPrefix>:…`) and the cache's keys
 * (`<cacheKeyPrefix>…`) can overlap, i.e. one keyspace is a prefix of the other: the cache's
 * `invalidateNamespace` would then delete fleet windows and a cache write could overwrite one.
 *
 * @example
 * ```ts
 * assertFleetPrefixDisjoint('earshot-fleet', 'earshot:'); // fine
 * assertFleetPrefixDisjoint('earshot:fleet', 'earshot:'); // throws
 * ```
 */
export function assertFleetPrefixDisjoint(
  fleetPrefix: string,
  cacheKeyPrefix: string = DEFAULT_CACHE_PREFIX,
): void {
  const fleet = `${fleetPrefix}:`;
  if (cacheKeyPrefix === '' || fleet.startsWith(cacheKeyPrefix) || cacheKeyPrefix.startsWith(fleet)) {
    throw new InvalidArgumentError(
      `The fleet prefix "${fleetPrefix}" overlaps the cache key prefix "${cacheKeyPrefix}": cache invalidation would delete fleet windows. Use disjoint prefixes (the fleet default is "${DEFAULT_FLEET_PREFIX}").`,
    );
  }
}

const commonShape = {
  /** Key prefix shared by every instance of the fleet. Default `earshot-fleet`. */
  prefix: z.string().min(1).max(200).default(DEFAULT_PREFIX),
  /**
   * The cache tier's `keyPrefix` on the same Redis, when there is one: the fleet prefix is then
   * checked to be disjoint from it (see {@link assertFleetPrefixDisjoint}). Default: the
   * cache's default `earshot:`.
   */
  cacheKeyPrefix: z.string().max(200).default(DEFAULT_CACHE_PREFIX),
  /** Deadline of every Redis command the fleet sends, in ms (`TimeoutError` past it). Default 5000. */
  commandTimeoutMs: z.number().int().min(1).max(600_000).default(5000),
  /** Window length in ms; every instance and reader must use the same. Default 60 000. */
  windowMs: z.number().int().min(1000, 'windowMs must be at least 1000 ms').max(86_400_000).default(60_000),
  /** Wall clock in ms. Default `Date.now`. Tests inject a fake one. */
  now: z.custom<() => number>((v) => typeof v === 'function', 'must be a function returning ms').optional(),
};

/** Options of {@link FleetPublisher}. */
export const fleetPublisherOptionsSchema = z
  .object({
    ...commonShape,
    /** This instance's id (host:pid:random by default). Unique per process. */
    instanceId: z
      .string()
      .regex(INSTANCE_ID, 'must be 1–200 characters without spaces or control characters')
      .optional(),
    /**
     * How often the current window is re-published, in ms; must divide `windowMs`. Shorter
     * means fresher fleet numbers and more Redis writes. Default `min(10 000, windowMs)`.
     */
    publishIntervalMs: z.number().int().min(100).optional(),
    /** Windows kept in Redis (the expiry of each window key). Default 60. */
    retainWindows: z.number().int().min(1).max(10_000).default(60),
    /**
     * Label keys kept in the published series (e.g. `['outcome']` so readers can ask for
     * successes only). Every other label is merged away. Default none: one series per operation.
     */
    keepLabels: z.array(z.string().min(1)).default([]),
    /** Called when a background publish fails (Redis down). Default: a process warning. */
    onError: z.custom<(err: unknown) => void>((v) => typeof v === 'function').optional(),
  })
  .refine((o) => o.publishIntervalMs === undefined || o.windowMs % o.publishIntervalMs === 0, {
    message: 'publishIntervalMs must divide windowMs',
    path: ['publishIntervalMs'],
  });

/** Options of {@link FleetPublisher}, as you pass them. */
export type FleetPublisherOptions = z.input<typeof fleetPublisherOptionsSchema>;

/** Options of {@link FleetReader}. */
export const fleetReaderOptionsSchema = z.object(commonShape);
/** Options of {@link FleetReader}, as you pass them. */
export type FleetReaderOptions = z.input<typeof fleetReaderOptionsSchema>;

/** @internal `input` validated by `schema`; ConfigError naming every bad field. */
export function parseFleetOptions<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  throw new ConfigError(toConfigIssues(r.error), { source: what });
}
