import { z } from 'zod';
import { ConfigError, type ConfigIssue, REDACTED, redact, registerSecret } from '../errors.js';
import { type EarshotConfig, type EarshotConfigInput, earshotConfigSchema } from './schema.js';

const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/** Turns zod issues into {@link ConfigIssue}s with dotted paths and no input values. */
export function toConfigIssues(error: z.ZodError): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const walk = (issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[]) => {
    for (const issue of issues) {
      const path = [...prefix, ...issue.path];
      if (issue.code === 'invalid_key' || issue.code === 'invalid_element') {
        // Report the inner reason ("namespace must not be empty") rather than "Invalid key".
        walk(issue.issues, path);
        continue;
      }
      if (issue.code === 'invalid_union' && issue.errors.length > 0) {
        walk(issue.errors[0]!, path);
        continue;
      }
      out.push({ path: path.map((p) => (p === '' ? '""' : String(p))).join('.'), message: issue.message });
    }
  };
  walk(error.issues, []);
  return out;
}

/** Paths (dotted) of every secret inside a resolved config. */
function secretsOf(config: EarshotConfig): string[] {
  const found: string[] = [];
  for (const p of Object.values(config.providers)) if (p.apiKey) found.push(p.apiKey);
  const url = config.cache.redis?.url;
  if (url) {
    try {
      const u = new URL(url);
      if (u.password) found.push(decodeURIComponent(u.password));
    } catch {
      // The schema already checked the scheme; an unparsable URL has nothing to register.
    }
  }
  return found;
}

/**
 * A copy of `config` with every secret replaced by `[REDACTED]`: API keys, and the password of
 * the Redis URL. Use it to log or print a configuration.
 */
export function redactConfig(config: EarshotConfig): EarshotConfig {
  // structuredClone copies enumerable data only, so the redacting toJSON is not re-entered.
  const copy = structuredClone(config);
  for (const p of Object.values(copy.providers)) if (p.apiKey) p.apiKey = REDACTED;
  // Every other string too: a credential can hide anywhere (a key prefix holding a URL...).
  return scrubStrings(copy) as EarshotConfig;
}

function scrubStrings(value: unknown): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map(scrubStrings);
  if (value !== null && typeof value === 'object') {
    // fromEntries defines own properties, so a key named __proto__ stays a plain key.
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubStrings(v)]));
  }
  return value;
}

/**
 * Validates `input`, fills every default, registers every secret for redaction and returns the
 * resolved configuration. `JSON.stringify`, `String()` and `console.log` of the result print
 * secrets as `[REDACTED]`.
 *
 * @throws ConfigError listing every invalid path and why.
 * @example
 * ```ts
 * const config = defineConfig({ targets: { operations: { llm: 250 } }, cache: { namespaces: { faq: { ttlSeconds: 60 } } } });
 * config.targets.operations.stt; // 100 (default)
 * ```
 */
export function defineConfig(input: EarshotConfigInput = {}, source?: string): EarshotConfig {
  const parsed = earshotConfigSchema.safeParse(input);
  const issues = protoKeyIssues(input);
  if (!parsed.success) issues.push(...toConfigIssues(parsed.error));
  if (issues.length > 0 || !parsed.success) {
    throw new ConfigError(issues, source === undefined ? {} : { source });
  }
  const config = parsed.data;
  for (const s of secretsOf(config)) registerSecret(s);
  const safe = () => redactConfig(config);
  Object.defineProperties(config, {
    toJSON: { value: safe, enumerable: false },
    toString: { value: () => JSON.stringify(safe()), enumerable: false },
    [INSPECT]: { value: safe, enumerable: false },
  });
  return config;
}

/**
 * An own `__proto__` key anywhere in the input (what `JSON.parse` makes of one in a config
 * file). zod drops such keys without a word, so a namespace or target named `__proto__` would
 * silently vanish from the configuration: report it instead.
 */
function protoKeyIssues(input: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const seen = new Set<object>();
  const walk = (value: unknown, path: string[], depth: number): void => {
    if (value === null || typeof value !== 'object' || seen.has(value) || depth > 32) return;
    seen.add(value);
    if (Object.hasOwn(value, '__proto__')) {
      issues.push({
        path: [...path, '__proto__'].join('.'),
        message: '"__proto__" cannot be used as a key (it would be dropped); choose another name',
      });
    }
    for (const [k, v] of Object.entries(value)) walk(v, [...path, k], depth + 1);
  };
  walk(input, [], 0);
  return issues;
}

/** Environment variables {@link loadConfigFromEnv} reads, besides `EARSHOT_TARGET_*` and `EARSHOT_TTL_*`. */
export const ENV_VARIABLES = [
  'REDIS_URL',
  'DEEPGRAM_API_KEY',
  'OPENAI_API_KEY',
  'ELEVENLABS_API_KEY',
  'PINECONE_API_KEY',
  'EARSHOT_PERCENTILE',
  'EARSHOT_REDIS_KEY_PREFIX',
  'EARSHOT_REDIS_TIMEOUT_MS',
  'EARSHOT_CACHE_MAX_ENTRIES',
  'EARSHOT_CACHE_MAX_BYTES',
  'EARSHOT_MAX_SERIES',
] as const;

/**
 * Builds the configuration from environment variables (over `base`, itself over the defaults):
 *
 * | variable | config path |
 * |---|---|
 * | `REDIS_URL` | `cache.redis.url` |
 * | `DEEPGRAM_API_KEY`, `OPENAI_API_KEY`, `ELEVENLABS_API_KEY`, `PINECONE_API_KEY` | `providers.<name>.apiKey` |
 * | `EARSHOT_PERCENTILE` | `targets.percentile` |
 * | `EARSHOT_TARGET_<OP>` (e.g. `EARSHOT_TARGET_LLM=250`) | `targets.operations.<op>` (ms) |
 * | `EARSHOT_TTL_<NS>` (`__` stands for `:`, e.g. `EARSHOT_TTL_COMPANY_API__LOAD=120`) | `cache.namespaces.<ns>.ttlSeconds` |
 * | `EARSHOT_REDIS_KEY_PREFIX`, `EARSHOT_REDIS_TIMEOUT_MS` | `cache.redis.keyPrefix`, `.commandTimeoutMs` |
 * | `EARSHOT_CACHE_MAX_ENTRIES`, `EARSHOT_CACHE_MAX_BYTES` | `cache.memory.*` |
 * | `EARSHOT_MAX_SERIES` | `monitor.maxSeries` |
 *
 * Empty variables are ignored. A number that does not parse is reported by its variable name.
 * @throws ConfigError listing every bad variable.
 */
export function loadConfigFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
  base: EarshotConfigInput = {},
): EarshotConfig {
  const issues: ConfigIssue[] = [];
  const get = (name: string) => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const num = (name: string): number | undefined => {
    const v = get(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) {
      issues.push({ path: name, message: `must be a number, got ${JSON.stringify(v.slice(0, 40))}` });
      return undefined;
    }
    return n;
  };
  const input = structuredClone(base) as Record<string, unknown>;
  const targets = child(input, 'targets');
  const ops = child(targets, 'operations');
  const p = num('EARSHOT_PERCENTILE');
  if (p !== undefined) targets.percentile = p;
  const cache = child(input, 'cache');
  const namespaces = child(cache, 'namespaces');
  for (const key of Object.keys(env)) {
    if (key.startsWith('EARSHOT_TARGET_')) {
      const v = num(key);
      if (v !== undefined) ops[key.slice('EARSHOT_TARGET_'.length).toLowerCase()] = v;
    } else if (key.startsWith('EARSHOT_TTL_')) {
      const v = num(key);
      const ns = key.slice('EARSHOT_TTL_'.length).toLowerCase().replaceAll('__', ':');
      if (v !== undefined) child(namespaces, ns).ttlSeconds = v;
    }
  }
  const redisUrl = get('REDIS_URL');
  const prefix = get('EARSHOT_REDIS_KEY_PREFIX');
  const timeout = num('EARSHOT_REDIS_TIMEOUT_MS');
  if (redisUrl !== undefined || prefix !== undefined || timeout !== undefined) {
    const redis = child(cache, 'redis');
    if (redisUrl !== undefined) redis.url = redisUrl;
    if (prefix !== undefined) redis.keyPrefix = prefix;
    if (timeout !== undefined) redis.commandTimeoutMs = timeout;
  }
  const maxEntries = num('EARSHOT_CACHE_MAX_ENTRIES');
  const maxBytes = num('EARSHOT_CACHE_MAX_BYTES');
  if (maxEntries !== undefined || maxBytes !== undefined) {
    const memory = child(cache, 'memory');
    if (maxEntries !== undefined) memory.maxEntries = maxEntries;
    if (maxBytes !== undefined) memory.maxBytes = maxBytes;
  }
  const maxSeries = num('EARSHOT_MAX_SERIES');
  if (maxSeries !== undefined) child(input, 'monitor').maxSeries = maxSeries;
  const providers = child(input, 'providers');
  for (const [name, variable] of [
    ['deepgram', 'DEEPGRAM_API_KEY'],
    ['openai', 'OPENAI_API_KEY'],
    ['elevenlabs', 'ELEVENLABS_API_KEY'],
    ['pinecone', 'PINECONE_API_KEY'],
  ] as const) {
    const key = get(variable);
    if (key !== undefined) {
      registerSecret(key);
      child(providers, name).apiKey = key;
    }
  }
  if (redisUrl) {
    try {
      const u = new URL(redisUrl);
      if (u.password) registerSecret(decodeURIComponent(u.password));
    } catch {
      // reported by the schema below
    }
  }
  const parsed = earshotConfigSchema.safeParse(input);
  if (!parsed.success)
    issues.push(...toConfigIssues(parsed.error).map((i) => ({ ...i, path: envPathOf(i.path) })));
  if (issues.length > 0) throw new ConfigError(issues, { source: 'environment' });
  return defineConfig(input as EarshotConfigInput, 'environment');
}

/** `obj[key]` as an object, created empty when absent (for building nested input). */
function child(obj: Record<string, unknown>, key: string): Record<string, unknown> {
  let v = obj[key];
  if (v === null || typeof v !== 'object') {
    v = {};
    obj[key] = v;
  }
  return v as Record<string, unknown>;
}

// Names the variable behind a config path so the error points at what the user can change.
function envPathOf(path: string): string {
  const parts = path.split('.');
  if (parts[0] === 'targets' && parts[1] === 'operations' && parts[2])
    return `EARSHOT_TARGET_${parts[2].toUpperCase()} (${path})`;
  if (parts[0] === 'targets' && parts[1] === 'percentile') return `EARSHOT_PERCENTILE (${path})`;
  if (parts[0] === 'cache' && parts[1] === 'namespaces' && parts[2])
    return `EARSHOT_TTL_${parts[2].toUpperCase().replaceAll(':', '__')} (${path})`;
  if (path === 'cache.redis.url') return `REDIS_URL (${path})`;
  if (path === 'cache.redis.commandTimeoutMs') return `EARSHOT_REDIS_TIMEOUT_MS (${path})`;
  if (path === 'cache.redis.keyPrefix') return `EARSHOT_REDIS_KEY_PREFIX (${path})`;
  if (path === 'cache.memory.maxEntries') return `EARSHOT_CACHE_MAX_ENTRIES (${path})`;
  if (path === 'cache.memory.maxBytes') return `EARSHOT_CACHE_MAX_BYTES (${path})`;
  if (path === 'monitor.maxSeries') return `EARSHOT_MAX_SERIES (${path})`;
  if (parts[0] === 'providers' && parts[1]) return `${parts[1].toUpperCase()}_API_KEY (${path})`;
  return path;
}

/**
 * The configuration's JSON Schema (draft 2020-12), for editor completion and validation of a
 * config file: `"$schema": "./node_modules/earshot/earshot.schema.json"` or generate your own.
 */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(earshotConfigSchema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
}

/** The default latency targets (ms at P90) from the source design. */
export function defaultTargets(): EarshotConfig['targets'] {
  return earshotConfigSchema.shape.targets.parse({});
}
