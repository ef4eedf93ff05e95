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
      { seed: 4242 },
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

describe('the JSON serializer, pinned', () => {
  it('has a name and writes plain JSON for plain values', () => {
    expect(jsonSerializer.name).toBe('json');
    expect(jsonSerializer.serialize({ a: [1, 'x', null, true] })).toBe('{"a":[1,"x",null,true]}');
    expect(jsonSerializer.serialize('s')).toBe('"s"');
    expect(jsonSerializer.deserialize('{"a":[1,"x",null,true]}')).toEqual({ a: [1, 'x', null, true] });
  });

  it('carries bytes as a tagged base64 object, honouring the view offset', () => {
    const backing = new Uint8Array([9, 9, 1, 2, 3, 9]);
    const view = new Uint8Array(backing.buffer, 2, 3);
    const text = jsonSerializer.serialize({ b: view });
    expect(text).toBe(`{"b":{"${BYTES_TAG}":"AQID"}}`);
    const back = jsonSerializer.deserialize(text) as { b: Uint8Array };
    expect(back.b).toBeInstanceOf(Uint8Array);
    expect([...back.b]).toEqual([1, 2, 3]);
    // Only an object whose single key is the tag is bytes.
    expect(jsonSerializer.deserialize(`{"${BYTES_TAG}":"AQID","other":1}`)).toEqual({
      [BYTES_TAG]: 'AQID',
      other: 1,
    });
    expect(jsonSerializer.deserialize(`{"${BYTES_TAG}":5}`)).toEqual({ [BYTES_TAG]: 5 });
  });

  it('says what it refused, where, and what to do', () => {
    const cases: [unknown, RegExp][] = [
      [{ big: 1n }, /BigInt \(at "big"\).*convert it to a string first/],
      [{ fn: () => 1 }, /function \(at "fn"\).*cache data, not behaviour/],
      [{ sym: Symbol('s') }, /symbol \(at "sym"\)/],
      [{ n: Number.NaN }, /Cannot serialize NaN \(at "n"\).*would become null/],
      [{ n: Number.NEGATIVE_INFINITY }, /Cannot serialize -Infinity \(at "n"\)/],
      [{ f: new Float32Array([1]) }, /Float32Array \(at "f"\).*only Uint8Array\/Buffer bytes round-trip/],
      [{ ab: new ArrayBuffer(2) }, /ArrayBuffer \(at "ab"\)/],
      [{ sab: new SharedArrayBuffer(2) }, /SharedArrayBuffer \(at "sab"\)/],
      [{ dv: new DataView(new ArrayBuffer(2)) }, /DataView \(at "dv"\)/],
      [{ m: new Map() }, /Map \(at "m"\).*would become \{\}/],
      [{ s: new Set() }, /Set \(at "s"\)/],
      [{ w: new WeakMap() }, /WeakMap \(at "w"\)/],
      [{ w: new WeakSet() }, /WeakSet \(at "w"\)/],
      [{ x: { [BYTES_TAG]: 'A' } }, /reserved key "\$earshot:bytes" \(at "x"\)/],
      [undefined, /Cannot serialize undefined/],
      [() => 1, /function|undefined/],
    ];
    for (const [value, message] of cases) {
      const err = serializeError(value);
      expect(err.code).toBe('EARSHOT_CACHE_SERIALIZATION');
      expect(err.message).toMatch(message);
      expect(err.message).toContain('Nothing was written.');
    }
    const cyclic: Record<string, unknown> = {};
    cyclic.me = { back: cyclic };
    const cycle = serializeError(cyclic);
    expect(cycle.message).toBe(
      'Cannot serialize a circular structure to JSON: remove the cycle. Nothing was written.',
    );
    expect(cycle.cause).toBeInstanceOf(TypeError);
  });

  it('turns a toJSON that throws into a SERIALIZATION error carrying the cause', () => {
    const boom = new Error('nope');
    const err = serializeError({
      toJSON: () => {
        throw boom;
      },
    });
    expect(err.code).toBe('EARSHOT_CACHE_SERIALIZATION');
    expect(err.message).toBe('Cannot serialize the value to JSON (nope). Nothing was written.');
    expect(err.cause).toBe(boom);
  });

  it('names the parse error of a malformed stored value', () => {
    const err = (() => {
      try {
        jsonSerializer.deserialize('{"a":');
      } catch (e) {
        return e as CacheError;
      }
    })()!;
    expect(err.code).toBe('EARSHOT_CACHE_SERIALIZATION');
    expect(err.message).toMatch(/^Stored value is not valid JSON \(.+\)\.$/);
    expect(err.cause).toBeInstanceOf(SyntaxError);
  });
});

describe('safeJsonParse, pinned', () => {
  it('takes the plain path for harmless text and the reviver only when needed', () => {
    expect(safeJsonParse('{"a":{"b":[1,2]}}')).toEqual({ a: { b: [1, 2] } });
    // a "constructor" whose value is an object without its own prototype key is kept
    expect(safeJsonParse('{"constructor":{"name":"x"}}')).toEqual({ constructor: { name: 'x' } });
    expect(safeJsonParse('{"constructor":null}')).toEqual({ constructor: null });
    // escapes alone take the reviver path and still parse normally
    expect(safeJsonParse('{"k":"\\u00e9"}')).toEqual({ k: 'é' });
    // nested pollution attempts are all dropped
    expect(safeJsonParse('[{"__proto__":{"p":1}},{"x":{"constructor":{"prototype":{"p":1}}}}]')).toEqual([
      {},
      { x: {} },
    ]);
    expect(({} as Record<string, unknown>).p).toBeUndefined();
  });
});

describe('jsonSerializer: edges pinned by the mutation run', () => {
  it("keeps the replacer's own message for a refused value, with no cause", () => {
    const err = serializeError({ n: 10n });
    expect(err.message).toBe(
      'Cannot serialize a BigInt (at "n") to JSON: convert it to a string first. Nothing was written.',
    );
    expect(Object.hasOwn(err, 'cause')).toBe(false);
  });

  it('calls only a TypeError about a cycle a circular structure; other errors keep their message and cause', () => {
    const typeError = new TypeError('no dates here');
    const err = serializeError({
      toJSON() {
        throw typeError;
      },
    });
    expect(err.message).toBe('Cannot serialize the value to JSON (no dates here). Nothing was written.');
    expect(err.cause).toBe(typeError);
    const named = serializeError({
      toJSON() {
        throw new Error('circular reference in my model');
      },
    });
    expect(named.message).toBe(
      'Cannot serialize the value to JSON (circular reference in my model). Nothing was written.',
    );
  });

  it('the safe parse path keeps null values and strips a constructor.prototype key', () => {
    const parsed = safeJsonParse(
      '{"constructor": {"prototype": {"x": 1}}, "a": null, "b": [null, 1]}',
    ) as Record<string, unknown>;
    expect(parsed).toEqual({ a: null, b: [null, 1] });
    expect(Object.hasOwn(parsed, 'constructor')).toBe(false);
  });
});
