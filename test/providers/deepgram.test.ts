/**
 * DeepgramSpeechToText through the real `@deepgram/sdk` v5 against the fake Deepgram server:
 * prerecorded and live transcription, error mapping, aborts, deadlines, secrets.
 */
import { createServer, type Server } from 'node:net';
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
import type { SpeechToTextEvent, SpeechToTextSession } from '../../src/pipeline/contracts.js';
import {
  DEEPGRAM_DEFAULTS,
  DeepgramSpeechToText,
  type DeepgramSpeechToTextOptions,
} from '../../src/providers/deepgram/index.js';
import { loadDeepgramSdk } from '../../src/providers/deepgram/sdk.js';
import { type FakeDeepgram, startFakeDeepgram, synthesizeFakeSpeech } from '../../src/testing/index.js';

const KEY = 'dg-test-key-7f3a9c2e51';
const ENV_NAMES = ['DEEPGRAM_API_KEY', 'DEEPGRAM_ACCESS_TOKEN'] as const;
const savedEnv: Record<string, string | undefined> = {};

let fake: FakeDeepgram;
let monitor: PerformanceMonitor;

beforeAll(async () => {
  for (const n of ENV_NAMES) {
    savedEnv[n] = process.env[n];
    delete process.env[n];
  }
  fake = await startFakeDeepgram({ apiKey: KEY });
});

afterAll(async () => {
  await fake.close();
  for (const n of ENV_NAMES) {
    if (savedEnv[n] === undefined) delete process.env[n];
    else process.env[n] = savedEnv[n];
  }
});

beforeEach(() => {
  monitor = new PerformanceMonitor();
  fake.faults.set(undefined);
  fake.faults.clearQueue();
  fake.latency.set({ kind: 'none' });
  fake.faultAfterMessages = 1;
  fake.requests.clear();
});

function make(options: DeepgramSpeechToTextOptions = {}): DeepgramSpeechToText {
  return new DeepgramSpeechToText({ apiKey: KEY, baseUrl: fake.url, monitor, timeoutMs: 3000, ...options });
}

function chunked(audio: Uint8Array, size = 3200): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < audio.length; i += size) out.push(audio.subarray(i, i + size));
  return out;
}

async function* asStream(parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) {
    await new Promise((r) => setTimeout(r, 1));
    yield p;
  }
}

/** Iterates until `stop` matches (inclusive), then leaves the loop (which closes the session). */
async function readUntil(
  session: SpeechToTextSession,
  stop: (e: SpeechToTextEvent) => boolean,
): Promise<SpeechToTextEvent[]> {
  const events: SpeechToTextEvent[] = [];
  for await (const e of session) {
    events.push(e);
    if (stop(e)) break;
  }
  return events;
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

async function drain(session: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const e of session) out.push(e);
  return out;
}

const QUESTION = 'Where is load 2314?';

describe('DeepgramSpeechToText prerecorded', () => {
  it('transcribes fake speech and reports the request id', async () => {
    const t = await make().transcribe(synthesizeFakeSpeech(QUESTION), { format: 'pcm_16000' });
    expect(t.text).toBe(QUESTION);
    expect(t.isFinal).toBe(true);
    expect(t.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(t.durationSeconds).toBeGreaterThan(0.5);
  });

  it('sends nova-2 with smart_format and the raw encoding as query parameters', async () => {
    await make().transcribe(synthesizeFakeSpeech(QUESTION), { format: 'pcm_16000' });
    const q = fake.requests.entries[0]?.query;
    expect(q).toMatchObject({
      model: 'nova-2',
      smart_format: 'true',
      encoding: 'linear16',
      sample_rate: '16000',
    });
    expect(DEEPGRAM_DEFAULTS.model).toBe('nova-2');
  });

  it('uploads an async iterable of chunks and transcribes it', async () => {
    const parts = chunked(synthesizeFakeSpeech(QUESTION), 1000);
    const t = await make().transcribe(asStream(parts), { format: 'pcm_16000' });
    expect(t.text).toBe(QUESTION);
  });

  it('sends no encoding for self-describing WAV', async () => {
    const t = await make().transcribe(synthesizeFakeSpeech(QUESTION, { format: 'wav' }), { format: 'wav' });
    expect(t.text).toBe(QUESTION);
    expect(fake.requests.entries[0]?.query.encoding).toBeUndefined();
  });

  it('passes smartFormat: false through (Deepgram then lower-cases and drops punctuation)', async () => {
    const t = await make({ smartFormat: false }).transcribe(synthesizeFakeSpeech(QUESTION), {
      format: 'pcm_16000',
    });
    expect(t.text).toBe('where is load 2314');
  });

  it('records the whole request as stt with mode prerecorded', async () => {
    fake.latency.set(60);
    await make({ model: 'nova-3' }).transcribe(synthesizeFakeSpeech('Hi.'), { format: 'pcm_16000' });
    const s = monitor.stats('stt', {
      labels: { mode: 'prerecorded', provider: 'deepgram', model: 'nova-3', outcome: 'ok' },
    });
    expect(s?.count).toBe(1);
    // Lower bound only: the injected server delay must be inside the measurement.
    expect(s?.minMs).toBeGreaterThanOrEqual(55);
  });

  it('maps a wrong key to a non-retryable ProviderError 401 that never shows the key', async () => {
    const other = 'dg-wrong-key-0b8e44d1';
    const err = await caught(
      make({ apiKey: other }).transcribe(synthesizeFakeSpeech('x'), { format: 'pcm_16000' }),
    );
    expect(err).toBeInstanceOf(ProviderError);
    const e = err as ProviderError;
    expect(e).toMatchObject({
      provider: 'deepgram',
      status: 401,
      retryable: false,
      code: 'EARSHOT_PROVIDER_FAILED',
    });
    expect(e.requestId).toBeTruthy();
    expect(e.message).toContain('DEEPGRAM_API_KEY');
    for (const text of [e.message, String(e), JSON.stringify(e), JSON.stringify(e.toJSON())]) {
      expect(text).not.toContain(other);
      expect(text).not.toContain(KEY);
    }
  });

  it('maps 429 to a retryable ProviderError that says when to retry', async () => {
    fake.faults.enqueue({ kind: 'rateLimit', route: 'transcribe' });
    const err = (await caught(
      make().transcribe(synthesizeFakeSpeech('x'), { format: 'pcm_16000' }),
    )) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ status: 429, retryable: true });
    expect(err.message).toMatch(/retry after 1 s/);
  });

  it.each([500, 502, 503])('maps HTTP %i to a retryable ProviderError', async (status) => {
    fake.faults.enqueue({ kind: 'error', route: 'transcribe', status });
    const err = await caught(make().transcribe(synthesizeFakeSpeech('x'), { format: 'pcm_16000' }));
    expect(err).toMatchObject({ name: 'ProviderError', status, retryable: true });
  });

  it('maps HTTP 400 (the SDK BadRequestError) to a non-retryable ProviderError', async () => {
    fake.faults.enqueue({ kind: 'error', route: 'transcribe', status: 400 });
    const err = await caught(make().transcribe(synthesizeFakeSpeech('x'), { format: 'pcm_16000' }));
    expect(err).toMatchObject({ name: 'ProviderError', status: 400, retryable: false });
  });

  it('retries when maxRetries allows it (the SDK backs off, then succeeds)', async () => {
    fake.faults.enqueue({ kind: 'error', route: 'transcribe', status: 503 });
    const t = await make({ maxRetries: 1 }).transcribe(synthesizeFakeSpeech(QUESTION), {
      format: 'pcm_16000',
    });
    expect(t.text).toBe(QUESTION);
    expect(fake.requests.count).toBe(2);
  });

  it('maps a malformed body to ResponseValidationError', async () => {
    for (const seedRound of [1, 2, 3]) {
      fake.faults.enqueue({ kind: 'malformed', route: 'transcribe' });
      const err = await caught(
        make().transcribe(synthesizeFakeSpeech(`x${seedRound}`), { format: 'pcm_16000' }),
      );
      expect(err).toBeInstanceOf(ResponseValidationError);
      expect(err).toMatchObject({ provider: 'deepgram', retryable: false, code: 'EARSHOT_RESPONSE_INVALID' });
    }
  });

  it('maps a dropped connection to a retryable ProviderError without status', async () => {
    fake.faults.enqueue({ kind: 'reset', route: 'transcribe' });
    const err = await caught(make().transcribe(synthesizeFakeSpeech('x'), { format: 'pcm_16000' }));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ retryable: true, status: undefined });
  });

  it('times out a hung request with TimeoutError and records it as a timeout, counted as an error', async () => {
    fake.faults.enqueue({ kind: 'timeout', route: 'transcribe' });
    const err = await caught(
      make({ timeoutMs: 300 }).transcribe(synthesizeFakeSpeech('x'), { format: 'pcm_16000' }),
    );
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as TimeoutError).timeoutMs).toBe(300);
    expect(monitor.stats('stt', { labels: { outcome: 'timeout' } })?.count).toBe(1);
    expect(monitor.stats('stt')?.errors).toBe(1);
  });

  it('aborts an in-flight request with AbortedError and records it as aborted, not as an error', async () => {
    fake.latency.set(2000);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const err = await caught(
      make().transcribe(synthesizeFakeSpeech('x'), { format: 'pcm_16000', signal: ac.signal }),
    );
    expect(err).toBeInstanceOf(AbortedError);
    expect(monitor.stats('stt', { labels: { mode: 'prerecorded', outcome: 'aborted' } })?.count).toBe(1);
    expect(monitor.stats('stt')?.errors).toBe(0);
  });

  it('rejects an already-aborted signal without sending anything', async () => {
    const ac = new AbortController();
    ac.abort();
    const err = await caught(make().transcribe(synthesizeFakeSpeech('x'), { signal: ac.signal }));
    expect(err).toBeInstanceOf(AbortedError);
    expect(fake.requests.count).toBe(0);
  });

  it('refuses a format Deepgram cannot take', async () => {
    const err = await caught(make().transcribe(new Uint8Array(10), { format: 'flac_44100' }));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(fake.requests.count).toBe(0);
  });
});

describe('DeepgramSpeechToText configuration', () => {
  it('names the option and the environment variable when the key is missing', () => {
    const err = (() => {
      try {
        new DeepgramSpeechToText({ baseUrl: 'http://127.0.0.1:1' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain('DEEPGRAM_API_KEY');
    expect((err as ConfigError).message).toContain('apiKey: no Deepgram API key'); // issue 17, item 10: the name survives redaction
    expect((err as ConfigError).issues[0]?.path).toBe('apiKey');
  });

  it('takes the key from DEEPGRAM_API_KEY', async () => {
    process.env.DEEPGRAM_API_KEY = KEY;
    try {
      const t = await new DeepgramSpeechToText({ baseUrl: fake.url, monitor }).transcribe(
        synthesizeFakeSpeech('Hi.'),
        {
          format: 'pcm_16000',
        },
      );
      expect(t.text).toBe('Hi.');
    } finally {
      delete process.env.DEEPGRAM_API_KEY;
    }
  });

  it('lists every invalid option in one ConfigError', () => {
    let err: unknown;
    try {
      new DeepgramSpeechToText({ apiKey: KEY, baseUrl: 'not a url', endpointingMs: 5, utteranceEndMs: 200 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues.map((i) => i.path).sort()).toEqual([
      'baseUrl',
      'endpointingMs',
      'utteranceEndMs',
    ]);
  });

  it('reports a missing SDK as MissingDependencyError with the npm command', async () => {
    const err = await caught(
      loadDeepgramSdk(
        () => import('@deepgram/sdk-not-installed' as string) as Promise<typeof import('@deepgram/sdk')>,
      ),
    );
    expect(err).toBeInstanceOf(MissingDependencyError);
    expect((err as MissingDependencyError).message).toContain('npm install @deepgram/sdk');
  });

  it('records nothing with monitor: false', async () => {
    const stt = new DeepgramSpeechToText({ apiKey: KEY, baseUrl: fake.url, monitor: false });
    const spy = vi.spyOn(PerformanceMonitor.prototype, 'record');
    try {
      await stt.transcribe(synthesizeFakeSpeech('Hi.'), { format: 'pcm_16000' });
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });

  it('records nothing into the shared performanceMonitor when no monitor is given (issue 13)', async () => {
    const before = performanceMonitor.stats(OP.stt)?.count ?? 0;
    const stt = new DeepgramSpeechToText({ apiKey: KEY, baseUrl: fake.url });
    await stt.transcribe(synthesizeFakeSpeech('Hi.'), { format: 'pcm_16000' });
    const session = await stt.stream();
    for (const c of chunked(synthesizeFakeSpeech('Hello there.'))) session.send(c);
    session.finalize();
    await readUntil(session, (e) => e.type === 'end-of-speech');
    await session.close();
    expect(performanceMonitor.stats(OP.stt)?.count ?? 0).toBe(before);
    // An explicit monitor still gets one stt sample per call.
    const own = new PerformanceMonitor();
    await new DeepgramSpeechToText({ apiKey: KEY, baseUrl: fake.url, monitor: own }).transcribe(
      synthesizeFakeSpeech('Hi.'),
      { format: 'pcm_16000' },
    );
    expect(own.stats(OP.stt)?.count).toBe(1);
  });

  it('loads the SDK eagerly with create()', async () => {
    const stt = await DeepgramSpeechToText.create({ apiKey: KEY, baseUrl: fake.url });
    expect(stt).toMatchObject({ provider: 'deepgram', model: 'nova-2' });
  });
});

describe('DeepgramSpeechToText live', () => {
  it('streams interim and final transcripts and answers finalize() with end-of-speech', async () => {
    const session = await make().stream();
    for (const c of chunked(synthesizeFakeSpeech(QUESTION))) session.send(c);
    session.finalize();
    const events = await readUntil(session, (e) => e.type === 'end-of-speech');
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('speech-started');
    const transcripts = events.flatMap((e) => (e.type === 'transcript' ? [e.transcript] : []));
    expect(transcripts.some((t) => !t.isFinal)).toBe(true);
    expect(transcripts.filter((t) => t.isFinal).map((t) => t.text)).toEqual([QUESTION]);
    expect(events.at(-1)).toMatchObject({ type: 'end-of-speech', transcript: QUESTION });
  });

  it('opens the socket with the low-latency live defaults (interim results, no_delay, short endpointing)', async () => {
    const session = await make().stream();
    await session.close();
    expect(fake.requests.entries[0]).toMatchObject({
      transport: 'ws',
      query: {
        model: 'nova-2',
        smart_format: 'true',
        interim_results: 'true',
        no_delay: 'true',
        endpointing: '100',
        utterance_end_ms: '1000',
        vad_events: 'true',
        encoding: 'linear16',
        sample_rate: '16000',
        channels: '1',
      },
    });
  });

  it('measures finalize() → final transcript, server delay included', async () => {
    fake.latency.set(80);
    const session = await make({ vadEvents: false }).stream({ interimResults: false });
    for (const c of chunked(synthesizeFakeSpeech('Hello there.'))) session.send(c);
    const before = performance.now();
    session.finalize();
    const events = await readUntil(session, (e) => e.type === 'end-of-speech');
    const end = events.at(-1);
    expect(end?.type === 'end-of-speech' && end.atMs).toBeGreaterThanOrEqual(before);
    const s = monitor.stats('stt', { labels: { mode: 'stream', trigger: 'finalize', outcome: 'ok' } });
    expect(s?.count).toBe(1);
    expect(s?.minMs).toBeGreaterThanOrEqual(75);
  });

  it('ends the utterance on endpointing silence and measures from the end of the last word', async () => {
    const session = await make().stream();
    const events: SpeechToTextEvent[] = [];
    const reading = (async () => {
      for await (const e of session) events.push(e);
    })();
    for (const c of chunked(synthesizeFakeSpeech(QUESTION))) session.send(c);
    for (const c of chunked(new Uint8Array(16_000 * 2 * 0.5))) session.send(c); // 500 ms of silence
    await vi.waitFor(() => expect(events.some((e) => e.type === 'end-of-speech')).toBe(true));
    for (const c of chunked(new Uint8Array(16_000 * 2 * 1.2))) session.send(c); // reaches utterance_end_ms
    await session.close();
    await reading;
    expect(events.filter((e) => e.type === 'end-of-speech')).toEqual([
      expect.objectContaining({ transcript: QUESTION }),
    ]);
    expect(monitor.stats('stt', { labels: { trigger: 'endpoint', outcome: 'ok' } })?.count).toBe(1);
    expect(monitor.stats('stt', { labels: { trigger: 'finalize' } })).toBeUndefined();
  });

  it('closes gracefully: CloseStream, the last final, Metadata, then the iteration ends', async () => {
    const session = await make().stream();
    const reading = drain(session);
    for (const c of chunked(synthesizeFakeSpeech('Goodbye.'))) session.send(c);
    await session.close();
    const events = (await reading) as SpeechToTextEvent[];
    expect(events).toContainEqual(expect.objectContaining({ type: 'end-of-speech', transcript: 'Goodbye.' }));
    expect(fake.live.closeStreams).toBeGreaterThanOrEqual(1);
    expect((session as unknown as { requestId?: string }).requestId).toBeTruthy();
  });

  it('refuses send() after close()', async () => {
    const session = await make().stream();
    await session.close();
    expect(() => session.send(new Uint8Array(2))).toThrow(InvalidArgumentError);
  });

  it('keeps an idle socket open with KeepAlive messages', async () => {
    const session = await make({ keepAliveMs: 60 }).stream();
    const before = fake.live.keepAlives;
    await new Promise((r) => setTimeout(r, 300));
    await session.close();
    expect(fake.live.keepAlives - before).toBeGreaterThanOrEqual(2);
  });

  it('reports Deepgram closing an idle socket (NET-0001) with advice', async () => {
    const strict = await startFakeDeepgram({ idleTimeoutMs: 150 });
    try {
      const stt = new DeepgramSpeechToText({ apiKey: KEY, baseUrl: strict.url, monitor, keepAliveMs: false });
      const session = await stt.stream();
      const err = await caught(drain(session));
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).message).toMatch(/NET-0001.*keepAliveMs/);
    } finally {
      await strict.close();
    }
  });

  it('maps a refused handshake (wrong key) to ProviderError 401', async () => {
    const err = await caught(make({ apiKey: 'dg-wrong-key-99aa11bb' }).stream());
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ status: 401, retryable: false });
    expect((err as Error).message).not.toContain('dg-wrong-key-99aa11bb');
  });

  it('maps a rate-limited handshake to a retryable ProviderError 429', async () => {
    fake.faults.enqueue({ kind: 'rateLimit', route: 'live' });
    const err = await caught(make().stream());
    expect(err).toMatchObject({ name: 'ProviderError', status: 429, retryable: true });
  });

  it('times out a handshake that never completes', async () => {
    const silent: Server = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as { port: number }).port;
    try {
      const stt = new DeepgramSpeechToText({
        apiKey: KEY,
        baseUrl: `http://127.0.0.1:${port}`,
        timeoutMs: 200,
      });
      const err = await caught(stt.stream());
      expect(err).toBeInstanceOf(TimeoutError);
    } finally {
      silent.close();
    }
  });

  it('fails the iteration with a retryable ProviderError when the socket drops mid-stream', async () => {
    fake.faults.enqueue({ kind: 'reset', route: 'live' });
    const session = await make().stream();
    for (const c of chunked(synthesizeFakeSpeech(QUESTION))) session.send(c);
    const err = await caught(drain(session));
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ retryable: true });
    expect((err as Error).message).toMatch(/code 1006/);
  });

  it('keeps the session alive when Deepgram never answers finalize() (nothing buffered)', async () => {
    fake.faults.enqueue({ kind: 'timeout', route: 'live' });
    fake.faultAfterMessages = 0;
    const session = await make({ timeoutMs: 300, finalizeGraceMs: 100 }).stream();
    const events: SpeechToTextEvent[] = [];
    const failure = drain(session).then(
      () => undefined,
      (e: unknown) => e,
    );
    session.finalize();
    // Well past both the grace and the old timeoutMs deadline: still open, no failure.
    await new Promise((r) => setTimeout(r, 600));
    expect(() => session.send(new Uint8Array(320))).not.toThrow();
    expect(events).toEqual([]);
    expect(monitor.stats('stt', { labels: { outcome: 'timeout' } })).toBeUndefined();
    await session.close();
    expect(await failure).toBeUndefined();
  });

  it('ends the utterance with the finals so far when finalize() gets no reply, and takes the next one', async () => {
    fake.endOfTurnDelayMs = 60_000; // endpointing flushed the audio; the end of turn is far away
    try {
      const session = await make({ finalizeGraceMs: 100 }).stream();
      const events: SpeechToTextEvent[] = [];
      const reading = (async () => {
        for await (const e of session) events.push(e);
      })();
      for (const c of chunked(synthesizeFakeSpeech(QUESTION))) session.send(c);
      for (const c of chunked(new Uint8Array(16_000 * 2 * 0.2))) session.send(c); // endpointing silence
      await vi.waitFor(() =>
        expect(events.some((e) => e.type === 'transcript' && e.transcript.isFinal)).toBe(true),
      );
      const finalizes = fake.live.finalizes;
      session.finalize(); // nothing buffered: the fake, like Deepgram, does not answer
      await vi.waitFor(() => expect(events.some((e) => e.type === 'end-of-speech')).toBe(true));
      expect(fake.live.finalizes).toBe(finalizes + 1);
      expect(events.filter((e) => e.type === 'end-of-speech')).toEqual([
        expect.objectContaining({ transcript: QUESTION, lastWordEndSeconds: expect.any(Number) }),
      ]);
      expect(monitor.stats('stt', { labels: { trigger: 'finalize', outcome: 'ok' } })?.count).toBe(1);
      // The session lives on: a second utterance, answered this time.
      for (const c of chunked(synthesizeFakeSpeech('And load 99?'))) session.send(c);
      session.finalize();
      await vi.waitFor(() => expect(events.filter((e) => e.type === 'end-of-speech')).toHaveLength(2));
      expect(events.filter((e) => e.type === 'end-of-speech').at(-1)).toMatchObject({
        transcript: 'And load 99?',
      });
      await session.close();
      await reading;
    } finally {
      fake.endOfTurnDelayMs = 0;
    }
  });

  it('marks the final that ends the utterance speechFinal and reports the last word end', async () => {
    const session = await make().stream();
    const events: SpeechToTextEvent[] = [];
    const reading = (async () => {
      for await (const e of session) events.push(e);
    })();
    const speech = synthesizeFakeSpeech(QUESTION);
    for (const c of chunked(speech)) session.send(c);
    for (const c of chunked(new Uint8Array(16_000 * 2 * 0.3))) session.send(c);
    await vi.waitFor(() => expect(events.some((e) => e.type === 'end-of-speech')).toBe(true));
    await session.close();
    await reading;
    const finals = events.flatMap((e) =>
      e.type === 'transcript' && e.transcript.isFinal ? [e.transcript] : [],
    );
    expect(finals[0]).toMatchObject({ text: QUESTION, speechFinal: true });
    const interims = events.flatMap((e) =>
      e.type === 'transcript' && !e.transcript.isFinal ? [e.transcript] : [],
    );
    expect(interims.every((t) => t.speechFinal === undefined)).toBe(true);
    const end = events.find((e) => e.type === 'end-of-speech');
    const speechSeconds = speech.length / 32_000;
    expect(end?.type === 'end-of-speech' && end.lastWordEndSeconds).toBeGreaterThan(speechSeconds * 0.5);
    expect(end?.type === 'end-of-speech' && end.lastWordEndSeconds).toBeLessThanOrEqual(speechSeconds + 0.01);
  });

  it('ends the utterance on UtteranceEnd when endpointing is off, with last_word_end', async () => {
    const session = await make({ endpointingMs: false, utteranceEndMs: 1000 }).stream();
    const events: SpeechToTextEvent[] = [];
    const reading = (async () => {
      for await (const e of session) events.push(e);
    })();
    for (const c of chunked(synthesizeFakeSpeech(QUESTION))) session.send(c);
    for (const c of chunked(new Uint8Array(16_000 * 2 * 1.3))) session.send(c);
    await vi.waitFor(() => expect(events.some((e) => e.type === 'end-of-speech')).toBe(true));
    await session.close();
    await reading;
    const finals = events.flatMap((e) =>
      e.type === 'transcript' && e.transcript.isFinal ? [e.transcript] : [],
    );
    expect(finals.every((t) => t.speechFinal === false)).toBe(true);
    expect(events.filter((e) => e.type === 'end-of-speech')).toEqual([
      expect.objectContaining({ transcript: QUESTION, lastWordEndSeconds: expect.any(Number) }),
    ]);
    expect(fake.requests.entries[0]?.query).toMatchObject({ endpointing: 'false', utterance_end_ms: '1000' });
  });

  it('holds the end of turn back by the fake endOfTurnDelayMs, and new speech cancels it', async () => {
    fake.endOfTurnDelayMs = 250;
    try {
      const session = await make().stream();
      const events: { e: SpeechToTextEvent; at: number }[] = [];
      const reading = (async () => {
        for await (const e of session) events.push({ e, at: performance.now() });
      })();
      for (const c of chunked(synthesizeFakeSpeech(QUESTION))) session.send(c);
      for (const c of chunked(new Uint8Array(16_000 * 2 * 0.2))) session.send(c);
      await vi.waitFor(() => expect(events.some(({ e }) => e.type === 'end-of-speech')).toBe(true));
      const final = events.find(
        ({ e }) => e.type === 'transcript' && e.transcript.isFinal && e.transcript.text,
      );
      const end = events.find(({ e }) => e.type === 'end-of-speech');
      expect(final?.e.type === 'transcript' && final.e.transcript.speechFinal).toBe(false);
      expect((end?.at ?? 0) - (final?.at ?? 0)).toBeGreaterThanOrEqual(200);
      // A pause shorter than the delay, then more speech: no end of turn for the first part alone.
      const count = events.filter(({ e }) => e.type === 'end-of-speech').length;
      for (const c of chunked(synthesizeFakeSpeech('Load 7.'))) session.send(c);
      for (const c of chunked(new Uint8Array(16_000 * 2 * 0.2))) session.send(c);
      for (const c of chunked(synthesizeFakeSpeech('And 8.'))) session.send(c);
      for (const c of chunked(new Uint8Array(16_000 * 2 * 0.2))) session.send(c);
      await vi.waitFor(() =>
        expect(events.filter(({ e }) => e.type === 'end-of-speech')).toHaveLength(count + 1),
      );
      expect(events.filter(({ e }) => e.type === 'end-of-speech').at(-1)?.e).toMatchObject({
        transcript: 'Load 7. And 8.',
      });
      await session.close();
      await reading;
    } finally {
      fake.endOfTurnDelayMs = 0;
    }
  });

  it('records a finalize() cut short by an abort as aborted, not as an error', async () => {
    fake.faults.enqueue({ kind: 'timeout', route: 'live' });
    fake.faultAfterMessages = 0;
    const ac = new AbortController();
    const session = await make({ timeoutMs: 5000 }).stream({ signal: ac.signal });
    for (const c of chunked(synthesizeFakeSpeech(QUESTION))) session.send(c);
    session.finalize();
    setTimeout(() => ac.abort(), 50);
    const err = await caught(drain(session));
    expect(err).toBeInstanceOf(AbortedError);
    expect(monitor.stats('stt', { labels: { trigger: 'finalize', outcome: 'aborted' } })?.count).toBe(1);
    expect(monitor.stats('stt')?.errors).toBe(0);
  });

  it('fails with ResponseValidationError on a frame that is not JSON', async () => {
    fake.faults.enqueue({ kind: 'malformed', route: 'live' });
    fake.faultAfterMessages = 0;
    const session = await make().stream();
    for (const c of chunked(synthesizeFakeSpeech(QUESTION))) session.send(c);
    const err = await caught(drain(session));
    expect(err).toBeInstanceOf(ResponseValidationError);
  });

  it('aborts mid-stream: the iteration throws AbortedError and the socket closes', async () => {
    const ac = new AbortController();
    const session = await make().stream({ signal: ac.signal });
    const openBefore = fake.live.open;
    expect(openBefore).toBeGreaterThanOrEqual(1);
    const events: SpeechToTextEvent[] = [];
    const reading = (async () => {
      for await (const e of session) {
        events.push(e);
        if (events.length === 1) ac.abort();
      }
    })();
    for (const c of chunked(synthesizeFakeSpeech(QUESTION))) session.send(c);
    const err = await caught(reading);
    expect(err).toBeInstanceOf(AbortedError);
    expect(() => session.send(new Uint8Array(2))).toThrow(AbortedError);
    await vi.waitFor(() => expect(fake.live.open).toBe(openBefore - 1));
  });

  it('recovers from a dropped socket when reconnectAttempts allows it', async () => {
    fake.faults.enqueue({ kind: 'reset', route: 'live' });
    const sessionsBefore = fake.live.sessions;
    const session = await make({ reconnectAttempts: 1, timeoutMs: 8000 }).stream();
    const events: SpeechToTextEvent[] = [];
    const reading = (async () => {
      for await (const e of session) events.push(e);
    })();
    for (const c of chunked(synthesizeFakeSpeech('Lost words.'))) session.send(c); // dropped after one message
    await vi.waitFor(() => expect(fake.live.sessions).toBe(sessionsBefore + 2), { timeout: 8000 });
    // The first send after the drop may land while the SDK is still reconnecting.
    await vi.waitFor(
      () => {
        session.send(new Uint8Array(2));
      },
      { timeout: 8000 },
    );
    for (const c of chunked(synthesizeFakeSpeech(QUESTION))) session.send(c);
    session.finalize();
    await vi.waitFor(() => expect(events.some((e) => e.type === 'end-of-speech')).toBe(true));
    await session.close();
    await reading;
    expect(
      events.filter((e) => e.type === 'end-of-speech').map((e) => e.type === 'end-of-speech' && e.transcript),
    ).toEqual([QUESTION]);
  }, 20_000);
});

// Real Deepgram: only with EARSHOT_LIVE_TESTS=1 and a key, never in CI.
const LIVE_KEY = savedLiveKey();
function savedLiveKey(): string | undefined {
  if (process.env.CI === 'true' || process.env.EARSHOT_LIVE_TESTS !== '1') return undefined;
  return process.env.DEEPGRAM_API_KEY;
}

describe.skipIf(!LIVE_KEY)('DeepgramSpeechToText against the real API (EARSHOT_LIVE_TESTS=1)', () => {
  it('transcribes one second of silence and returns a request id', async () => {
    const stt = new DeepgramSpeechToText({ apiKey: LIVE_KEY as string, monitor });
    const t = await stt.transcribe(new Uint8Array(32_000), { format: 'pcm_16000' });
    expect(t.requestId).toBeTruthy();
    expect(typeof t.text).toBe('string');
  });

  it('opens and closes a live session', async () => {
    const stt = new DeepgramSpeechToText({ apiKey: LIVE_KEY as string, monitor });
    const session = await stt.stream();
    const reading = drain(session);
    session.send(new Uint8Array(32_000));
    await session.close();
    await reading;
    expect((session as unknown as { requestId?: string }).requestId).toBeTruthy();
  });
});

describe('DeepgramSpeechToText prewarm and close', () => {
  it('opens the live socket ahead of time and hands it to the next stream()', async () => {
    fake.connectLatencyMs = 150;
    try {
      const stt = make();
      const sessions = fake.live.sessions;
      await stt.prewarm();
      expect(fake.live.sessions).toBe(sessions + 1);
      await stt.prewarm(); // idempotent
      expect(fake.live.sessions).toBe(sessions + 1);
      const session = await stt.stream();
      expect(fake.live.sessions).toBe(sessions + 1); // no second handshake
      for (const c of chunked(synthesizeFakeSpeech(QUESTION))) session.send(c);
      session.finalize();
      const events = await readUntil(session, (e) => e.type === 'end-of-speech');
      expect(events.at(-1)).toMatchObject({ type: 'end-of-speech', transcript: QUESTION });
      await stt.close();
      await vi.waitFor(() => expect(fake.live.open).toBe(0));
    } finally {
      fake.connectLatencyMs = 0;
    }
  });

  it('does not hand a warm socket to a stream() with other settings', async () => {
    const stt = make();
    await stt.prewarm();
    const sessions = fake.live.sessions;
    const session = await stt.stream({ format: 'pcm_8000' });
    expect(fake.live.sessions).toBe(sessions + 1);
    expect(fake.requests.entries.at(-1)?.query).toMatchObject({ sample_rate: '8000' });
    await session.close();
    await stt.close();
    await vi.waitFor(() => expect(fake.live.open).toBe(0));
  });

  it('closes a warm socket nobody used after warmIdleMs, and keeps it alive with KeepAlive until then', async () => {
    const stt = make({ warmIdleMs: 400, keepAliveMs: 60 });
    const keepAlives = fake.live.keepAlives;
    await stt.prewarm();
    expect(fake.live.open).toBe(1);
    await vi.waitFor(() => expect(fake.live.keepAlives).toBeGreaterThan(keepAlives), { timeout: 5000 });
    await vi.waitFor(() => expect(fake.live.open).toBe(0), { timeout: 5000 });
    const sessions = fake.live.sessions;
    const session = await stt.stream(); // cold again: a new handshake
    expect(fake.live.sessions).toBe(sessions + 1);
    await session.close();
  });

  it('never rejects for a provider fault: a refused prewarm leaves the next stream() to connect', async () => {
    fake.faults.enqueue({ kind: 'error', route: 'live', status: 503 });
    const stt = make();
    await expect(stt.prewarm()).resolves.toBeUndefined();
    expect(fake.live.open).toBe(0);
    const session = await stt.stream();
    expect(fake.live.open).toBe(1);
    await session.close();
    await stt.close();
  });

  it('lets a stream() signal abort a session that came from prewarm()', async () => {
    const stt = make();
    await stt.prewarm();
    const ac = new AbortController();
    const session = await stt.stream({ signal: ac.signal });
    const failure = caught(drain(session));
    ac.abort();
    expect(await failure).toBeInstanceOf(AbortedError);
    await vi.waitFor(() => expect(fake.live.open).toBe(0));
  });
});

describe('DeepgramSpeechToText in the pipeline: the end of turn before the end of the audio', () => {
  it('answers when Deepgram endpointed while the host still streamed (finalize() then gets no reply)', async () => {
    const { createVoicePipeline } = await import('../../src/index.js');
    const { FakeLanguageModel, FakeTextToSpeech } = await import('../../src/testing/index.js');
    async function* audio(): AsyncIterable<Uint8Array> {
      yield* chunked(synthesizeFakeSpeech(QUESTION));
      yield* chunked(new Uint8Array(16_000 * 2 * 0.3)); // endpointing silence: speech_final now
      await new Promise((r) => setTimeout(r, 400)); // the host streams on a while
    }
    const stt = make();
    const pipeline = createVoicePipeline({
      stt,
      llm: new FakeLanguageModel({ respond: () => 'On its way.' }),
      tts: new FakeTextToSpeech({ msPerChar: 1 }),
      systemPrompt: '',
      monitor: false,
      prewarm: false,
    });
    const result = await pipeline.respond(audio()).done;
    expect(result.transcript).toBe(QUESTION);
    expect(result.reply).toBe('On its way.');
    await pipeline.close();
    await stt.close();
    await vi.waitFor(() => expect(fake.live.open).toBe(0));
  }, 10_000);
});
