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
  issues.push(...unknownKeyIssues(input, earshotConfigSchema));
  if (!parsed.success) issues.push(...toConfigIssues(parsed.error));
  if (issues.length > 0 || !parsed.success) {
    throw new ConfigError(issues, source === undefined ? {} : { source });
  }
  // A private copy: defaults such as DEFAULT_NAMESPACES' objects are shared between parses,
  // and the redacting methods below must not land on them.
  const config = structuredClone(parsed.data);
  for (const s of secretsOf(config)) registerSecret(s);
  const safe = () => redactConfig(config);
  Object.defineProperties(config, {
    toJSON: { value: safe, enumerable: false },
    toString: { value: () => JSON.stringify(safe()), enumerable: false },
    [INSPECT]: { value: safe, enumerable: false },
  });
  // Every nested part redacts too: `JSON.stringify(config.providers)` or
  // `console.log(config.cache.redis)` must not print a key either.
  for (const [k, v] of Object.entries(config)) redactNested(v, k === 'providers');
  return config;
}

/** Gives `part` and every object below it a redacting `toJSON`, `toString` and inspect. */
function redactNested(part: unknown, underProviders: boolean): void {
  if (part === null || typeof part !== 'object' || Array.isArray(part)) return;
  const safe = () => redactPart(part, underProviders);
  Object.defineProperties(part, {
    toJSON: { value: safe, enumerable: false },
    toString: { value: () => JSON.stringify(safe()), enumerable: false },
    [INSPECT]: { value: safe, enumerable: false },
  });
  for (const v of Object.values(part)) redactNested(v, underProviders);
}

/** A redacted copy of one part of a resolved config (API keys, and any registered secret). */
function redactPart(part: object, underProviders: boolean): unknown {
  const copy = structuredClone(part) as Record<string, unknown>;
  const hideKeys = (o: unknown): void => {
    if (o === null || typeof o !== 'object') return;
    for (const [k, v] of Object.entries(o)) {
      if (k === 'apiKey' && typeof v === 'string' && underProviders)
        (o as Record<string, unknown>)[k] = REDACTED;
      else hideKeys(v);
    }
  };
  hideKeys(copy);
  return scrubStrings(copy);
}

/** Edit distance of two short strings (for "did you mean"). */
function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(
        up + 1,
        prev[j - 1]! + 1,
        diag + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1),
      );
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** The known key closest to `key`, when it is close enough to be a typo. */
function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = editDistance(key, k);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

interface SchemaDef {
  type: string;
  shape?: Record<string, { _zod: { def: SchemaDef } }>;
  catchall?: { _zod: { def: SchemaDef } };
  valueType?: { _zod: { def: SchemaDef } };
  innerType?: { _zod: { def: SchemaDef } };
  in?: { _zod: { def: SchemaDef } };
}

/** The object (or record) definition under defaults, optionals and pipes. */
function unwrap(def: SchemaDef): SchemaDef {
  let d = def;
  for (let i = 0; i < 16; i++) {
    const inner = d.innerType ?? (d.type === 'pipe' ? d.in : undefined);
    if (!inner) break;
    d = inner._zod.def;
  }
  return d;
}

/**
 * Keys of `input` the schema does not know (zod would drop them without a word), each with the
 * path and the closest known key: `cache.namespace: unknown key; did you mean "namespaces"?`.
 */
function unknownKeyIssues(input: unknown, schema: { _zod: { def: unknown } }): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const walk = (value: unknown, def: SchemaDef, path: string[], depth: number): void => {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || depth > 16) return;
    const d = unwrap(def);
    if (d.type === 'record' && d.valueType) {
      for (const [k, v] of Object.entries(value)) walk(v, d.valueType._zod.def, [...path, k], depth + 1);
      return;
    }
    if (d.type !== 'object' || !d.shape) return;
    const known = Object.keys(d.shape);
    for (const [k, v] of Object.entries(value)) {
      const field = Object.hasOwn(d.shape, k) ? d.shape[k] : undefined;
      if (field) {
        walk(v, field._zod.def, [...path, k], depth + 1);
        continue;
      }
      if (d.catchall && d.catchall._zod.def.type !== 'never') {
        walk(v, d.catchall._zod.def, [...path, k], depth + 1);
        continue;
      }
      if (k === '__proto__') continue; // reported by protoKeyIssues
      const guess = closestKey(k, known);
      issues.push({
        path: [...path, k].join('.'),
        message: guess
          ? `unknown key; did you mean "${guess}"?`
          : `unknown key; known keys here: ${known.join(', ')}`,
      });
    }
  };
  walk(input, schema._zod.def as SchemaDef, [], 0);
  return issues;
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
    // Decimal only: Number() would also take 0x10, 0b1, 1_0 (no), Infinity.
    const n = DECIMAL.test(v) ? Number(v) : Number.NaN;
    if (!Number.isFinite(n)) {
      issues.push({
        path: name,
        message: `must be a number, in decimal notation (e.g. 250 or 0.5), got ${JSON.stringify(v.slice(0, 40))}`,
      });
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

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

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
