/**
 * Contract: the fake Deepgram, driven by the real `@deepgram/sdk` v5 (and by the adapter), on the
 * common and fault paths; every HTTP body and every live message it sends is checked against
 * Deepgram's published specs (`test/fixtures/specs/deepgram-*.json`, from
 * deepgram/deepgram-api-specs `openapi.yml` / `asyncapi.yml`).
 */
import { DeepgramClient } from '@deepgram/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeepgramSpeechToText } from '../../src/providers/deepgram/index.js';
import { type FakeDeepgram, startFakeDeepgram, synthesizeFakeSpeech } from '../../src/testing/index.js';
import { loadSpec, recordingFetch } from './spec-validate.js';

const KEY = 'dg-contract-key-51c0ffee';
const S = (name: string) => `components/schemas/${name}`;

// Known spec defect (specs README): ErrorResponse is a oneOf of a string and two objects with no
// required fields, so every object matches both object branches and oneOf rejects it. Only the
// oneOf at the top is excused; the body is then checked against the legacy branch, which is the
// shape Deepgram's /v1/listen sends.
const rest = loadSpec('deepgram-rest', [
  {
    schema: S('ErrorResponse'),
    path: /^$/,
    keyword: 'oneOf',
    why: 'oneOf of two object schemas without required fields matches every object twice',
  },
  {
    // ...and, with that oneOf failing, ajv also reports the string branch's type mismatch.
    // assertError() then checks the body against the legacy object branch on its own, so an
    // error body of the wrong type still fails.
    schema: S('ErrorResponse'),
    path: /^$/,
    keyword: 'type',
    why: 'branch error of the same defective oneOf',
  },
]);
const live = loadSpec('deepgram-live');

const LIVE_SCHEMA: Record<string, string> = {
  Results: S('ListenV1_ListenV1Results'),
  Metadata: S('ListenV1_ListenV1Metadata'),
  UtteranceEnd: S('ListenV1_ListenV1UtteranceEnd'),
  SpeechStarted: S('ListenV1_ListenV1SpeechStarted'),
};

let fake: FakeDeepgram;
beforeAll(async () => {
  fake = await startFakeDeepgram({ apiKey: KEY });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.faults.set(undefined);
  fake.faults.clearQueue();
  fake.faultAfterMessages = 1;
  fake.endOfTurnDelayMs = 0;
});

function assertError(text: string, what: string): void {
  const body = JSON.parse(text) as unknown;
  rest.assertValid(S('ErrorResponse'), body, what);
  rest.assertValid(S('ErrorResponseLegacyError'), body, what);
  expect(body).toMatchObject({ err_code: expect.any(String), err_msg: expect.any(String) });
}

function chunked(audio: Uint8Array, size = 3200): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < audio.length; i += size) out.push(audio.subarray(i, i + size));
  return out;
}

describe('Deepgram REST contract (POST /v1/listen)', () => {
  it('the spec check is not vacuous', () => {
    expect(rest.isValid(S('ListenV1Response'), { metadata: {} })).toBe(false);
    expect(live.isValid(S('ListenV1_ListenV1Results'), { type: 'Results' })).toBe(false);
  });

  it('answers a transcription with a valid ListenV1Response', async () => {
    const { fetch, exchanges } = recordingFetch();
    const dg = new DeepgramClient({ apiKey: KEY, baseUrl: fake.url, maxRetries: 0, fetch });
    await dg.listen.v1.media.transcribeFile(synthesizeFakeSpeech('Where is load 2314?'), {
      model: 'nova-2',
      smart_format: true,
    });
    await vi.waitFor(() => expect(exchanges[0]?.responseText).not.toBe(''));
    expect(exchanges[0]?.status).toBe(200);
    rest.assertValid(S('ListenV1Response'), JSON.parse(exchanges[0]?.responseText ?? ''), 'transcription');
  });

  it.each([
    ['an injected server error', { kind: 'error', route: 'transcribe', status: 500 } as const, 500, KEY],
    ['a rate limit', { kind: 'rateLimit', route: 'transcribe' } as const, 429, KEY],
    ['a wrong key', undefined, 401, 'dg-wrong-key-00000000'],
  ])('answers %s with a valid error body', async (_name, fault, status, key) => {
    if (fault) fake.faults.enqueue(fault);
    const { fetch, exchanges } = recordingFetch();
    const dg = new DeepgramClient({ apiKey: key, baseUrl: fake.url, maxRetries: 0, fetch });
    await expect(
      dg.listen.v1.media.transcribeFile(synthesizeFakeSpeech('Hi.'), { model: 'nova-2' }),
    ).rejects.toThrow();
    await vi.waitFor(() => expect(exchanges[0]?.responseText).not.toBe(''));
    expect(exchanges[0]?.status).toBe(status);
    assertError(exchanges[0]?.responseText ?? '', `${status} body`);
  });

  it('a malformed answer fails the spec check (and the SDK call)', async () => {
    fake.faults.enqueue({ kind: 'malformed', route: 'transcribe' });
    const { fetch, exchanges } = recordingFetch();
    const dg = new DeepgramClient({ apiKey: KEY, baseUrl: fake.url, maxRetries: 0, fetch });
    await dg.listen.v1.media.transcribeFile(synthesizeFakeSpeech('Hi.'), { model: 'nova-2' }).catch(() => {});
    await vi.waitFor(() => expect(exchanges[0]?.responseText).not.toBe(''));
    let body: unknown;
    try {
      body = JSON.parse(exchanges[0]?.responseText ?? '');
    } catch {
      body = undefined; // not JSON at all: not a ListenV1Response either
    }
    expect(body === undefined || !rest.isValid(S('ListenV1Response'), body)).toBe(true);
  });
});

describe('Deepgram live contract (WebSocket /v1/listen)', () => {
  /** Runs one SDK live session and returns every server message, each checked against the spec. */
  async function session(
    query: Record<string, unknown>,
    drive: (socket: Awaited<ReturnType<DeepgramClient['listen']['v1']['connect']>>) => Promise<void>,
  ): Promise<Record<string, unknown>[]> {
    const dg = new DeepgramClient({ apiKey: KEY, baseUrl: fake.url, maxRetries: 0 });
    const socket = await dg.listen.v1.connect({
      model: 'nova-2',
      encoding: 'linear16',
      sample_rate: 16000,
      reconnectAttempts: 0,
      Authorization: `Token ${KEY}`,
      ...query,
    } as Parameters<DeepgramClient['listen']['v1']['connect']>[0]);
    const messages: Record<string, unknown>[] = [];
    socket.on('message', (m: unknown) => messages.push(m as Record<string, unknown>));
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.connect();
    await socket.waitForOpen();
    await drive(socket);
    socket.sendCloseStream({ type: 'CloseStream' });
    await closed;
    for (const m of messages) {
      const schema = LIVE_SCHEMA[String(m.type)];
      expect(schema, `unknown message type ${String(m.type)}`).toBeDefined();
      live.assertValid(schema as string, m, `live ${String(m.type)}`);
    }
    return messages;
  }

  it('interim and final Results, SpeechStarted, speech_final and Metadata are valid', async () => {
    const messages = await session(
      { interim_results: 'true', vad_events: 'true', endpointing: 100, smart_format: 'true' },
      async (socket) => {
        for (const c of chunked(synthesizeFakeSpeech('Where is load 2314?'))) socket.sendMedia(c);
        for (const c of chunked(new Uint8Array(16_000))) socket.sendMedia(c);
        await new Promise((r) => setTimeout(r, 100));
      },
    );
    const types = new Set(messages.map((m) => m.type));
    expect([...types].sort()).toEqual(['Metadata', 'Results', 'SpeechStarted']);
    expect(messages.some((m) => m.type === 'Results' && m.speech_final === true)).toBe(true);
    expect(messages.some((m) => m.type === 'Results' && m.is_final === false)).toBe(true);
  });

  it('UtteranceEnd (endpointing off) and a Finalize reply (from_finalize) are valid', async () => {
    const messages = await session(
      { interim_results: 'true', endpointing: 'false', utterance_end_ms: 1000 },
      async (socket) => {
        for (const c of chunked(synthesizeFakeSpeech('Load 7.'))) socket.sendMedia(c);
        for (const c of chunked(new Uint8Array(16_000 * 2 * 1.3))) socket.sendMedia(c);
        for (const c of chunked(synthesizeFakeSpeech('And 8.'))) socket.sendMedia(c);
        socket.sendFinalize({ type: 'Finalize' });
        socket.sendKeepAlive({ type: 'KeepAlive' });
        await new Promise((r) => setTimeout(r, 100));
      },
    );
    expect(messages.some((m) => m.type === 'UtteranceEnd')).toBe(true);
    expect(messages.some((m) => m.type === 'Results' && m.from_finalize === true)).toBe(true);
  });

  it('the delayed end of turn (an empty speech_final result) is valid', async () => {
    fake.endOfTurnDelayMs = 50;
    const messages = await session({ interim_results: 'true', endpointing: 100 }, async (socket) => {
      for (const c of chunked(synthesizeFakeSpeech('Hello there.'))) socket.sendMedia(c);
      for (const c of chunked(new Uint8Array(16_000 * 2 * 0.2))) socket.sendMedia(c);
      await new Promise((r) => setTimeout(r, 300));
    });
    expect(messages.some((m) => m.type === 'Results' && m.speech_final === true)).toBe(true);
  });

  it('the control messages the adapter sends are valid client messages', () => {
    // What live-session.ts sends (through the SDK's typed senders).
    live.assertValid(S('ListenV1_ListenV1Finalize'), { type: 'Finalize' }, 'Finalize');
    live.assertValid(S('ListenV1_ListenV1KeepAlive'), { type: 'KeepAlive' }, 'KeepAlive');
    live.assertValid(S('ListenV1_ListenV1CloseStream'), { type: 'CloseStream' }, 'CloseStream');
    expect(live.isValid(S('ListenV1_ListenV1Finalize'), { type: 'finalize' })).toBe(false);
  });

  it('a refused handshake (rate limit) carries a valid error body', async () => {
    fake.faults.enqueue({ kind: 'rateLimit', route: 'live' });
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(`${fake.url.replace('http', 'ws')}/v1/listen?model=nova-2`, {
      headers: { authorization: `Token ${KEY}` },
    });
    ws.on('error', () => {}); // the refused handshake is the point of this test
    const text = await new Promise<string>((resolve, reject) => {
      ws.once('unexpected-response', (_req, res) => {
        expect(res.statusCode).toBe(429);
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d.toString('utf8');
        });
        res.on('end', () => resolve(body));
      });
      ws.once('open', () => reject(new Error('the handshake was accepted')));
    });
    ws.terminate();
    assertError(text, 'refused live handshake');
  });

  it('the adapter on the fake: a malformed live frame is rejected by the spec check too', async () => {
    expect(live.isValid(S('ListenV1_ListenV1Results'), { type: 'Results', channel_index: [0] })).toBe(false);
    const stt = new DeepgramSpeechToText({ apiKey: KEY, baseUrl: fake.url, monitor: false });
    fake.faults.enqueue({ kind: 'malformed', route: 'live' });
    fake.faultAfterMessages = 0;
    const s = await stt.stream();
    for (const c of chunked(synthesizeFakeSpeech('Hi there.'))) s.send(c);
    await expect(
      (async () => {
        for await (const _ of s) {
          // drain
        }
      })(),
    ).rejects.toMatchObject({ name: 'ResponseValidationError' });
  });
});

describe('Deepgram Flux contract (WebSocket /v2/listen)', () => {
  const FLUX_SCHEMA: Record<string, string> = {
    Connected: S('ListenV2_ListenV2Connected'),
    TurnInfo: S('ListenV2_ListenV2TurnInfo'),
    ConfigureSuccess: S('ListenV2_ListenV2ConfigureSuccess'),
    ConfigureFailure: S('ListenV2_ListenV2ConfigureFailure'),
    Error: S('ListenV2_ListenV2FatalError'),
  };

  /** Runs one SDK Flux session and returns every server message, each checked against the spec. */
  async function fluxSession(
    query: Record<string, unknown>,
    drive: (
      socket: Awaited<ReturnType<DeepgramClient['listen']['v2']['connect']>>,
      messages: readonly Record<string, unknown>[],
    ) => Promise<void>,
  ): Promise<Record<string, unknown>[]> {
    const dg = new DeepgramClient({ apiKey: KEY, baseUrl: fake.url, maxRetries: 0 });
    const socket = await dg.listen.v2.connect({
      model: 'flux-general-en',
      encoding: 'linear16',
      sample_rate: 16000,
      reconnectAttempts: 0,
      ...query,
    });
    const messages: Record<string, unknown>[] = [];
    socket.on('message', (m: unknown) => messages.push(m as Record<string, unknown>));
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.connect();
    await socket.waitForOpen();
    await drive(socket, messages);
    if (socket.readyState === 1) socket.sendCloseStream({ type: 'CloseStream' });
    await closed;
    messages.forEach((m, i) => {
      const schema = FLUX_SCHEMA[String(m.type)];
      expect(schema, `unknown message type ${String(m.type)}`).toBeDefined();
      flux.assertValid(schema as string, m, `flux ${String(m.type)}`);
      expect(m.sequence_id).toBe(i);
    });
    return messages;
  }
  const flux = live;

  beforeEach(() => {
    fake.flux.eagerEndOfTurnDelayMs = 40;
    fake.flux.endOfTurnDelayMs = 150;
    fake.flux.eagerTranscript = undefined;
    fake.flux.resumeAfterEagerMs = undefined;
    fake.flux.fatalError = undefined;
  });

  it('the spec check is not vacuous', () => {
    expect(live.isValid(S('ListenV2_ListenV2TurnInfo'), { type: 'TurnInfo', event: 'Update' })).toBe(false);
    expect(
      live.isValid(S('ListenV2_ListenV2Connected'), { type: 'Connected', request_id: 'x', sequence_id: '0' }),
    ).toBe(false);
  });

  it('Connected, then every TurnInfo event of an eager turn, a resumed turn and a plain one, are valid', async () => {
    fake.flux.endOfTurnDelayMs = 600;
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const messages = await fluxSession(
      { eager_eot_threshold: 0.4, eot_threshold: 0.8 },
      async (socket, messages) => {
        for (const c of chunked(synthesizeFakeSpeech('Where is load 2314?'))) socket.sendMedia(c);
        // Past the eager end of turn, before the end of turn: the turn resumes.
        await vi.waitFor(() => expect(messages.some((m) => m.event === 'EagerEndOfTurn')).toBe(true));
        for (const c of chunked(synthesizeFakeSpeech('And load 99?'))) socket.sendMedia(c);
        await vi.waitFor(() => expect(messages.filter((m) => m.event === 'EndOfTurn')).toHaveLength(1));
        for (const c of chunked(synthesizeFakeSpeech('Thanks.'))) socket.sendMedia(c);
        await pause(20);
      },
    );
    expect(messages[0]).toMatchObject({ type: 'Connected' });
    const events = messages.flatMap((m) => (m.type === 'TurnInfo' ? [m.event] : []));
    expect(new Set(events)).toEqual(
      new Set(['StartOfTurn', 'Update', 'EagerEndOfTurn', 'TurnResumed', 'EndOfTurn']),
    );
    const ends = messages.filter((m) => m.event === 'EndOfTurn');
    expect(ends.map((m) => [m.turn_index, m.transcript])).toEqual([
      [0, 'Where is load 2314? And load 99?'],
      [1, 'Thanks.'], // flushed by CloseStream
    ]);
  });

  it('no EagerEndOfTurn without eager_eot_threshold; Configure answers ConfigureSuccess', async () => {
    const messages = await fluxSession({}, async (socket, messages) => {
      socket.sendConfigure({ type: 'Configure', thresholds: { eot_threshold: 0.8 } });
      for (const c of chunked(synthesizeFakeSpeech('Hello there.'))) socket.sendMedia(c);
      await vi.waitFor(() => expect(messages.some((m) => m.event === 'EndOfTurn')).toBe(true));
    });
    expect(messages.some((m) => m.event === 'EagerEndOfTurn')).toBe(false);
    expect(messages.find((m) => m.type === 'ConfigureSuccess')).toMatchObject({
      thresholds: { eot_threshold: 0.8 },
    });
  });

  it('a fatal error message is valid and the socket closes', async () => {
    fake.flux.fatalError = { code: 'INTERNAL_SERVER_ERROR', description: 'Injected.' };
    const messages = await fluxSession({}, async (socket, messages) => {
      for (const c of chunked(synthesizeFakeSpeech('Hello there.'))) socket.sendMedia(c);
      await vi.waitFor(() => expect(messages.some((m) => m.type === 'Error')).toBe(true));
    });
    expect(messages.at(-1)).toMatchObject({ type: 'Error', code: 'INTERNAL_SERVER_ERROR' });
  });

  it('the control messages the adapter sends are valid client messages', () => {
    live.assertValid(S('ListenV2_ListenV2CloseStream'), { type: 'CloseStream' }, 'CloseStream');
    expect(live.isValid(S('ListenV2_ListenV2CloseStream'), { type: 'Finalize' })).toBe(false);
  });
});
