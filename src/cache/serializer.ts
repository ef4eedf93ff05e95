import { CacheError } from '../errors.js';

/**
 * Turns cached values into strings for shared tiers (Redis) and back. The default is
 * {@link jsonSerializer}; plug in your own (superjson, msgpack-as-base64...) through the
 * Redis tier's `serializer` option. `serialize` must throw on values it cannot carry;
 * `deserialize` must throw on malformed input (the entry is then deleted and counted as an error).
 */
export interface Serializer {
  /** Name for error messages. */
  readonly name: string;
  serialize(value: unknown): string;
  deserialize(text: string): unknown;
}

/** Key of the object that carries bytes (`Uint8Array`/`Buffer`) through JSON as base64. */
export const BYTES_TAG = '$earshot:bytes';

function fail(message: string, cause?: unknown): never {
  throw new CacheError('EARSHOT_CACHE_SERIALIZATION', message, cause === undefined ? {} : { cause });
}

function isSharedArrayBuffer(v: object): boolean {
  return typeof SharedArrayBuffer !== 'undefined' && v instanceof SharedArrayBuffer;
}

function replacer(this: unknown, key: string, value: unknown): unknown {
  // `value` has been through toJSON already (Buffer → {type,data}); look at the raw one.
  const raw = (this as Record<string, unknown>)[key];
  switch (typeof raw) {
    case 'bigint':
      fail(
        `Cannot serialize a BigInt (at "${key}") to JSON: convert it to a string first. Nothing was written.`,
      );
      break;
    case 'function':
      fail(
        `Cannot serialize a function (at "${key}") to JSON: cache data, not behaviour. Nothing was written.`,
      );
      break;
    case 'symbol':
      fail(`Cannot serialize a symbol (at "${key}") to JSON. Nothing was written.`);
      break;
    case 'number':
      if (!Number.isFinite(raw)) {
        fail(`Cannot serialize ${raw} (at "${key}") to JSON: it would become null. Nothing was written.`);
      }
      break;
    case 'object':
      if (raw === null) break;
      if (raw instanceof Uint8Array) {
        const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
        return { [BYTES_TAG]: bytes.toString('base64') };
      }
      // Other views would come back as a Uint8Array of their bytes (a Float32Array of 2 floats
      // as 8 bytes), and JSON turns an ArrayBuffer into {}: refuse both rather than corrupt.
      if (ArrayBuffer.isView(raw) || raw instanceof ArrayBuffer || isSharedArrayBuffer(raw)) {
        fail(
          `Cannot serialize a ${raw.constructor.name} (at "${key}"): only Uint8Array/Buffer bytes round-trip. Convert it to a Uint8Array or an array of numbers. Nothing was written.`,
        );
      }
      if (raw instanceof Map || raw instanceof Set || raw instanceof WeakMap || raw instanceof WeakSet) {
        fail(
          `Cannot serialize a ${raw.constructor.name} (at "${key}") to JSON: it would become {}. Convert it to an array or object. Nothing was written.`,
        );
      }
      if (Object.hasOwn(raw, BYTES_TAG)) {
        fail(`Objects may not use the reserved key "${BYTES_TAG}" (at "${key}"). Nothing was written.`);
      }
      break;
  }
  return value;
}

// Only text that could hold a dangerous key or a bytes tag takes the (slower) reviver path.
// `\u` covers keys spelled with escapes, which JSON.parse decodes before the reviver sees them.
const NEEDS_REVIVER = /__proto__|constructor|\$earshot:bytes|\\u/;

function reviver(key: string, value: unknown): unknown {
  if (key === '__proto__') return undefined;
  if (typeof value === 'object' && value !== null) {
    const obj = value as Record<string, unknown>;
    if (
      Object.hasOwn(obj, 'constructor') &&
      typeof obj.constructor === 'object' &&
      obj.constructor !== null &&
      Object.hasOwn(obj.constructor, 'prototype')
    ) {
      delete (obj as { constructor?: unknown }).constructor;
    }
    const tag = obj[BYTES_TAG];
    if (typeof tag === 'string' && Object.keys(obj).length === 1) {
      const buf = Buffer.from(tag, 'base64');
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    }
  }
  return value;
}

/**
 * Parses JSON without letting `__proto__` (or `constructor.prototype`) keys reach any
 * prototype: such keys are dropped, so merging the result into another object later
 * (`Object.assign`, lodash `merge`) cannot pollute `Object.prototype`.
 */
export function safeJsonParse(text: string): unknown {
  return NEEDS_REVIVER.test(text) ? JSON.parse(text, reviver) : JSON.parse(text);
}

/**
 * The default serializer: JSON, strict on the way in (BigInt, functions, symbols, NaN,
 * Infinity, Map/Set and cycles throw `CacheError(EARSHOT_CACHE_SERIALIZATION)` instead of being
 * silently mangled), prototype-pollution safe on the way out, and carrying `Uint8Array`/`Buffer`
 * as base64 (read back as `Uint8Array`; other typed arrays and `ArrayBuffer` are refused). A
 * `Date` becomes its ISO string, as in plain JSON.
 */
export const jsonSerializer: Serializer = {
  name: 'json',
  serialize(value: unknown): string {
    let text: string | undefined;
    try {
      text = JSON.stringify(value, replacer);
    } catch (err) {
      if (err instanceof CacheError) throw err;
      const cycle = err instanceof TypeError && /circular/i.test(err.message);
      fail(
        cycle
          ? 'Cannot serialize a circular structure to JSON: remove the cycle. Nothing was written.'
          : `Cannot serialize the value to JSON (${(err as Error).message}). Nothing was written.`,
        err,
      );
    }
    if (text === undefined)
      fail('Cannot serialize undefined (or a bare function/symbol) to JSON. Nothing was written.');
    return text;
  },
  deserialize(text: string): unknown {
    try {
      return safeJsonParse(text);
    } catch (err) {
      fail(`Stored value is not valid JSON (${(err as Error).message}).`, err);
    }
  },
};
