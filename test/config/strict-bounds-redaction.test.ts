/**
 * Issue 17 items 11 and 14, issue 15 items 13 and 23: every nested part of a resolved config
 * redacts, unknown keys are rejected with a "did you mean", and numeric settings have one set
 * of bounds in the schema (the monitor and the memory tier accept what the schema accepts).
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createCacheManager } from '../../src/cache/index.js';
import {
  CONFIG_LIMITS,
  ConfigError,
  defineConfig,
  type EarshotConfigInput,
  loadConfigFromEnv,
  PerformanceMonitor,
} from '../../src/index.js';

const KEY = 'sk-nested-redaction-7f3a9c';
const PASSWORD = 'redis-pass-nested-91b2';

/** Every object inside `value` (the value itself included), with its path. */
function objectsOf(value: unknown, path = 'config'): [string, object][] {
  if (value === null || typeof value !== 'object') return [];
  const out: [string, object][] = [[path, value]];
  for (const [k, v] of Object.entries(value)) out.push(...objectsOf(v, `${path}.${k}`));
  return out;
}

function issuesOf(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues.map((i) => ({ path: i.path, message: i.message }));
  }
  throw new Error('expected a ConfigError');
}

describe('nested parts of a resolved config redact their secrets', () => {
  const config = defineConfig({
    providers: { openai: { apiKey: KEY }, deepgram: { apiKey: `${KEY}-dg` } },
    cache: { redis: { url: `redis://user:${PASSWORD}@127.0.0.1:6379/0` } },
  });
  const parts = objectsOf(config);

  it('walks a config with many nested parts', () => {
    // the config, its 4 blocks, providers.*, cache.memory, cache.redis, namespaces...
    expect(parts.length).toBeGreaterThan(15);
  });

  it.each(parts.map(([p, o]) => [p, o] as const))(
    '%s: JSON.stringify, String and inspect hide keys and passwords',
    (_path, part) => {
      for (const shown of [JSON.stringify(part), String(part), inspect(part, { depth: 10 })]) {
        expect(shown).not.toContain(KEY);
        expect(shown).not.toContain(PASSWORD);
      }
    },
  );

  it('the values themselves are still there for the code that needs them', () => {
    expect(config.providers.openai.apiKey).toBe(KEY);
    expect(config.cache.redis?.url).toContain(PASSWORD);
    expect(JSON.stringify(config.providers.openai)).toBe('{"apiKey":"[REDACTED]"}');
  });

  it('the shared defaults are not touched (a second config is independent)', () => {
    const other = defineConfig();
    expect(other.cache.namespaces.llm).not.toBe(config.cache.namespaces.llm);
    expect(JSON.stringify(other.cache.namespaces.llm)).toBe('{"ttlSeconds":1800,"graceSeconds":0}');
  });
});

describe('unknown keys are rejected with their path and a suggestion', () => {
  const cases: [EarshotConfigInput | Record<string, unknown>, string, string | undefined][] = [
    [{ cache: { namespace: { faq: { ttlSeconds: 60 } } } }, 'cache.namespace', 'namespaces'],
    [{ cahce: {} }, 'cahce', 'cache'],
    [{ targets: { percentil: 95 } }, 'targets.percentil', 'percentile'],
    [{ cache: { memory: { maxEntrie: 5 } } }, 'cache.memory.maxEntrie', 'maxEntries'],
    [{ cache: { redis: { keyprefix: 'x:' } } }, 'cache.redis.keyprefix', 'keyPrefix'],
    [
      { cache: { namespaces: { faq: { ttlSeconds: 60, grace: 5 } } } },
      'cache.namespaces.faq.grace',
      undefined,
    ],
    [{ monitor: { maxSeris: 10 } }, 'monitor.maxSeris', 'maxSeries'],
    [{ providers: { opnai: { apiKey: 'x' } } }, 'providers.opnai', 'openai'],
    [{ providers: { openai: { key: 'x' } } }, 'providers.openai.key', undefined],
  ];
  it.each(cases)('%j → %s', (input, path, guess) => {
    const issues = issuesOf(() => defineConfig(input as EarshotConfigInput));
    const issue = issues.find((i) => i.path === path);
    expect(issue?.message).toMatch(/^unknown key/);
    if (guess) expect(issue?.message).toContain(`did you mean "${guess}"?`);
    else expect(issue?.message).toContain('known keys here:');
  });

  it('operation names and namespace names stay open (they are records)', () => {
    const c = defineConfig({
      targets: { operations: { my_op: 12 }, stretch: { my_op: 5 } },
      cache: { namespaces: { faq: { ttlSeconds: 60 } } },
    });
    expect(c.targets.operations.my_op).toBe(12);
    expect(c.cache.namespaces.faq?.ttlSeconds).toBe(60);
  });

  it('an unknown key in the base of loadConfigFromEnv is rejected too', () => {
    const issues = issuesOf(() => loadConfigFromEnv({}, { cache: { namespace: {} } } as EarshotConfigInput));
    expect(issues.map((i) => i.path)).toContain('cache.namespace');
  });
});

describe('numeric settings have bounds, in the schema', () => {
  it.each([
    ['EARSHOT_CACHE_MAX_ENTRIES', '20000000', 'maxEntries'],
    ['EARSHOT_CACHE_MAX_ENTRIES', '5000000000', 'maxEntries'],
    ['EARSHOT_CACHE_MAX_BYTES', String(2 ** 41), 'maxBytes'],
    ['EARSHOT_MAX_SERIES', '5000000', 'maxSeries'],
  ])('%s=%s is a ConfigError naming the variable', (name, value) => {
    const issues = issuesOf(() => loadConfigFromEnv({ [name]: value }));
    expect(issues[0]?.path).toContain(name);
    expect(issues[0]?.message).toMatch(/at most/);
  });

  it('every value at the bound is accepted by the config AND by the component that uses it', () => {
    const c = defineConfig({
      cache: { memory: { maxEntries: CONFIG_LIMITS.maxEntries, maxBytes: CONFIG_LIMITS.maxBytes } },
      monitor: { maxSeries: CONFIG_LIMITS.maxSeries },
    });
    expect(() => new PerformanceMonitor({ maxSeries: c.monitor.maxSeries })).not.toThrow();
    const cache = createCacheManager({ memory: c.cache.memory, monitor: false });
    return cache.close();
  });

  it('one past every bound is rejected by the config', () => {
    const issues = issuesOf(() =>
      defineConfig({
        cache: {
          memory: { maxEntries: CONFIG_LIMITS.maxEntries + 1, maxBytes: CONFIG_LIMITS.maxBytes + 1 },
          maxValueBytes: CONFIG_LIMITS.maxValueBytes + 1,
        },
        monitor: { maxSeries: CONFIG_LIMITS.maxSeries + 1, windowMs: CONFIG_LIMITS.windowMs + 1 },
      }),
    );
    expect(issues.map((i) => i.path).sort()).toEqual(
      [
        'cache.maxValueBytes',
        'cache.memory.maxBytes',
        'cache.memory.maxEntries',
        'monitor.maxSeries',
        'monitor.windowMs',
      ].sort(),
    );
  });
});

describe('environment numbers and URLs', () => {
  it.each(['0x10', '0b11', '0o7', 'Infinity', '1_000', '10ms', '1e', '--1'])(
    'EARSHOT_TARGET_STT=%s is not a number',
    (raw) => {
      const issues = issuesOf(() => loadConfigFromEnv({ EARSHOT_TARGET_STT: raw }));
      expect(issues[0]?.path).toBe('EARSHOT_TARGET_STT');
    },
  );

  it.each(['250', '250.5', '.5', '2.5e2', ' 250 '])('EARSHOT_TARGET_STT=%j is read', (raw) => {
    expect(loadConfigFromEnv({ EARSHOT_TARGET_STT: raw }).targets.operations.stt).toBe(Number(raw));
  });

  it.each([
    `redis://user:${PASSWORD}%zz@127.0.0.1:6379`,
    `redis://user%:${PASSWORD}@127.0.0.1:6379`,
    `redis://:${PASSWORD}%E0%A4%A@127.0.0.1:6379`,
  ])('a Redis URL with a bad %%-escape is a ConfigError that does not echo the URL', (url) => {
    let err: unknown;
    try {
      loadConfigFromEnv({ REDIS_URL: url });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('REDIS_URL');
    expect((err as Error).message).toContain('%25');
    expect((err as Error).message).not.toContain(PASSWORD);
  });
});
