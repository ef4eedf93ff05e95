/**
 * After a barge-in the history holds what the user heard, in every TTS input mode: the stored
 * assistant reply is a prefix of the answer, covers every sentence whose audio was delivered,
 * holds no sentence whose audio never started, and is marked `interrupted`. The cut point is
 * drawn (the n-th audio event); what was heard is read back from the delivered fake speech.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ChatMessage,
  createVoicePipeline,
  SentenceChunker,
  type TextToSpeech,
  type Turn,
  type TurnEvent,
  type TurnResult,
  type VoicePipelineOptions,
} from '../../src/index.js';
import { ElevenLabsTextToSpeech } from '../../src/providers/elevenlabs/index.js';
import {
  type FakeElevenLabs,
  FakeLanguageModel,
  FakeSpeechToText,
  FakeStreamingTextToSpeech,
  FakeTextToSpeech,
  startFakeElevenLabs,
  synthesizeFakeSpeech,
  transcribeFakeSpeech,
} from '../../src/testing/index.js';
import { concat, MemoryStore } from './helpers.js';

const REPLY =
  'The driver left Denver this morning. He is on the interstate near Pueblo now. ' +
  'Traffic is light on the whole route. He expects to reach Dallas by tomorrow evening. Anything else?';
const SENTENCES = SentenceChunker.split(REPLY);
const DEADLINES = { tts: 20_000, ttsFirstByte: 10_000, llm: 20_000, tool: 20_000 };

const strip = (s: string): string => s.replace(/\s+/g, '');
/** Where each sentence of the answer starts, in non-space characters. */
const STARTS = SENTENCES.map((_, i) => strip(SENTENCES.slice(0, i).join('')).length);

interface CutTurn {
  result: TurnResult;
  /** What the delivered audio says (fake speech carries its text). */
  heard: string;
  audioAfterCut: number;
}

/** Runs a turn and barges in at the `cutAt`-th audio event (1-based). */
async function cutTurn(
  options: Partial<VoicePipelineOptions> & { tts: TextToSpeech },
  cutAt: number,
  text = 'Where is the driver?',
): Promise<CutTurn> {
  const p = createVoicePipeline({
    // A fast model: the whole answer is written (and sent to a streaming voice) long before the
    // voice has spoken it, which is when "written" and "heard" differ most.
    llm: new FakeLanguageModel({ script: [REPLY] }),
    systemPrompt: '',
    monitor: false,
    deadlines: DEADLINES,
    ...options,
  });
  const turn = p.respond({ text });
  const audio: Uint8Array[] = [];
  let cut = false;
  let audioAfterCut = 0;
  for await (const e of turn as AsyncIterable<TurnEvent>) {
    if (e.type !== 'audio') continue;
    if (cut) {
      audioAfterCut++;
      continue;
    }
    audio.push(e.chunk.data);
    if (audio.length === cutAt) {
      cut = true;
      turn.abort('user spoke');
    }
  }
  const result = await turn.done;
  return { result, heard: transcribeFakeSpeech(concat(audio)), audioAfterCut };
}

/** The history invariants (see the module doc). */
function expectHeardHistory({ result, heard, audioAfterCut }: CutTurn): void {
  expect(audioAfterCut).toBe(0);
  const [user, ...rest] = result.messages;
  expect(user).toEqual({ role: 'user', content: 'Where is the driver?' });
  if (!result.interrupted) {
    expect(rest).toEqual([{ role: 'assistant', content: REPLY }]);
    return;
  }
  const h = strip(heard);
  expect(h.length).toBeGreaterThan(0);
  expect(rest).toHaveLength(1);
  const reply = rest[0] as Extract<ChatMessage, { role: 'assistant' }>;
  expect(reply.role).toBe('assistant');
  expect(reply.interrupted).toBe(true);
  const stored = strip(reply.content);
  // A prefix of the answer...
  expect(strip(REPLY).startsWith(stored)).toBe(true);
  // ...that covers what was delivered...
  expect(stored.startsWith(h)).toBe(true);
  // ...and ends in a sentence whose audio started (nothing the user never heard begins).
  const lastSentence = STARTS.findLastIndex((start) => start < stored.length);
  expect(STARTS[lastSentence]).toBeLessThan(h.length);
  // Whole sentences, unless the cut came before the model finished the one being spoken.
  expect(SENTENCES.slice(0, lastSentence + 1).join(' ')).toContain(reply.content);
  expect(strip(result.spokenText)).toBe(stored);
}

const sentenceVoice = () =>
  new FakeTextToSpeech({ msPerChar: 3, chunkBytes: 256, latency: { ttfb: 1, bytesPerSecond: 200_000 } });
const streamingVoice = (extra: ConstructorParameters<typeof FakeStreamingTextToSpeech>[0] = {}) =>
  new FakeStreamingTextToSpeech({
    msPerChar: 3,
    chunkBytes: 256,
    streamFirstByteMs: 1,
    latency: { ttfb: 1, bytesPerSecond: 200_000 },
    ...extra,
  });

const MODES: Record<string, () => Partial<VoicePipelineOptions> & { tts: TextToSpeech }> = {
  sentence: () => ({ tts: sentenceVoice(), ttsInput: 'sentence' }),
  'sentence (streaming voice)': () => ({ tts: streamingVoice(), ttsInput: 'sentence' }),
  stream: () => ({ tts: streamingVoice(), ttsInput: 'stream' }),
  auto: () => ({ tts: streamingVoice(), ttsInput: 'auto' }),
  'stream, failed before audio → sentence mode': () => ({
    tts: streamingVoice({ failStream: () => new Error('stream-input socket refused') }),
    ttsInput: 'stream',
  }),
  'stream, fallback voice': () => ({
    tts: streamingVoice({ failStream: () => new Error('stream-input socket refused'), provider: 'primary' }),
    fallbacks: { tts: streamingVoice({ provider: 'backup' }) },
    ttsInput: 'stream',
  }),
};

describe('barge-in: the history holds only what was heard', () => {
  for (const [mode, make] of Object.entries(MODES)) {
    it(`${mode}: at any audio event`, async () => {
      let interrupted = 0;
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 40 }), async (cutAt) => {
          const t = await cutTurn(make(), cutAt);
          if (t.result.interrupted) interrupted++;
          expectHeardHistory(t);
        }),
        { numRuns: 25 },
      );
      expect(interrupted).toBeGreaterThan(0);
    }, 120_000);
  }

  it('sentence: audio buffered behind the cut is not heard, even when it was queued in the same tick', async () => {
    const inner = sentenceVoice();
    let calls = 0;
    // The first sentence is slow; the middle ones are synthesized (run-ahead) meanwhile, and all
    // their audio is queued at once when the first one ends. The last one is slower still, so
    // the turn is not over when the host reads the second sentence's audio.
    const tts: TextToSpeech = {
      provider: 'slow-first',
      defaultFormat: inner.defaultFormat,
      async *synthesize(text, o) {
        const call = calls++;
        if (call === 0 || call === SENTENCES.length - 1)
          await new Promise((r) => setTimeout(r, call === 0 ? 80 : 400));
        yield* inner.synthesize(text, o);
      },
    };
    const p = createVoicePipeline({
      llm: new FakeLanguageModel({ script: [REPLY] }),
      tts,
      ttsInput: 'sentence',
      ttsConcurrency: 5,
      systemPrompt: '',
      monitor: false,
      deadlines: DEADLINES,
    });
    const turn = p.respond({ text: 'Where is the driver?' });
    const audio: Uint8Array[] = [];
    for await (const e of turn) {
      if (e.type !== 'audio') continue;
      audio.push(e.chunk.data);
      if (e.sentenceIndex === 1) turn.abort();
    }
    const result = await turn.done;
    expect(result.interrupted).toBe(true);
    expect(transcribeFakeSpeech(concat(audio))).toBe(SENTENCES.slice(0, 2).join(' '));
    expect(result.messages.at(-1)).toEqual({
      role: 'assistant',
      content: SENTENCES.slice(0, 2).join(' '),
      interrupted: true,
    });
    expect(result.spokenText).toBe(SENTENCES.slice(0, 2).join(' '));
  });

  it('stream: a cut after the first audio keeps the first sentence only, not the written rest', async () => {
    const t = await cutTurn({ tts: streamingVoice(), ttsInput: 'stream' }, 1);
    expect(t.result.interrupted).toBe(true);
    // The model had written the whole answer before the voice spoke its first words.
    expect(t.result.reply).toBe(REPLY);
    expect(t.result.messages.at(-1)).toEqual({
      role: 'assistant',
      content: SENTENCES[0],
      interrupted: true,
    });
  });

  it('stream: a cut while the model is still writing keeps the sentence being spoken, as written so far', async () => {
    const p = createVoicePipeline({
      llm: new FakeLanguageModel({ latency: { tokensPerSecond: 40 }, script: [REPLY] }),
      tts: streamingVoice(),
      ttsInput: 'stream',
      systemPrompt: '',
      monitor: false,
      deadlines: DEADLINES,
    });
    const turn = p.respond({ text: 'Where is the driver?' });
    const audio: Uint8Array[] = [];
    for await (const e of turn) {
      if (e.type === 'audio' && audio.push(e.chunk.data) === 1) turn.abort();
    }
    const result = await turn.done;
    expect(result.interrupted).toBe(true);
    const reply = result.messages.at(-1) as Extract<ChatMessage, { role: 'assistant' }>;
    expect(reply.interrupted).toBe(true);
    const stored = strip(reply.content);
    expect(stored.startsWith(strip(transcribeFakeSpeech(concat(audio))))).toBe(true);
    expect(strip(SENTENCES[0] as string).startsWith(stored)).toBe(true);
  });

  it('a streaming voice without alignment: no sentence sent after the played audio', async () => {
    const inner = streamingVoice();
    // A custom streaming voice that does not say what its audio speaks.
    const tts: TextToSpeech = {
      provider: 'plain-stream',
      defaultFormat: inner.defaultFormat,
      synthesize: (text, o) => inner.synthesize(text, o),
      async *synthesizeStream(text, o) {
        for await (const chunk of inner.synthesizeStream(text, o))
          yield { data: chunk.data, format: chunk.format };
      },
    };
    const llm = new FakeLanguageModel({ latency: { tokensPerSecond: 40 }, script: [REPLY] });
    const t = await cutTurnWith(llm, tts, 1);
    expect(t.result.interrupted).toBe(true);
    const reply = t.result.messages.at(-1) as Extract<ChatMessage, { role: 'assistant' }>;
    expect(reply.interrupted).toBe(true);
    expect(strip(reply.content).startsWith(strip(t.heard))).toBe(true);
    expect(strip(REPLY).startsWith(strip(reply.content))).toBe(true);
    // The model was slow: most of the answer was not even written when the first audio played.
    expect(reply.content.length).toBeLessThan(REPLY.length / 2);
  });
});

async function cutTurnWith(llm: FakeLanguageModel, tts: TextToSpeech, cutAt: number): Promise<CutTurn> {
  const p = createVoicePipeline({
    llm,
    tts,
    ttsInput: 'stream',
    systemPrompt: '',
    monitor: false,
    deadlines: DEADLINES,
  });
  const turn = p.respond({ text: 'Where is the driver?' });
  const audio: Uint8Array[] = [];
  let audioAfterCut = 0;
  for await (const e of turn) {
    if (e.type !== 'audio') continue;
    if (audio.length >= cutAt) audioAfterCut++;
    else if (audio.push(e.chunk.data) === cutAt) turn.abort();
  }
  return { result: await turn.done, heard: transcribeFakeSpeech(concat(audio)), audioAfterCut };
}

describe('barge-in history through the real ElevenLabs adapter (multi-stream-input)', () => {
  let fake: FakeElevenLabs;
  let tts: ElevenLabsTextToSpeech;
  beforeAll(async () => {
    // Paced audio in small chunks: the answer is written and sent long before it is spoken.
    fake = await startFakeElevenLabs({ apiKey: 'test-key', audioRate: 20, chunkMs: 40, msPerChar: 20 });
    tts = new ElevenLabsTextToSpeech({ apiKey: 'test-key', baseUrl: fake.url, outputFormat: 'pcm_16000' });
  });
  afterAll(async () => {
    await tts?.close();
    await fake?.close();
  });

  it('keeps the sentences whose audio started, at any audio event', async () => {
    let interrupted = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 30 }), async (cutAt) => {
        const t = await cutTurn({ tts, ttsInput: 'stream' }, cutAt);
        if (t.result.interrupted) interrupted++;
        expectHeardHistory(t);
      }),
      { numRuns: 12 },
    );
    expect(interrupted).toBeGreaterThan(0);
  }, 120_000);

  it('a cut after the first audio keeps the first sentence only', async () => {
    const t = await cutTurn({ tts, ttsInput: 'stream' }, 1);
    expect(t.result.interrupted).toBe(true);
    expect(t.result.reply).toBe(REPLY);
    expect(t.result.messages.at(-1)).toEqual({ role: 'assistant', content: SENTENCES[0], interrupted: true });
  });
});

describe('barge-in and the LLM answer cache', () => {
  for (const ttsInput of ['sentence', 'stream'] as const) {
    it(`${ttsInput}: never stores an interrupted answer; a later complete one is stored whole`, async () => {
      const store = new MemoryStore();
      const make = () => ({ tts: streamingVoice(), ttsInput, cache: { store, llm: true } });
      for (const cutAt of [1, 2, 3]) {
        const t = await cutTurn(make(), cutAt);
        expect(t.result.interrupted).toBe(true);
        expectHeardHistory(t);
        expect(store.keys('llm')).toEqual([]);
      }
      const whole = await cutTurn(make(), Number.POSITIVE_INFINITY);
      expect(whole.result.interrupted).toBe(false);
      expect(store.keys('llm')).toHaveLength(1);
      const stored = store.map.get(store.keys('llm')[0] as string) as {
        reply: string;
        messages: ChatMessage[];
      };
      expect(stored.reply).toBe(REPLY);
      expect(stored.messages).toEqual([{ role: 'assistant', content: REPLY }]);
      // A replay cut short keeps only what it played, and leaves the stored answer alone.
      const replay = await cutTurn(make(), 1);
      expect(replay.result.cached).toBe(true);
      expectHeardHistory(replay);
      expect((store.map.get(store.keys('llm')[0] as string) as { reply: string }).reply).toBe(REPLY);
    }, 60_000);
  }
});

describe('barge-in history with preemptive generation (streamed audio)', () => {
  /** The utterance as a stream of small chunks. */
  async function* streamOf(text: string): AsyncIterable<Uint8Array> {
    const audio = synthesizeFakeSpeech(text);
    for (let offset = 0; offset < audio.byteLength; offset += 4096)
      yield audio.subarray(offset, offset + 4096);
  }
  /** Names the question it answers, then the long answer. */
  const llm = (tokensPerSecond: number) =>
    new FakeLanguageModel({
      latency: { ttft: 5, tokensPerSecond },
      respond: (messages) => `You asked about ${messages.at(-1)?.content ?? ''} ${REPLY}`,
    });
  const run = async (stt: FakeSpeechToText, tokensPerSecond: number, cut: (turn: Turn) => void) => {
    const p = createVoicePipeline({
      stt,
      llm: llm(tokensPerSecond),
      tts: streamingVoice(),
      ttsInput: 'stream',
      systemPrompt: '',
      monitor: false,
      deadlines: DEADLINES,
    });
    const turn = p.respond(streamOf('Where is load 2314?'));
    cut(turn);
    const audio: Uint8Array[] = [];
    for await (const e of turn) {
      if (e.type === 'audio' && audio.push(e.chunk.data) === 1) turn.abort();
    }
    return { result: await turn.done, heard: transcribeFakeSpeech(concat(audio)) };
  };

  it('a kept early answer: its held audio counts once played, the rest of what it wrote does not', async () => {
    const stt = new FakeSpeechToText({ latency: 60, preflightMs: 0 });
    const { result, heard } = await run(stt, 2000, () => {});
    expect(result.preemptive?.outcome).toBe('hit');
    expect(result.interrupted).toBe(true);
    expect(result.messages).toEqual([
      { role: 'user', content: 'Where is load 2314?' },
      { role: 'assistant', content: 'You asked about Where is load 2314?', interrupted: true },
    ]);
    expect(heard.length).toBeGreaterThan(0);
    expect(strip('You asked about Where is load 2314?').startsWith(strip(heard))).toBe(true);
  });

  it('a dropped early answer never reaches the history, even when it had written more than was heard', async () => {
    const stt = new FakeSpeechToText({
      latency: 150,
      preflightMs: 0,
      preflightText: (final) => final.replace('2314', '2315'),
    });
    const { result } = await run(stt, 2000, () => {});
    expect(result.preemptive?.outcome).toBe('miss');
    expect(result.interrupted).toBe(true);
    expect(JSON.stringify(result.messages)).not.toContain('2315');
    expect(result.messages).toEqual([
      { role: 'user', content: 'Where is load 2314?' },
      { role: 'assistant', content: 'You asked about Where is load 2314?', interrupted: true },
    ]);
  });

  it('a barge-in while the early answer is still held: nothing of it in the history', async () => {
    const stt = new FakeSpeechToText({ latency: 300, endOfTurnDelayMs: 300, preflightMs: 0 });
    const { result, heard } = await run(stt, 2000, (turn) => {
      setTimeout(() => turn.abort('user spoke again'), 150);
    });
    expect(result.interrupted).toBe(true);
    expect(heard).toBe('');
    expect(result.messages.filter((m) => m.role === 'assistant')).toEqual([]);
    expect(result.spokenText).toBe('');
  });
});

describe('barge-in history across a tool round', () => {
  for (const ttsInput of ['sentence', 'stream'] as const) {
    it(`${ttsInput}: keeps the tool exchange and the heard start of the answer`, async () => {
      const { defineTool } = await import('../../src/index.js');
      const { z } = await import('zod');
      const lookup = defineTool({
        name: 'lookup',
        description: 'Looks the load up.',
        parameters: z.object({}),
        execute: async () => ({ city: 'Pueblo' }),
      });
      const p = createVoicePipeline({
        llm: new FakeLanguageModel({
          script: [
            { text: 'Let me check that load for you. ', toolCalls: [{ name: 'lookup', arguments: {} }] },
            REPLY,
          ],
        }),
        tts: streamingVoice(),
        tools: [lookup],
        ttsInput,
        systemPrompt: '',
        monitor: false,
        deadlines: DEADLINES,
      });
      const turn = p.respond({ text: 'Where is the driver?' });
      let toolDone = false;
      for await (const e of turn) {
        if (e.type === 'tool-result') toolDone = true;
        // The first audio of the answer after the tool round.
        if (e.type === 'audio' && toolDone && e.sentenceIndex >= 1) turn.abort();
      }
      const result = await turn.done;
      expect(result.interrupted).toBe(true);
      const [user, call, tool, reply, ...rest] = result.messages;
      expect(rest).toEqual([]);
      expect(user).toEqual({ role: 'user', content: 'Where is the driver?' });
      expect(call).toMatchObject({ role: 'assistant', content: 'Let me check that load for you. ' });
      expect(call).not.toHaveProperty('interrupted');
      expect(tool).toMatchObject({ role: 'tool', name: 'lookup' });
      expect(reply).toEqual({ role: 'assistant', content: SENTENCES[0], interrupted: true });
      expect(result.spokenText).toBe(`Let me check that load for you. ${SENTENCES[0]}`);
    });
  }
});
