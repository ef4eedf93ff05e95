import { z } from 'zod';
import { OP } from '../perf/operations.js';

/** Longest TTL earshot accepts: one year, in seconds. */
export const MAX_TTL_SECONDS = 365 * 24 * 60 * 60;

/**
 * Upper bounds of the numeric settings, in one place (the schema enforces them; the monitor and
 * the memory tier accept the same ranges):
 * - `maxEntries` 1 000 000: lru-cache preallocates its index arrays (~27 bytes per entry), so
 *   20 000 000 would reserve ~530 MB before the first write;
 * - `maxBytes` 1 TiB and `maxValueBytes` 512 MiB (Redis' largest string);
 * - `maxSeries` 1 000 000, as the performance monitor;
 * - `windowMs` one day.
 */
export const CONFIG_LIMITS = {
  maxEntries: 1_000_000,
  maxBytes: 2 ** 40,
  maxValueBytes: 512 * 1024 * 1024,
  maxSeries: 1_000_000,
  windowMs: 86_400_000,
} as const;

/** A latency in milliseconds: finite, positive. */
const latencyMs = z.number().finite().positive();

/** TTL in seconds: positive, finite, at most a year. */
export const ttlSecondsSchema = z
  .number({ error: 'must be a number of seconds' })
  .finite('must be a finite number of seconds')
  .positive('must be greater than 0 seconds')
  .max(MAX_TTL_SECONDS, `must be at most one year (${MAX_TTL_SECONDS} s)`);

/**
 * Latency targets in milliseconds at the target percentile (P90 by default). The defaults are
 * the source design's: STT 100, LLM 300, TTS 100, company API 50, search 100, end-to-end 500
 * (stretch 335), cache read 5, cache write 10. Any other operation name may be added.
 */
export const latencyTargetsSchema = z
  .object({
    [OP.stt]: latencyMs.default(100),
    [OP.llm]: latencyMs.default(300),
    [OP.tts]: latencyMs.default(100),
    [OP.companyApi]: latencyMs.default(50),
    [OP.search]: latencyMs.default(100),
    [OP.e2e]: latencyMs.default(500),
    [OP.cacheRead]: latencyMs.default(5),
    [OP.cacheWrite]: latencyMs.default(10),
  })
  .catchall(latencyMs);

/** Targets block: which percentile to judge at, the targets, and stretch goals. */
export const targetsConfigSchema = z.object({
  /** Percentile the targets apply to (0 < p < 100). Default 90. */
  percentile: z.number().gt(0).lt(100).default(90),
  /** Operation name → target in ms. */
  operations: latencyTargetsSchema.prefault({}),
  /** Stretch goals, reported beside the targets but never failing a check. Default `{ e2e: 335 }`. */
  stretch: z.record(z.string(), latencyMs).default({ [OP.e2e]: 335 }),
});

/** Per-namespace cache policy. */
export const namespaceConfigSchema = z.object({
  /** Time to live in seconds. */
  ttlSeconds: ttlSecondsSchema,
  /**
   * Grace period after the TTL during which a stale value may still be served while one
   * background refresh runs (stale-while-revalidate / fail-safe). 0 disables it. Default 0.
   */
  graceSeconds: z.number().finite().min(0).max(MAX_TTL_SECONDS).default(0),
});

/**
 * Default namespaces of the source design, plus `tts` (audio of repeated phrases) which
 * earshot adds: company_api:load 300 s, company_api:inventory 600 s, company_api:equipment 300 s,
 * pinecone 3600 s, llm 1800 s, tts 86400 s.
 */
export const DEFAULT_NAMESPACES = {
  'company_api:load': { ttlSeconds: 300, graceSeconds: 0 },
  'company_api:inventory': { ttlSeconds: 600, graceSeconds: 0 },
  'company_api:equipment': { ttlSeconds: 300, graceSeconds: 0 },
  pinecone: { ttlSeconds: 3600, graceSeconds: 0 },
  llm: { ttlSeconds: 1800, graceSeconds: 0 },
  tts: { ttlSeconds: 86_400, graceSeconds: 0 },
} as const satisfies Record<string, z.input<typeof namespaceConfigSchema>>;

const namespaceName = z
  .string()
  .min(1, 'namespace must not be empty')
  .max(128, 'namespace must be at most 128 characters')
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  .regex(/^[^\u0000-\u001f\u007f]*$/, 'namespace must not contain control characters')
  // Lone surrogates become U+FFFD in Redis, so two such names would share keys there.
  .regex(/^[^\uD800-\uDFFF]*$/u, 'namespace must not contain lone surrogates (ill-formed Unicode)');

/** True when `url` parses and its user and password decode (no bad `%`-escape). */
function isWellFormedRedisUrl(url: string): boolean {
  try {
    const u = new URL(url);
    decodeURIComponent(u.username);
    decodeURIComponent(u.password);
    return true;
  } catch {
    return false;
  }
}

/** Redis connection settings (used by `earshot/redis`). */
export const redisConfigSchema = z.object({
  /** `redis://` or `rediss://` URL; may carry user and password (redacted everywhere). */
  url: z
    .string()
    .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
    .refine(isWellFormedRedisUrl, {
      // Never the URL itself: it may carry a password.
      message:
        'is not a well-formed URL (check the host, and percent-encode "%" and other reserved characters of the user and password, e.g. "%" as %25)',
      abort: true,
    })
    .optional(),
  /** Prefix of every key earshot writes. Default `earshot:`. */
  keyPrefix: z
    .string()
    .max(64)
    .regex(/^[^\uD800-\uDFFF]*$/u, 'must not contain lone surrogates (ill-formed Unicode)')
    .default('earshot:'),
  /** Deadline of each Redis command in ms; past it the call counts as a miss. Default 50. */
  commandTimeoutMs: z.number().int().positive().max(60_000).default(50),
  /** Deadline to establish a connection in ms. Default 1000. */
  connectTimeoutMs: z.number().int().positive().max(60_000).default(1000),
});

/** Cache block. */
export const cacheConfigSchema = z.object({
  /** Namespace → TTL policy. Merged over {@link DEFAULT_NAMESPACES}. */
  namespaces: z
    .record(namespaceName, namespaceConfigSchema)
    .default({})
    .transform((ns): Record<string, NamespaceConfig> => ({ ...DEFAULT_NAMESPACES, ...ns })),
  /** The embedded in-memory tier (lru-cache). */
  memory: z
    .object({
      /** Most entries kept. Default 10 000. */
      maxEntries: z
        .number()
        .int()
        .positive()
        .max(
          CONFIG_LIMITS.maxEntries,
          `must be at most ${CONFIG_LIMITS.maxEntries} (lru-cache preallocates per entry)`,
        )
        .default(10_000),
      /** Most bytes kept (estimated size of values). Default 64 MiB. */
      maxBytes: z
        .number()
        .int()
        .positive()
        .max(CONFIG_LIMITS.maxBytes, `must be at most ${CONFIG_LIMITS.maxBytes} (1 TiB)`)
        .default(64 * 1024 * 1024),
      /**
       * How stored values are held: `reference` (default; treat cached values as immutable),
       * `freeze` (deep-frozen when stored) or `clone` (structuredClone in and out).
       */
      valueMode: z.enum(['reference', 'freeze', 'clone']).default('reference'),
    })
    .prefault({}),
  /** Largest value accepted, in bytes (estimated in memory, serialized in Redis). Default 1 MiB. */
  maxValueBytes: z
    .number()
    .int()
    .positive()
    .max(
      CONFIG_LIMITS.maxValueBytes,
      `must be at most ${CONFIG_LIMITS.maxValueBytes} (512 MiB, Redis' largest value)`,
    )
    .default(1024 * 1024),
  /** Redis tier; absent means memory only. */
  redis: redisConfigSchema.optional(),
});

/** Performance monitor block. */
export const monitorConfigSchema = z.object({
  /** HDR precision: significant decimal digits (1–5). Default 3. */
  significantDigits: z.number().int().min(1).max(5).default(3),
  /** Most labelled series kept; past it see `onCardinalityExceeded`. Default 2000. */
  maxSeries: z
    .number()
    .int()
    .positive()
    .max(CONFIG_LIMITS.maxSeries, `must be at most ${CONFIG_LIMITS.maxSeries}`)
    .default(2000),
  /** `overflow` records into one `{overflow:"true"}` series per name; `throw` throws CardinalityError. */
  onCardinalityExceeded: z.enum(['overflow', 'throw']).default('overflow'),
  /** Length of the rolling window in ms. Default 60 000. */
  windowMs: z
    .number()
    .int()
    .min(1000)
    .max(CONFIG_LIMITS.windowMs, `must be at most ${CONFIG_LIMITS.windowMs} (one day)`)
    .default(60_000),
  /** Slices the rolling window is cut into (its resolution). Default 6. */
  windowSlices: z.number().int().min(1).max(60).default(6),
});

const apiKey = z.string().min(1, 'must not be empty').optional();

/** Provider credentials. Every key is registered as a secret and never printed. */
const providersConfigSchema = z.object({
  deepgram: z.object({ apiKey }).prefault({}),
  openai: z.object({ apiKey }).prefault({}),
  elevenlabs: z.object({ apiKey }).prefault({}),
  pinecone: z.object({ apiKey }).prefault({}),
});

/** The whole earshot configuration. Every block is optional; defaults fill the rest. */
export const earshotConfigSchema = z.object({
  targets: targetsConfigSchema.prefault({}),
  cache: cacheConfigSchema.prefault({}),
  monitor: monitorConfigSchema.prefault({}),
  providers: providersConfigSchema.prefault({}),
});

/** What you may pass to `defineConfig` (every field optional). */
export type EarshotConfigInput = z.input<typeof earshotConfigSchema>;
/** The resolved configuration, every default filled in. */
export type EarshotConfig = z.output<typeof earshotConfigSchema>;
export type LatencyTargets = z.output<typeof latencyTargetsSchema>;
export type TargetsConfig = z.output<typeof targetsConfigSchema>;
export type NamespaceConfig = z.output<typeof namespaceConfigSchema>;
export type CacheConfig = z.output<typeof cacheConfigSchema>;
export type CacheConfigInput = z.input<typeof cacheConfigSchema>;
export type RedisConfig = z.output<typeof redisConfigSchema>;
export type MonitorConfig = z.output<typeof monitorConfigSchema>;
export type MonitorConfigInput = z.input<typeof monitorConfigSchema>;
