import { CacheError } from '../errors.js';
import { BYTES_TAG } from './serializer.js';

// Rough V8 costs; the point is a stable budget for `maxBytes`, not an exact heap figure.
const OBJECT_OVERHEAD = 16;
const SLOT = 8;

function reject(path: string, what: string, fix: string): never {
  throw new CacheError(
    'EARSHOT_CACHE_SERIALIZATION',
    `Cannot cache ${what} at ${path}: ${fix}. Nothing was written.`,
  );
}

/**
 * Strict mode: an object JSON would carry as a plain object or array must be one. Class
 * instances (Error, URL, RegExp, boxed primitives, your own classes) would come back as plain
 * objects or strings, a Date as a string (an Invalid Date as null), symbol keys not at all.
 */
function checkShape(obj: object, path: string): void {
  if (obj instanceof Date) {
    reject(
      path,
      Number.isNaN(obj.getTime()) ? 'an Invalid Date' : 'a Date',
      'JSON would turn it into a string (an Invalid Date into null); store date.toISOString() or date.getTime()',
    );
  }
  const proto: unknown = Object.getPrototypeOf(obj);
  const plain = Array.isArray(obj) ? proto === Array.prototype : proto === Object.prototype || proto === null;
  if (!plain) {
    const name = (obj as { constructor?: { name?: unknown } }).constructor?.name;
    reject(
      path,
      `an instance of ${typeof name === 'string' && name !== '' ? name : 'a class'}`,
      'JSON would turn it into a plain object (or a string); cache a plain object with the fields you need',
    );
  }
  if (Object.getOwnPropertySymbols(obj).length > 0)
    reject(path, 'an object with symbol keys', 'JSON would drop them; use string keys');
}

/**
 * Estimates the size in bytes of a value to cache and, when `strict`, rejects what the JSON
 * serializer of the Redis tier could not round-trip unchanged (functions, symbols, BigInt,
 * NaN/Infinity, -0, Map/Set/WeakMap, cycles, typed arrays other than `Uint8Array`,
 * `ArrayBuffer`, the reserved bytes key, properties set to `undefined`, sparse arrays and
 * `undefined` in arrays, Dates, class instances such as Error, URL, RegExp or boxed primitives,
 * symbol keys), so a value accepted by a memory-only cache reads back the same once Redis is
 * added. `Uint8Array`/`Buffer` are accepted and counted by `byteLength` (both read back from
 * Redis as `Uint8Array`); objects without a prototype read back as plain objects.
 *
 * Throws `CacheError(EARSHOT_CACHE_SERIALIZATION)` naming the offending path.
 */
export function measureValue(value: unknown, strict: boolean): number {
  const ancestors = new Set<object>();
  const walk = (v: unknown, path: string, depth: number): number => {
    switch (typeof v) {
      case 'string':
        return 2 * v.length + OBJECT_OVERHEAD;
      case 'number':
        if (strict && !Number.isFinite(v))
          reject(path, String(v), 'JSON would turn it into null; store null or a string');
        if (strict && Object.is(v, -0)) reject(path, '-0', 'JSON would turn it into 0; store 0');
        return SLOT;
      case 'boolean':
        return SLOT;
      case 'undefined':
        return 0;
      case 'bigint':
        if (strict) reject(path, 'a BigInt', 'convert it to a string or number first');
        return SLOT * 2;
      case 'function':
        if (strict) reject(path, 'a function', 'cache data, not behaviour');
        return SLOT;
      case 'symbol':
        if (strict) reject(path, 'a symbol', 'cache data, not symbols');
        return SLOT;
    }
    if (v === null) return SLOT;
    const obj = v as object;
    if (obj instanceof Uint8Array) return obj.byteLength + OBJECT_OVERHEAD;
    if (ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer) {
      // The JSON serializer carries only Uint8Array/Buffer bytes (it would turn a Float32Array
      // into a Uint8Array of its bytes, an ArrayBuffer into {}).
      if (strict)
        reject(
          path,
          `a ${obj.constructor.name}`,
          'only Uint8Array/Buffer bytes round-trip; convert it to a Uint8Array or an array of numbers',
        );
      return obj.byteLength + OBJECT_OVERHEAD;
    }
    if (depth > 512) reject(path, 'a value nested deeper than 512 levels', 'flatten it');
    if (ancestors.has(obj)) {
      if (strict) reject(path, 'a circular structure', 'remove the cycle');
      return SLOT;
    }
    if (
      strict &&
      (obj instanceof Map || obj instanceof Set || obj instanceof WeakMap || obj instanceof WeakSet)
    ) {
      reject(
        path,
        `a ${obj.constructor.name}`,
        'JSON would store it as {}; convert it to an array or object',
      );
    }
    if (strict && obj instanceof Promise) reject(path, 'a Promise', 'await it first');
    if (strict) checkShape(obj, path);
    if (obj instanceof Date) return SLOT * 3;
    if (strict && Object.hasOwn(obj, BYTES_TAG))
      reject(path, `an object with the reserved key "${BYTES_TAG}"`, 'rename that key');
    ancestors.add(obj);
    let size = OBJECT_OVERHEAD;
    if (Array.isArray(obj)) {
      for (let i = 0; i < obj.length; i++) {
        if (strict && !(i in obj))
          reject(
            `${path}[${i}]`,
            'a hole in a sparse array',
            'JSON would turn it into null; fill it (null) or use a dense array',
          );
        if (strict && obj[i] === undefined)
          reject(`${path}[${i}]`, 'undefined in an array', 'JSON would turn it into null; use null');
        size += SLOT + walk(obj[i], `${path}[${i}]`, depth + 1);
      }
    } else {
      for (const k of Object.keys(obj)) {
        const child = (obj as Record<string, unknown>)[k];
        if (strict && child === undefined)
          reject(
            `${path}.${k}`,
            'a property set to undefined',
            'JSON would drop the property; omit it or use null',
          );
        size += 2 * k.length + SLOT + walk(child, `${path}.${k}`, depth + 1);
      }
    }
    ancestors.delete(obj);
    return size;
  };
  return walk(value, 'value', 0);
}

/** Freezes `value` and everything reachable from it (typed arrays cannot be frozen and are left alone). */
export function deepFreeze<T>(value: T): T {
  const seen = new Set<object>();
  const visit = (v: unknown): void => {
    if (typeof v !== 'object' || v === null || seen.has(v) || ArrayBuffer.isView(v)) return;
    seen.add(v);
    for (const k of Object.keys(v)) visit((v as Record<string, unknown>)[k]);
    Object.freeze(v);
  };
  visit(value);
  return value;
}
