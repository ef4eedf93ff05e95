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
    await collect(make().synthesize('Hello.'));
    await collect(make().synthesizeStream(pieces(['Hello. '])));
    const [http, ws] = fake.requests.entries;
    expect(http?.route).toBe('stream');
    expect(ws?.transport).toBe('ws');
    expect(http?.query).not.toHaveProperty('optimize_streaming_latency');
    expect(ws?.query).not.toHaveProperty('optimize_streaming_latency');
    fake.requests.clear();
    await collect(make({ optimizeStreamingLatency: 2 }).synthesize('Hello.'));
    await collect(make({ optimizeStreamingLatency: 2 }).synthesizeStream(pieces(['Hello. '])));
    expect(fake.requests.entries.map((e) => e.query.optimize_streaming_latency)).toEqual(['2', '2']);
  });

  it('records nothing into the shared performanceMonitor when no monitor is given (issue 13)', async () => {
    const before = performanceMonitor.stats(OP.tts)?.count ?? 0;
    const beforeTtfb = performanceMonitor.stats(OP.ttsTtfb)?.count ?? 0;
    const tts = new ElevenLabsTextToSpeech({ apiKey: KEY, baseUrl: fake.url });
    await collect(tts.synthesize('Hello.'));
    await collect(tts.synthesizeStream(pieces(['Hello. '])));
    expect(performanceMonitor.stats(OP.tts)?.count ?? 0).toBe(before);
    expect(performanceMonitor.stats(OP.ttsTtfb)?.count ?? 0).toBe(beforeTtfb);
    // ...while an explicit monitor still gets one tts and one tts_ttfb per call.
    const own = new PerformanceMonitor();
    const mine = new ElevenLabsTextToSpeech({ apiKey: KEY, baseUrl: fake.url, monitor: own });
    await collect(mine.synthesize('Hello.'));
    await collect(mine.synthesizeStream(pieces(['Hello. '])));
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

describe('ElevenLabsTextToSpeech WebSocket stream-input', () => {
  it('turns streamed text into audio that carries it', async () => {
    const parts = ['Load 2314 ', 'is in transit. ', 'It arrives ', 'at noon.'];
    const chunks = await collect(make().synthesizeStream(pieces(parts)));
    expect(chunks.length).toBeGreaterThan(1);
    expect(transcribeFakeSpeech(joined(chunks))).toBe('Load 2314 is in transit. It arrives at noon.');
  });

  it('opens with the init message, voice settings and chunk schedule, and ends with empty text', async () => {
    await collect(make({ chunkLengthSchedule: [50, 120] }).synthesizeStream(pieces(['Hello there.'])));
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
    for await (const c of make().synthesizeStream(llm())) {
      chunks.push(c);
      firstAudio();
    }
    expect(transcribeFakeSpeech(joined(chunks))).toBe('The first sentence is ready. The second one follows.');
  });

  it('records tts_ttfb and tts with mode websocket', async () => {
    fake.latency.set(40);
    await collect(make().synthesizeStream(pieces(['Hi there.'])));
    const labels = { mode: 'websocket', outcome: 'ok' };
    expect(monitor.stats('tts_ttfb', { labels })?.minMs).toBeGreaterThanOrEqual(35);
    expect(monitor.stats('tts', { labels })?.count).toBe(1);
  });

  it('maps a refused handshake (wrong key) to ProviderError 401', async () => {
    const err = await caught(
      collect(make({ apiKey: 'el-wrong-key-ab12cd34' }).synthesizeStream(pieces(['Hi.']))),
    );
    expect(err).toMatchObject({ name: 'ProviderError', status: 401, retryable: false });
    expect((err as Error).message).not.toContain('el-wrong-key-ab12cd34');
  });

  it('maps a rate-limited handshake to a retryable ProviderError 429', async () => {
    fake.faults.enqueue({ kind: 'rateLimit', route: 'stream-input' });
    const err = (await caught(collect(make().synthesizeStream(pieces(['Hi.']))))) as ProviderError;
    expect(err).toMatchObject({ status: 429, retryable: true });
    expect(err.message).toMatch(/retry after 1 s/);
  });

  it('maps an in-band error message to a ProviderError', async () => {
    fake.wsErrorsInBand = true;
    fake.faults.enqueue({ kind: 'rateLimit', route: 'stream-input' });
    const err = (await caught(collect(make().synthesizeStream(pieces(['Hi.']))))) as ProviderError;
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
      collect(make({ inactivityTimeoutSeconds: 1 }).synthesizeStream(slow())),
    )) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ retryable: false });
    expect(err.message).toMatch(/input_timeout_exceeded.*inactivityTimeoutSeconds/);
  });

  it('maps a frame that is not JSON to ResponseValidationError', async () => {
    fake.faults.enqueue({ kind: 'malformed', route: 'stream-input' });
    const err = await caught(collect(make().synthesizeStream(pieces([ANSWER]))));
    expect(err).toBeInstanceOf(ResponseValidationError);
  });

  it('maps a socket dropped mid-stream to a retryable ProviderError', async () => {
    fake.faults.enqueue({ kind: 'reset', route: 'stream-input' });
    const err = await caught(collect(make().synthesizeStream(pieces([ANSWER]))));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ retryable: true });
    expect((err as Error).message).toMatch(/code 1006/);
  });

  it('fails with TimeoutError when audio stalls after the text ended', async () => {
    fake.faults.enqueue({ kind: 'timeout', route: 'stream-input' });
    const err = await caught(collect(make({ timeoutMs: 300 }).synthesizeStream(pieces([ANSWER]))));
    expect(err).toBeInstanceOf(TimeoutError);
    expect(monitor.stats('tts', { labels: { mode: 'websocket', outcome: 'timeout' } })?.count).toBe(1);
  });

  it('aborts mid-stream with AbortedError and closes the socket', async () => {
    fake.audioRate = 2;
    const ac = new AbortController();
    const openBefore = fake.stats.open;
    const err = await caught(
      (async () => {
        for await (const _ of make().synthesizeStream(pieces([ANSWER]), { signal: ac.signal })) ac.abort();
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
    const err = (await caught(collect(make().synthesizeStream(failing())))) as Error;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.message).toContain('the model failed');
    await vi.waitFor(() => expect(fake.stats.open).toBe(openBefore));
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
