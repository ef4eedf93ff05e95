import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BYTES_TAG, jsonSerializer, safeJsonParse } from '../../src/cache/tier-kit/index.js';
import { CacheError } from '../../src/errors.js';

function serializeError(value: unknown): CacheError {
  try {
    jsonSerializer.serialize(value);
  } catch (e) {
    return e as CacheError;
  }
  throw new Error('expected serialize to throw');
}

describe('the JSON serializer', () => {
  it('round-trips every JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const normalized = JSON.parse(JSON.stringify(v)) as unknown; // -0 → 0, as JSON does
        expect(jsonSerializer.deserialize(jsonSerializer.serialize(v))).toEqual(
          JSON.parse(JSON.stringify(normalized), (k, x) => (k === '__proto__' ? undefined : x)),
        );
      }),
    );
  });

  it('round-trips bytes as Uint8Array, including Buffers', () => {
    const out = jsonSerializer.deserialize(
      jsonSerializer.serialize({ a: new Uint8Array([1, 2, 255]), b: Buffer.from('hi') }),
    ) as {
      a: Uint8Array;
      b: Uint8Array;
    };
    expect(out.a).toBeInstanceOf(Uint8Array);
    expect([...out.a]).toEqual([1, 2, 255]);
    expect(Buffer.from(out.b).toString()).toBe('hi');
  });

  it('rejects BigInt, functions, symbols, NaN, Infinity, Map, Set and cycles with SERIALIZATION', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.me = cyclic;
    for (const bad of [
      1n,
      () => 1,
      { s: Symbol('x') },
      Number.NaN,
      { i: Number.POSITIVE_INFINITY },
      new Map(),
      new Set([1]),
      cyclic,
      undefined,
    ]) {
      const err = serializeError(bad);
      expect(err).toBeInstanceOf(CacheError);
      expect(err.code).toBe('EARSHOT_CACHE_SERIALIZATION');
      expect(err.message).toContain('Nothing was written');
    }
  });

  it('rejects objects that use the reserved bytes tag', () => {
    expect(serializeError({ [BYTES_TAG]: 'AAAA' }).code).toBe('EARSHOT_CACHE_SERIALIZATION');
  });

  it('rejects malformed JSON on the way out with SERIALIZATION', () => {
    expect(() => jsonSerializer.deserialize('{"a":')).toThrow(CacheError);
  });
});

describe('safeJsonParse', () => {
  it('drops __proto__ keys, even spelled with escapes, so merging cannot pollute', () => {
    const parsed = safeJsonParse('{"__proto__":{"x":1},"a":{"\\u005f_proto__":{"x":1}},"ok":true}') as Record<
      string,
      unknown
    >;
    expect(parsed).toEqual({ a: {}, ok: true });
    const merged = Object.assign({}, parsed, parsed.a);
    expect((merged as Record<string, unknown>).x).toBeUndefined();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('drops constructor keys that carry a prototype, keeps harmless ones', () => {
    expect(safeJsonParse('{"constructor":{"prototype":{"x":1}}}')).toEqual({});
    expect(safeJsonParse('{"constructor":"Truck"}')).toEqual({ constructor: 'Truck' });
  });
});
