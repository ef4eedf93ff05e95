import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_KEY_LENGTH,
  MAX_NAMESPACE_LENGTH,
  validateKey,
  validateNamespace,
} from '../../src/cache/index.js';
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
      { numRuns: 5000, seed: 1313 },
    );
  });

  it('split back into the namespace and key they were built from', () => {
    fc.assert(
      fc.property(fc.oneof(tricky, anyText), fc.oneof(tricky, anyText), (ns, key) => {
        expect(splitCacheId(cacheId(ns, key))).toEqual({ namespace: ns, key });
      }),
      { seed: 1313 },
    );
  });

  it('escape namespaces reversibly and without colons', () => {
    fc.assert(
      fc.property(fc.oneof(tricky, anyText), (ns) => {
        const e = escapeNamespace(ns);
        expect(e).not.toContain(':');
        expect(unescapeNamespace(e)).toBe(ns);
      }),
      { seed: 1313 },
    );
  });

  it('can never start with the reserved prefix used for locks and channels', () => {
    fc.assert(
      fc.property(fc.oneof(tricky, anyText), fc.oneof(tricky, anyText), (ns, key) => {
        expect(cacheId(ns, key).startsWith(RESERVED_ID_PREFIX)).toBe(false);
      }),
      { seed: 1313 },
    );
  });

  it('keep the readable form for plain namespaces', () => {
    expect(cacheId('llm', 'q:1')).toBe('llm:q:1');
    expect(cacheId('company_api:load', '2314')).toBe('company_api%3Aload:2314');
  });
});

describe('cache ids: the known ambiguous cases, pinned (not left to a random run)', () => {
  it('escapes % before : and reverses in the opposite order', () => {
    expect(escapeNamespace('%')).toBe('%25');
    expect(escapeNamespace(':')).toBe('%3A');
    expect(escapeNamespace('%3A')).toBe('%253A');
    expect(escapeNamespace('a:b:c')).toBe('a%3Ab%3Ac');
    expect(escapeNamespace('50%:x%')).toBe('50%25%3Ax%25');
    expect(escapeNamespace('plain')).toBe('plain');
    expect(unescapeNamespace('%253A')).toBe('%3A');
    expect(unescapeNamespace('a%3Ab%3Ac')).toBe('a:b:c');
    expect(unescapeNamespace('50%25%3Ax%25')).toBe('50%:x%');
    expect(unescapeNamespace('plain')).toBe('plain');
  });

  it('keeps apart the pairs whose naive joins collide', () => {
    const pairs: [string, string][] = [
      ['a', 'b:c'],
      ['a:b', 'c'],
      ['a%3Ab', 'c'],
      ['a', '%3Ab:c'],
      ['a%', '3Ab:c'],
      ['a%25', 'c'],
      ['a%', 'c'],
    ];
    const ids = pairs.map(([ns, k]) => cacheId(ns, k));
    expect(ids).toEqual(['a:b:c', 'a%3Ab:c', 'a%253Ab:c', 'a:%3Ab:c', 'a%25:3Ab:c', 'a%2525:c', 'a%25:c']);
    expect(new Set(ids).size).toBe(pairs.length);
    for (const [i, [ns, key]] of pairs.entries())
      expect(splitCacheId(ids[i]!)).toEqual({ namespace: ns, key });
  });

  it('splits at the first colon only, and refuses a string without one', () => {
    expect(splitCacheId('a:b:c')).toEqual({ namespace: 'a', key: 'b:c' });
    expect(splitCacheId('ns:')).toEqual({ namespace: 'ns', key: '' });
    const err = (() => {
      try {
        splitCacheId('no-colon-here');
      } catch (e) {
        return e;
      }
    })() as CacheError;
    expect(err).toBeInstanceOf(CacheError);
    expect(err.code).toBe('EARSHOT_CACHE_KEY_INVALID');
    expect(err.message).toBe('Not a cache id: "no-colon-here".');
  });

  it('reserves %! and never produces it from a namespace', () => {
    expect(RESERVED_ID_PREFIX).toBe('%!');
    expect(cacheId('%!lock', 'k').startsWith(RESERVED_ID_PREFIX)).toBe(false);
    expect(cacheId('%!lock', 'k')).toBe('%25!lock:k');
  });
});

describe('key and namespace validation', () => {
  it('pins the limits and the characters at their edges', () => {
    expect(MAX_KEY_LENGTH).toBe(1024);
    expect(MAX_NAMESPACE_LENGTH).toBe(128);
    expect(() => validateKey('k'.repeat(MAX_KEY_LENGTH))).not.toThrow();
    expect(() => validateKey('k'.repeat(MAX_KEY_LENGTH + 1))).toThrow(/length 1025/);
    expect(() => validateNamespace('n'.repeat(MAX_NAMESPACE_LENGTH))).not.toThrow();
    expect(() => validateNamespace('n'.repeat(MAX_NAMESPACE_LENGTH + 1))).toThrow(CacheError);
    for (const ok of [' ', '~', '\u0080', '😀', 'a b']) {
      expect(() => validateKey(ok)).not.toThrow();
      expect(() => validateNamespace(ok)).not.toThrow();
    }
    for (const bad of ['\u0000', '\u001f', '\u007f', 'a\uD800', '\uDC00b', '']) {
      expect(() => validateKey(bad)).toThrow(CacheError);
      expect(() => validateNamespace(bad)).toThrow(CacheError);
    }
  });

  it('says what was wrong, quoting at most 40 characters of the bad key', () => {
    const msg = (() => {
      try {
        validateKey(`${'x'.repeat(50)}\n`);
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(msg).toContain(`"${'x'.repeat(40)}"…`);
    expect(msg).toContain('(length 51)');
    expect(msg).toContain('at most 1024 characters');
    const typed = (() => {
      try {
        validateKey(42);
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(typed).toContain('got number.');
    const ns = (() => {
      try {
        validateNamespace('bad\u0001');
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(ns).toContain('Cache namespace must be a non-empty string of at most 128 characters');
    expect(ns).toContain('got "bad\\u0001".');
  });

  it('accepts printable keys up to the limit', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: MAX_KEY_LENGTH }), (k) => {
        // biome-ignore lint/suspicious/noControlCharactersInRegex: filtering the generator
        fc.pre(!/[\u0000-\u001f\u007f]/.test(k));
        expect(() => validateKey(k)).not.toThrow();
      }),
      { seed: 1313 },
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

describe('cache ids: edges pinned by the mutation run', () => {
  it('splits an id whose namespace is empty (the inverse of cacheId for any string)', () => {
    expect(cacheId('', 'k')).toBe(':k');
    expect(splitCacheId(':k')).toEqual({ namespace: '', key: 'k' });
  });

  it('quotes a bad id of up to 40 characters whole, and cuts a longer one with an ellipsis', () => {
    const message = (id: string) => {
      try {
        splitCacheId(id);
      } catch (e) {
        return (e as CacheError).message;
      }
      throw new Error('expected splitCacheId to throw');
    };
    expect(message('x'.repeat(40))).toBe(`Not a cache id: "${'x'.repeat(40)}".`);
    expect(message('x'.repeat(41))).toBe(`Not a cache id: "${'x'.repeat(40)}"….`);
  });
});
