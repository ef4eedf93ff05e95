import { CacheError } from '../errors.js';

/** Longest key accepted, in characters. Longer keys should be hashed (see `stableKey`). */
export const MAX_KEY_LENGTH = 1024;
/** Longest namespace accepted, in characters (same limit as the config schema). */
export const MAX_NAMESPACE_LENGTH = 128;

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we reject
const CONTROL = /[\u0000-\u001f\u007f]/;
// A lone surrogate (with the `u` flag, a paired one is one code point and does not match).
// Redis and every UTF-8 transport turn it into U+FFFD, so "a\uD800" and "a\uDC00" would
// silently share one Redis key: reject them instead.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

function describe(value: unknown): string {
  return typeof value === 'string'
    ? JSON.stringify(value.slice(0, 40)) + (value.length > 40 ? '…' : '')
    : typeof value;
}

/**
 * Throws `CacheError(EARSHOT_CACHE_KEY_INVALID)` unless `key` is a non-empty string of at most
 * {@link MAX_KEY_LENGTH} characters without control characters or lone surrogates.
 */
export function validateKey(key: unknown): asserts key is string {
  if (
    typeof key !== 'string' ||
    key.length === 0 ||
    key.length > MAX_KEY_LENGTH ||
    CONTROL.test(key) ||
    LONE_SURROGATE.test(key)
  ) {
    throw new CacheError(
      'EARSHOT_CACHE_KEY_INVALID',
      `Cache key must be a non-empty string of at most ${MAX_KEY_LENGTH} characters without control characters or lone surrogates, got ${describe(key)}${typeof key === 'string' ? ` (length ${key.length})` : ''}. Hash long keys (stableKey does).`,
    );
  }
}

/**
 * Throws `CacheError(EARSHOT_CACHE_KEY_INVALID)` unless `namespace` is a non-empty string of at
 * most {@link MAX_NAMESPACE_LENGTH} characters without control characters or lone surrogates.
 */
export function validateNamespace(namespace: unknown): asserts namespace is string {
  if (
    typeof namespace !== 'string' ||
    namespace.length === 0 ||
    namespace.length > MAX_NAMESPACE_LENGTH ||
    CONTROL.test(namespace) ||
    LONE_SURROGATE.test(namespace)
  ) {
    throw new CacheError(
      'EARSHOT_CACHE_KEY_INVALID',
      `Cache namespace must be a non-empty string of at most ${MAX_NAMESPACE_LENGTH} characters without control characters or lone surrogates, got ${describe(namespace)}.`,
    );
  }
}

/**
 * Escapes a namespace so that it contains no `:`. `%` becomes `%25` and `:` becomes `%3A`,
 * which is reversible, so the first `:` of a joined id always ends the namespace.
 */
export function escapeNamespace(namespace: string): string {
  if (namespace.indexOf('%') === -1 && namespace.indexOf(':') === -1) return namespace;
  return namespace.replace(/%/g, '%25').replace(/:/g, '%3A');
}

/** Inverse of {@link escapeNamespace}. */
export function unescapeNamespace(escaped: string): string {
  if (escaped.indexOf('%') === -1) return escaped;
  return escaped.replace(/%3A/g, ':').replace(/%25/g, '%');
}

/**
 * Joins a namespace and a key into the id tiers store it under: `escapeNamespace(ns) + ':' + key`.
 * Two different (namespace, key) pairs never give the same id: the escaped namespace holds no
 * `:`, so the first `:` splits the id unambiguously (see {@link splitCacheId}).
 *
 * @example
 * ```ts
 * cacheId('company_api:load', '2314'); // 'company_api%3Aload:2314'
 * ```
 */
export function cacheId(namespace: string, key: string): string {
  return `${escapeNamespace(namespace)}:${key}`;
}

/** Splits an id made by {@link cacheId} back into its namespace and key. */
export function splitCacheId(id: string): { namespace: string; key: string } {
  const i = id.indexOf(':');
  if (i < 0) throw new CacheError('EARSHOT_CACHE_KEY_INVALID', `Not a cache id: ${describe(id)}.`);
  return { namespace: unescapeNamespace(id.slice(0, i)), key: id.slice(i + 1) };
}

/**
 * A marker that can never start an escaped namespace (`%` is only ever followed by `25` or
 * `3A` there), used by tiers for their own bookkeeping keys (locks, channels).
 */
export const RESERVED_ID_PREFIX = '%!';
