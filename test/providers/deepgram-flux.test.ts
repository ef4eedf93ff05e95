/**
 * DeepgramSpeechToText on a Flux model (`/v2/listen`) through the real `@deepgram/sdk` v5
 * against the fake Deepgram server: the TurnInfo → event mapping, finalize()/close(), options,
 * typed errors, no leaked sockets, prewarm, and the pipeline's preemptive generation on Flux's
 * eager end of turn (hit, TurnResumed, a contradicted eager transcript).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  AbortedError,
  ConfigError,
  InvalidArgumentError,
  ProviderError,
  ResponseValidationError,
} from '../../src/errors.js';
import { type ChatMessage, createVoicePipeline, type TurnEvent } from '../../src/index.js';
import { OP, PerformanceMonitor } from '../../src/perf/index.js';
import type { SpeechToTextEvent, SpeechToTextSession } from '../../src/pipeline/contracts.js';
import {
  DeepgramSpeechToText,
  type DeepgramSpeechToTextOptions,
} from '../../src/providers/deepgram/index.js';
import {
  type FakeDeepgram,
  FakeLanguageModel,
  FakeStreamingTextToSpeech,
  startFakeDeepgram,
  synthesizeFakeSpeech,
} from '../../src/testing/index.js';

const KEY = 'dg-flux-key-3e8a1f0c77';
const QUESTION = 'Where is load 2314?';

let fake: FakeDeepgram;
let monitor: PerformanceMonitor;

beforeAll(async () => {
  fake = await startFakeDeepgram({ apiKey: KEY });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  monitor = new PerformanceMonitor();
  fake.faults.set(undefined);
  fake.faults.clearQueue();
  fake.latency.set({ kind: 'none' });
  fake.faultAfterMessages = 1;
  fake.requests.clear();
  Object.assign(fake.flux, {
    eagerEndOfTurnDelayMs: 40,
    endOfTurnDelayMs: 200,
    eagerTranscript: undefined,
    resumeAfterEagerMs: undefined,
    fatalError: undefined,
  });
});

function make(options: DeepgramSpeechToTextOptions = {}): DeepgramSpeechToText {
  return new DeepgramSpeechToText({
    apiKey: KEY,
    baseUrl: fake.url,
    monitor,
    timeoutMs: 3000,
    model: 'flux-general-en',
    ...options,
  });
}

function chunked(audio: Uint8Array, size = 3200): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < audio.length; i += size) out.push(audio.subarray(i, i + size));
  return out;
}

function sendSpeech(session: SpeechToTextSession, text: string): void {
  for (const c of chunked(synthesizeFakeSpeech(text))) void session.send(c);
}

/** Reads every event into `events` until the session ends; resolves with the error, if any. */
function record(session: SpeechToTextSession, events: SpeechToTextEvent[]): Promise<unknown> {
  return (async () => {
    for await (const e of session) events.push(e);
  })().then(
    () => undefined,
    (err: unknown) => err,
  );
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('DeepgramSpeechToText on Flux: events', () => {
  it('maps a turn: speech-started, interims, a preflight, then the final (speechFinal) and end-of-speech', async () => {
    const session = await make({ eagerEotThreshold: 0.5 }).stream({ interimResults: true });
    const events: SpeechToTextEvent[] = [];
    const done = record(session, events);
    sendSpeech(session, QUESTION);
    await vi.waitFor(() => expect(events.some((e) => e.type === 'end-of-speech')).toBe(true));
    await session.close();
    expect(await done).toBeUndefined();
    expect(events[0]?.type).toBe('speech-started');
    const transcripts = events.flatMap((e) => (e.type === 'transcript' ? [e.transcript] : []));
    expect(transcripts.some((t) => !t.isFinal && !t.preflight)).toBe(true);
    const preflight = transcripts.filter((t) => t.preflight);
    expect(preflight).toEqual([expect.objectContaining({ text: QUESTION, isFinal: false, preflight: true })]);
    const finals = transcripts.filter((t) => t.isFinal);
    expect(finals).toEqual([
      expect.objectContaining({ text: QUESTION, speechFinal: true, requestId: expect.any(String) }),
    ]);
    expect(finals[0]?.confidence).toBeCloseTo(0.99);
    expect(events.at(-1)).toMatchObject({
      type: 'end-of-speech',
      transcript: QUESTION,
      lastWordEndSeconds: expect.any(Number),
    });
    expect(events.some((e) => e.type === 'turn-resumed')).toBe(false);
    // Measured from the end of the last word to Flux's EndOfTurn (the wait the user sits through).
    const s = monitor.stats('stt', { labels: { mode: 'stream', trigger: 'endpoint', outcome: 'ok' } });
    expect(s?.count).toBe(1);
    expect(s?.minMs).toBeGreaterThanOrEqual(150);
  });

  it('connects to /v2/listen with the Flux parameters, and /v1/listen stays for nova models', async () => {
    const session = await make({ eagerEotThreshold: 0.4, eotThreshold: 0.8, eotTimeoutMs: 3000 }).stream();
    await session.close();
    expect(fake.requests.entries[0]).toMatchObject({
      path: '/v2/listen',
      route: 'flux',
      query: {
        model: 'flux-general-en',
        encoding: 'linear16',
        sample_rate: '16000',
        eager_eot_threshold: '0.4',
        eot_threshold: '0.8',
        eot_timeout_ms: '3000',
      },
    });
    expect(Object.keys(fake.requests.entries[0]?.query ?? {})).not.toContain('smart_format');
    const nova = await make({ model: 'nova-3' }).stream();
    await nova.close();
    expect(fake.requests.entries[1]).toMatchObject({ path: '/v1/listen', query: { model: 'nova-3' } });
  });

  it('sends no preflight without eagerEotThreshold, and no interims when interimResults is false', async () => {
    const session = await make().stream({ interimResults: false });
    const events: SpeechToTextEvent[] = [];
    const done = record(session, events);
    sendSpeech(session, QUESTION);
    await vi.waitFor(() => expect(events.some((e) => e.type === 'end-of-speech')).toBe(true));
    await session.close();
    await done;
    const transcripts = events.flatMap((e) => (e.type === 'transcript' ? [e.transcript] : []));
    expect(transcripts).toEqual([expect.objectContaining({ text: QUESTION, isFinal: true })]);
    expect(fake.requests.entries[0]?.query).not.toHaveProperty('eager_eot_threshold');
  });

  it('emits turn-resumed when speech continues after an eager end of turn; the final holds every word', async () => {
    fake.flux.endOfTurnDelayMs = 800;
    const session = await make({ eagerEotThreshold: 0.5 }).stream();
    const events: SpeechToTextEvent[] = [];
    const done = record(session, events);
    sendSpeech(session, QUESTION);
    await vi.waitFor(() =>
      expect(events.some((e) => e.type === 'transcript' && e.transcript.preflight)).toBe(true),
    );
    sendSpeech(session, 'And load 99?');
    await vi.waitFor(() => expect(events.some((e) => e.type === 'end-of-speech')).toBe(true), {
      timeout: 5000,
    });
    await session.close();
    await done;
    const kinds = events.map((e) =>
      e.type === 'transcript' ? (e.transcript.preflight ? 'preflight' : 'final') : e.type,
    );
    expect(kinds.indexOf('turn-resumed')).toBeGreaterThan(kinds.indexOf('preflight'));
    expect(events.at(-1)).toMatchObject({ type: 'end-of-speech', transcript: `${QUESTION} And load 99?` });
  });

  it('finalize(): the EndOfTurn answers it (trigger finalize); without one in the grace, the latest transcript ends the turn', async () => {
    const session = await make({ finalizeGraceMs: 1000 }).stream();
    const events: SpeechToTextEvent[] = [];
    const done = record(session, events);
    sendSpeech(session, QUESTION);
    session.finalize();
    await vi.waitFor(() => expect(events.some((e) => e.type === 'end-of-speech')).toBe(true));
    expect(monitor.stats('stt', { labels: { trigger: 'finalize', outcome: 'ok' } })?.count).toBe(1);

    // Flux slower than the grace: the turn ends at the grace with what Flux said so far, and
    // Flux's own EndOfTurn with the same words later adds nothing.
    fake.flux.endOfTurnDelayMs = 600;
    const s2 = await make({ finalizeGraceMs: 100 }).stream();
    const second: SpeechToTextEvent[] = [];
    const done2 = record(s2, second);
    sendSpeech(s2, 'And load 99?');
    await vi.waitFor(() =>
      expect(second.some((e) => e.type === 'transcript' && !e.transcript.isFinal)).toBe(false),
    );
    await new Promise((r) => setTimeout(r, 50));
    s2.finalize();
    await vi.waitFor(() => expect(second.some((e) => e.type === 'end-of-speech')).toBe(true));
    await new Promise((r) => setTimeout(r, 700)); // past Flux's own EndOfTurn
    expect(second.filter((e) => e.type === 'end-of-speech')).toEqual([
      expect.objectContaining({ transcript: 'And load 99?' }),
    ]);
    expect(second.filter((e) => e.type === 'transcript' && e.transcript.isFinal)).toHaveLength(1);
    await Promise.all([session.close(), s2.close()]);
    expect(await done).toBeUndefined();
    expect(await done2).toBeUndefined();
    await vi.waitFor(() => expect(fake.live.open).toBe(0));
  });

  it('close() sends CloseStream: Flux flushes the turn in progress, then the iteration ends', async () => {
    fake.flux.endOfTurnDelayMs = 5000;
    const closeStreams = fake.live.closeStreams;
    const session = await make().stream();
    const events: SpeechToTextEvent[] = [];
    const done = record(session, events);
    sendSpeech(session, 'Goodbye.');
    await new Promise((r) => setTimeout(r, 50));
    await session.close();
    expect(await done).toBeUndefined();
    expect(events).toContainEqual(expect.objectContaining({ type: 'end-of-speech', transcript: 'Goodbye.' }));
    expect(fake.live.closeStreams).toBe(closeStreams + 1);
    expect(fake.live.keepAlives + fake.live.finalizes).toBe(0); // Flux has neither: never sent
    expect((session as unknown as { requestId?: string }).requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(() => session.send(new Uint8Array(2))).toThrow(InvalidArgumentError);
  });
});

describe('DeepgramSpeechToText on Flux: options and errors', () => {
  it.each([
    [{ model: 'nova-2', eagerEotThreshold: 0.5 }, 'eagerEotThreshold'],
    [{ model: 'nova-3', eotTimeoutMs: 1000 }, 'eotTimeoutMs'],
    [{ eagerEotThreshold: 0.8, eotThreshold: 0.6 }, 'eagerEotThreshold'],
    [{ eagerEotThreshold: 0.1 }, 'eagerEotThreshold'],
    [{ eotThreshold: 0.95 }, 'eotThreshold'],
    [{ eotTimeoutMs: 100 }, 'eotTimeoutMs'],
  ] as const)('rejects %o with a ConfigError naming %s', (options, field) => {
    const err = (() => {
      try {
        make(options);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain(field);
    expect((err as ConfigError).message).not.toContain(KEY);
  });

  it('refuses transcribe() on a Flux model with advice', async () => {
    const err = await caught(make().transcribe(synthesizeFakeSpeech(QUESTION), { format: 'pcm_16000' }));
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toMatch(/stream\(\).*nova/);
  });

  it('maps a fatal Error message to a ProviderError with its code, and closes the socket', async () => {
    fake.flux.fatalError = { code: 'INTERNAL_SERVER_ERROR', description: 'Something broke.' };
    fake.faultAfterMessages = 2;
    const session = await make().stream();
    const events: SpeechToTextEvent[] = [];
    const failure = record(session, events);
    sendSpeech(session, QUESTION);
    const err = await failure;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ retryable: true, requestId: expect.any(String) });
    expect((err as Error).message).toMatch(/INTERNAL_SERVER_ERROR: Something broke/);
    expect(monitor.stats('stt', { labels: { trigger: 'session', outcome: 'error' } })?.count).toBe(1);
    await vi.waitFor(() => expect(fake.live.open).toBe(0));
  });

  it('a client-fault fatal error is not retryable', async () => {
    fake.flux.fatalError = { code: 'UNPARSABLE_CLIENT_MESSAGE', description: 'Bad message.' };
    const session = await make().stream();
    const failure = record(session, []);
    sendSpeech(session, QUESTION);
    const err = await failure;
    expect(err).toMatchObject({ name: 'ProviderError', retryable: false });
  });

  it.each([
    ['a frame that is not JSON', { kind: 'malformed', route: 'flux' } as const, ResponseValidationError],
    ['a dropped socket', { kind: 'reset', route: 'flux' } as const, ProviderError],
  ])('fails the iteration on %s with a typed error', async (_name, fault, type) => {
    fake.faults.enqueue(fault);
    fake.faultAfterMessages = 1;
    const session = await make().stream();
    const err = await caught(
      (async () => {
        sendSpeech(session, QUESTION);
        for await (const _ of session) {
          // drain
        }
      })(),
    );
    expect(err).toBeInstanceOf(type);
    await vi.waitFor(() => expect(fake.live.open).toBe(0));
  });

  describe('frames that are not Flux format', () => {
    /** A bare /v2/listen server that answers the first audio with `frame`, then a valid end of turn. */
    async function withServer(frame: unknown, body: (url: string) => Promise<void>): Promise<void> {
      const { WebSocketServer } = await import('ws');
      const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
      await new Promise<void>((r) => wss.once('listening', () => r()));
      wss.on('connection', (ws) => {
        const base = { request_id: '00000000-0000-4000-8000-000000000000', sequence_id: 0 };
        ws.send(JSON.stringify({ type: 'Connected', ...base }));
        ws.on('message', (data, isBinary) => {
          if (!isBinary && String(data).includes('CloseStream')) ws.close(1000);
        });
        ws.once('message', () => {
          ws.send(JSON.stringify(frame));
          ws.send(
            JSON.stringify({
              type: 'TurnInfo',
              ...base,
              event: 'EndOfTurn',
              turn_index: 0,
              audio_window_start: 0,
              audio_window_end: 1,
              transcript: 'Hello.',
              words: [],
              end_of_turn_confidence: 0.9,
            }),
          );
        });
      });
      try {
        await body(`http://127.0.0.1:${(wss.address() as { port: number }).port}`);
      } finally {
        for (const c of wss.clients) c.terminate();
        await new Promise((r) => wss.close(r));
      }
    }
    const turnInfo = { type: 'TurnInfo', event: 'Update', turn_index: 0, transcript: 'Hel' };

    it.each([
      ['a JSON number', 5],
      ['no type', { event: 'Update' }],
      ['a TurnInfo without transcript', { ...turnInfo, transcript: undefined }],
      ['a TurnInfo with a numeric transcript', { ...turnInfo, transcript: 42 }],
      ['a TurnInfo without turn_index', { ...turnInfo, turn_index: 'one' }],
      ['a TurnInfo with a numeric event', { ...turnInfo, event: 3 }],
    ])('fails with ResponseValidationError on %s', async (_name, frame) => {
      await withServer(frame, async (url) => {
        const stt = new DeepgramSpeechToText({ apiKey: KEY, baseUrl: url, model: 'flux-general-en' });
        const session = await stt.stream();
        const failure = record(session, []);
        session.send(new Uint8Array(320).fill(1));
        const err = await failure;
        expect(err).toBeInstanceOf(ResponseValidationError);
        expect(() => session.send(new Uint8Array(2))).toThrow(ResponseValidationError);
      });
    });

    it('ignores a TurnInfo event it does not know, as the SDK does', async () => {
      await withServer({ ...turnInfo, event: 'SomethingNew' }, async (url) => {
        const stt = new DeepgramSpeechToText({ apiKey: KEY, baseUrl: url, model: 'flux-general-en' });
        const session = await stt.stream();
        const events: SpeechToTextEvent[] = [];
        const done = record(session, events);
        session.send(new Uint8Array(320).fill(1));
        await vi.waitFor(() => expect(events.some((e) => e.type === 'end-of-speech')).toBe(true));
        await session.close();
        expect(await done).toBeUndefined();
      });
    });
  });

  it('maps a refused handshake (wrong key, rate limit) to ProviderError with the status, no key in it', async () => {
    const wrong = await caught(make({ apiKey: 'dg-wrong-flux-key-0011' }).stream());
    expect(wrong).toMatchObject({ name: 'ProviderError', status: 401, retryable: false });
    expect((wrong as Error).message).not.toContain('dg-wrong-flux-key-0011');
    fake.faults.enqueue({ kind: 'rateLimit', route: 'flux' });
    expect(await caught(make().stream())).toMatchObject({ status: 429, retryable: true });
  });

  it('reports Deepgram closing an idle Flux socket with advice that fits Flux (no KeepAlive)', async () => {
    const strict = await startFakeDeepgram({ idleTimeoutMs: 150 });
    try {
      const stt = new DeepgramSpeechToText({ apiKey: KEY, baseUrl: strict.url, model: 'flux-general-en' });
      const err = await record(await stt.stream(), []);
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as Error).message).toMatch(/NET-0001.*keep sending audio/);
      expect(strict.live.keepAlives).toBe(0);
    } finally {
      await strict.close();
    }
  });

  it('aborts mid-stream: AbortedError, and the socket closes', async () => {
    const ac = new AbortController();
    const session = await make().stream({ signal: ac.signal });
    const events: SpeechToTextEvent[] = [];
    const failure = record(session, events);
    sendSpeech(session, QUESTION);
    ac.abort();
    expect(await failure).toBeInstanceOf(AbortedError);
    await vi.waitFor(() => expect(fake.live.open).toBe(0));
  });

  it('prewarm() opens the Flux socket ahead of time and hands it to the next stream()', async () => {
    const stt = make({ eagerEotThreshold: 0.5 });
    await stt.prewarm();
    const sessions = fake.live.sessions;
    const session = await stt.stream();
    expect(fake.live.sessions).toBe(sessions); // no second handshake
    const events: SpeechToTextEvent[] = [];
    const done = record(session, events);
    sendSpeech(session, QUESTION);
    await vi.waitFor(() => expect(events.some((e) => e.type === 'end-of-speech')).toBe(true));
    await session.close();
    await done;
    await stt.close();
    await vi.waitFor(() => expect(fake.live.open).toBe(0));
  });
});

/** Echoes the user's last words, so the audio says which transcript it answers. */
const echo = (messages: readonly ChatMessage[]) => {
  const user = [...messages].reverse().find((m) => m.role === 'user');
  return `You asked: ${user?.content ?? ''}`;
};

async function* streamOf(...parts: (string | number)[]): AsyncIterable<Uint8Array> {
  for (const part of parts) {
    if (typeof part === 'number') {
      await new Promise((r) => setTimeout(r, part)); // a pause in wall-clock time
      continue;
    }
    const audio = synthesizeFakeSpeech(part);
    for (let o = 0; o < audio.byteLength; o += 4096) yield audio.subarray(o, o + 4096);
  }
}

describe('the pipeline on Deepgram Flux: preemptive generation on the eager end of turn', () => {
  async function turn(stt: DeepgramSpeechToText, audio: AsyncIterable<Uint8Array>, tokensPerSecond = 400) {
    const llm = new FakeLanguageModel({ respond: echo, latency: { ttft: 20, tokensPerSecond } });
    const tts = new FakeStreamingTextToSpeech({ msPerChar: 2, chunkBytes: 512, streamFirstByteMs: 1 });
    const pm = new PerformanceMonitor();
    const pipeline = createVoicePipeline({ stt, llm, tts, systemPrompt: '', monitor: pm, prewarm: false });
    const stream = pipeline.respond(audio);
    const events: TurnEvent[] = [];
    for await (const e of stream) events.push(e);
    const result = await stream.done;
    await pipeline.close();
    await stt.close();
    await vi.waitFor(() => expect(fake.live.open).toBe(0));
    return { events, result, llm, tts, monitor: pm };
  }
  const heard = (events: TurnEvent[]) =>
    events.flatMap((e) => (e.type === 'sentence' ? [e.text] : [])).join(' ');

  it('starts the answer on EagerEndOfTurn and keeps it at EndOfTurn (a hit); without eagerEotThreshold it waits', async () => {
    const eager = await turn(make({ eagerEotThreshold: 0.5 }), streamOf(QUESTION));
    expect(eager.result.transcript).toBe(QUESTION);
    expect(eager.result.preemptive).toEqual({
      outcome: 'hit',
      attempts: 1,
      wastedLlmCalls: 0,
      wastedTokens: 0,
    });
    expect(eager.llm.calls).toHaveLength(1);
    expect(heard(eager.events)).toContain(`You asked: ${QUESTION}`);
    const tl = eager.result.timeline;
    const llmSpan = tl.spans.find((s) => s.name === OP.llm);
    // The model started before the confirmed transcript, nothing played before it.
    expect(llmSpan?.startMs).toBeLessThan(tl.marks.transcriptMs as number);
    expect(tl.marks.firstAudioMs).toBeGreaterThanOrEqual(tl.marks.transcriptMs as number);
    expect(eager.monitor.stats(OP.preemptive, { labels: { outcome: 'hit' } })?.count).toBe(1);

    const plain = await turn(make(), streamOf(QUESTION));
    expect(plain.result.preemptive).toBeUndefined();
    const plainLlm = plain.result.timeline.spans.find((s) => s.name === OP.llm);
    expect(plainLlm?.startMs).toBeGreaterThanOrEqual(plain.result.timeline.marks.transcriptMs as number);
  });

  it('drops the answer started on the eager transcript when the turn resumes, then keeps the one started on the next: no audio from the first', async () => {
    fake.flux.endOfTurnDelayMs = 600;
    const {
      result,
      llm,
      events,
      monitor: pm,
    } = await turn(make({ eagerEotThreshold: 0.5 }), streamOf(QUESTION, 250, 'And load 99?'), 15);
    expect(result.transcript).toBe(`${QUESTION} And load 99?`);
    expect(llm.calls.map((c) => c.messages.at(-1)?.content)).toEqual([QUESTION, `${QUESTION} And load 99?`]);
    // The first eager answer was dropped on TurnResumed; the second eager end of turn (the whole
    // question) started the answer that EndOfTurn kept.
    expect(result.preemptive).toEqual({
      outcome: 'hit',
      attempts: 2,
      wastedLlmCalls: 1,
      wastedTokens: expect.any(Number),
    });
    expect(pm.stats(OP.preemptive, { labels: { outcome: 'miss' } })?.count).toBe(1);
    expect(pm.stats(OP.preemptive, { labels: { outcome: 'hit' } })?.count).toBe(1);
    const said = events.flatMap((e) => (e.type === 'llm-delta' ? [e.text] : [])).join('');
    expect(said).toBe(`You asked: ${QUESTION} And load 99?`);
  });

  it('confirms at once when Flux ended the turn before the audio did (EndOfTurn during trailing audio)', async () => {
    // The host streams on past the end of turn (here: a pause, then the stream ends); Flux's
    // EndOfTurn came in the pause, and finalize() at the end of the audio has nothing to add.
    const { result, events } = await turn(make({ eagerEotThreshold: 0.5 }), streamOf(QUESTION, 500));
    expect(result.transcript).toBe(QUESTION);
    expect(result.preemptive).toMatchObject({ outcome: 'hit', attempts: 1 });
    expect(events.filter((e) => e.type === 'transcript')).toHaveLength(1);
  }, 10_000);

  it('drops the answer when the eager transcript differs from the final', async () => {
    fake.flux.eagerTranscript = (t) => t.replace('2314', '2315');
    const { result, llm, events } = await turn(make({ eagerEotThreshold: 0.5 }), streamOf(QUESTION), 15);
    expect(result.transcript).toBe(QUESTION);
    expect(llm.calls.map((c) => c.messages.at(-1)?.content)).toEqual(['Where is load 2315?', QUESTION]);
    expect(result.preemptive).toMatchObject({ outcome: 'miss', attempts: 1, wastedLlmCalls: 1 });
    const said = events.flatMap((e) => (e.type === 'llm-delta' ? [e.text] : [])).join('');
    expect(said).not.toContain('2315');
  });
});
