import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { STABLE_KEY_HASH_THRESHOLD, stableKey, stableStringify, validateKey } from '../../src/cache/index.js';
import { CacheError } from '../../src/errors.js';

describe('stableKey', () => {
  it('gives deep-equal arguments the same key whatever the property order', () => {
    expect(stableKey('f', [{ a: 1, b: [1, { c: 2, d: 3 }] }])).toBe(
      stableKey('f', [{ b: [1, { d: 3, c: 2 }], a: 1 }]),
    );
  });

  it('gives different arguments different keys', () => {
    fc.assert(
      fc.property(
        fc.array(fc.jsonValue(), { maxLength: 3 }),
        fc.array(fc.jsonValue(), { maxLength: 3 }),
        (a, b) => {
          fc.pre(stableStringify(a) !== stableStringify(b));
          expect(stableKey('f', a)).not.toBe(stableKey('f', b));
        },
      ),
    );
  });

  it('tells undefined, null, strings and numbers apart', () => {
    const keys = [[undefined], [null], ['1'], [1], [1n], ['undefined']].map((args) => stableKey('f', args));
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('always produces a valid key, hashing long ones', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.anything({
            withBigInt: true,
            withDate: true,
            withMap: true,
            withSet: true,
            withTypedArray: true,
          }),
          { maxLength: 4 },
        ),
        (args) => {
          const k = stableKey('method', args);
          expect(() => validateKey(k)).not.toThrow();
          expect(k.length).toBeLessThanOrEqual(Math.max(STABLE_KEY_HASH_THRESHOLD, 160));
        },
      ),
    );
  });

  it('rejects function arguments with KEY_INVALID', () => {
    expect(() => stableKey('f', [() => 1])).toThrow(CacheError);
  });
});
