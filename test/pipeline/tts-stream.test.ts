import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, createVoicePipeline, type TextToSpeech, type TurnEvent } from '../../src/index.js';
import { PerformanceMonitor } from '../../src/perf/index.js';
import { ElevenLabsTextToSpeech } from '../../src/providers/elevenlabs/index.js';
import {
  type FakeElevenLabs,
  FakeLanguageModel,
  FakeStreamingTextToSpeech,
  FakeTextToSpeech,
  startFakeElevenLabs,
} from '../../src/testing/index.js';
import { collect, MemoryStore } from './helpers.js';

const REPLY =
  'The driver left Denver this morning and expects to reach Dallas by tomorrow evening. ' +
  'Traffic is light on the whole route. Anything else?';
const norm = (s: string): string => s.replace(/\s+/g, ' ').trim();
const DEADLINES = { tts: 10_000, ttsFirstByte: 5_000, llm: 10_000, tool: 10_000 };

function slowModel(script: ConstructorParameters<typeof FakeLanguageModel>[0] = {}): FakeLanguageModel {
  return new FakeLanguageModel({ latency: { tokensPerSecond: 150 }, script: [REPLY], ...script });
}

describe("ttsInput: 'stream'", () => {
  it('plays the first audio before the first sentence is complete', async () => {
    const monitor = new PerformanceMonitor();
    const tts = new FakeStreamingTextToSpeech({ streamFirstByteMs: 5, msPerChar: 2 });
    const p = createVoicePipeline({
      llm: slowModel(),
      tts,
      ttsInput: 'stream',
      systemPrompt: '',
      monitor,
      deadlines: DEADLINES,
    });
    const t = await collect(p.respond({ text: 'Where is the driver?' }));
    const firstAudio = t.events.findIndex((e) => e.type === 'audio');
    const firstSentence = t.events.findIndex((e) => e.type === 'sentence');
    expect(firstAudio).toBeGreaterThanOrEqual(0);
    expect(firstAudio).toBeLessThan(firstSentence);
    // One stream for the answer, fed in several pieces, closed at the end of the text.
    expect(tts.streams).toHaveLength(1);
    expect(tts.streams[0]?.pieces.length).toBeGreaterThan(1);
    expect(tts.streams[0]?.state).toBe('ended');
    expect(tts.texts.length).toBe(tts.streams[0]?.pieces.length); // no sentence requests
    expect(norm(t.heard)).toBe(norm(REPLY));
    expect(norm(t.result.spokenText)).toBe(norm(REPLY));
    // Recorded once per stream; the critical path goes through the first text piece.
    expect(monitor.stats('tts')?.count).toBe(1);
    expect(monitor.stats('tts_ttfb')?.count).toBe(1);
    const ttsSpan = t.result.timeline.spans.find((s) => s.name === 'tts');
    expect(ttsSpan).toBeDefined();
    const path = t.result.timeline.criticalPath;
    expect(path.map((s) => s.name)).toContain('tts_ttfb');
    expect(path.find((s) => s.name === 'llm')?.detail).toBe('until first text piece');
  });

  it('keeps the audio in order across tool rounds and an acknowledgement', async () => {
    const tts = new FakeStreamingTextToSpeech({ streamFirstByteMs: 3, msPerChar: 2 });
    const llm = new FakeLanguageModel({
      latency: { tokensPerSecond: 400 },
      script: [
        { text: 'Let me check that load for you. ', toolCalls: [{ name: 'lookup', arguments: {} }] },
        REPLY,
      ],
    });
    const { defineTool } = await import('../../src/index.js');
    const { z } = await import('zod');
    const lookup = defineTool({
      name: 'lookup',
      description: 'Looks the load up.',
      parameters: z.object({}),
      execute: async () => ({ city: 'Pueblo' }),
    });
    const p = createVoicePipeline({
      llm,
      tts,
      tools: [lookup],
      ttsInput: 'auto',
      systemPrompt: '',
      deadlines: DEADLINES,
    });
    const t = await collect(p.respond({ text: 'Where is load 7?' }));
    expect(t.result.interrupted).toBe(false);
    expect(tts.streams).toHaveLength(2);
    expect(norm(t.heard)).toBe(norm(`Let me check that load for you. ${REPLY}`));
    expect(t.result.timeline.timeToAnswerAudioMs).toBeGreaterThan(0);
  });

  it('stops at barge-in: no audio after the interruption, and the stream is closed', async () => {
    const tts = new FakeStreamingTextToSpeech({ streamFirstByteMs: 2, msPerChar: 2 });
    const p = createVoicePipeline({
      llm: new FakeLanguageModel({ latency: { tokensPerSecond: 60 }, script: [REPLY] }),
      tts,
      ttsInput: 'stream',
      systemPrompt: '',
      deadlines: DEADLINES,
    });
    const turn = p.respond({ text: 'Where is the driver?' });
    const events: TurnEvent[] = [];
    for await (const e of turn) {
      events.push(e);
      if (e.type === 'audio' && events.filter((x) => x.type === 'audio').length === 1) turn.abort();
    }
    const result = await turn.done;
    expect(result.interrupted).toBe(true);
    const cut = events.findIndex((e) => e.type === 'interrupted');
    expect(cut).toBeGreaterThan(0);
    expect(events.slice(cut).some((e) => e.type === 'audio')).toBe(false);
    expect(tts.streams[0]?.state).toBe('aborted');
    expect(norm(result.spokenText).length).toBeLessThan(norm(REPLY).length);
  });

  it('falls back to sentence mode when synthesizeStream fails before any audio', async () => {
    const tts = new FakeStreamingTextToSpeech({
      streamFirstByteMs: 2,
      msPerChar: 2,
      failStream: () => new Error('stream-input socket refused'),
    });
    const p = createVoicePipeline({
      llm: slowModel({ latency: { tokensPerSecond: 400 } }),
      tts,
      ttsInput: 'stream',
      systemPrompt: '',
      deadlines: DEADLINES,
    });
    const t = await collect(p.respond({ text: 'Where is the driver?' }));
    expect(t.result.interrupted).toBe(false);
    expect(tts.streams).toHaveLength(1);
    expect(tts.streams[0]?.state).toBe('failed');
    expect(norm(t.heard)).toBe(norm(REPLY));
    // Sentence mode took over: one request per sentence.
    expect(tts.texts.length).toBeGreaterThanOrEqual(3);
  });

  it("rejects 'stream' for a TTS stage without synthesizeStream; 'auto' uses sentence mode", async () => {
    const inner = new FakeTextToSpeech({ msPerChar: 2 });
    const texts: string[] = [];
    // An HTTP-only voice: synthesize() and nothing else.
    const tts: TextToSpeech = {
      provider: 'plain',
      defaultFormat: inner.defaultFormat,
      synthesize: (text, options) => {
        texts.push(text);
        return inner.synthesize(text, options);
      },
    };
    expect(() =>
      createVoicePipeline({ llm: slowModel(), tts, ttsInput: 'stream', systemPrompt: '' }),
    ).toThrow(ConfigError);
    const p = createVoicePipeline({
      llm: new FakeLanguageModel({ script: [REPLY] }),
      tts,
      ttsInput: 'auto',
      systemPrompt: '',
    });
    const t = await collect(p.respond({ text: 'Where is the driver?' }));
    expect(norm(t.heard)).toBe(norm(REPLY));
    expect(texts.length).toBeGreaterThan(1);
  });
});

describe("ttsInput default ('auto')", () => {
  it('streams into a TTS that has synthesizeStream when no option is given', async () => {
    const tts = new FakeStreamingTextToSpeech({ msPerChar: 2 });
    const p = createVoicePipeline({
      llm: slowModel({ latency: { tokensPerSecond: 400 } }),
      tts,
      systemPrompt: '',
    });
    const t = await collect(p.respond({ text: 'Where is the driver?' }));
    expect(tts.streams).toHaveLength(1);
    expect(tts.streams[0]?.state).toBe('ended');
    expect(tts.streams[0]?.pieces.length).toBeGreaterThan(1);
    expect(norm(t.heard)).toBe(norm(REPLY));
  });

  it("speaks in sentence mode when a TTS cache is configured (the cache fills); 'stream' streams anyway", async () => {
    const store = new MemoryStore();
    const make = (ttsInput?: 'stream') => {
      const tts = new FakeStreamingTextToSpeech({ msPerChar: 2 });
      const p = createVoicePipeline({
        llm: new FakeLanguageModel({ script: [REPLY] }),
        tts,
        systemPrompt: '',
        monitor: false,
        cache: { store, tts: true },
        ...(ttsInput ? { ttsInput } : {}),
      });
      return { tts, p };
    };
    const auto = make();
    const first = await collect(auto.p.respond({ text: 'Where is the driver?' }));
    expect(auto.tts.streams).toHaveLength(0);
    expect(auto.tts.texts.length).toBeGreaterThanOrEqual(3);
    expect(norm(first.heard)).toBe(norm(REPLY));
    // The second turn's sentences come from the cache: no TTS request at all.
    const again = make();
    const second = await collect(again.p.respond({ text: 'Where is the driver?' }));
    expect(again.tts.texts).toHaveLength(0);
    expect(second.result.timeline.spans.filter((x) => x.name === 'cache:tts').every((x) => x.cached)).toBe(
      true,
    );
    expect(norm(second.heard)).toBe(norm(REPLY));
    const forced = make('stream');
    await collect(forced.p.respond({ text: 'Where is the driver?' }));
    expect(forced.tts.streams).toHaveLength(1);
  });
});

describe("ttsInput: 'stream' through the real ElevenLabs adapter (multi-stream-input)", () => {
  let fake: FakeElevenLabs;
  beforeAll(async () => {
    fake = await startFakeElevenLabs({ apiKey: 'test-key' });
  });
  afterAll(async () => {
    await fake?.close();
  });

  it('speaks a whole turn over one WebSocket context', async () => {
    const monitor = new PerformanceMonitor();
    const tts = new ElevenLabsTextToSpeech({
      apiKey: 'test-key',
      baseUrl: fake.url,
      outputFormat: 'pcm_16000',
    });
    try {
      const p = createVoicePipeline({
        llm: slowModel({ latency: { tokensPerSecond: 400 } }),
        tts,
        ttsInput: 'auto',
        systemPrompt: '',
        monitor,
        deadlines: DEADLINES,
      });
      const t = await collect(p.respond({ text: 'Where is the driver?' }));
      expect(t.result.interrupted).toBe(false);
      expect(norm(t.heard)).toBe(norm(REPLY));
      const ws = fake.requests.entries.filter((e) => e.transport === 'ws');
      expect(ws.map((e) => e.route)).toEqual(['multi-stream-input']);
      expect(fake.requests.entries.filter((e) => e.transport !== 'ws')).toHaveLength(0);
      expect(monitor.stats('tts')?.count).toBe(1);
      expect(monitor.stats('tts_ttfb')?.count).toBe(1);
      expect(t.result.timeline.timeToFirstAudioMs).toBeGreaterThan(0);
    } finally {
      await tts.close();
    }
  });

  it('closes the context on barge-in without flushing the unsent text', async () => {
    const tts = new ElevenLabsTextToSpeech({
      apiKey: 'test-key',
      baseUrl: fake.url,
      outputFormat: 'pcm_16000',
    });
    try {
      const p = createVoicePipeline({
        llm: new FakeLanguageModel({ latency: { tokensPerSecond: 60 }, script: [REPLY] }),
        tts,
        systemPrompt: '',
        monitor: false,
        deadlines: DEADLINES,
      });
      const before = fake.requests.entries.length;
      const turn = p.respond({ text: 'Where is the driver?' });
      const events: TurnEvent[] = [];
      for await (const e of turn) {
        events.push(e);
        if (e.type === 'audio' && events.filter((x) => x.type === 'audio').length === 1) turn.abort();
      }
      expect((await turn.done).interrupted).toBe(true);
      const cut = events.findIndex((e) => e.type === 'interrupted');
      expect(events.slice(cut).some((e) => e.type === 'audio')).toBe(false);
      await new Promise((r) => setTimeout(r, 50));
      const ws = fake.requests.entries.slice(before).find((e) => e.route === 'multi-stream-input');
      expect(ws).toBeDefined();
      const messages = (ws?.body as { messages?: Record<string, unknown>[] } | undefined)?.messages ?? [];
      const close = messages.findIndex((m) => m.close_context === true);
      expect(close).toBeGreaterThan(0);
      // The message before the close is text of the answer, not the end-of-input flush.
      expect(messages[close - 1]).not.toMatchObject({ text: '', flush: true });
      expect(messages.some((m) => m.text === '' && m.flush === true)).toBe(false);
    } finally {
      await tts.close();
    }
  });
});
