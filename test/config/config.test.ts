import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  configJsonSchema,
  DEFAULT_NAMESPACES,
  defaultTargets,
  defineConfig,
  loadConfigFromEnv,
  redact,
  redactConfig,
} from '../../src/index.js';

describe('defaults', () => {
  it('latency targets default to the source design table (ms at P90)', () => {
    expect(defaultTargets()).toEqual({
      percentile: 90,
      operations: {
        stt: 100,
        llm: 300,
        tts: 100,
        company_api: 50,
        search: 100,
        e2e: 500,
        cache_read: 5,
        cache_write: 10,
      },
      stretch: { e2e: 335 },
    });
  });

  it('cache namespaces default to the source design TTLs', () => {
    const c = defineConfig();
    expect(c.cache.namespaces['company_api:load']?.ttlSeconds).toBe(300);
    expect(c.cache.namespaces['company_api:inventory']?.ttlSeconds).toBe(600);
    expect(c.cache.namespaces['company_api:equipment']?.ttlSeconds).toBe(300);
    expect(c.cache.namespaces.pinecone?.ttlSeconds).toBe(3600);
    expect(c.cache.namespaces.llm?.ttlSeconds).toBe(1800);
    expect(Object.keys(DEFAULT_NAMESPACES)).toContain('tts');
  });

  it('user namespaces and targets are merged over the defaults', () => {
    const c = defineConfig({
      targets: { operations: { llm: 250, asr_custom: 80 } },
      cache: { namespaces: { faq: { ttlSeconds: 60 } } },
    });
    expect(c.targets.operations.llm).toBe(250);
    expect(c.targets.operations.stt).toBe(100);
    expect(c.targets.operations.asr_custom).toBe(80);
    expect(c.cache.namespaces.faq).toEqual({ ttlSeconds: 60, graceSeconds: 0 });
    expect(c.cache.namespaces.llm?.ttlSeconds).toBe(1800);
  });
});

describe('invalid configuration', () => {
  it('reports every invalid field with its path, not just the first', () => {
    try {
      defineConfig({
        targets: { percentile: 120, operations: { stt: -1 } },
        cache: {
          namespaces: {
            '': { ttlSeconds: 10 },
            a: { ttlSeconds: 0 },
            b: { ttlSeconds: Number.NaN },
            c: { ttlSeconds: 40_000_000 },
          },
          redis: { url: 'http://localhost:6379', commandTimeoutMs: -5 },
          memory: { maxEntries: 1.5 },
        },
        monitor: { significantDigits: 9, onCardinalityExceeded: 'explode' as never },
        providers: { openai: { apiKey: '' } },
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const paths = (err as ConfigError).issues.map((i) => i.path).sort();
      expect(paths).toEqual(
        [
          'cache.memory.maxEntries',
          'cache.namespaces.""',
          'cache.namespaces.a.ttlSeconds',
          'cache.namespaces.b.ttlSeconds',
          'cache.namespaces.c.ttlSeconds',
          'cache.redis.commandTimeoutMs',
          'cache.redis.url',
          'monitor.onCardinalityExceeded',
          'monitor.significantDigits',
          'providers.openai.apiKey',
          'targets.operations.stt',
          'targets.percentile',
        ].sort(),
      );
      expect((err as ConfigError).code).toBe('EARSHOT_CONFIG_INVALID');
    }
  });

  it('rejects TTLs of 0, negative, NaN and over a year', () => {
    for (const ttlSeconds of [0, -1, Number.NaN, 366 * 86_400, Number.POSITIVE_INFINITY]) {
      expect(() => defineConfig({ cache: { namespaces: { x: { ttlSeconds } } } })).toThrow(ConfigError);
    }
  });

  it('never crashes on arbitrary input: a config or a ConfigError', () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        try {
          defineConfig(input as never);
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('secrets', () => {
  const KEY = 'sk-test-9f8e7d6c5b4a3210';
  const PASSWORD = 'hunter2-redis-pass';

  it('secrets never appear in JSON, String, inspect or error output', () => {
    const c = loadConfigFromEnv({ OPENAI_API_KEY: KEY, REDIS_URL: `redis://app:${PASSWORD}@10.0.0.1:6379` });
    expect(c.providers.openai.apiKey).toBe(KEY); // usable by code
    for (const text of [JSON.stringify(c), String(c), inspect(c, { depth: 10 }), `${c}`]) {
      expect(text).not.toContain(KEY);
      expect(text).not.toContain(PASSWORD);
      expect(text).toContain('[REDACTED]');
    }
  });

  it('a ConfigError never prints a secret, even when the secret is the bad value', () => {
    const env = { DEEPGRAM_API_KEY: KEY, REDIS_URL: `http://u:${PASSWORD}@host`, EARSHOT_TARGET_LLM: KEY };
    try {
      loadConfigFromEnv(env);
      expect.unreachable();
    } catch (err) {
      const e = err as ConfigError;
      for (const text of [e.message, String(e), JSON.stringify(e), inspect(e), e.stack ?? '']) {
        expect(text).not.toContain(KEY);
        expect(text).not.toContain(PASSWORD);
      }
      expect(e.issues.map((i) => i.path)).toEqual(['EARSHOT_TARGET_LLM', 'REDIS_URL (cache.redis.url)']);
    }
  });

  it('a credential outside the secret fields (a key prefix holding a Redis URL) is redacted too', () => {
    // Regression: redactConfig only masked apiKey and the Redis URL, so this printed the password.
    const c = loadConfigFromEnv({
      REDIS_URL: 'redis://127.0.0.1:6379',
      EARSHOT_REDIS_KEY_PREFIX: `redis://:${PASSWORD}@10.0.0.2:6379/`,
    });
    expect(c.cache.redis?.keyPrefix).toContain(PASSWORD); // the live value is untouched
    for (const text of [JSON.stringify(c), String(c), inspect(c, { depth: 10 })]) {
      expect(text).not.toContain(PASSWORD);
      expect(text).toContain('redis://:[REDACTED]@10.0.0.2:6379/');
    }
  });

  it('a __proto__ key in the input is a ConfigError naming it, not silently dropped', () => {
    // zod strips own __proto__ keys, so this namespace used to vanish without a word.
    const input = JSON.parse(
      '{"cache":{"namespaces":{"__proto__":{"ttlSeconds":7},"faq":{"ttlSeconds":5}}}}',
    );
    expect(() => defineConfig(input)).toThrow(ConfigError);
    try {
      defineConfig(input);
    } catch (err) {
      expect((err as ConfigError).issues.map((i) => i.path)).toEqual(['cache.namespaces.__proto__']);
    }
    expect(({} as Record<string, unknown>).ttlSeconds).toBeUndefined();
  });

  it('redactConfig keeps a key named __proto__ a plain key and leaves prototypes alone', () => {
    const config = defineConfig({});
    const namespaces = JSON.parse('{"__proto__":{"ttlSeconds":7,"graceSeconds":0}}') as Record<string, never>;
    const hostile = { ...config, cache: { ...config.cache, namespaces } };
    const out = redactConfig(hostile).cache.namespaces as Record<string, unknown>;
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toEqual({
      ttlSeconds: 7,
      graceSeconds: 0,
    });
    expect(({} as Record<string, unknown>).ttlSeconds).toBeUndefined();
  });

  it('redact masks registered secrets, URL passwords and auth headers', () => {
    loadConfigFromEnv({ ELEVENLABS_API_KEY: 'el-0123456789abcdef' });
    expect(redact('key el-0123456789abcdef failed')).toBe('key [REDACTED] failed');
    expect(redact('rediss://user:pa55word@cache:6380/0')).toBe('rediss://user:[REDACTED]@cache:6380/0');
    expect(redact('authorization: Bearer abcdefghijklmnop')).toBe('authorization: Bearer [REDACTED]');
  });
});

describe('environment', () => {
  it('reads targets, TTLs and Redis settings from EARSHOT_* variables', () => {
    const c = loadConfigFromEnv({
      EARSHOT_TARGET_LLM: '250',
      EARSHOT_PERCENTILE: '95',
      EARSHOT_TTL_COMPANY_API__LOAD: '120',
      EARSHOT_REDIS_TIMEOUT_MS: '30',
      REDIS_URL: 'redis://127.0.0.1:6379',
      EARSHOT_CACHE_MAX_ENTRIES: '500',
    });
    expect(c.targets.operations.llm).toBe(250);
    expect(c.targets.percentile).toBe(95);
    expect(c.cache.namespaces['company_api:load']?.ttlSeconds).toBe(120);
    expect(c.cache.redis).toMatchObject({
      url: 'redis://127.0.0.1:6379',
      commandTimeoutMs: 30,
      keyPrefix: 'earshot:',
    });
    expect(c.cache.memory.maxEntries).toBe(500);
  });

  it('with no variables the configuration is the defaults and has no Redis', () => {
    const c = loadConfigFromEnv({});
    expect(c.cache.redis).toBeUndefined();
    expect(c.targets).toEqual(defaultTargets());
  });

  it('names the variable when a number does not parse', () => {
    expect(() => loadConfigFromEnv({ EARSHOT_TARGET_STT: 'fast' })).toThrow(
      /EARSHOT_TARGET_STT: must be a number/,
    );
  });
});

describe('JSON Schema', () => {
  it('describes the config file for editors', () => {
    const schema = configJsonSchema() as {
      properties: Record<string, { properties?: Record<string, unknown> }>;
    };
    expect(Object.keys(schema.properties)).toEqual(['targets', 'cache', 'monitor', 'providers']);
    expect(schema.properties.targets?.properties).toHaveProperty('percentile');
  });
});
