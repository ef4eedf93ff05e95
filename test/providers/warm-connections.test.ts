/**
 * Warm connections (issue 14, item 2) through the real SDKs against the fakes, counted at the
 * fake servers: the ElevenLabs HTTP prewarm, keep-alive reuse by every adapter and the
 * company-API client, search prewarm, and a TTS WebSocket that dies mid-turn.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createCacheManager,
  createCompanyApiClient,
  createEmbeddingSearch,
  createVoicePipeline,
} from '../../src/index.js';
import { DeepgramSpeechToText } from '../../src/providers/deepgram/index.js';
import { ElevenLabsTextToSpeech } from '../../src/providers/elevenlabs/index.js';
import { OpenAIEmbedder, OpenAILanguageModel } from '../../src/providers/openai/index.js';
import { PineconeVectorIndex } from '../../src/providers/pinecone/index.js';
import {
  FakeLanguageModel,
  type FakeProviders,
  FakeTextToSpeech,
  startFakeProviders,
  synthesizeFakeSpeech,
} from '../../src/testing/index.js';
import { collect } from '../pipeline/helpers.js';

const CONNECT_MS = 120;
const norm = (s: string): string => s.replace(/\s+/g, ' ').trim();
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

let fakes: FakeProviders;

beforeAll(async () => {
  fakes = await startFakeProviders({ latency: 'instant', seed: 5 });
});

afterAll(async () => {
  await fakes?.close();
});

/** Every fake, as a list. */
const all = () => [fakes.deepgram, fakes.openai, fakes.elevenlabs, fakes.pinecone, fakes.companyApi];

beforeEach(async () => {
  for (const f of all()) {
    f.connectLatencyMs = CONNECT_MS;
    f.dropIdleConnections();
  }
  fakes.elevenlabs.faults.set(undefined);
  fakes.elevenlabs.faults.clearQueue();
  fakes.elevenlabs.faultAfterChunks = 1;
  fakes.elevenlabs.requests.clear();
  await pause(20); // the clients see the closed sockets
});

describe('ElevenLabs HTTP prewarm', () => {
  it('prewarm() leaves a kept-alive connection: the next synthesize() opens none and pays no connection cost', async () => {
    const tts = new ElevenLabsTextToSpeech({ ...fakes.options.elevenlabs, outputFormat: 'pcm_16000' });
    try {
      await tts.prewarm();
      const afterPrewarm = fakes.elevenlabs.connections;
      const models = fakes.elevenlabs.requests.entries.filter((r) => r.route === 'models');
      expect(models).toHaveLength(1);
      expect(models[0]).toMatchObject({ status: 200, newConnection: true, connectMs: CONNECT_MS });
      for await (const _ of tts.synthesize('Load 2314 is in transit.')) {
        // play
      }
      const stream = fakes.elevenlabs.requests.entries.find((r) => r.route === 'stream');
      expect(stream).toMatchObject({ newConnection: false, connectMs: 0, status: 200 });
      // The multi-stream-input WebSocket prewarm is one connection too; the HTTP call added none.
      expect(fakes.elevenlabs.connections).toBe(afterPrewarm);
      // Used just now: a second prewarm sends nothing over HTTP.
      await tts.prewarm();
      expect(fakes.elevenlabs.requests.entries.filter((r) => r.route === 'models')).toHaveLength(1);
    } finally {
      await tts.close();
    }
  });

  it('without prewarm the first synthesize() pays the connection', async () => {
    const tts = new ElevenLabsTextToSpeech({ ...fakes.options.elevenlabs, outputFormat: 'pcm_16000' });
    for await (const _ of tts.synthesize('Load 2314 is in transit.')) {
      // play
    }
    expect(fakes.elevenlabs.requests.entries[0]).toMatchObject({
      route: 'stream',
      newConnection: true,
      connectMs: CONNECT_MS,
    });
    await tts.close();
  });

  it('prewarm() never rejects for a provider fault (a refused key)', async () => {
    const tts = new ElevenLabsTextToSpeech({
      ...fakes.options.elevenlabs,
      apiKey: 'el-wrong-but-accepted-by-an-open-fake',
      baseUrl: 'http://127.0.0.1:9', // nothing listens: connection refused
    });
    await expect(tts.prewarm()).resolves.toBeUndefined();
    await tts.close();
  });
});

describe('keep-alive: consecutive calls reuse one connection (counted at the fake)', () => {
  const audio = synthesizeFakeSpeech('Where is load 2314?');

  async function connectionsFor(fake: { connections: number }, call: () => Promise<unknown>) {
    const before = fake.connections;
    for (let i = 0; i < 4; i++) await call();
    return fake.connections - before;
  }

  it('Deepgram prerecorded, OpenAI chat and embeddings, ElevenLabs HTTP, Pinecone, the company API', async () => {
    const stt = await DeepgramSpeechToText.create({ ...fakes.options.deepgram });
    const llm = await OpenAILanguageModel.create({ ...fakes.options.openai });
    const embedder = await OpenAIEmbedder.create({ ...fakes.options.embedder });
    const tts = await ElevenLabsTextToSpeech.create({ ...fakes.options.elevenlabs });
    const index = await PineconeVectorIndex.create({ ...fakes.options.pinecone });
    const api = createCompanyApiClient({ ...fakes.options.companyApi });
    const loadId = fakes.companyApi.data.loads[0]!.id;
    const counts = {
      deepgram: await connectionsFor(fakes.deepgram, () => stt.transcribe(audio, { format: 'pcm_16000' })),
      openaiChat: await connectionsFor(fakes.openai, async () => {
        for await (const _ of llm.stream([{ role: 'user', content: 'Hello?' }])) {
          // drain
        }
      }),
      openaiEmbeddings: await connectionsFor(fakes.openai, () => embedder.embed(['detention billing'])),
      elevenlabs: await connectionsFor(fakes.elevenlabs, async () => {
        for await (const _ of tts.synthesize('Hello there.')) {
          // play
        }
      }),
      pinecone: await connectionsFor(fakes.pinecone, () => index.query(new Array(256).fill(0.1))),
      companyApi: await connectionsFor(fakes.companyApi, () => api.getLoadStatus(loadId)),
    };
    // One new connection for the first call of each (embeddings share the chat's), none after.
    expect(counts).toEqual({
      deepgram: 1,
      openaiChat: 1,
      openaiEmbeddings: 0,
      elevenlabs: 1,
      pinecone: 1,
      companyApi: 1,
    });
    await Promise.all([stt.close(), llm.close(), embedder.close(), tts.close(), index.close()]);
  });

  it('the company-API fake charges connectLatencyMs once per connection', async () => {
    const api = createCompanyApiClient({ ...fakes.options.companyApi });
    const id = fakes.companyApi.data.loads[1]!.id;
    const before = fakes.companyApi.connections;
    const t = performance.now();
    await api.getLoadStatus(id);
    // The first call waited for its new connection (it cannot be faster than that wait).
    expect(performance.now() - t).toBeGreaterThanOrEqual(CONNECT_MS - 5);
    expect(fakes.companyApi.connections).toBe(before + 1);
    await api.getLoadStatus(id);
    expect(fakes.companyApi.connections).toBe(before + 1); // kept alive: no second connection
    expect(fakes.companyApi.dropIdleConnections()).toBe(1);
    await pause(20);
    await api.getLoadStatus(id);
    expect(fakes.companyApi.connections).toBe(before + 2); // dropped while idle: a new one
  });
});

describe('createEmbeddingSearch prewarm', () => {
  it('prewarms the embedder and the index, so the search opens no connection', async () => {
    const search = createEmbeddingSearch(
      await OpenAIEmbedder.create({ ...fakes.options.embedder }),
      await PineconeVectorIndex.create({ ...fakes.options.pinecone }),
    );
    await search.prewarm?.();
    const openai = fakes.openai.connections;
    const pinecone = fakes.pinecone.connections;
    const results = await search.search('detention billing');
    expect(results.length).toBeGreaterThan(0);
    expect(fakes.openai.connections).toBe(openai);
    expect(fakes.pinecone.connections).toBe(pinecone);
    await search.close?.();
  });
});

describe('a TTS WebSocket that dies mid-turn (streamed TTS input, real ElevenLabs adapter)', () => {
  const REPLY = 'Load 2314 left Denver this morning. It should reach Dallas tomorrow evening.';
  const DEADLINES = { tts: 5_000, ttsFirstByte: 3_000, llm: 5_000 };

  it('falls back to a fresh connection within the deadline when the connection dies before audio', async () => {
    const tts = new ElevenLabsTextToSpeech({ ...fakes.options.elevenlabs, outputFormat: 'pcm_16000' });
    try {
      const p = createVoicePipeline({
        llm: new FakeLanguageModel({ script: [REPLY] }),
        tts,
        ttsInput: 'stream',
        systemPrompt: '',
        deadlines: DEADLINES,
      });
      const sessions = fakes.elevenlabs.stats.sessions;
      // The turn's WebSocket is dropped (TCP reset) once its first text arrives, before any audio.
      fakes.elevenlabs.faultAfterChunks = 0;
      fakes.elevenlabs.faults.enqueue({ kind: 'reset', route: 'multi-stream-input' });
      const t = await collect(p.respond({ text: 'Where is load 2314?' }));
      expect(t.result.interrupted).toBe(false);
      expect(norm(t.heard)).toBe(norm(REPLY));
      expect(fakes.elevenlabs.stats.sessions).toBe(sessions + 2); // the dead one and its replacement
      expect(fakes.elevenlabs.requests.entries.filter((r) => r.route === 'stream')).toHaveLength(0);
      expect(t.result.timeline.timeToFirstAudioMs).toBeLessThan(DEADLINES.ttsFirstByte);
    } finally {
      await tts.close();
    }
  });

  it('falls back to HTTP sentence requests within the deadline when no WebSocket can be opened', async () => {
    const tts = new ElevenLabsTextToSpeech({ ...fakes.options.elevenlabs, outputFormat: 'pcm_16000' });
    try {
      const p = createVoicePipeline({
        llm: new FakeLanguageModel({ script: [REPLY] }),
        tts,
        ttsInput: 'stream',
        systemPrompt: '',
        deadlines: DEADLINES,
      });
      fakes.elevenlabs.faults.set({ errorRate: 1, errorStatuses: [503], routes: ['multi-stream-input'] });
      const t = await collect(p.respond({ text: 'Where is load 2314?' }));
      expect(t.result.interrupted).toBe(false);
      expect(norm(t.heard)).toBe(norm(REPLY));
      expect(fakes.elevenlabs.requests.entries.filter((r) => r.route === 'stream').length).toBeGreaterThan(0);
      expect(t.result.timeline.timeToFirstAudioMs).toBeLessThan(DEADLINES.ttsFirstByte);
    } finally {
      fakes.elevenlabs.faults.set(undefined);
      await tts.close();
    }
  });
});

describe('the pipeline warms only the TTS transport its ttsInput will use', () => {
  const cases = [
    { ttsInput: 'sentence', cache: false, socket: false },
    { ttsInput: 'stream', cache: false, socket: true },
    { ttsInput: 'auto', cache: false, socket: true },
    { ttsInput: 'auto', cache: true, socket: false }, // auto with a TTS cache is sentence mode
  ] as const;
  it.each(cases)(
    'ttsInput $ttsInput (TTS cache: $cache): a multi-stream socket opened by prewarm: $socket',
    async ({ ttsInput, cache, socket }) => {
      const tts = new ElevenLabsTextToSpeech({ ...fakes.options.elevenlabs, monitor: false });
      const store = cache ? createCacheManager({ monitor: false }) : undefined;
      try {
        const p = createVoicePipeline({
          llm: new FakeLanguageModel({ script: ['Hello.'] }),
          tts,
          ttsInput,
          systemPrompt: '',
          ...(store ? { cache: { store, tts: true } } : {}),
        });
        const sessions = fakes.elevenlabs.stats.sessions;
        const models = () => fakes.elevenlabs.requests.entries.filter((r) => r.route === 'models').length;
        const modelsBefore = models();
        await p.prewarm();
        // the HTTP route is warmed in every mode (stream mode falls back to it)
        expect(models()).toBe(modelsBefore + 1);
        await pause(50);
        expect(fakes.elevenlabs.stats.sessions - sessions).toBe(socket ? 1 : 0);
        await p.close();
      } finally {
        await tts.close();
        await store?.close();
      }
    },
  );
});

describe('the pipeline readies the next utterance’s STT socket', () => {
  async function* streamed(audio: Uint8Array): AsyncIterable<Uint8Array> {
    for (let offset = 0; offset < audio.byteLength; offset += 3200)
      yield audio.subarray(offset, offset + 3200);
  }

  it('pipeline.prewarm() readies a socket the first streamed turn uses (same settings as the turn’s session)', async () => {
    const stt = await DeepgramSpeechToText.create({ ...fakes.options.deepgram });
    try {
      const p = createVoicePipeline({
        stt,
        llm: new FakeLanguageModel({ script: ['Load 2314 is on its way.'] }),
        tts: new FakeTextToSpeech(),
        systemPrompt: '',
        audioFormat: 'pcm_16000',
      });
      await p.prewarm();
      const startedAt = performance.now();
      let transcriptAt = Number.POSITIVE_INFINITY;
      const turn = p.respond(streamed(synthesizeFakeSpeech('Where is load 2314?')));
      for await (const e of turn)
        if (e.type === 'transcript') transcriptAt = Math.min(transcriptAt, performance.now());
      expect(norm((await turn.done).transcript)).toBe('Where is load 2314?');
      const upgrades = fakes.deepgram.requests.entries.filter(
        (r) => r.route === 'live' && r.atMs >= startedAt && r.atMs <= transcriptAt,
      );
      expect(upgrades).toHaveLength(0);
    } finally {
      await stt.close();
    }
  });

  for (const prewarm of [true, false]) {
    it(`after a streamed turn, ${prewarm ? 'a live socket is readied, so the next turn opens none before its transcript' : 'with prewarm: false, the next turn opens its own live socket'}`, async () => {
      const stt = await DeepgramSpeechToText.create({ ...fakes.options.deepgram });
      try {
        const p = createVoicePipeline({
          stt,
          llm: new FakeLanguageModel({ script: ['Load 2314 is on its way.', 'It arrives tomorrow.'] }),
          tts: new FakeTextToSpeech(),
          systemPrompt: '',
          prewarm,
        });
        const before = fakes.deepgram.live.sessions;
        const first = await collect(p.respond(streamed(synthesizeFakeSpeech('Where is load 2314?'))));
        expect(norm(first.result.transcript)).toBe('Where is load 2314?');
        if (prewarm) {
          // the turn's own session, then the warm one for the next utterance
          await vi.waitFor(() => expect(fakes.deepgram.live.sessions).toBe(before + 2), { timeout: 10_000 });
        } else {
          await pause(300);
          expect(fakes.deepgram.live.sessions).toBe(before + 1);
        }
        // Live upgrades that reach the fake between the second turn's start and its transcript.
        const startedAt = performance.now();
        let transcriptAt = Number.POSITIVE_INFINITY;
        const turn = p.respond(streamed(synthesizeFakeSpeech('When does it arrive?')));
        for await (const e of turn)
          if (e.type === 'transcript') transcriptAt = Math.min(transcriptAt, performance.now());
        const second = await turn.done;
        expect(norm(second.transcript)).toBe('When does it arrive?');
        const upgrades = fakes.deepgram.requests.entries.filter(
          (r) => r.route === 'live' && r.atMs >= startedAt && r.atMs <= transcriptAt,
        );
        expect(upgrades).toHaveLength(prewarm ? 0 : 1);
      } finally {
        await stt.close();
      }
    });
  }
});
