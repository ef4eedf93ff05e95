import { createHash } from 'node:crypto';
import { CacheError } from '../errors.js';

/** Keys built by {@link stableKey} longer than this are replaced by a SHA-256 digest. */
export const STABLE_KEY_HASH_THRESHOLD = 200;

/**
 * Serializes arguments deterministically: object keys sorted, `undefined` kept distinct from
 * `null`, BigInt and Date tagged, typed arrays as hex. Functions, symbols and cycles throw
 * `CacheError(EARSHOT_CACHE_KEY_INVALID)` because they have no stable identity.
 */
export function stableStringify(value: unknown): string {
  const ancestors = new Set<object>();
  const walk = (v: unknown): string => {
    switch (typeof v) {
      case 'string':
        return JSON.stringify(v);
      case 'number':
        return Number.isFinite(v) ? String(v) : `#${String(v)}`;
      case 'boolean':
        return v ? 'true' : 'false';
      case 'undefined':
        return 'undefined';
      case 'bigint':
        return `${v}n`;
      case 'function':
      case 'symbol':
        throw new CacheError(
          'EARSHOT_CACHE_KEY_INVALID',
          `Cannot build a cache key from a ${typeof v} argument: pass a key function that picks the data that identifies the call.`,
        );
    }
    if (v === null) return 'null';
    const obj = v as object;
    if (obj instanceof Date) return `Date(${obj.toISOString()})`;
    if (ArrayBuffer.isView(obj)) {
      return `bytes(${Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength).toString('hex')})`;
    }
    if (ancestors.has(obj)) {
      throw new CacheError('EARSHOT_CACHE_KEY_INVALID', 'Cannot build a cache key from a circular argument.');
    }
    ancestors.add(obj);
    let out: string;
    if (Array.isArray(obj)) {
      out = `[${obj.map(walk).join(',')}]`;
    } else if (obj instanceof Map) {
      const parts = [...obj.entries()].map(([k, val]) => `${walk(k)}=>${walk(val)}`).sort();
      out = `Map{${parts.join(',')}}`;
    } else if (obj instanceof Set) {
      out = `Set{${[...obj].map(walk).sort().join(',')}}`;
    } else {
      const keys = Object.keys(obj).sort();
      out = `{${keys.map((k) => `${JSON.stringify(k)}:${walk((obj as Record<string, unknown>)[k])}`).join(',')}}`;
    }
    ancestors.delete(obj);
    return out;
  };
  return walk(value);
}

// What `validateKey` rejects besides length: control characters and lone surrogates.
// biome-ignore lint/suspicious/noControlCharactersInRegex: keys may not hold control characters
const UNSAFE_IN_KEY = /[\u0000-\u001f\u007f]|[\uD800-\uDFFF]/u;
// biome-ignore lint/suspicious/noControlCharactersInRegex: keys may not hold control characters
const UNSAFE_IN_KEY_G = /[\u0000-\u001f\u007f]|[\uD800-\uDFFF]/gu;
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * A deterministic cache key for a call: `name(args…)`, replaced by `name#<sha256>` when longer
 * than {@link STABLE_KEY_HASH_THRESHOLD} characters (or when it holds control characters or lone
 * surrogates), so it always passes key validation. Equal arguments (deep, key order ignored) give equal keys.
 *
 * @example
 * ```ts
 * stableKey('getLoad', ['2314', { fresh: true }]); // 'getLoad("2314",{"fresh":true})'
 * ```
 */
export function stableKey(name: string, args: readonly unknown[]): string {
  const body = stableStringify(args);
  const key = `${name}(${body.slice(1, -1)})`;
  if (key.length <= STABLE_KEY_HASH_THRESHOLD && !UNSAFE_IN_KEY.test(key)) return key;
  // Hash UTF-16 when the key holds lone surrogates: UTF-8 would turn them all into U+FFFD.
  const wellFormed = !LONE_SURROGATE.test(key);
  const digest = createHash('sha256')
    .update(key, wellFormed ? 'utf8' : 'utf16le')
    .digest('base64url');
  // The readable prefix must pass key validation too (and slicing may split a surrogate pair).
  return `${name.slice(0, 100).replace(UNSAFE_IN_KEY_G, '\uFFFD')}#${digest}`;
}
