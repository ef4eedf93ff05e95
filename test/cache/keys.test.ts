import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_KEY_LENGTH, validateKey, validateNamespace } from '../../src/cache/index.js';
import {
  cacheId,
  escapeNamespace,
  RESERVED_ID_PREFIX,
  splitCacheId,
  unescapeNamespace,
} from '../../src/cache/tier-kit/index.js';
import { CacheError } from '../../src/errors.js';

// Strings biased toward the characters that make naive joins collide.
const tricky = fc.string({
  unit: fc.constantFrom('a', 'b', ':', '%', '3', 'A', '2', '5', '!', '{', '}', '*'),
  minLength: 1,
  maxLength: 12,
});
const anyText = fc.string({ minLength: 1, maxLength: 30 });

describe('cache ids', () => {
  it('never give two different (namespace, key) pairs the same id', () => {
    fc.assert(
      fc.property(
        fc.oneof(tricky, anyText),
        fc.oneof(tricky, anyText),
        fc.oneof(tricky, anyText),
        fc.oneof(tricky, anyText),
        (ns1, k1, ns2, k2) => {
          fc.pre(ns1 !== ns2 || k1 !== k2);
          expect(cacheId(ns1, k1)).not.toBe(cacheId(ns2, k2));
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('split back into the namespace and key they were built from', () => {
    fc.assert(
      fc.property(fc.oneof(tricky, anyText), fc.oneof(tricky, anyText), (ns, key) => {
        expect(splitCacheId(cacheId(ns, key))).toEqual({ namespace: ns, key });
      }),
    );
  });

  it('escape namespaces reversibly and without colons', () => {
    fc.assert(
      fc.property(fc.oneof(tricky, anyText), (ns) => {
        const e = escapeNamespace(ns);
        expect(e).not.toContain(':');
        expect(unescapeNamespace(e)).toBe(ns);
      }),
    );
  });

  it('can never start with the reserved prefix used for locks and channels', () => {
    fc.assert(
      fc.property(fc.oneof(tricky, anyText), fc.oneof(tricky, anyText), (ns, key) => {
        expect(cacheId(ns, key).startsWith(RESERVED_ID_PREFIX)).toBe(false);
      }),
    );
  });

  it('keep the readable form for plain namespaces', () => {
    expect(cacheId('llm', 'q:1')).toBe('llm:q:1');
    expect(cacheId('company_api:load', '2314')).toBe('company_api%3Aload:2314');
  });
});

describe('key and namespace validation', () => {
  it('accepts printable keys up to the limit', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: MAX_KEY_LENGTH }), (k) => {
        // biome-ignore lint/suspicious/noControlCharactersInRegex: filtering the generator
        fc.pre(!/[\u0000-\u001f\u007f]/.test(k));
        expect(() => validateKey(k)).not.toThrow();
      }),
    );
  });

  it('rejects empty, over-long, control-character and non-string keys with KEY_INVALID', () => {
    for (const bad of [
      '',
      'x'.repeat(MAX_KEY_LENGTH + 1),
      'a\tb',
      'line\n',
      '\u007f',
      42,
      null,
      undefined,
      {},
    ]) {
      const err = (() => {
        try {
          validateKey(bad);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(CacheError);
      expect((err as CacheError).code).toBe('EARSHOT_CACHE_KEY_INVALID');
    }
  });

  it('rejects bad namespaces the same way', () => {
    for (const bad of ['', 'n'.repeat(129), 'a\u0000b', 7]) {
      expect(() => validateNamespace(bad)).toThrow(CacheError);
    }
    expect(() => validateNamespace('company_api:load')).not.toThrow();
  });
});
