/**
 * Secrets everywhere: with known fake API keys (and a Redis URL password) set the way a user
 * sets them, every error path we can trigger (provider 401s and servers that echo the key,
 * config errors, cache errors, company-API errors), every exporter (Prometheus, OpenMetrics,
 * CloudWatch EMF, the OpenTelemetry bridge), the monitor's text report, a load run's saved JSON,
 * text and HTML reports, the CLI's `--json` output and everything written to the console must be
 * free of them. Errors are checked the way users print them: `String(err)`, `err.message`,
 * `JSON.stringify(err)`, `err.stack` and `console.error(err)` (util.inspect, causes included).
 */

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { format, inspect } from 'node:util';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CacheManager, createCacheManager } from '../../src/cache/index.js';
import { runCli } from '../../src/cli/run.js';
import { createCachedCompanyApi, createCompanyApiClient } from '../../src/company-api/index.js';
import { defineConfig, loadConfigFromEnv, redactConfig } from '../../src/config/index.js';
import { EarshotError, redact, redactedPrefix, registerSecret } from '../../src/errors.js';
import { EmfExporter, OpenTelemetryBridge, PrometheusExporter, toEmf } from '../../src/exporters/index.js';
import { runClosedModel, type Scenario, summarizeRun } from '../../src/loadtest/index.js';
import { PerformanceMonitor } from '../../src/perf/index.js';
import { DeepgramSpeechToText } from '../../src/providers/deepgram/index.js';
import { ElevenLabsTextToSpeech } from '../../src/providers/elevenlabs/index.js';
import { OpenAIEmbedder, OpenAILanguageModel } from '../../src/providers/openai/index.js';
import { PineconeVectorIndex } from '../../src/providers/pinecone/index.js';
import { createRedisTier, type RedisTier } from '../../src/redis/index.js';
import { formatTextReport, renderHtmlReport } from '../../src/report/index.js';
import {
  type FakeCompanyApi,
  type FakeDeepgram,
  type FakeElevenLabs,
  type FakeOpenAI,
  type FakePinecone,
  fakeEmbed,
  startFakeCompanyApi,
  startFakeDeepgram,
  startFakeElevenLabs,
  startFakeOpenAI,
  startFakePinecone,
  synthesizeFakeSpeech,
} from '../../src/testing/index.js';
import { freePort, requireRedis } from '../redis/helpers.js';
import { drain, timeoutFor, withinMs } from './helpers.js';

// ───────────────────────────── the secrets ─────────────────────────────

/** Fake keys shaped like real ones; each carries EARSHOTFAKE so a partial leak is caught too. */
const KEYS = {
  OPENAI_API_KEY: 'sk-proj-EARSHOTFAKE0openai0Zq9xW2vB7nM4kL1pR8sT3uV6',
  DEEPGRAM_API_KEY: 'dg0EARSHOTFAKE0deepgram0a1b2c3d4e5f6a7b8c9d0e1f2',
  ELEVENLABS_API_KEY: 'sk_EARSHOTFAKE0elevenlabs0f00dbabe1234567890abcd',
  PINECONE_API_KEY: 'pcsk_EARSHOTFAKE0pinecone0_5t9QwErTyUiOpAsDfGh',
  COMPANY_API_KEY: 'cmp-EARSHOTFAKE0company0api0key0123456789abc',
} as const;
const REDIS_PASSWORD = 'r3d!s-EARSHOTFAKE@pw:with/odd%chars';
const ENCODED_PASSWORD = encodeURIComponent(REDIS_PASSWORD);
const ACCEPTED = 'the-only-key-the-fakes-accept';

const NEEDLES = [...Object.values(KEYS), REDIS_PASSWORD, ENCODED_PASSWORD, 'EARSHOTFAKE'];

/** Fails, without printing the secret, when `text` holds any needle. */
function assertClean(where: string, text: string): void {
  for (const n of NEEDLES) {
    const at = text.indexOf(n);
    if (at >= 0) {
      const context = text.slice(Math.max(0, at - 80), at).replace(/\s+/g, ' ');
      throw new Error(`${where} leaks a secret (${n.slice(0, 10)}…) after: "…${context}"`);
    }
  }
}

/** How users print errors. */
function errorText(err: unknown): string {
  const e = err as Error;
  let json = '';
  try {
    json = JSON.stringify(err) ?? '';
  } catch {
    json = '';
  }
  return [String(err), e?.message, json, e?.stack, inspect(err, { depth: 8 }), format('%o', err)].join('\n');
}

/** Runs `fn`, which must fail with a typed error, and checks every printed form of it. */
async function expectCleanFailure(where: string, fn: () => Promise<unknown>): Promise<EarshotError> {
  let caught: unknown;
  try {
    await withinMs(fn(), 15_000, where);
  } catch (err) {
    caught = err;
  }
  expect(caught, `${where} did not fail`).toBeInstanceOf(EarshotError);
  assertClean(`${where} error`, errorText(caught));
  return caught as EarshotError;
}

// ───────────────────────────── captured console ─────────────────────────────

const captured: string[] = [];
const restore: (() => void)[] = [];

function captureConsole(): void {
  for (const m of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    const original = console[m];
    // Captured, not forwarded: the last test prints every error on purpose.
    console[m] = (...args: unknown[]) => {
      captured.push(format(...args));
    };
    restore.push(() => {
      console[m] = original;
    });
  }
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream);
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString());
      return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
    restore.push(() => {
      stream.write = original as typeof stream.write;
    });
  }
}

// ───────────────────────────── a server that echoes credentials ─────────────────────────────

/** Answers every request with `status` and a body (and header) that repeat its credentials. */
function startEchoServer(status: () => number): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    const creds = [req.headers.authorization, req.headers['xi-api-key'], req.headers['api-key'], req.url]
      .filter(Boolean)
      .join(' ');
    // Long echoes put a key across every cut point (120, 200, 300 characters) of the error text.
    const key =
      [req.headers.authorization, req.headers['xi-api-key'], req.headers['api-key']].find(Boolean) ?? '';
    const message = echoLong
      ? `${'p'.repeat(echoPad)}${`${String(key).replace(/^(Bearer|Token) /, '')}|`.repeat(12)}`
      : `invalid credentials: ${creds}`;
    const body = JSON.stringify({
      error: { message, code: 'invalid_api_key', type: 'invalid_request_error' },
      err_code: 'INVALID_AUTH',
      err_msg: message,
      detail: { status: 'invalid_api_key', message },
      message,
    });
    res.writeHead(status(), { 'content-type': 'application/json', 'x-request-id': 'req-echo' });
    res.end(body);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections?.();
            server.close(() => r());
          }),
      });
    });
  });
}

// ───────────────────────────── shared state ─────────────────────────────

const monitor = new PerformanceMonitor();
const collectedErrors: unknown[] = [];
let otel: { provider: MeterProvider; collect(): Promise<string> };
let fakes: {
  openai: FakeOpenAI;
  deepgram: FakeDeepgram;
  elevenlabs: FakeElevenLabs;
  pinecone: FakePinecone;
  company: FakeCompanyApi;
};
let echo: Awaited<ReturnType<typeof startEchoServer>>;
let echoStatus = 401;
let echoLong = false;
let echoPad = 0;
let redisCache: CacheManager | undefined;
let deadRedisCache: CacheManager | undefined;
const savedEnv = { ...process.env };
let dir: string;

const redisUp = await requireRedis('the Redis part of the secrets test');

beforeAll(async () => {
  captureConsole();
  // The keys are where users put them: the environment.
  Object.assign(process.env, KEYS);
  dir = await mkdtemp(join(tmpdir(), 'earshot-secrets-'));
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  new OpenTelemetryBridge(monitor, { meter: provider.getMeter('earshot') });
  otel = {
    provider,
    async collect() {
      exporter.reset();
      await reader.forceFlush();
      return JSON.stringify(exporter.getMetrics());
    },
  };
  const [openai, deepgram, elevenlabs, pinecone, company] = await Promise.all([
    startFakeOpenAI({ apiKey: ACCEPTED, embeddingDimensions: 8 }),
    startFakeDeepgram({ apiKey: ACCEPTED }),
    startFakeElevenLabs({ apiKey: ACCEPTED }),
    startFakePinecone({ apiKey: ACCEPTED, dimension: 8 }),
    startFakeCompanyApi({ apiKey: ACCEPTED, size: { loads: 20, inventory: 20, equipment: 20 } }),
  ]);
  fakes = { openai, deepgram, elevenlabs, pinecone, company };
  echo = await startEchoServer(() => echoStatus);
});

afterAll(async () => {
  await redisCache?.close().catch(() => {});
  await deadRedisCache?.close().catch(() => {});
  await otel?.provider.shutdown();
  await Promise.all(Object.values(fakes ?? {}).map((f) => f.close()));
  await echo?.close();
  for (const r of restore.splice(0).reverse()) r();
  for (const k of Object.keys(KEYS)) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The adapters with the user's keys (from the environment), pointed at `base`. */
function adapters(base: { openai: string; deepgram: string; elevenlabs: string; pinecone: string }) {
  return {
    llm: new OpenAILanguageModel({ baseURL: base.openai, monitor, logLevel: 'off', timeoutMs: 3000 }),
    embedder: new OpenAIEmbedder({
      baseURL: base.openai,
      monitor,
      dimensions: 8,
      logLevel: 'off',
      timeoutMs: 3000,
    }),
    stt: new DeepgramSpeechToText({ baseUrl: base.deepgram, monitor, timeoutMs: 3000 }),
    tts: new ElevenLabsTextToSpeech({ baseUrl: base.elevenlabs, monitor, timeoutMs: 3000 }),
    index: new PineconeVectorIndex({ host: base.pinecone, indexName: 'docs', monitor, timeoutMs: 3000 }),
  };
}

async function everyProviderCall(where: string, a: ReturnType<typeof adapters>): Promise<void> {
  const calls: [string, () => Promise<unknown>][] = [
    ['llm.stream', () => drain(a.llm.stream([{ role: 'user', content: 'Where is load 2314?' }]))],
    ['embedder.embed', () => a.embedder.embed(['trailer damage'])],
    ['stt.transcribe', () => a.stt.transcribe(synthesizeFakeSpeech('hello'), { format: 'pcm_16000' })],
    ['tts.synthesize', () => drain(a.tts.synthesize('Load 2314 is in transit.'))],
    ['index.query', () => a.index.query(fakeEmbed('trailer', 8), { topK: 2 })],
  ];
  for (const [name, call] of calls) collectedErrors.push(await expectCleanFailure(`${where} ${name}`, call));
}

// ───────────────────────────── the tests ─────────────────────────────

describe('secrets never leak', () => {
  it('provider 401s from the fakes carry no key, in any printed form', {
    timeout: timeoutFor(20_000),
  }, async () => {
    const a = adapters({
      openai: fakes.openai.baseURL,
      deepgram: fakes.deepgram.url,
      elevenlabs: fakes.elevenlabs.url,
      pinecone: fakes.pinecone.url,
    });
    await everyProviderCall('fake 401:', a);
    // The WebSocket handshakes are refused too.
    collectedErrors.push(
      await expectCleanFailure('deepgram live 401', async () => {
        const session = await a.stt.stream({ format: 'pcm_16000' });
        await session.close();
      }),
    );
    collectedErrors.push(
      await expectCleanFailure('elevenlabs stream-input 401', () =>
        drain(
          a.tts.synthesizeStream!(
            (async function* () {
              yield 'Hello there.';
            })(),
          ),
        ),
      ),
    );
  });

  it('servers that echo the key back in their error bodies do not leak it', {
    timeout: timeoutFor(20_000),
  }, async () => {
    const a = adapters({
      openai: `${echo.url}/v1`,
      deepgram: echo.url,
      elevenlabs: echo.url,
      pinecone: echo.url,
    });
    for (const status of [401, 400, 429, 500]) {
      echoStatus = status;
      await everyProviderCall(`echo ${status}:`, a);
    }
  });

  it('a key cut in half where an error message is truncated is still not printed', {
    timeout: timeoutFor(20_000),
  }, async () => {
    const a = adapters({
      openai: `${echo.url}/v1`,
      deepgram: echo.url,
      elevenlabs: echo.url,
      pinecone: echo.url,
    });
    const company = createCompanyApiClient({
      baseUrl: echo.url,
      apiKey: KEYS.COMPANY_API_KEY,
      monitor,
      retries: 0,
    });
    echoLong = true;
    try {
      for (const status of [400, 401]) {
        echoStatus = status;
        for (const pad of [0, 12, 24, 36]) {
          echoPad = pad;
          await everyProviderCall(`echo ${status} cut (pad ${pad}):`, a);
          collectedErrors.push(
            await expectCleanFailure(`company echo ${status} cut (pad ${pad})`, () =>
              company.getLoadStatus('1000'),
            ),
          );
        }
      }
      // A URL whose credentials are longer than what the message keeps.
      const port = new URL(fakes.company.url).port;
      const creds = createCompanyApiClient({
        baseUrl: `http://svc:${KEYS.COMPANY_API_KEY}@127.0.0.1:${port}/${'a'.repeat(40)}`,
        monitor,
        retries: 0,
      });
      collectedErrors.push(
        await expectCleanFailure('company URL credentials, cut', () => creds.getLoadStatus('1000')),
      );
    } finally {
      echoLong = false;
      echoPad = 0;
    }
  });

  it('config errors and printed configs carry no key or Redis password', {
    timeout: timeoutFor(20_000),
  }, () => {
    const url = `redis://default:${ENCODED_PASSWORD}@127.0.0.1:6379/0`;
    let err: unknown;
    try {
      defineConfig({
        providers: { openai: { apiKey: KEYS.OPENAI_API_KEY }, deepgram: { apiKey: KEYS.DEEPGRAM_API_KEY } },
        cache: { redis: { url } },
        targets: { percentile: 200 },
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EarshotError);
    assertClean('ConfigError', errorText(err));
    try {
      loadConfigFromEnv({ ...KEYS, REDIS_URL: url, EARSHOT_PERCENTILE: 'high', EARSHOT_TTL_LLM: '-1' });
    } catch (e) {
      err = e;
    }
    assertClean('env ConfigError', errorText(err));
    const config = loadConfigFromEnv({ ...KEYS, REDIS_URL: url });
    expect(config.providers.openai.apiKey).toBe(KEYS.OPENAI_API_KEY); // still usable by code
    assertClean(
      'printed config',
      [JSON.stringify(config), String(config), inspect(config), format('%o', redactConfig(config))].join(
        '\n',
      ),
    );
  });

  it('company-API errors carry no key: 401, echoed keys, credentials in the base URL', {
    timeout: timeoutFor(20_000),
  }, async () => {
    const client = createCompanyApiClient({
      baseUrl: fakes.company.url,
      apiKey: KEYS.COMPANY_API_KEY,
      monitor,
      retries: 0,
    });
    collectedErrors.push(await expectCleanFailure('company 401', () => client.getLoadStatus('1000')));
    const cached = createCachedCompanyApi(client, createCacheManager({ monitor }), { monitor });
    collectedErrors.push(
      await expectCleanFailure('cached company 401', () => cached.listLoads({ limit: 2 })),
    );
    for (const status of [401, 403, 500, 503]) {
      echoStatus = status;
      const echoing = createCompanyApiClient({
        baseUrl: echo.url,
        apiKey: KEYS.COMPANY_API_KEY,
        monitor,
        retries: 1,
        backoffBaseMs: 1,
      });
      collectedErrors.push(
        await expectCleanFailure(`company echo ${status}`, () => echoing.getLoadStatus('1000')),
      );
    }
    const withCreds = `http://svc:${KEYS.COMPANY_API_KEY}@127.0.0.1:${new URL(fakes.company.url).port}`;
    const r = await (async () => {
      try {
        const c = createCompanyApiClient({ baseUrl: withCreds, monitor, retries: 0 });
        return await c.getLoadStatus('1000');
      } catch (e) {
        return e;
      }
    })();
    // Either refused up front or failed: in both cases nothing prints the credential.
    assertClean('company URL credentials', errorText(r));
  });

  it('cache errors carry no Redis password: Redis down, and Redis refusing the password', {
    timeout: timeoutFor(20_000),
  }, async () => {
    const port = await freePort();
    const errors: unknown[] = [];
    const onError = (e: unknown) => errors.push(e);
    const deadTier = createRedisTier({
      url: `redis://default:${ENCODED_PASSWORD}@127.0.0.1:${port}/0`,
      connectTimeoutMs: 300,
    });
    deadRedisCache = createCacheManager({ monitor, l2: deadTier, onError });
    await deadRedisCache.connect();
    await deadRedisCache.set('k', 1, 'llm');
    await deadRedisCache.get('k', 'llm');
    collectedErrors.push(
      await expectCleanFailure('cache delete, Redis down', () => deadRedisCache!.delete('k', 'llm')),
    );
    collectedErrors.push(
      await expectCleanFailure('cache invalidate, Redis down', () =>
        deadRedisCache!.invalidateNamespace('llm'),
      ),
    );
    assertClean(
      'Redis-down health and stats',
      inspect([deadTier.health(), deadRedisCache.stats()], { depth: 8 }),
    );
    let tier: RedisTier | undefined;
    if (redisUp) {
      // The shared Redis has no password: AUTH fails, which must not echo the password either.
      tier = createRedisTier({
        url: `redis://default:${ENCODED_PASSWORD}@127.0.0.1:6379/0`,
        connectTimeoutMs: 1000,
      });
      redisCache = createCacheManager({ monitor, l2: tier, onError });
      await redisCache.connect();
      await redisCache.set('k', 1, 'llm');
      await redisCache.get('k', 'llm');
      await redisCache.delete('k', 'llm').catch((e: unknown) => errors.push(e));
      assertClean(
        'Redis AUTH failure health and stats',
        inspect([tier.health(), redisCache.stats()], { depth: 8 }),
      );
    }
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) assertClean('cache onError', errorText(e));
    collectedErrors.push(...errors);
  });

  it('a load run full of these errors saves, prints and renders without a key', {
    timeout: timeoutFor(20_000),
  }, async () => {
    const a = adapters({
      openai: `${echo.url}/v1`,
      deepgram: echo.url,
      elevenlabs: echo.url,
      pinecone: echo.url,
    });
    echoStatus = 401;
    const company = createCompanyApiClient({
      baseUrl: echo.url,
      apiKey: KEYS.COMPANY_API_KEY,
      monitor,
      retries: 0,
    });
    const scenarios: Scenario[] = [
      { name: 'llm', run: async () => void (await drain(a.llm.stream([{ role: 'user', content: 'hi' }]))) },
      {
        name: 'stt',
        run: async () => void (await a.stt.transcribe(synthesizeFakeSpeech('hi'), { format: 'pcm_16000' })),
      },
      { name: 'tts', run: async () => void (await drain(a.tts.synthesize('hi there'))) },
      { name: 'company', run: async () => void (await company.getLoadStatus('1000')) },
      {
        name: 'raw',
        run: async () => {
          throw new Error(`upstream said: Authorization: Bearer ${KEYS.OPENAI_API_KEY}`);
        },
      },
    ];
    const result = await runClosedModel({
      users: 2,
      spawnRate: 100,
      iterations: 20,
      scenarios,
      monitor,
      seed: 3,
    });
    expect(result.errors).toBeGreaterThan(0);
    const run = summarizeRun({
      kind: 'load',
      title: 'secrets',
      result,
      earshotVersion: '0.0.0-test',
      targets: { stt: 100 },
      ...(redisCache ? { cache: redisCache.stats() } : {}),
      config: {
        model: 'closed',
        users: 2,
        spawnRate: 100,
        iterations: 20,
        target: { kind: 'function', description: 'secrets' },
        scenarios: scenarios.map((s) => ({ name: s.name, weight: 1 })),
      },
    });
    assertClean('saved run JSON', JSON.stringify(run));
    assertClean('text report', formatTextReport(run));
    assertClean('HTML report', renderHtmlReport(run));
  });

  it('the CLI --json output, its saved files and its messages carry no key or password', {
    timeout: timeoutFor(20_000),
  }, async () => {
    const env = { PATH: process.env.PATH, ...KEYS };
    const cli = async (args: string[], extra: Record<string, string> = {}) => {
      const out = new PassThrough();
      const err = new PassThrough();
      let text = '';
      out.on('data', (d: Buffer) => {
        text += d.toString();
      });
      err.on('data', (d: Buffer) => {
        text += d.toString();
      });
      const code = await withinMs(
        runCli(args, {
          streams: { stdout: out, stderr: err, env: { ...env, ...extra } },
          signal: new AbortController().signal,
          cwd: dir,
          version: '0.0.0-test',
        }),
        60_000,
        args.join(' '),
      );
      return { code, text };
    };
    const demo = await cli([
      'demo',
      '--providers',
      'servers',
      '--profile',
      'instant',
      '--turns',
      '4',
      '--users',
      '2',
      '--json',
      '--quiet',
      '--out',
      'run.json',
      '--html',
      'run.html',
    ]);
    expect(demo.code, demo.text.slice(0, 500)).toBe(0);
    assertClean('demo --json', demo.text);
    assertClean('demo run.json', await readFile(join(dir, 'run.json'), 'utf8'));
    assertClean('demo run.html', await readFile(join(dir, 'run.html'), 'utf8'));
    const report = await cli(['report', 'run.json', '--html', 'again.html']);
    assertClean('report', report.text);
    echoStatus = 401;
    const load = await cli([
      'load',
      '--url',
      `${echo.url.replace('http://', `http://svc:${ENCODED_PASSWORD}@`)}/turn`,
      '--header',
      `Authorization: Bearer ${KEYS.COMPANY_API_KEY}`,
      '--iterations',
      '4',
      '--users',
      '2',
      '--json',
      '--quiet',
      '--out',
      'load.json',
    ]);
    assertClean('load --url --json', load.text);
    assertClean('load run file', await readFile(join(dir, 'load.json'), 'utf8').catch(() => ''));
    if (redisUp) {
      // REDIS_URL with a password Redis refuses: the CLI stops with exit 3 and a message.
      const withRedis = await cli(['demo', '--providers', 'fake', '--turns', '1', '--quiet', '--json'], {
        REDIS_URL: `redis://default:${ENCODED_PASSWORD}@127.0.0.1:6379/0`,
      });
      assertClean('demo with a refused REDIS_URL', withRedis.text);
    }
    const badPort = await freePort();
    const dead = await cli(['demo', '--providers', 'fake', '--turns', '1', '--quiet'], {
      REDIS_URL: `redis://default:${ENCODED_PASSWORD}@127.0.0.1:${badPort}/0`,
    });
    expect(dead.code).toBe(3);
    assertClean('demo with a dead REDIS_URL', dead.text);
  });

  it('every exporter and the monitor report, over everything recorded above, carry no key', {
    timeout: timeoutFor(20_000),
  }, async () => {
    expect(monitor.collect().length).toBeGreaterThan(0);
    const cache = redisCache ?? deadRedisCache;
    const prom = new PrometheusExporter(monitor, cache ? { cache } : {});
    assertClean('Prometheus text', prom.scrape('text/plain').body);
    assertClean('OpenMetrics', prom.scrape('application/openmetrics-text; version=1.0.0').body);
    const lines: string[] = [];
    const emf = new EmfExporter(monitor, { write: (l) => lines.push(l), ...(cache ? { cache } : {}) });
    monitor.record('llm', 12, { provider: 'openai', outcome: 'error' });
    emf.flush();
    assertClean('EMF', [...lines, ...toEmf(monitor.collect(), { dimensions: ['provider'] })].join('\n'));
    assertClean('OpenTelemetry', await otel.collect());
    assertClean('monitor report', monitor.report({ targets: { stt: 100, llm: 300 } }));
    assertClean(
      'monitor stats',
      JSON.stringify(monitor.collect().map((s) => ({ name: s.name, labels: s.labels }))),
    );
  });

  it('redaction stays linear on hostile text, so a huge error body cannot stall the process', {
    timeout: timeoutFor(20_000),
  }, () => {
    // Quadratic before the fix: 40 000 letters took 2.3 s, 300 000 about two minutes.
    registerSecret(KEYS.OPENAI_API_KEY); // as the adapter does (this test may run alone)
    const t0 = performance.now();
    for (const text of [
      'x'.repeat(300_000),
      `http://${'u'.repeat(300_000)}`,
      'token '.repeat(50_000),
      'a://'.repeat(75_000),
    ]) {
      expect(redact(text).length).toBeGreaterThan(0);
    }
    const long = `https://svc:${KEYS.OPENAI_API_KEY}@h/${'x'.repeat(300_000)}`;
    expect(new EarshotError('EARSHOT_UPSTREAM_FAILED', long).message).not.toContain('EARSHOTFAKE');
    expect(redactedPrefix(`${'p'.repeat(190)}${KEYS.OPENAI_API_KEY}`, 200)).toBe(
      `${'p'.repeat(190)}[REDACTED]`,
    );
    expect(performance.now() - t0).toBeLessThan(15_000); // a hang guard, not a speed claim
  });

  it('nothing written to the console during all of the above carries a key', {
    timeout: timeoutFor(20_000),
  }, () => {
    expect(collectedErrors.length).toBeGreaterThan(20);
    // What a user's logger would print for each error, too.
    for (const e of collectedErrors) console.error(e);
    assertClean('console output', captured.join('\n'));
  });
});
