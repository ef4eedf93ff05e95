/**
 * Hostile configuration objects and environments: `defineConfig`, `loadConfigFromEnv` and the
 * cache manager's options either return a valid configuration or throw one `ConfigError`, never
 * anything else, never touch a prototype, and never echo a secret.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createCacheManager } from '../../src/cache/index.js';
import {
  defineConfig,
  earshotConfigSchema,
  loadConfigFromEnv,
  redactConfig,
} from '../../src/config/index.js';
import { ConfigError, EarshotError } from '../../src/errors.js';
import {
  assertNoPollution,
  hostileValue,
  RAW_FRAGMENTS,
  runs,
  timeoutFor,
  typedOutcomeSync,
} from './helpers.js';

afterEach(() => assertNoPollution());

const SECRET = 'sk-hostile-config-SECRET-0123456789';

/** A value for any config leaf: mostly plausible, often hostile. */
const leaf = fc.oneof(
  fc.constantFrom(1, 50, 90, 99.9, 100, 0, -1, 1e9, 1e308, Number.NaN, Number.POSITIVE_INFINITY, -0, 0.5),
  fc.constantFrom('redis://127.0.0.1:6379', `rediss://u:${SECRET}@h:1/0`, `http://u:${SECRET}@h`, 'earshot:'),
  fc.constantFrom('reference', 'freeze', 'clone', 'overflow', 'throw', '', ' ', '\u0000', 'x'.repeat(200)),
  hostileValue,
  fc.constant(undefined),
  fc.constant(() => 1),
  fc.constant(Symbol('s')),
  fc.constant(10n),
  fc.constant(new Date(0)),
  fc.constant(new Map([['a', 1]])),
);

/** Objects whose keys are the config's, plus prototype keys and random ones. */
const KEYS = [
  'targets',
  'percentile',
  'operations',
  'stretch',
  'stt',
  'llm',
  'e2e',
  'cache',
  'namespaces',
  'ttlSeconds',
  'graceSeconds',
  'memory',
  'maxEntries',
  'maxBytes',
  'valueMode',
  'maxValueBytes',
  'redis',
  'url',
  'keyPrefix',
  'commandTimeoutMs',
  'connectTimeoutMs',
  'monitor',
  'significantDigits',
  'maxSeries',
  'onCardinalityExceeded',
  'windowMs',
  'windowSlices',
  'providers',
  'openai',
  'deepgram',
  'apiKey',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'company_api:load',
  '',
  '\ud800',
];

const configLike: fc.Arbitrary<unknown> = fc.letrec<{ node: unknown }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc
      .array(fc.tuple(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 8 })), tie('node')), {
        maxLength: 6,
      })
      .map((entries) => {
        const o: Record<string, unknown> = {};
        // defineProperty: a "__proto__" key becomes an own property, as JSON.parse would make it.
        for (const [k, v] of entries)
          Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
        return o;
      }),
    fc.array(tie('node'), { maxLength: 3 }),
  ),
})).node;

/** Checks the invariants of a resolved configuration. */
function checkResolved(config: ReturnType<typeof defineConfig>): void {
  expect(config.targets.percentile).toBeGreaterThan(0);
  expect(config.targets.percentile).toBeLessThan(100);
  for (const ms of Object.values(config.targets.operations)) {
    expect(Number.isFinite(ms) && ms > 0).toBe(true);
  }
  for (const [name, ns] of Object.entries(config.cache.namespaces)) {
    expect(name.length).toBeGreaterThan(0);
    expect(Number.isFinite(ns.ttlSeconds) && ns.ttlSeconds > 0).toBe(true);
    expect(Number.isFinite(ns.graceSeconds) && ns.graceSeconds >= 0).toBe(true);
  }
  expect(Number.isInteger(config.cache.memory.maxEntries) && config.cache.memory.maxEntries > 0).toBe(true);
  expect(Object.getPrototypeOf(config.cache.namespaces)).toBe(Object.prototype);
  expect(Object.getPrototypeOf(config.targets.operations)).toBe(Object.prototype);
  // A resolved config is itself valid input, and printing it never shows a secret.
  expect(earshotConfigSchema.safeParse(config).success).toBe(true);
  expect(JSON.stringify(config)).not.toContain(SECRET);
  // The redacted copy has the same shape; a string differs only where something was masked
  // (it need not re-validate: a value equal to a registered key, say a Redis URL, is masked whole).
  sameShapeRedacted(structuredClone(config), redactConfig(config), 'config');
}

function sameShapeRedacted(original: unknown, redacted: unknown, path: string): void {
  if (typeof original === 'string') {
    if (redacted !== original) expect(redacted, path).toContain('[REDACTED]');
    return;
  }
  if (original === null || typeof original !== 'object') {
    expect(redacted, path).toEqual(original);
    return;
  }
  expect(typeof redacted, path).toBe('object');
  expect(Object.getPrototypeOf(redacted), path).toBe(
    Array.isArray(original) ? Array.prototype : Object.prototype,
  );
  expect(Object.keys(redacted as object), path).toEqual(Object.keys(original));
  for (const [k, v] of Object.entries(original)) {
    sameShapeRedacted(v, (redacted as Record<string, unknown>)[k], `${path}.${k}`);
  }
}

describe('hostile config objects', () => {
  it('defineConfig returns a valid config or throws one ConfigError for any input', {
    timeout: timeoutFor(20_000),
  }, () => {
    fc.assert(
      fc.property(configLike, (input) => {
        const r = typedOutcomeSync(() => defineConfig(input as never), 'defineConfig');
        if (r.ok) checkResolved(r.value);
        else {
          expect(r.error).toBeInstanceOf(ConfigError);
          const e = r.error as ConfigError;
          expect(e.issues.length).toBeGreaterThan(0);
          for (const issue of e.issues) {
            expect(typeof issue.path).toBe('string');
            expect(typeof issue.message).toBe('string');
          }
          expect(e.message).not.toContain(SECRET);
          expect(JSON.stringify(e)).not.toContain(SECRET);
        }
        assertNoPollution();
      }),
      runs(600),
    );
  });

  it('defineConfig is safe on JSON text carrying __proto__ and constructor payloads', {
    timeout: timeoutFor(20_000),
  }, () => {
    const fragments = RAW_FRAGMENTS.filter((f) => f.length < 10_000);
    fc.assert(
      fc.property(
        fc.constantFrom(
          'targets',
          'operations',
          'cache',
          'namespaces',
          'memory',
          'providers',
          'monitor',
          'stretch',
        ),
        fc.constantFrom(...fragments),
        (where, fragment) => {
          const text = `{"targets":{"operations":{"${where === 'operations' ? '__proto__' : 'stt'}":${where === 'operations' ? fragment : 100}},"stretch":${where === 'stretch' ? fragment : '{}'}},"cache":{"namespaces":${where === 'namespaces' ? fragment : '{"faq":{"ttlSeconds":5}}'},"memory":${where === 'memory' ? fragment : '{}'}},"providers":${where === 'providers' ? fragment : '{}'},"monitor":${where === 'monitor' ? fragment : '{}'},"${where}":${fragment}}`;
          const input = JSON.parse(text) as unknown;
          const r = typedOutcomeSync(() => defineConfig(input as never), 'defineConfig(JSON)');
          if (r.ok) checkResolved(r.value);
          else expect(r.error).toBeInstanceOf(ConfigError);
          assertNoPollution();
        },
      ),
      runs(200),
    );
  });

  it('a ConfigError never carries the API key, whatever else is wrong', {
    timeout: timeoutFor(20_000),
  }, () => {
    fc.assert(
      fc.property(
        configLike,
        fc.constantFrom('openai', 'deepgram', 'elevenlabs', 'pinecone'),
        (junk, provider) => {
          const input = { targets: junk, cache: { redis: { url: `redis://user:${SECRET}@127.0.0.1:1` } } };
          const withKey = { ...input, providers: { [provider]: { apiKey: SECRET } } };
          const r = typedOutcomeSync(() => defineConfig(withKey as never), 'defineConfig');
          const text = r.ok
            ? `${JSON.stringify(r.value)} ${String(r.value)}`
            : `${r.error.message} ${r.error.toString()} ${JSON.stringify(r.error)}`;
          expect(text).not.toContain(SECRET);
        },
      ),
      runs(300),
    );
  });

  it('loadConfigFromEnv returns a config or one ConfigError for any environment', {
    timeout: timeoutFor(20_000),
  }, () => {
    const names = fc.oneof(
      fc.constantFrom(
        'REDIS_URL',
        'OPENAI_API_KEY',
        'EARSHOT_PERCENTILE',
        'EARSHOT_REDIS_KEY_PREFIX',
        'EARSHOT_REDIS_TIMEOUT_MS',
        'EARSHOT_CACHE_MAX_ENTRIES',
        'EARSHOT_CACHE_MAX_BYTES',
        'EARSHOT_MAX_SERIES',
        'EARSHOT_TARGET_',
        'EARSHOT_TARGET___PROTO__',
        'EARSHOT_TARGET_CONSTRUCTOR',
        'EARSHOT_TTL___PROTO__',
        'EARSHOT_TTL_CONSTRUCTOR',
        'EARSHOT_TTL_TOSTRING',
        'EARSHOT_TTL_',
        'EARSHOT_TTL__',
        'EARSHOT_TTL_COMPANY_API__LOAD',
      ),
      fc.string({ maxLength: 12 }).map((s) => `EARSHOT_TTL_${s}`),
      fc.string({ maxLength: 12 }).map((s) => `EARSHOT_TARGET_${s}`),
    );
    const values = fc.oneof(
      fc.constantFrom('1', '0', '-5', '1e400', 'NaN', 'Infinity', '0x10', ' 12 ', '', '   ', '3.5', '1e-400'),
      fc.constantFrom(
        `redis://:${SECRET}@127.0.0.1:6379`,
        'redis://[::1',
        'http://x',
        `rediss://u:${SECRET}@`,
      ),
      fc.string({ maxLength: 20 }),
      fc.string({ unit: 'binary', maxLength: 20 }),
    );
    fc.assert(
      fc.property(fc.dictionary(names, values, { maxKeys: 6 }), (env) => {
        const r = typedOutcomeSync(() => loadConfigFromEnv(env), 'loadConfigFromEnv');
        if (r.ok) checkResolved(r.value);
        else {
          expect(r.error).toBeInstanceOf(ConfigError);
          expect(r.error.message).not.toContain(SECRET);
        }
        assertNoPollution();
      }),
      runs(600),
    );
  });

  it('createCacheManager rejects hostile options with a typed error and nothing else', {
    timeout: timeoutFor(20_000),
  }, async () => {
    await fc.assert(
      fc.asyncProperty(configLike, async (options) => {
        const r = typedOutcomeSync(
          () => createCacheManager({ ...(options as object), monitor: false } as never),
          'createCacheManager',
        );
        if (r.ok) await r.value.close();
        else expect(r.error).toBeInstanceOf(EarshotError);
        assertNoPollution();
      }),
      runs(300),
    );
  });
});

describe('hostile config: unknown keys and numeric bounds (issue 17 #14, issue 15 #13/#23)', () => {
  /** Object paths of the config where an unknown key must be reported. */
  const OBJECT_PATHS: string[][] = [
    [],
    ['targets'],
    ['cache'],
    ['cache', 'memory'],
    ['cache', 'redis'],
    ['cache', 'namespaces', 'faq'],
    ['monitor'],
    ['providers'],
    ['providers', 'openai'],
  ];

  it('an unknown key at any object path is one ConfigError naming that path', {
    timeout: timeoutFor(30_000),
  }, () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...OBJECT_PATHS),
        fc.stringMatching(/^[a-z][a-zA-Z]{2,12}$/),
        fc.anything(),
        (path, key, value) => {
          fc.pre(!['url', 'apiKey', 'ttlSeconds', 'graceSeconds', 'percentile'].includes(key));
          const input: Record<string, unknown> = { cache: { namespaces: { faq: { ttlSeconds: 60 } } } };
          let at = input;
          for (const p of path) {
            at[p] = (at[p] as Record<string, unknown> | undefined) ?? {};
            at = at[p] as Record<string, unknown>;
          }
          const known = Object.hasOwn(at, key) || KEYS.includes(key);
          fc.pre(!known);
          at[key] = value;
          const outcome = typedOutcomeSync(() => defineConfig(input as never), 'defineConfig');
          expect(outcome.ok).toBe(false);
          if (!outcome.ok) {
            expect(outcome.error).toBeInstanceOf(ConfigError);
            const paths = (outcome.error as ConfigError).issues.map((i) => i.path);
            expect(paths).toContain([...path, key].join('.'));
          }
        },
      ),
      runs(200),
    );
  });

  it('any integer env value past its bound is a ConfigError naming the variable, never a RangeError', {
    timeout: timeoutFor(30_000),
  }, () => {
    const vars = ['EARSHOT_CACHE_MAX_ENTRIES', 'EARSHOT_CACHE_MAX_BYTES', 'EARSHOT_MAX_SERIES'] as const;
    fc.assert(
      fc.property(
        fc.constantFrom(...vars),
        fc.double({ min: 2 ** 40 + 1, max: 1e300, noNaN: true }),
        (name, n) => {
          const outcome = typedOutcomeSync(
            () => loadConfigFromEnv({ [name]: String(n) }),
            'loadConfigFromEnv',
          );
          expect(outcome.ok).toBe(false);
          if (!outcome.ok) {
            expect(outcome.error).toBeInstanceOf(ConfigError);
            expect((outcome.error as ConfigError).message).toContain(name);
          }
        },
      ),
      runs(100),
    );
  });
});
