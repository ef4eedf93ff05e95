/**
 * Hostile provider responses: each fake provider answers, a proxy mutates the answer (JSON
 * structure, SSE frames, bytes, status, content type, framing, stalls, resets), and the real SDK
 * behind earshot's adapter must give a result that honours the stage contract, or a typed
 * `EarshotError`, within the adapter's deadline and without touching a prototype.
 */
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import type {
  AudioChunk,
  LanguageModelEvent,
  SearchResult,
  Transcript,
} from '../../src/pipeline/contracts.js';
import { DeepgramSpeechToText } from '../../src/providers/deepgram/index.js';
import { ElevenLabsTextToSpeech } from '../../src/providers/elevenlabs/index.js';
import { OpenAIEmbedder, OpenAILanguageModel } from '../../src/providers/openai/index.js';
import { PineconeVectorIndex } from '../../src/providers/pinecone/index.js';
import {
  type FakeProviders,
  fakeEmbed,
  startFakeProviders,
  synthesizeFakeSpeech,
} from '../../src/testing/index.js';
import {
  assertNoPollution,
  drain,
  MutatingProxy,
  type ResponsePlan,
  responsePlanOrClean,
  runs,
  sseMutation,
  timeoutFor,
  typedOutcome,
} from './helpers.js';

afterEach(() => assertNoPollution());

const DIMS = 16;
let fakes: FakeProviders;
const proxies: Record<'openai' | 'pinecone' | 'deepgram' | 'elevenlabs', MutatingProxy> = {} as never;

beforeAll(async () => {
  fakes = await startFakeProviders({ dimensions: DIMS });
  proxies.openai = await MutatingProxy.start(fakes.openai.url);
  proxies.pinecone = await MutatingProxy.start(fakes.pinecone.url);
  proxies.deepgram = await MutatingProxy.start(fakes.deepgram.url);
  proxies.elevenlabs = await MutatingProxy.start(fakes.elevenlabs.url);
});
afterAll(async () => {
  for (const p of Object.values(proxies)) await p?.close();
  await fakes?.close();
});

const GUARD_MS = 6000;

/**
 * Outcomes per property, so a property cannot pass vacuously: each must see both results the
 * contract allowed (mutations the SDK tolerates) and typed errors (mutations it must refuse).
 */
const tally = new Map<string, { ok: number; errors: Map<string, number> }>();
function count(what: string, r: { ok: true } | { ok: false; error: { code: string } }): void {
  let t = tally.get(what);
  if (!t) {
    t = { ok: 0, errors: new Map() };
    tally.set(what, t);
  }
  if (r.ok) t.ok++;
  else t.errors.set(r.error.code, (t.errors.get(r.error.code) ?? 0) + 1);
}
function expectBothOutcomes(what: string): void {
  const t = tally.get(what);
  console.log(
    `[hostile] ${what}: ${t?.ok ?? 0} ok, errors ${JSON.stringify(Object.fromEntries(t?.errors ?? []))}`,
  );
  expect(t?.ok ?? 0).toBeGreaterThan(0);
  expect(t?.errors.size ?? 0).toBeGreaterThan(0);
}

// ───────────────────────────── contract checks ─────────────────────────────

const FINISH = ['stop', 'length', 'tool-calls', 'content-filter', 'other'];

function checkLlmEvents(events: LanguageModelEvent[]): void {
  events.forEach((e, i) => {
    switch (e.type) {
      case 'text-delta':
        expect(typeof e.text).toBe('string');
        break;
      case 'tool-call':
        expect(typeof e.call.id).toBe('string');
        expect(e.call.id.length).toBeGreaterThan(0);
        expect(typeof e.call.name).toBe('string');
        expect(e.call.name.length).toBeGreaterThan(0);
        expect(typeof e.call.arguments).toBe('string');
        break;
      case 'usage':
        expect(Number.isFinite(e.usage.inputTokens) && e.usage.inputTokens >= 0).toBe(true);
        expect(Number.isFinite(e.usage.outputTokens) && e.usage.outputTokens >= 0).toBe(true);
        break;
      case 'finish':
        expect(FINISH).toContain(e.reason);
        expect(i).toBe(events.length - 1);
        break;
      default:
        throw new Error(`unknown event ${JSON.stringify(e)}`);
    }
  });
  // A stream that ended normally says how it ended.
  expect(events.at(-1)?.type).toBe('finish');
}

function checkVectors(vectors: number[][], texts: number): void {
  expect(Array.isArray(vectors)).toBe(true);
  expect(vectors).toHaveLength(texts);
  for (const v of vectors) {
    expect(Array.isArray(v)).toBe(true);
    expect(v).toHaveLength(DIMS);
    for (const x of v) expect(typeof x === 'number' && Number.isFinite(x)).toBe(true);
  }
}

function checkResults(results: SearchResult[]): void {
  expect(Array.isArray(results)).toBe(true);
  for (const r of results) {
    expect(typeof r.id).toBe('string');
    expect(typeof r.score === 'number' && Number.isFinite(r.score)).toBe(true);
    if (r.text !== undefined) expect(typeof r.text).toBe('string');
    if (r.metadata !== undefined) {
      expect(typeof r.metadata).toBe('object');
      expect(r.metadata).not.toBeNull();
    }
  }
}

function checkTranscript(t: Transcript): void {
  expect(typeof t.text).toBe('string');
  expect(typeof t.isFinal).toBe('boolean');
  if (t.confidence !== undefined) expect(Number.isFinite(t.confidence)).toBe(true);
  if (t.startSeconds !== undefined) expect(Number.isFinite(t.startSeconds)).toBe(true);
  if (t.durationSeconds !== undefined) expect(Number.isFinite(t.durationSeconds)).toBe(true);
  if (t.requestId !== undefined) expect(typeof t.requestId).toBe('string');
}

function checkAudio(chunks: AudioChunk[]): void {
  for (const c of chunks) {
    expect(c.data).toBeInstanceOf(Uint8Array);
    expect(typeof c.format).toBe('string');
  }
}

// ───────────────────────────── the adapters ─────────────────────────────

const TOOLS = [
  {
    name: 'get_load_status',
    description: 'Status of a load',
    parameters: { type: 'object', properties: { load_id: { type: 'string' } }, required: ['load_id'] },
  },
];

function llm(): OpenAILanguageModel {
  return new OpenAILanguageModel({
    apiKey: fakes.options.openai.apiKey,
    baseURL: `${proxies.openai.url}/v1`,
    timeoutMs: 1000,
    idleTimeoutMs: 400,
    logLevel: 'off',
    monitor: false,
  });
}

describe('hostile provider responses', () => {
  it('the proxies pass clean answers through unchanged (the properties below are not vacuous)', {
    timeout: timeoutFor(20_000),
  }, async () => {
    for (const p of Object.values(proxies)) p.plan = {};
    checkLlmEvents(
      await drain(llm().stream([{ role: 'user', content: 'Where is load 2314?' }], { tools: TOOLS })),
    );
    const embedder = new OpenAIEmbedder({
      apiKey: fakes.options.embedder.apiKey,
      baseURL: `${proxies.openai.url}/v1`,
      dimensions: DIMS,
      monitor: false,
    });
    checkVectors(await embedder.embed(['a', 'b']), 2);
    const index = new PineconeVectorIndex({
      apiKey: fakes.options.pinecone.apiKey,
      host: proxies.pinecone.url,
      indexName: fakes.options.pinecone.indexName,
      monitor: false,
    });
    const results = await index.query(fakeEmbed('trailer inspection', DIMS), { topK: 3 });
    expect(results.length).toBe(3);
    checkResults(results);
    const stt = new DeepgramSpeechToText({
      apiKey: fakes.options.deepgram.apiKey,
      baseUrl: proxies.deepgram.url,
      monitor: false,
    });
    const t = await stt.transcribe(synthesizeFakeSpeech('Where is load 2314?'), { format: 'pcm_16000' });
    expect(t.text).toMatch(/2314/);
    const tts = new ElevenLabsTextToSpeech({
      apiKey: fakes.options.elevenlabs.apiKey,
      baseUrl: proxies.elevenlabs.url,
      monitor: false,
    });
    expect((await drain(tts.synthesize('Hello there.'))).length).toBeGreaterThan(0);
  });

  it('OpenAI chat stream: contract-valid events or a typed error', {
    timeout: timeoutFor(60_000),
  }, async () => {
    const model = llm();
    const questions = [
      'Where is load 2314?',
      'Tell me about the company.',
      'What is in stock for SKU PAL-10003?',
    ];
    await fc.assert(
      fc.asyncProperty(
        responsePlanOrClean,
        fc.array(sseMutation, { minLength: 1, maxLength: 4 }),
        fc.nat(),
        fc.boolean(),
        async (plan, sse, q, sseOnly) => {
          proxies.openai.plan = sseOnly ? { sse, ...(plan.pieces ? { pieces: plan.pieces } : {}) } : plan;
          const r = await typedOutcome(
            () =>
              drain(
                model.stream([{ role: 'user', content: questions[q % questions.length]! }], { tools: TOOLS }),
              ),
            GUARD_MS,
            'llm.stream',
          );
          if (r.ok) checkLlmEvents(r.value);
          count('llm.stream', r);
          assertNoPollution();
        },
      ),
      runs(120),
    );
    expectBothOutcomes('llm.stream');
  });

  it('OpenAI embeddings: vectors of the right size or a typed error', {
    timeout: timeoutFor(60_000),
  }, async () => {
    for (const encodingFormat of ['base64', 'float'] as const) {
      const embedder = new OpenAIEmbedder({
        apiKey: fakes.options.embedder.apiKey,
        baseURL: `${proxies.openai.url}/v1`,
        dimensions: DIMS,
        encodingFormat,
        timeoutMs: 600,
        logLevel: 'off',
        monitor: false,
      });
      await fc.assert(
        fc.asyncProperty(responsePlanOrClean, async (plan) => {
          proxies.openai.plan = plan;
          const r = await typedOutcome(
            () => embedder.embed(['trailer damage', 'hours of service']),
            GUARD_MS,
            'embed',
          );
          if (r.ok) checkVectors(r.value, 2);
          count('embed', r);
          assertNoPollution();
        }),
        runs(50),
      );
    }
    expectBothOutcomes('embed');
  });

  it('Pinecone query: well-formed results or a typed error', { timeout: timeoutFor(60_000) }, async () => {
    const index = new PineconeVectorIndex({
      apiKey: fakes.options.pinecone.apiKey,
      host: proxies.pinecone.url,
      indexName: fakes.options.pinecone.indexName,
      timeoutMs: 600,
      monitor: false,
    });
    const vector = fakeEmbed('trailer inspection', DIMS);
    await fc.assert(
      fc.asyncProperty(responsePlanOrClean, async (plan) => {
        proxies.pinecone.plan = plan;
        const r = await typedOutcome(() => index.query(vector, { topK: 3 }), GUARD_MS, 'query');
        if (r.ok) checkResults(r.value);
        count('query', r);
        assertNoPollution();
      }),
      runs(100),
    );
    expectBothOutcomes('query');
  });

  it('Deepgram prerecorded: a transcript or a typed error', { timeout: timeoutFor(60_000) }, async () => {
    const stt = new DeepgramSpeechToText({
      apiKey: fakes.options.deepgram.apiKey,
      baseUrl: proxies.deepgram.url,
      timeoutMs: 600,
      monitor: false,
    });
    const audio = synthesizeFakeSpeech('Where is load 2314?');
    await fc.assert(
      fc.asyncProperty(responsePlanOrClean, async (plan) => {
        proxies.deepgram.plan = plan;
        const r = await typedOutcome(
          () => stt.transcribe(audio, { format: 'pcm_16000' }),
          GUARD_MS,
          'transcribe',
        );
        if (r.ok) checkTranscript(r.value);
        count('transcribe', r);
        assertNoPollution();
      }),
      runs(100),
    );
    expectBothOutcomes('transcribe');
  });

  it('ElevenLabs HTTP stream: audio chunks or a typed error', { timeout: timeoutFor(60_000) }, async () => {
    const tts = new ElevenLabsTextToSpeech({
      apiKey: fakes.options.elevenlabs.apiKey,
      baseUrl: proxies.elevenlabs.url,
      timeoutMs: 600,
      monitor: false,
    });
    await fc.assert(
      fc.asyncProperty(responsePlanOrClean, async (plan) => {
        proxies.elevenlabs.plan = plan;
        const r = await typedOutcome(
          () => drain(tts.synthesize('Load 2314 is in transit.')),
          GUARD_MS,
          'synthesize',
        );
        if (r.ok) checkAudio(r.value);
        count('synthesize', r);
        assertNoPollution();
      }),
      runs(100),
    );
    expectBothOutcomes('synthesize');
  });
});

// The class found on the multi-stream WebSocket pool: whatever a fault leaves behind (a kept-alive
// socket mid-body, a stalled one) must not outlive the call it broke. Each adapter keeps its HTTP
// connections alive across calls; after each kind of fault, the next clean call must succeed.
describe('after any fault, the next call on the same adapter succeeds', () => {
  const faults: [string, ResponsePlan][] = [
    ['a stalled body (declared longer than sent)', { lieAboutLength: true, pieces: 10 }],
    ['a connection reset mid-body', { resetAfter: 0.5, pieces: 4 }],
    ['a 500', { status: 500 }],
    ['a 429 with a hostile retry-after', { status: 429, headers: { 'retry-after': '1e9' } }],
    ['an HTML error page', { status: 502, contentType: 'text/html; charset=utf-8' }],
    ['a truncated body', { bytes: [{ kind: 'truncate', at: 20 }] }],
  ];
  /** Faults that may still yield a valid answer (20 bytes of audio are audio). */
  const mayPass = new Set(['a truncated body']);
  const adapters: [string, keyof typeof proxies, () => Promise<unknown>][] = [];
  beforeAll(() => {
    const model = new OpenAILanguageModel({
      apiKey: fakes.options.openai.apiKey,
      baseURL: `${proxies.openai.url}/v1`,
      timeoutMs: 700,
      idleTimeoutMs: 400,
      maxRetries: 0,
      logLevel: 'off',
      monitor: false,
    });
    const embedder = new OpenAIEmbedder({
      apiKey: fakes.options.embedder.apiKey,
      baseURL: `${proxies.openai.url}/v1`,
      dimensions: DIMS,
      timeoutMs: 700,
      maxRetries: 0,
      logLevel: 'off',
      monitor: false,
    });
    const index = new PineconeVectorIndex({
      apiKey: fakes.options.pinecone.apiKey,
      host: proxies.pinecone.url,
      indexName: fakes.options.pinecone.indexName,
      timeoutMs: 700,
      monitor: false,
    });
    const stt = new DeepgramSpeechToText({
      apiKey: fakes.options.deepgram.apiKey,
      baseUrl: proxies.deepgram.url,
      timeoutMs: 700,
      monitor: false,
    });
    const tts = new ElevenLabsTextToSpeech({
      apiKey: fakes.options.elevenlabs.apiKey,
      baseUrl: proxies.elevenlabs.url,
      timeoutMs: 700,
      monitor: false,
    });
    const audio = synthesizeFakeSpeech('Where is load 2314?');
    adapters.push(
      [
        'OpenAI chat stream',
        'openai',
        async () =>
          checkLlmEvents(
            await drain(model.stream([{ role: 'user', content: 'Where is load 2314?' }], { tools: TOOLS })),
          ),
      ],
      ['OpenAI embeddings', 'openai', async () => checkVectors(await embedder.embed(['trailer damage']), 1)],
      [
        'Pinecone query',
        'pinecone',
        async () =>
          expect((await index.query(fakeEmbed('trailer inspection', DIMS), { topK: 3 })).length).toBe(3),
      ],
      [
        'Deepgram prerecorded',
        'deepgram',
        async () => expect((await stt.transcribe(audio, { format: 'pcm_16000' })).text).toMatch(/2314/),
      ],
      [
        'ElevenLabs HTTP stream',
        'elevenlabs',
        async () =>
          expect((await drain(tts.synthesize('Load 2314 is in transit.'))).length).toBeGreaterThan(0),
      ],
    );
  });
  afterEach(() => {
    for (const p of Object.values(proxies)) p.plan = {};
  });

  it('for every adapter and every kind of fault', { timeout: timeoutFor(90_000) }, async () => {
    expect(adapters).toHaveLength(5);
    for (const [name, proxy, call] of adapters) {
      for (const [what, plan] of faults) {
        proxies[proxy].plan = plan;
        const faulted = await typedOutcome(call, GUARD_MS, `${name} with ${what}`);
        if (!mayPass.has(what))
          expect(faulted.ok, `${name} with ${what}: the fault is not vacuous`).toBe(false);
        proxies[proxy].plan = {};
        const next = await typedOutcome(call, GUARD_MS, `${name} after ${what}`);
        expect(next.ok ? 'ok' : `${next.error.code}: ${next.error.message}`, `${name} after ${what}`).toBe(
          'ok',
        );
      }
    }
  });
});

describe('missing API key messages (issue 17.10)', () => {
  const cases = [
    ['Deepgram', 'DEEPGRAM_API_KEY', () => new DeepgramSpeechToText({ monitor: false })],
    ['ElevenLabs', 'ELEVENLABS_API_KEY', () => new ElevenLabsTextToSpeech({ monitor: false })],
    ['OpenAI', 'OPENAI_API_KEY', () => new OpenAILanguageModel({ monitor: false })],
    ['OpenAI', 'OPENAI_API_KEY', () => new OpenAIEmbedder({ monitor: false })],
    [
      'Pinecone',
      'PINECONE_API_KEY',
      () => new PineconeVectorIndex({ host: 'http://127.0.0.1:1', monitor: false }),
    ],
  ] as const;

  it.each(cases)('name %s and %s, never [REDACTED] in place of the provider', (provider, envName, build) => {
    const saved = process.env[envName];
    delete process.env[envName];
    try {
      let err: unknown;
      try {
        build();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      const message = (err as ConfigError).message;
      expect(message).toContain(`${provider} API key`);
      expect(message).toContain(envName);
      expect(message).not.toContain('[REDACTED]');
      expect((err as ConfigError).issues[0]!.message).not.toContain('[REDACTED]');
    } finally {
      if (saved !== undefined) process.env[envName] = saved;
    }
  });
});
