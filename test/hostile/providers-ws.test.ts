/**
 * Hostile WebSocket frames: the fake Deepgram (live transcription) and the fake ElevenLabs
 * (stream-input) talk through a proxy that mutates, drops, duplicates and injects frames, closes
 * with odd codes, drops the connection or stalls. The adapters must deliver contract-valid events
 * or a typed `EarshotError`, within their deadlines, without touching a prototype.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AudioChunk, SpeechToTextEvent } from '../../src/pipeline/contracts.js';
import { DeepgramSpeechToText } from '../../src/providers/deepgram/index.js';
import { ElevenLabsTextToSpeech } from '../../src/providers/elevenlabs/index.js';
import { type FakeProviders, startFakeProviders, synthesizeFakeSpeech } from '../../src/testing/index.js';
import {
  assertNoPollution,
  drain,
  MutatingWsProxy,
  runs,
  timeoutFor,
  typedOutcome,
  type WsMutation,
  withinMs,
  wsMutation,
} from './helpers.js';

afterEach(() => assertNoPollution());

let fakes: FakeProviders;
let deepgram: MutatingWsProxy;
let elevenlabs: MutatingWsProxy;

beforeAll(async () => {
  fakes = await startFakeProviders();
  deepgram = await MutatingWsProxy.start(fakes.deepgram.url);
  elevenlabs = await MutatingWsProxy.start(fakes.elevenlabs.url);
});
afterAll(async () => {
  await deepgram?.close();
  await elevenlabs?.close();
  await fakes?.close();
});

function checkSttEvents(events: SpeechToTextEvent[]): void {
  for (const e of events) {
    switch (e.type) {
      case 'transcript':
        expect(typeof e.transcript.text).toBe('string');
        expect(typeof e.transcript.isFinal).toBe('boolean');
        for (const n of [e.transcript.confidence, e.transcript.startSeconds, e.transcript.durationSeconds]) {
          if (n !== undefined) expect(Number.isFinite(n)).toBe(true);
        }
        break;
      case 'speech-started':
      case 'turn-resumed':
        expect(Number.isFinite(e.atMs)).toBe(true);
        break;
      case 'end-of-speech':
        expect(Number.isFinite(e.atMs)).toBe(true);
        expect(typeof e.transcript).toBe('string');
        expect(e.transcript.length).toBeGreaterThan(0);
        break;
      default:
        throw new Error(`unknown STT event ${JSON.stringify(e)}`);
    }
  }
}

function checkAudio(chunks: AudioChunk[]): void {
  for (const c of chunks) {
    expect(c.data).toBeInstanceOf(Uint8Array);
    expect(typeof c.format).toBe('string');
  }
}

/** One well-behaved live session through the proxy (its plan decides what comes back). */
async function cleanDeepgramSession(): Promise<SpeechToTextEvent[]> {
  const stt = new DeepgramSpeechToText({
    apiKey: fakes.options.deepgram.apiKey,
    baseUrl: deepgram.url,
    keepAliveMs: false,
    monitor: false,
  });
  const session = await stt.stream({ format: 'pcm_16000' });
  const events: SpeechToTextEvent[] = [];
  const reading = (async () => {
    for await (const e of session) events.push(e);
  })();
  await session.send(synthesizeFakeSpeech('Where is load 2314?'));
  await session.finalize();
  await new Promise((r) => setTimeout(r, 100));
  await session.close();
  await reading;
  return events;
}

/** The live STT behind the proxy, with a short deadline so stalls end quickly. */
function hostileDeepgram(): DeepgramSpeechToText {
  return new DeepgramSpeechToText({
    apiKey: fakes.options.deepgram.apiKey,
    baseUrl: deepgram.url,
    timeoutMs: 700,
    keepAliveMs: false,
    monitor: false,
  });
}

/**
 * One utterance through a live session: audio in 100 ms chunks, finalize, close. Reading may
 * fail first; every step must still end, typed. `events` gets whatever arrived, even on failure.
 */
async function liveUtterance(
  stt: DeepgramSpeechToText,
  audio: Uint8Array,
  events: SpeechToTextEvent[],
): Promise<SpeechToTextEvent[]> {
  const session = await stt.stream({ format: 'pcm_16000' });
  const reading = (async () => {
    for await (const e of session) events.push(e);
  })();
  const steps = (async () => {
    for (let at = 0; at < audio.length; at += 3200) await session.send(audio.subarray(at, at + 3200));
    await session.finalize();
    await new Promise((res) => setTimeout(res, 50));
    await session.close();
  })();
  const [a, b] = await Promise.allSettled([reading, steps]);
  for (const s of [a, b]) if (s.status === 'rejected') throw s.reason;
  return events;
}

describe('hostile WebSocket frames', () => {
  it('the proxy passes clean sessions through unchanged (the properties below are not vacuous)', {
    timeout: timeoutFor(20_000),
  }, async () => {
    deepgram.plan = [];
    elevenlabs.plan = [];
    const events = await cleanDeepgramSession();
    expect(events.find((e) => e.type === 'end-of-speech')).toMatchObject({
      transcript: expect.stringMatching(/2314/),
    });
    const tts = new ElevenLabsTextToSpeech({
      apiKey: fakes.options.elevenlabs.apiKey,
      baseUrl: elevenlabs.url,
      monitor: false,
    });
    const chunks = await drain(
      tts.synthesizeStream(
        (async function* () {
          yield 'Hello there.';
        })(),
      ),
    );
    expect(chunks.length).toBeGreaterThan(0);
  });

  it('Deepgram live: numbers that JSON reads as Infinity are dropped, not passed on', {
    timeout: timeoutFor(20_000),
  }, async () => {
    // Found by the property below: "-1e999" parses to -Infinity, and typeof says "number".
    const inf = '1e999';
    deepgram.plan = [
      {
        kind: 'raw',
        at: 0,
        text: `{"type":"Results","start":-${inf},"duration":${inf},"is_final":false,"channel":{"alternatives":[{"transcript":"hi","confidence":${inf},"words":[{"end":${inf}}]}]}}`,
      },
      { kind: 'raw', at: 0, text: `{"type":"SpeechStarted","timestamp":${inf}}` },
    ];
    const events = await cleanDeepgramSession();
    deepgram.plan = [];
    const hi = events.find((e) => e.type === 'transcript' && e.transcript.text === 'hi');
    expect(hi).toBeDefined();
    expect(hi).toMatchObject({ transcript: { isFinal: false } });
    if (hi?.type === 'transcript') {
      expect(hi.transcript).not.toHaveProperty('confidence');
      expect(hi.transcript).not.toHaveProperty('startSeconds');
      expect(hi.transcript).not.toHaveProperty('durationSeconds');
    }
    const started = events.find((e) => e.type === 'speech-started');
    expect(started).toBeDefined();
    checkSttEvents(events);
  });

  it('Deepgram live: valid events or a typed error from every step of a session', {
    timeout: timeoutFor(60_000),
  }, async () => {
    const stt = hostileDeepgram();
    const audio = synthesizeFakeSpeech('Where is load 2314?');
    await fc.assert(
      fc.asyncProperty(fc.array(wsMutation, { maxLength: 4 }), async (plan) => {
        deepgram.plan = plan;
        const events: SpeechToTextEvent[] = [];
        const r = await typedOutcome(() => liveUtterance(stt, audio, events), 8000, 'deepgram live session');
        checkSttEvents(events);
        if (!r.ok) expect(r.error.code).toMatch(/^EARSHOT_/);
        assertNoPollution();
      }),
      runs(60),
    );
  });

  it('ElevenLabs stream-input: the final message ends the synthesis even if the socket then stays open', {
    timeout: timeoutFor(20_000),
  }, async () => {
    // Found by the property below: after {"isFinal":true} no deadline ran, so a server that
    // then neither closed nor spoke held the caller for ever. An isFinal before the end of
    // input is not the answer: a close after it is an error, not a shortened reply.
    const { WebSocketServer } = await import('ws');
    const server = createServer();
    const wss = new WebSocketServer({ server });
    const audio = Buffer.from('fake-mp3-bytes').toString('base64');
    let early = false;
    wss.on('connection', (socket) => {
      socket.on('message', (data) => {
        const msg = JSON.parse(String(data)) as { text?: string };
        if (early && msg.text && msg.text.trim() !== '') {
          socket.send(JSON.stringify({ isFinal: true }));
          setTimeout(() => socket.close(1000), 20);
        }
        if (msg.text === '') {
          socket.send(JSON.stringify({ audio, isFinal: null }));
          socket.send(JSON.stringify({ isFinal: true })); // and then: silence, socket left open
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const tts = new ElevenLabsTextToSpeech({
        apiKey: fakes.options.elevenlabs.apiKey,
        baseUrl: `http://127.0.0.1:${port}`,
        timeoutMs: 700,
        monitor: false,
        webSocketRoute: 'stream-input',
      });
      const pieces = async function* () {
        yield 'Load 2314 is in transit.';
        await new Promise((r) => setTimeout(r, 100));
        yield 'It arrives tomorrow.';
      };
      const t0 = performance.now();
      const chunks = await withinMs(drain(tts.synthesizeStream(pieces())), 5000, 'synthesizeStream');
      expect(performance.now() - t0).toBeLessThan(4000);
      expect(Buffer.from(chunks[0]!.data).toString()).toBe('fake-mp3-bytes');

      early = true; // now the server says isFinal to the first text piece and closes
      const r = await typedOutcome(() => drain(tts.synthesizeStream(pieces())), 5000, 'synthesizeStream');
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe('EARSHOT_PROVIDER_FAILED');
    } finally {
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => server.close(r));
    }
  });

  for (const route of ['stream-input', 'multi-stream-input'] as const) {
    // 60 runs, about one in ten waits out the 700 ms deadline on a stalled socket: ~7 s on a
    // quiet machine, so the budget leaves room for a machine at load 30.
    it(`ElevenLabs ${route}: audio chunks or a typed error`, { timeout: timeoutFor(60_000) }, async () => {
      const tts = new ElevenLabsTextToSpeech({
        apiKey: fakes.options.elevenlabs.apiKey,
        baseUrl: elevenlabs.url,
        timeoutMs: 700,
        monitor: false,
        webSocketRoute: route,
      });
      try {
        await fc.assert(
          fc.asyncProperty(fc.array(wsMutation, { maxLength: 4 }), async (plan) => {
            elevenlabs.plan = plan;
            const text = (async function* () {
              yield 'Load 2314 left Denver this morning. ';
              yield 'It should arrive tomorrow.';
            })();
            const r = await typedOutcome(() => drain(tts.synthesizeStream(text)), 8000, 'synthesizeStream');
            if (r.ok) checkAudio(r.value);
            assertNoPollution();
          }),
          runs(60),
        );
      } finally {
        await tts.close();
      }
    });
  }

  // Found by the property below: a stalled multi-stream socket stayed in the pool, so every later
  // synthesis waited out the same deadline. The class: whatever a fault leaves behind (a pooled
  // socket, a prewarmed one) must not outlive the turn it broke.
  const faults: [string, WsMutation[]][] = [
    ['a stall before any audio', [{ kind: 'stall', at: 0 }]],
    ['a stall after the first audio', [{ kind: 'stall', at: 1 }]],
    ['a dropped connection', [{ kind: 'terminate', at: 1 }]],
    ['a close with code 1011', [{ kind: 'close', at: 0, code: 1011, reason: 'bye' }]],
    ['a frame that is not JSON', [{ kind: 'raw', at: 0, text: '{' }]],
    ['a binary frame', [{ kind: 'binary', at: 0, bytes: [1, 2, 3] }]],
    [
      'dropped frames',
      [
        { kind: 'drop', at: 0 },
        { kind: 'drop', at: 1 },
        { kind: 'drop', at: 2 },
      ],
    ],
  ];
  for (const route of ['stream-input', 'multi-stream-input'] as const) {
    it(`ElevenLabs ${route}: after any fault, the next synthesis on the same adapter gets audio`, {
      timeout: timeoutFor(60_000),
    }, async () => {
      const tts = new ElevenLabsTextToSpeech({
        apiKey: fakes.options.elevenlabs.apiKey,
        baseUrl: elevenlabs.url,
        timeoutMs: 700,
        monitor: false,
        webSocketRoute: route,
      });
      const speak = () =>
        typedOutcome(
          () =>
            drain(
              tts.synthesizeStream(
                (async function* () {
                  yield 'Load 2314 left Denver this morning. ';
                  yield 'It should arrive tomorrow.';
                })(),
              ),
            ),
          8000,
          'synthesizeStream',
        );
      try {
        for (const [what, plan] of faults) {
          elevenlabs.plan = plan;
          const faulted = await speak();
          if (!faulted.ok) expect(faulted.error.code, what).toMatch(/^EARSHOT_/);
          elevenlabs.plan = [];
          const next = await speak();
          expect(next.ok ? 'audio' : `${next.error.code}: ${next.error.message}`, `after ${what}`).toBe(
            'audio',
          );
          if (next.ok) expect(next.value.length, `after ${what}`).toBeGreaterThan(0);
        }
      } finally {
        elevenlabs.plan = [];
        await tts.close();
      }
    });
  }

  it('Deepgram live: after any fault, a prewarmed socket serves the next utterance', {
    timeout: timeoutFor(60_000),
  }, async () => {
    const stt = hostileDeepgram();
    const audio = synthesizeFakeSpeech('Where is load 2314?');
    const utterance = () => typedOutcome(() => liveUtterance(stt, audio, []), 8000, 'deepgram live session');
    try {
      for (const [what, plan] of faults) {
        deepgram.plan = plan;
        await stt.prewarm({ format: 'pcm_16000' }); // the faulted socket is a prewarmed one
        const faulted = await utterance();
        if (!faulted.ok) expect(faulted.error.code, what).toMatch(/^EARSHOT_/);
        deepgram.plan = [];
        await stt.prewarm({ format: 'pcm_16000' });
        const next = await utterance();
        expect(next.ok ? 'events' : `${next.error.code}: ${next.error.message}`, `after ${what}`).toBe(
          'events',
        );
        if (next.ok)
          expect(
            next.value.find((e) => e.type === 'end-of-speech'),
            `after ${what}`,
          ).toMatchObject({
            transcript: expect.stringMatching(/2314/),
          });
      }
    } finally {
      deepgram.plan = [];
      await stt.close();
    }
  });

  it('ElevenLabs multi-stream-input: barge-ins and dropped sockets leak no socket on either side', {
    timeout: timeoutFor(30_000),
  }, async () => {
    const fake = fakes.elevenlabs;
    const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
    const openBefore = fake.stats.open;
    const before = sockets();
    const tts = new ElevenLabsTextToSpeech({
      apiKey: fakes.options.elevenlabs.apiKey,
      baseUrl: fake.url,
      timeoutMs: 2000,
      monitor: false,
    });
    fake.audioRate = 4;
    try {
      for (let i = 0; i < 6; i++) {
        if (i % 3 === 2) fake.faults.enqueue({ kind: 'reset', route: 'multi-stream-input' });
        const ac = new AbortController();
        const text = (async function* () {
          yield 'Load 2314 left Denver this morning. ';
          await new Promise((r) => setTimeout(r, 200));
          yield 'It should arrive tomorrow.';
        })();
        let after = 0;
        const r = await typedOutcome(
          async () => {
            for await (const _ of tts.synthesizeStream(text, { signal: ac.signal })) {
              if (ac.signal.aborted) after++;
              if (i % 2 === 0) ac.abort(); // barge-in on every other turn
            }
          },
          8000,
          'synthesizeStream',
        );
        expect(after).toBe(0);
        if (!r.ok) expect(r.error.code).toMatch(/^EARSHOT_/);
      }
      expect(fake.stats.open - openBefore).toBeLessThanOrEqual(1); // one pooled connection at most
    } finally {
      fake.audioRate = Number.POSITIVE_INFINITY;
      fake.faults.clearQueue();
      await tts.close();
    }
    await expect.poll(() => fake.stats.open, { timeout: 5000 }).toBeLessThanOrEqual(openBefore);
    await expect.poll(sockets, { timeout: 5000 }).toBeLessThanOrEqual(before);
  });
});
