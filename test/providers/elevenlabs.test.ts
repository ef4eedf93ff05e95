/**
 * ElevenLabsTextToSpeech through the real `@elevenlabs/elevenlabs-js` v2 (HTTP) and `ws`
 * (stream-input) against the fake ElevenLabs server: streaming, error mapping, aborts,
 * deadlines, secrets.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  AbortedError,
  ConfigError,
  InvalidArgumentError,
  MissingDependencyError,
  ProviderError,
  ResponseValidationError,
  TimeoutError,
} from '../../src/errors.js';
import { OP, PerformanceMonitor, performanceMonitor } from '../../src/perf/index.js';
import type { AudioChunk } from '../../src/pipeline/contracts.js';
import {
  ELEVENLABS_DEFAULTS,
  ElevenLabsTextToSpeech,
  type ElevenLabsTextToSpeechOptions,
  type ElevenLabsUsage,
} from '../../src/providers/elevenlabs/index.js';
import { loadElevenLabsSdk, loadWs } from '../../src/providers/elevenlabs/sdk.js';
import { type FakeElevenLabs, startFakeElevenLabs, transcribeFakeSpeech } from '../../src/testing/index.js';

const KEY = 'el-test-key-4c1d9e7a22';
const savedEnv = process.env.ELEVENLABS_API_KEY;
const LIVE_KEY =
  process.env.CI !== 'true' && process.env.EARSHOT_LIVE_TESTS === '1'
    ? process.env.ELEVENLABS_API_KEY
    : undefined;

let fake: FakeElevenLabs;
let monitor: PerformanceMonitor;

beforeAll(async () => {
  delete process.env.ELEVENLABS_API_KEY;
  fake = await startFakeElevenLabs({ apiKey: KEY, voices: [ELEVENLABS_DEFAULTS.voiceId, 'voice-two'] });
});

afterAll(async () => {
  await fake.close();
  if (savedEnv === undefined) delete process.env.ELEVENLABS_API_KEY;
  else process.env.ELEVENLABS_API_KEY = savedEnv;
});

beforeEach(() => {
  monitor = new PerformanceMonitor();
  fake.faults.set(undefined);
  fake.faults.clearQueue();
  fake.latency.set({ kind: 'none' });
  fake.audioRate = Number.POSITIVE_INFINITY;
  fake.chunkMs = 100;
  fake.faultAfterChunks = 1;
  fake.wsErrorsInBand = false;
  fake.requests.clear();
});

function make(options: ElevenLabsTextToSpeechOptions = {}): ElevenLabsTextToSpeech {
  return new ElevenLabsTextToSpeech({ apiKey: KEY, baseUrl: fake.url, monitor, timeoutMs: 3000, ...options });
}

async function collect(it: AsyncIterable<AudioChunk>): Promise<AudioChunk[]> {
  const out: AudioChunk[] = [];
  for await (const c of it) out.push(c);
  return out;
}

function joined(chunks: AudioChunk[]): Uint8Array {
  return Buffer.concat(chunks.map((c) => c.data));
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

async function* pieces(parts: string[], gapMs = 5): AsyncGenerator<string> {
  for (const p of parts) {
    await new Promise((r) => setTimeout(r, gapMs));
    yield p;
  }
}

const ANSWER = 'Load 2314 is in transit and arrives in Dallas at noon.';

describe('ElevenLabsTextToSpeech HTTP streaming', () => {
  it('yields audio that carries the text, in the default pcm_16000 format', async () => {
    const chunks = await collect(make().synthesize(ANSWER));
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.every((c) => c.format === 'pcm_16000')).toBe(true);
    expect(transcribeFakeSpeech(joined(chunks))).toBe(ANSWER);
  });

  it('sends the source design settings: turbo v2.5, stability and similarity', async () => {
    await collect(make().synthesize('Hello.'));
    const r = fake.requests.entries[0];
    expect(r).toMatchObject({
      route: 'stream',
      path: `/v1/text-to-speech/${ELEVENLABS_DEFAULTS.voiceId}/stream`,
      query: { output_format: 'pcm_16000' },
      body: {
        text: 'Hello.',
        model_id: 'eleven_turbo_v2_5',
        voice_settings: { stability: 0.5, similarity_boost: 0.75 },
      },
    });
  });

  it('does not send the deprecated optimize_streaming_latency unless asked (HTTP and WebSocket)', async () => {
    const tts = make();
    await collect(tts.synthesize('Hello.'));
    await collect(tts.synthesizeStream(pieces(['Hello. '])));
    await tts.close();
    const [http, ws] = fake.requests.entries;
    expect(http?.route).toBe('stream');
    expect(ws?.transport).toBe('ws');
    expect(http?.query).not.toHaveProperty('optimize_streaming_latency');
    expect(ws?.query).not.toHaveProperty('optimize_streaming_latency');
    fake.requests.clear();
    const tuned = make({ optimizeStreamingLatency: 2 });
    await collect(tuned.synthesize('Hello.'));
    await collect(tuned.synthesizeStream(pieces(['Hello. '])));
    await tuned.close();
    expect(fake.requests.entries.map((e) => e.query.optimize_streaming_latency)).toEqual(['2', '2']);
  });

  it('records nothing into the shared performanceMonitor when no monitor is given (issue 13)', async () => {
    const before = performanceMonitor.stats(OP.tts)?.count ?? 0;
    const beforeTtfb = performanceMonitor.stats(OP.ttsTtfb)?.count ?? 0;
    const tts = new ElevenLabsTextToSpeech({ apiKey: KEY, baseUrl: fake.url });
    await collect(tts.synthesize('Hello.'));
    await collect(tts.synthesizeStream(pieces(['Hello. '])));
    await tts.close();
    expect(performanceMonitor.stats(OP.tts)?.count ?? 0).toBe(before);
    expect(performanceMonitor.stats(OP.ttsTtfb)?.count ?? 0).toBe(beforeTtfb);
    // ...while an explicit monitor still gets one tts and one tts_ttfb per call.
    const own = new PerformanceMonitor();
    const mine = new ElevenLabsTextToSpeech({ apiKey: KEY, baseUrl: fake.url, monitor: own });
    await collect(mine.synthesize('Hello.'));
    await collect(mine.synthesizeStream(pieces(['Hello. '])));
    await mine.close();
    expect(own.stats(OP.tts)?.count).toBe(2);
    expect(own.stats(OP.ttsTtfb)?.count).toBe(2);
  });

  it('delivers the first chunk while the server is still streaming', async () => {
    fake.audioRate = 10; // 100 ms chunks every 10 ms
    const arrivals: number[] = [];
    for await (const _ of make().synthesize(ANSWER)) arrivals.push(performance.now());
    expect(arrivals.length).toBeGreaterThan(5);
    expect((arrivals.at(-1) as number) - (arrivals[0] as number)).toBeGreaterThan(20);
  });

  it('records tts_ttfb and tts with mode http, server delay included', async () => {
    fake.latency.set(70);
    await collect(make().synthesize('Hello there.'));
    const labels = { provider: 'elevenlabs', model: 'eleven_turbo_v2_5', mode: 'http', outcome: 'ok' };
    const ttfb = monitor.stats('tts_ttfb', { labels });
    const total = monitor.stats('tts', { labels });
    expect(ttfb?.count).toBe(1);
    expect(ttfb?.minMs).toBeGreaterThanOrEqual(65);
    expect(total?.minMs).toBeGreaterThanOrEqual(ttfb?.minMs as number);
  });

  it('reports characters sent and billed through onUsage and usage', async () => {
    const seen: ElevenLabsUsage[] = [];
    const tts = make({ onUsage: (u) => seen.push(u) });
    await collect(tts.synthesize('Twelve chars'));
    expect(seen).toEqual([
      expect.objectContaining({
        mode: 'http',
        characters: 12,
        characterCost: 12,
        requestId: expect.any(String),
      }),
    ]);
    expect(tts.usage).toEqual({ requests: 1, characters: 12, characterCost: 12 });
  });

  it('honours a per-call format', async () => {
    const chunks = await collect(make().synthesize('Hello.', { format: 'ulaw_8000' }));
    expect(chunks[0]?.format).toBe('ulaw_8000');
    expect(fake.requests.entries[0]?.query.output_format).toBe('ulaw_8000');
  });

  it('refuses a format ElevenLabs cannot produce, before any request', async () => {
    const err = await caught(collect(make().synthesize('Hello.', { format: 'wav' })));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(fake.requests.count).toBe(0);
  });

  it('refuses empty text', async () => {
    await expect(collect(make().synthesize('  '))).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('maps a wrong key to ProviderError 401 that never shows the key', async () => {
    const other = 'el-wrong-key-5be0c3f1';
    const err = (await caught(collect(make({ apiKey: other }).synthesize('Hi.')))) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ provider: 'elevenlabs', status: 401, retryable: false });
    expect(err.requestId).toBeTruthy();
    expect(err.message).toContain('ELEVENLABS_API_KEY');
    for (const text of [err.message, String(err), JSON.stringify(err)]) {
      expect(text).not.toContain(other);
      expect(text).not.toContain(KEY);
    }
  });

  it('maps an unknown voice to ProviderError 404 with advice', async () => {
    const err = (await caught(
      collect(make({ voiceId: 'no-such-voice' }).synthesize('Hi.')),
    )) as ProviderError;
    expect(err).toMatchObject({ name: 'ProviderError', status: 404, retryable: false });
    expect(err.message).toMatch(/voice_not_found.*voiceId/);
  });

  it('maps 429 to a retryable ProviderError that says when to retry', async () => {
    fake.faults.enqueue({ kind: 'rateLimit', route: 'stream' });
    const err = (await caught(collect(make().synthesize('Hi.')))) as ProviderError;
    expect(err).toMatchObject({ status: 429, retryable: true });
    expect(err.message).toMatch(/too_many_concurrent_requests.*retry after 1 s/);
  });

  it.each([500, 503])('maps HTTP %i to a retryable ProviderError', async (status) => {
    fake.faults.enqueue({ kind: 'error', route: 'stream', status });
    const err = await caught(collect(make().synthesize('Hi.')));
    expect(err).toMatchObject({ name: 'ProviderError', status, retryable: true });
  });

  it('maps 422 (the SDK UnprocessableEntityError) to a non-retryable ProviderError', async () => {
    fake.faults.enqueue({ kind: 'error', route: 'stream', status: 422 });
    const err = await caught(collect(make().synthesize('Hi.')));
    expect(err).toMatchObject({ name: 'ProviderError', status: 422, retryable: false });
  });

  it('maps a 200 answer that is not audio to ResponseValidationError', async () => {
    fake.faults.enqueue({ kind: 'malformed', route: 'stream' });
    const err = await caught(collect(make().synthesize('Hi.')));
    expect(err).toBeInstanceOf(ResponseValidationError);
    expect((err as Error).message).toContain('text/html');
  });

  it('maps a connection dropped mid-stream to a retryable ProviderError after the first chunks', async () => {
    fake.faults.enqueue({ kind: 'reset', route: 'stream' });
    fake.faultAfterChunks = 2;
    fake.audioRate = 20;
    const got: AudioChunk[] = [];
    const err = await caught(
      (async () => {
        for await (const c of make().synthesize(ANSWER)) got.push(c);
      })(),
    );
    expect(got.length).toBeGreaterThanOrEqual(1);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ retryable: true });
  });

  it('fails a stream that stalls mid-way with TimeoutError', async () => {
    fake.faults.enqueue({ kind: 'timeout', route: 'stream' });
    fake.faultAfterChunks = 2;
    const err = await caught(collect(make({ timeoutMs: 250 }).synthesize(ANSWER)));
    expect(err).toBeInstanceOf(TimeoutError);
    expect(monitor.stats('tts', { labels: { outcome: 'timeout' } })?.count).toBe(1);
    expect(monitor.stats('tts')?.errors).toBe(1);
    expect(monitor.stats('tts_ttfb', { labels: { outcome: 'ok' } })?.count).toBe(1);
  });

  it('fails a request whose headers never come with TimeoutError', async () => {
    fake.faults.enqueue({ kind: 'timeout', route: 'stream' });
    fake.faultAfterChunks = 0;
    const err = await caught(collect(make({ timeoutMs: 250 }).synthesize('Hi.')));
    expect(err).toBeInstanceOf(TimeoutError);
    expect(monitor.stats('tts_ttfb', { labels: { outcome: 'timeout' } })?.count).toBe(1);
  });

  it('aborts mid-stream with AbortedError and records it as aborted, not as an error', async () => {
    fake.audioRate = 2;
    const ac = new AbortController();
    const got: AudioChunk[] = [];
    const err = await caught(
      (async () => {
        for await (const c of make().synthesize(ANSWER, { signal: ac.signal })) {
          got.push(c);
          ac.abort();
        }
      })(),
    );
    expect(err).toBeInstanceOf(AbortedError);
    expect(got).toHaveLength(1);
    expect(monitor.stats('tts', { labels: { mode: 'http', outcome: 'aborted' } })?.count).toBe(1);
    expect(monitor.stats('tts')?.errors).toBe(0);
  });

  it('cancels the request when the consumer stops early', async () => {
    fake.audioRate = 2; // 100 ms chunks every 50 ms: the full answer takes seconds
    const full = Buffer.byteLength(ANSWER) * 55 * 32; // rough bytes of the full answer
    const before = fake.stats.audioBytes;
    for await (const _ of make().synthesize(ANSWER)) break;
    await new Promise((r) => setTimeout(r, 200));
    expect(fake.stats.audioBytes - before).toBeLessThan(full / 3);
  });

  it('records a consumer that stops early as aborted, not as an error', async () => {
    fake.audioRate = 2;
    for await (const _ of make().synthesize(ANSWER)) break;
    expect(monitor.stats('tts', { labels: { mode: 'http', outcome: 'aborted' } })?.count).toBe(1);
    expect(monitor.stats('tts')?.errors).toBe(0);
  });
});

describe('ElevenLabsTextToSpeech configuration', () => {
  it('names the option and the environment variable when the key is missing', () => {
    let err: unknown;
    try {
      new ElevenLabsTextToSpeech({ baseUrl: fake.url });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('ELEVENLABS_API_KEY');
    expect((err as Error).message).toContain('apiKey: no ElevenLabs API key'); // issue 17, item 10: the name survives redaction
  });

  it('takes the key from ELEVENLABS_API_KEY', async () => {
    process.env.ELEVENLABS_API_KEY = KEY;
    try {
      const chunks = await collect(
        new ElevenLabsTextToSpeech({ baseUrl: fake.url, monitor }).synthesize('Hi.'),
      );
      expect(transcribeFakeSpeech(joined(chunks))).toBe('Hi.');
    } finally {
      delete process.env.ELEVENLABS_API_KEY;
    }
  });

  it('lists every invalid option in one ConfigError', () => {
    let err: unknown;
    try {
      new ElevenLabsTextToSpeech({
        apiKey: KEY,
        optimizeStreamingLatency: 7,
        voiceSettings: { stability: 2 },
        outputFormat: 'wav' as 'pcm_16000',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues.map((i) => i.path).sort()).toEqual([
      'optimizeStreamingLatency',
      'outputFormat',
      'voiceSettings.stability',
    ]);
  });

  it('reports a missing SDK or ws as MissingDependencyError with the npm command', async () => {
    const sdkErr = await caught(
      loadElevenLabsSdk(
        () =>
          import('@elevenlabs/not-installed' as string) as Promise<
            typeof import('@elevenlabs/elevenlabs-js')
          >,
      ),
    );
    expect(sdkErr).toBeInstanceOf(MissingDependencyError);
    expect((sdkErr as Error).message).toContain('npm install @elevenlabs/elevenlabs-js');
    const wsErr = await caught(loadWs(() => import('ws-not-installed' as string)));
    expect(wsErr).toBeInstanceOf(MissingDependencyError);
    expect((wsErr as Error).message).toContain('npm install ws');
  });
});

describe('ElevenLabsTextToSpeech WebSocket stream-input (webSocketRoute: stream-input)', () => {
  const makeSingle = (options: ElevenLabsTextToSpeechOptions = {}) =>
    make({ webSocketRoute: 'stream-input', ...options });

  it('turns streamed text into audio that carries it', async () => {
    const parts = ['Load 2314 ', 'is in transit. ', 'It arrives ', 'at noon.'];
    const chunks = await collect(makeSingle().synthesizeStream(pieces(parts)));
    expect(chunks.length).toBeGreaterThan(1);
    expect(transcribeFakeSpeech(joined(chunks))).toBe('Load 2314 is in transit. It arrives at noon.');
  });

  it('opens with the init message, voice settings and chunk schedule, and ends with empty text', async () => {
    await collect(makeSingle({ chunkLengthSchedule: [50, 120] }).synthesizeStream(pieces(['Hello there.'])));
    const r = fake.requests.entries[0];
    expect(r).toMatchObject({
      transport: 'ws',
      route: 'stream-input',
      query: { model_id: 'eleven_turbo_v2_5', output_format: 'pcm_16000', inactivity_timeout: '20' },
    });
    const messages = (r?.body as { messages?: Record<string, unknown>[] } | undefined)?.messages ?? [];
    expect(messages[0]).toEqual({
      text: ' ',
      voice_settings: { stability: 0.5, similarity_boost: 0.75 },
      generation_config: { chunk_length_schedule: [50, 120] },
    });
    expect(messages[1]).toEqual({ text: 'Hello there. ', flush: true });
    expect(messages.at(-1)).toEqual({ text: '' });
  });

  it('speaks the first sentence while the rest of the text is still being written', async () => {
    let firstAudio!: () => void;
    const heard = new Promise<void>((r) => {
      firstAudio = r;
    });
    async function* llm(): AsyncGenerator<string> {
      yield 'The first sentence is ready. ';
      await heard; // the "model" writes on only once audio of the first sentence came back
      yield 'The second one follows.';
    }
    const chunks: AudioChunk[] = [];
    for await (const c of makeSingle().synthesizeStream(llm())) {
      chunks.push(c);
      firstAudio();
    }
    expect(transcribeFakeSpeech(joined(chunks))).toBe('The first sentence is ready. The second one follows.');
  });

  it('records tts_ttfb and tts with mode websocket', async () => {
    fake.latency.set(40);
    await collect(makeSingle().synthesizeStream(pieces(['Hi there.'])));
    const labels = { mode: 'websocket', outcome: 'ok' };
    expect(monitor.stats('tts_ttfb', { labels })?.minMs).toBeGreaterThanOrEqual(35);
    expect(monitor.stats('tts', { labels })?.count).toBe(1);
  });

  it('maps a refused handshake (wrong key) to ProviderError 401', async () => {
    const err = await caught(
      collect(makeSingle({ apiKey: 'el-wrong-key-ab12cd34' }).synthesizeStream(pieces(['Hi.']))),
    );
    expect(err).toMatchObject({ name: 'ProviderError', status: 401, retryable: false });
    expect((err as Error).message).not.toContain('el-wrong-key-ab12cd34');
  });

  it('maps a rate-limited handshake to a retryable ProviderError 429', async () => {
    fake.faults.enqueue({ kind: 'rateLimit', route: 'stream-input' });
    const err = (await caught(collect(makeSingle().synthesizeStream(pieces(['Hi.']))))) as ProviderError;
    expect(err).toMatchObject({ status: 429, retryable: true });
    expect(err.message).toMatch(/retry after 1 s/);
  });

  it('maps an in-band error message to a ProviderError', async () => {
    fake.wsErrorsInBand = true;
    fake.faults.enqueue({ kind: 'rateLimit', route: 'stream-input' });
    const err = (await caught(collect(makeSingle().synthesizeStream(pieces(['Hi.']))))) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ retryable: true });
    expect(err.message).toContain('too_many_concurrent_requests');
  });

  it('reports the inactivity timeout when text stops coming', async () => {
    async function* slow(): AsyncGenerator<string> {
      yield 'Hello ';
      await new Promise((r) => setTimeout(r, 1500));
      yield 'again.';
    }
    const err = (await caught(
      collect(makeSingle({ inactivityTimeoutSeconds: 1, idleConnectionMs: 500 }).synthesizeStream(slow())),
    )) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ retryable: false });
    expect(err.message).toMatch(/input_timeout_exceeded.*inactivityTimeoutSeconds/);
  });

  it('maps a frame that is not JSON to ResponseValidationError', async () => {
    fake.faults.enqueue({ kind: 'malformed', route: 'stream-input' });
    const err = await caught(collect(makeSingle().synthesizeStream(pieces([ANSWER]))));
    expect(err).toBeInstanceOf(ResponseValidationError);
  });

  it('maps a socket dropped mid-stream to a retryable ProviderError', async () => {
    fake.faults.enqueue({ kind: 'reset', route: 'stream-input' });
    const err = await caught(collect(makeSingle().synthesizeStream(pieces([ANSWER]))));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ retryable: true });
    expect((err as Error).message).toMatch(/code 1006/);
  });

  it('fails with TimeoutError when audio stalls after the text ended', async () => {
    fake.faults.enqueue({ kind: 'timeout', route: 'stream-input' });
    const err = await caught(collect(makeSingle({ timeoutMs: 300 }).synthesizeStream(pieces([ANSWER]))));
    expect(err).toBeInstanceOf(TimeoutError);
    expect(monitor.stats('tts', { labels: { mode: 'websocket', outcome: 'timeout' } })?.count).toBe(1);
  });

  it('aborts mid-stream with AbortedError and closes the socket', async () => {
    fake.audioRate = 2;
    const ac = new AbortController();
    const openBefore = fake.stats.open;
    const err = await caught(
      (async () => {
        for await (const _ of makeSingle().synthesizeStream(pieces([ANSWER]), { signal: ac.signal }))
          ac.abort();
      })(),
    );
    expect(err).toBeInstanceOf(AbortedError);
    await vi.waitFor(() => expect(fake.stats.open).toBe(openBefore));
    expect(monitor.stats('tts', { labels: { mode: 'websocket', outcome: 'aborted' } })?.count).toBe(1);
    expect(monitor.stats('tts')?.errors).toBe(0);
  });

  it('passes on the error of a failing text source and closes the socket', async () => {
    const boom = new Error('the model failed');
    const openBefore = fake.stats.open;
    async function* failing(): AsyncGenerator<string> {
      yield 'Partial ';
      throw boom;
    }
    const err = (await caught(collect(makeSingle().synthesizeStream(failing())))) as Error;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toContain('the model failed');
    await vi.waitFor(() => expect(fake.stats.open).toBe(openBefore));
  });
});

describe('ElevenLabsTextToSpeech WebSocket multi-stream-input (default)', () => {
  function messagesOf(i = 0): Record<string, unknown>[] {
    const r = fake.requests.entries.filter((e) => e.transport === 'ws')[i];
    return (r?.body as { messages?: Record<string, unknown>[] } | undefined)?.messages ?? [];
  }

  it('turns streamed text into audio over multi-stream-input, one context per call', async () => {
    const tts = make({ chunkLengthSchedule: [50, 120] });
    try {
      const chunks = await collect(
        tts.synthesizeStream(pieces(['Load 2314 ', 'is in transit. ', 'It arrives.'])),
      );
      expect(transcribeFakeSpeech(joined(chunks))).toBe('Load 2314 is in transit. It arrives.');
      const r = fake.requests.entries[0];
      expect(r).toMatchObject({
        transport: 'ws',
        route: 'multi-stream-input',
        path: `/v1/text-to-speech/${ELEVENLABS_DEFAULTS.voiceId}/multi-stream-input`,
        query: { model_id: 'eleven_turbo_v2_5', output_format: 'pcm_16000', inactivity_timeout: '20' },
      });
      const messages = messagesOf();
      const id = messages[0]?.context_id;
      expect(id).toEqual(expect.any(String));
      expect(messages[0]).toEqual({
        text: ' ',
        context_id: id,
        voice_settings: { stability: 0.5, similarity_boost: 0.75 },
        generation_config: { chunk_length_schedule: [50, 120] },
      });
      expect(messages[1]).toEqual({ text: 'Load 2314 ', context_id: id, flush: true }); // the first piece
      expect(messages[2]).toEqual({ text: 'is in transit. ', context_id: id, flush: true });
      expect(messages.slice(-2)).toEqual([
        { text: '', context_id: id, flush: true },
        { context_id: id, close_context: true },
      ]);
    } finally {
      await tts.close();
    }
  });

  it('reuses one connection across calls and labels the reused one warm', async () => {
    const tts = make();
    const sessions = fake.stats.sessions;
    const openBefore = fake.stats.open;
    try {
      for (const text of ['First turn.', 'Second turn.', 'Third turn.']) {
        const chunks = await collect(tts.synthesizeStream(pieces([text])));
        expect(transcribeFakeSpeech(joined(chunks))).toBe(text);
      }
      expect(fake.stats.sessions).toBe(sessions + 1);
      expect(new Set(messagesOf().map((m) => m.context_id)).size).toBe(3);
      expect(monitor.stats(OP.tts, { labels: { connection: 'new', outcome: 'ok' } })?.count).toBe(1);
      expect(monitor.stats(OP.tts, { labels: { connection: 'warm', outcome: 'ok' } })?.count).toBe(2);
      expect(fake.stats.open).toBe(openBefore + 1);
    } finally {
      await tts.close();
    }
    await vi.waitFor(() => expect(fake.stats.open).toBe(openBefore));
  });

  it('prewarm() opens the connection before the first sentence, so the call pays no handshake', async () => {
    fake.connectLatencyMs = 200;
    const tts = make();
    const openBefore = fake.stats.open;
    try {
      await tts.prewarm();
      await tts.prewarm(); // idempotent
      expect(fake.stats.open).toBe(openBefore + 1);
      const sessions = fake.stats.sessions;
      await collect(tts.synthesizeStream(pieces(['Hello there.'])));
      expect(fake.stats.sessions).toBe(sessions);
      expect(monitor.stats(OP.ttsTtfb, { labels: { connection: 'warm' } })?.count).toBe(1);
    } finally {
      fake.connectLatencyMs = 0;
      await tts.close();
    }
    await vi.waitFor(() => expect(fake.stats.open).toBe(openBefore));
  });

  it('the fake charges connectLatencyMs to new connections only (a reused WebSocket does not pay it)', async () => {
    fake.connectLatencyMs = 120;
    fake.dropIdleConnections(); // earlier tests left kept-alive sockets in the fetch pool
    await new Promise((r) => setTimeout(r, 20));
    const tts = make();
    try {
      await collect(tts.synthesize('One.'));
      await collect(tts.synthesizeStream(pieces(['Three.'])));
      await collect(tts.synthesizeStream(pieces(['Four.'])));
    } finally {
      fake.connectLatencyMs = 0;
      await tts.close();
    }
    const [first, ws] = fake.requests.entries;
    expect(first).toMatchObject({ route: 'stream', newConnection: true, connectMs: 120 });
    expect(ws).toMatchObject({ transport: 'ws', newConnection: true, connectMs: 120 });
    expect(fake.requests.entries).toHaveLength(2); // the second synthesis reused the WebSocket
  });

  it('prewarm() never rejects for a provider fault', async () => {
    fake.faults.enqueue({ kind: 'error', route: 'multi-stream-input', status: 503 });
    const tts = make();
    await expect(tts.prewarm()).resolves.toBeUndefined();
    const chunks = await collect(tts.synthesizeStream(pieces(['Still works.'])));
    expect(transcribeFakeSpeech(joined(chunks))).toBe('Still works.');
    await tts.close();
  });

  it('closes an idle connection after idleConnectionMs; the next call opens a new one', async () => {
    const tts = make({ idleConnectionMs: 150 });
    const openBefore = fake.stats.open;
    await collect(tts.synthesizeStream(pieces(['One.'])));
    expect(fake.stats.open).toBe(openBefore + 1);
    await vi.waitFor(() => expect(fake.stats.open).toBe(openBefore), { timeout: 5000 });
    const sessions = fake.stats.sessions;
    const chunks = await collect(tts.synthesizeStream(pieces(['Two.'])));
    expect(transcribeFakeSpeech(joined(chunks))).toBe('Two.');
    expect(fake.stats.sessions).toBe(sessions + 1);
    await tts.close();
  });

  it('rejects an idle time the server would cut short', () => {
    expect(() => make({ idleConnectionMs: 20_000 })).toThrow(ConfigError);
  });

  it('barge-in: an abort closes the context, no audio after it, and the connection serves the next turn', async () => {
    fake.audioRate = 2;
    const tts = make();
    const openBefore = fake.stats.open;
    const ac = new AbortController();
    let afterAbort = 0;
    async function* llm(): AsyncGenerator<string> {
      yield ANSWER; // a sentence end: flushed at once
      await new Promise((r) => setTimeout(r, 3000)); // the model is still writing at barge-in
      yield 'More.';
    }
    const err = await caught(
      (async () => {
        for await (const _ of tts.synthesizeStream(llm(), { signal: ac.signal })) {
          if (ac.signal.aborted) afterAbort++;
          ac.abort();
        }
      })(),
    );
    expect(err).toBeInstanceOf(AbortedError);
    expect(afterAbort).toBe(0);
    const id = messagesOf()[0]?.context_id;
    await vi.waitFor(() => expect(messagesOf()).toContainEqual({ context_id: id, close_context: true }));
    expect(messagesOf()).not.toContainEqual({ text: '', context_id: id, flush: true });
    expect(fake.stats.open).toBe(openBefore + 1); // kept for the next turn
    fake.audioRate = Number.POSITIVE_INFINITY;
    const sessions = fake.stats.sessions;
    const chunks = await collect(tts.synthesizeStream(pieces(['Next turn.'])));
    expect(transcribeFakeSpeech(joined(chunks))).toBe('Next turn.'); // none of the old context's audio
    expect(fake.stats.sessions).toBe(sessions);
    expect(monitor.stats(OP.tts, { labels: { mode: 'websocket', outcome: 'aborted' } })?.count).toBe(1);
    await tts.close();
  });

  it('a consumer that stops early closes the context like an abort', async () => {
    fake.audioRate = 2;
    const tts = make();
    for await (const _ of tts.synthesizeStream(pieces([ANSWER]))) break;
    const id = messagesOf()[0]?.context_id;
    await vi.waitFor(() => expect(messagesOf()).toContainEqual({ context_id: id, close_context: true }));
    expect(monitor.stats(OP.tts)?.errors).toBe(0);
    await tts.close();
  });

  it('a connection that dies before any audio is replaced once and the text replayed', async () => {
    fake.faults.enqueue({ kind: 'reset', route: 'multi-stream-input' });
    fake.faultAfterChunks = 0;
    const tts = make();
    const sessions = fake.stats.sessions;
    const chunks = await collect(tts.synthesizeStream(pieces(['Load 2314 ', 'is in transit.'])));
    expect(transcribeFakeSpeech(joined(chunks))).toBe('Load 2314 is in transit.');
    expect(fake.stats.sessions).toBe(sessions + 2);
    await tts.close();
  });

  it('a connection that dies after audio fails the call with a retryable ProviderError', async () => {
    fake.faults.enqueue({ kind: 'reset', route: 'multi-stream-input' });
    fake.audioRate = 20;
    const tts = make();
    const err = await caught(collect(tts.synthesizeStream(pieces([ANSWER]))));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ retryable: true });
    expect((err as Error).message).toMatch(/code 1006/);
    // The next call gets a fresh connection.
    const chunks = await collect(tts.synthesizeStream(pieces(['Again.'])));
    expect(transcribeFakeSpeech(joined(chunks))).toBe('Again.');
    await tts.close();
  });

  it('maps a refused handshake (wrong key) to ProviderError 401, key redacted', async () => {
    const err = await caught(
      collect(make({ apiKey: 'el-wrong-key-ab12cd34' }).synthesizeStream(pieces(['Hi.']))),
    );
    expect(err).toMatchObject({ name: 'ProviderError', status: 401, retryable: false });
    expect((err as Error).message).not.toContain('el-wrong-key-ab12cd34');
  });

  it('maps a rate-limited handshake to a retryable ProviderError 429', async () => {
    fake.faults.enqueue({ kind: 'rateLimit', route: 'multi-stream-input' });
    const err = (await caught(collect(make().synthesizeStream(pieces(['Hi.']))))) as ProviderError;
    expect(err).toMatchObject({ status: 429, retryable: true });
  });

  it('maps an in-band error message to a ProviderError', async () => {
    fake.wsErrorsInBand = true;
    fake.faults.enqueue({ kind: 'rateLimit', route: 'multi-stream-input' });
    fake.faults.enqueue({ kind: 'rateLimit', route: 'multi-stream-input' });
    const err = (await caught(collect(make().synthesizeStream(pieces(['Hi.']))))) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toContain('too_many_concurrent_requests');
  });

  it('maps a frame that is not JSON to ResponseValidationError', async () => {
    fake.faults.enqueue({ kind: 'malformed', route: 'multi-stream-input' });
    const err = await caught(collect(make().synthesizeStream(pieces([ANSWER]))));
    expect(err).toBeInstanceOf(ResponseValidationError);
  });

  it('fails with TimeoutError when audio stalls', async () => {
    fake.faults.enqueue({ kind: 'timeout', route: 'multi-stream-input' });
    const tts = make({ timeoutMs: 300 });
    const err = await caught(collect(tts.synthesizeStream(pieces([ANSWER]))));
    expect(err).toBeInstanceOf(TimeoutError);
    expect(monitor.stats(OP.tts, { labels: { mode: 'websocket', outcome: 'timeout' } })?.count).toBe(1);
    await tts.close();
  });

  it('sends no null alignment and spells charsDurationsMs (fake fidelity)', async () => {
    const tts = make();
    const seen: Record<string, unknown>[] = [];
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(
      `${fake.url.replace('http', 'ws')}/v1/text-to-speech/${ELEVENLABS_DEFAULTS.voiceId}/multi-stream-input?output_format=pcm_16000`,
      { headers: { 'xi-api-key': KEY } },
    );
    ws.on('message', (d) => seen.push(JSON.parse(String(d)) as Record<string, unknown>));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ text: ' ', context_id: 'c1' }));
    ws.send(JSON.stringify({ text: `${ANSWER} `, context_id: 'c1', flush: true }));
    ws.send(JSON.stringify({ context_id: 'c1', close_context: true }));
    await vi.waitFor(() => expect(seen.some((m) => m.isFinal === true)).toBe(true));
    ws.close();
    const audio = seen.filter((m) => typeof m.audio === 'string');
    expect(audio.length).toBeGreaterThan(1);
    expect(audio.every((m) => m.contextId === 'c1')).toBe(true);
    expect(seen.some((m) => m.alignment === null || m.normalizedAlignment === null)).toBe(false);
    expect(audio[0]?.alignment).toHaveProperty('charsDurationsMs');
    expect(audio[0]?.alignment).not.toHaveProperty('charDurationsMs');
    expect(seen.at(-1)).toEqual({ isFinal: true, contextId: 'c1' });
    await tts.close();
  });
});

describe.skipIf(!LIVE_KEY)('ElevenLabsTextToSpeech against the real API (EARSHOT_LIVE_TESTS=1)', () => {
  it('streams audio over HTTP', async () => {
    const tts = new ElevenLabsTextToSpeech({ apiKey: LIVE_KEY as string, monitor });
    const chunks = await collect(tts.synthesize('Hello.'));
    expect(joined(chunks).length).toBeGreaterThan(1000);
  });

  it('streams audio over stream-input', async () => {
    const tts = new ElevenLabsTextToSpeech({ apiKey: LIVE_KEY as string, monitor });
    const chunks = await collect(tts.synthesizeStream(pieces(['Hello ', 'there.'])));
    expect(joined(chunks).length).toBeGreaterThan(1000);
  });
});

describe.each([
  ['multi-stream-input', 'multi-stream-input'],
  ['stream-input', 'stream-input'],
] as const)('ElevenLabsTextToSpeech streamed-input flush modes (%s)', (_name, route) => {
  const PARTS = ['Load 2314 ', 'is in ', 'transit. ', 'It arrives ', 'at noon.'];

  /** The text frames of the last WebSocket session, without init and end-of-input frames. */
  function textFrames(): { text: string; flush: boolean }[] {
    const r = fake.requests.entries.filter((e) => e.transport === 'ws').at(-1);
    expect(r?.route).toBe(route);
    const messages = (r?.body as { messages?: Record<string, unknown>[] } | undefined)?.messages ?? [];
    return messages
      .filter((m) => typeof m.text === 'string' && m.text.trim() !== '')
      .map((m) => ({ text: m.text as string, flush: m.flush === true }));
  }

  async function run(options: ElevenLabsTextToSpeechOptions): Promise<AudioChunk[]> {
    const tts = make({ webSocketRoute: route, ...options });
    try {
      return await collect(tts.synthesizeStream(pieces(PARTS)));
    } finally {
      await tts.close();
    }
  }

  it("flushes the first piece and the sentence ends by default ('first-and-sentence')", async () => {
    expect(ELEVENLABS_DEFAULTS.flush).toBe('first-and-sentence');
    const chunks = await run({});
    expect(textFrames()).toEqual([
      { text: 'Load 2314 ', flush: true },
      { text: 'is in ', flush: false },
      { text: 'transit. ', flush: true },
      { text: 'It arrives ', flush: false },
      { text: 'at noon. ', flush: true },
    ]);
    expect(transcribeFakeSpeech(joined(chunks))).toBe('Load 2314 is in transit. It arrives at noon.');
  });

  it("flush 'sentence' flushes only the sentence ends; 'always' every piece; 'never' none", async () => {
    await run({ flush: 'sentence' });
    expect(textFrames().map((f) => f.flush)).toEqual([false, false, true, false, true]);
    await run({ flush: 'always' });
    expect(textFrames().map((f) => f.flush)).toEqual([true, true, true, true, true]);
    const chunks = await run({ flush: 'never' });
    expect(textFrames().map((f) => f.flush)).toEqual([false, false, false, false, false]);
    expect(transcribeFakeSpeech(joined(chunks))).toBe('Load 2314 is in transit. It arrives at noon.');
  });

  it('the first-piece flush makes the fake generate the first words before the sentence is written', async () => {
    const heardBeforeRest = async (options: ElevenLabsTextToSpeechOptions) => {
      const early: AudioChunk[] = [];
      let writing = true;
      let firstAudio!: () => void;
      const heard = new Promise<void>((r) => {
        firstAudio = r;
      });
      async function* llm(): AsyncGenerator<string> {
        yield 'Load 2314 ';
        // The "model" writes on once audio came back, or after 300 ms without any.
        await Promise.race([heard, new Promise((r) => setTimeout(r, 300))]);
        writing = false;
        yield 'is in transit.';
      }
      const tts = make({ webSocketRoute: route, ...options });
      const all: AudioChunk[] = [];
      try {
        for await (const c of tts.synthesizeStream(llm())) {
          if (writing) early.push(c);
          all.push(c);
          firstAudio();
        }
      } finally {
        await tts.close();
      }
      expect(transcribeFakeSpeech(joined(all))).toBe('Load 2314 is in transit.');
      return early;
    };
    const early = await heardBeforeRest({});
    expect(early.length).toBeGreaterThan(0);
    expect(transcribeFakeSpeech(joined(early))).toBe('Load 2314');
    // Without it, ElevenLabs (and the fake) wait for the sentence or the chunk schedule.
    expect(await heardBeforeRest({ flush: 'sentence' })).toEqual([]);
  });
});
