import { describe, expect, it } from 'vitest';
import { ProviderError, TimeoutError, UpstreamError } from '../../src/errors.js';
import {
  type AudioChunk,
  createCompanyApiTools,
  createVoicePipeline,
  type TextToSpeech,
  type TurnEvent,
} from '../../src/index.js';
import { PerformanceMonitor } from '../../src/perf/index.js';
import {
  FakeLanguageModel,
  FakeSpeechToText,
  FakeTextToSpeech,
  synthesizeFakeSpeech,
} from '../../src/testing/index.js';
import { collect, fakeCompanyApi, settle, trackTimers } from './helpers.js';

const slowTts = () => new FakeTextToSpeech({ provider: 'slow', latency: { ttfb: 5_000 } });
const backupTts = () => new FakeTextToSpeech({ provider: 'backup', msPerChar: 2 });

async function* chunked(bytes: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let o = 0; o < bytes.length; o += size) yield bytes.subarray(o, o + size);
}

describe('deadlines', () => {
  it('fails the turn with a TimeoutError when TTS misses its first-byte deadline, leaving no timers', async () => {
    const timers = trackTimers();
    const monitor = new PerformanceMonitor();
    const p = createVoicePipeline({
      llm: new FakeLanguageModel({ script: ['Hello.'] }),
      tts: slowTts(),
      systemPrompt: '',
      monitor,
      deadlines: { ttsFirstByte: 30 },
    });
    const turn = p.respond({ text: 'Hi' });
    const err = await turn.done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toMatchObject({ code: 'EARSHOT_TIMEOUT', timeoutMs: 30 });
    expect((err as Error).message).toMatch(/deadlines\.ttsFirstByte/);
    const events: TurnEvent[] = [];
    await expect(
      (async () => {
        for await (const e of turn) events.push(e);
      })(),
    ).rejects.toBeInstanceOf(TimeoutError);
    expect(events.at(-1)?.type).toBe('metrics');
    expect(monitor.stats('tts', { labels: { provider: 'slow', outcome: 'error' } })?.count).toBe(1);
    expect(monitor.stats('turn', { labels: { outcome: 'error' } })?.count).toBe(1);
    expect(monitor.stats('time_to_first_audio')).toBeUndefined();
    await settle();
    const pending = await timers.pending();
    timers.stop();
    expect(pending).toEqual([]);
  });

  it('turns a tool that misses its deadline into a tool error (an apology by default)', async () => {
    const p = createVoicePipeline({
      llm: new FakeLanguageModel({
        script: [{ toolCalls: [{ name: 'get_load_status', arguments: { load_id: '1' } }] }],
      }),
      tts: backupTts(),
      tools: createCompanyApiTools(fakeCompanyApi({ delayMs: 5_000 })),
      systemPrompt: '',
      monitor: false,
      deadlines: { tool: 30 },
      apology: 'Sorry, that took too long.',
    });
    const t = await collect(p.respond({ text: 'Where is load 1?' }));
    expect(t.heard).toBe('Sorry, that took too long.');
    const span = t.result.timeline.spans.find((s) => s.name === 'tool:get_load_status');
    expect(span?.outcome).toBe('timeout');
    expect(t.events.find((e) => e.type === 'error')).toMatchObject({
      error: { code: 'EARSHOT_TOOL_FAILED' },
    });
  });

  it('bounds the wait for the first token', async () => {
    const p = createVoicePipeline({
      llm: new FakeLanguageModel({ latency: { ttft: 5_000 } }),
      tts: backupTts(),
      systemPrompt: '',
      monitor: false,
      deadlines: { llmFirstToken: 20 },
    });
    await expect(p.respond({ text: 'Hi' }).done).rejects.toMatchObject({
      code: 'EARSHOT_TIMEOUT',
      timeoutMs: 20,
    });
  });
});

describe('fallbacks', () => {
  // Sentence mode: one request per chunk, each on the backup. Streamed input (the default):
  // the backup takes the stream, one request for the whole answer.
  it.each([
    ['sentence', 2],
    ['auto', 1],
  ] as const)(
    'switches TTS to the fallback when the primary misses its deadline, for the rest of the turn (ttsInput %s)',
    async (ttsInput, backupRequests) => {
      const monitor = new PerformanceMonitor();
      const backup = backupTts();
      const p = createVoicePipeline({
        ttsInput,
        llm: new FakeLanguageModel({ script: ['First part. Second part.'] }),
        tts: slowTts(),
        fallbacks: { tts: backup },
        systemPrompt: '',
        monitor,
        deadlines: { ttsFirstByte: 30 },
        ttsConcurrency: 1,
      });
      const t = await collect(p.respond({ text: 'Hi' }));
      expect(t.heard).toBe('First part. Second part.');
      expect(backup.texts).toEqual(['First part.', 'Second part.']);
      const fb = t.events.filter((e) => e.type === 'fallback');
      expect(fb).toHaveLength(1);
      expect(fb[0]).toMatchObject({ stage: 'tts', from: 'slow', to: 'backup' });
      expect((fb[0] as { error: unknown }).error).toBeInstanceOf(TimeoutError);
      expect(t.result.timeline.fallbacks).toEqual([
        expect.objectContaining({
          stage: 'tts',
          from: 'slow',
          to: 'backup',
          reason: expect.stringMatching(/EARSHOT_TIMEOUT/),
        }),
      ]);
      const path = t.result.timeline.criticalPath.map((s) => s.name);
      expect(path).toContain('tts_ttfb');
      expect(monitor.stats('tts', { labels: { provider: 'backup', outcome: 'ok' } })?.count).toBe(
        backupRequests,
      );
      expect(monitor.stats('tts', { labels: { provider: 'slow', outcome: 'error' } })?.count).toBe(1);
    },
  );

  it('does not fall back when a TTS request fails after its audio started (it would repeat words)', async () => {
    const breaking: TextToSpeech = {
      provider: 'breaking',
      defaultFormat: 'pcm_16000',
      async *synthesize(text: string): AsyncIterable<AudioChunk> {
        yield { data: synthesizeFakeSpeech(text, { msPerChar: 1 }).subarray(0, 64), format: 'pcm_16000' };
        throw new UpstreamError('stream reset', { provider: 'breaking', retryable: true });
      },
    };
    const p = createVoicePipeline({
      llm: new FakeLanguageModel({ script: ['Hello.'] }),
      tts: breaking,
      fallbacks: { tts: backupTts() },
      systemPrompt: '',
      monitor: false,
    });
    await expect(p.respond({ text: 'Hi' }).done).rejects.toBeInstanceOf(UpstreamError);
  });

  it('switches the LLM to the fallback when the primary fails before its first token', async () => {
    const primary = new FakeLanguageModel({
      provider: 'primary',
      script: [
        { error: new ProviderError('overloaded', { provider: 'primary', status: 529, retryable: true }) },
      ],
    });
    const backup = new FakeLanguageModel({ provider: 'backup', script: ['From the backup.'] });
    const p = createVoicePipeline({
      llm: primary,
      fallbacks: { llm: backup },
      tts: backupTts(),
      systemPrompt: '',
      monitor: false,
    });
    const t = await collect(p.respond({ text: 'Hi' }));
    expect(t.result.reply).toBe('From the backup.');
    expect(t.events.find((e) => e.type === 'fallback')).toMatchObject({
      stage: 'llm',
      from: 'primary',
      to: 'backup',
    });
    const llmSpans = t.result.timeline.spans.filter((s) => s.name === 'llm');
    expect(llmSpans.map((s) => [s.provider, s.outcome])).toEqual([
      ['primary', 'error'],
      ['backup', 'ok'],
    ]);
    expect(llmSpans[1]?.waitedOn?.spanId).toBe(llmSpans[0]?.id);
  });

  it('fails the turn when the LLM breaks after it started talking', async () => {
    const primary = new FakeLanguageModel({
      script: [
        { text: 'This answer will break off here', error: new Error('socket hang up'), errorAfterTokens: 3 },
      ],
    });
    const p = createVoicePipeline({
      llm: primary,
      fallbacks: { llm: new FakeLanguageModel({ script: ['never'] }) },
      tts: backupTts(),
      systemPrompt: '',
      monitor: false,
    });
    const err = await p.respond({ text: 'Hi' }).done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ provider: 'fake', code: 'EARSHOT_PROVIDER_FAILED' });
    expect((err as Error).message).toMatch(/llm stage \(provider fake\) failed: socket hang up/);
  });

  it('switches STT to the fallback for a finished utterance', async () => {
    const p = createVoicePipeline({
      stt: new FakeSpeechToText({ provider: 'primary', latency: 5_000 }),
      fallbacks: { stt: new FakeSpeechToText({ provider: 'backup' }) },
      llm: new FakeLanguageModel({ script: ['OK.'] }),
      tts: backupTts(),
      systemPrompt: '',
      monitor: false,
      deadlines: { stt: 30 },
    });
    const t = await collect(p.respond(synthesizeFakeSpeech('Where is load 5?')));
    expect(t.result.transcript).toBe('Where is load 5?');
    expect(t.events.find((e) => e.type === 'fallback')).toMatchObject({
      stage: 'stt',
      from: 'primary',
      to: 'backup',
    });
  });

  it('replays streamed audio into the STT fallback when the streaming session fails', async () => {
    const p = createVoicePipeline({
      stt: new FakeSpeechToText({ provider: 'primary', fail: () => new Error('ws closed 1011') }),
      fallbacks: { stt: new FakeSpeechToText({ provider: 'backup', streaming: false }) },
      llm: new FakeLanguageModel({ script: ['OK.'] }),
      tts: backupTts(),
      systemPrompt: '',
      monitor: false,
    });
    const r = await p.respond(chunked(synthesizeFakeSpeech('Check trailer 12'), 700)).done;
    expect(r.transcript).toBe('Check trailer 12');
    expect(r.timeline.fallbacks[0]).toMatchObject({ stage: 'stt', from: 'primary', to: 'backup' });
  });
});
