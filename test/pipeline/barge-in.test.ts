import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type AudioChunk,
  createCompanyApiTools,
  createVoicePipeline,
  type SynthesizeOptions,
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
import { fakeCompanyApi, settle, trackTimers } from './helpers.js';

const REPLY =
  'Load 2314 left Denver this morning. It is on I-25 near Pueblo. The driver expects to reach Dallas tomorrow. ' +
  'Traffic is light. Anything else?';

let unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeEach(() => {
  unhandled = [];
  process.on('unhandledRejection', onUnhandled);
});
afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
});

function pipelineWith(monitor: PerformanceMonitor, seed: number) {
  const llm = new FakeLanguageModel({
    seed,
    latency: { ttft: { kind: 'uniform', minMs: 2, maxMs: 15 }, tokensPerSecond: 800 },
    respond: (messages, tools) =>
      messages.at(-1)?.role === 'tool' || tools.length === 0
        ? REPLY
        : { text: 'Let me check.', toolCalls: [{ name: 'get_load_status', arguments: { load_id: '2314' } }] },
  });
  return createVoicePipeline({
    stt: new FakeSpeechToText({ latency: { kind: 'uniform', minMs: 1, maxMs: 10 }, seed }),
    llm,
    tts: new FakeTextToSpeech({
      latency: { ttfb: { kind: 'uniform', minMs: 1, maxMs: 12 }, bytesPerSecond: 400_000 },
      seed,
      chunkBytes: 1024,
      msPerChar: 5,
    }),
    tools: createCompanyApiTools(fakeCompanyApi({ delayMs: 4 })),
    systemPrompt: '',
    monitor,
    deadlines: { tts: 10_000, llm: 10_000, stt: 10_000, tool: 10_000 },
  });
}

describe('barge-in', () => {
  it('at a random moment stops audio at once, resolves as interrupted, and leaves no timers or rejections behind', async () => {
    const monitor = new PerformanceMonitor();
    let completed = 0;
    let interrupted = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 10_000 }),
        fc.oneof(
          fc.record({ kind: fc.constant('timer' as const), ms: fc.integer({ min: 0, max: 90 }) }),
          fc.record({ kind: fc.constant('event' as const), n: fc.integer({ min: 0, max: 60 }) }),
        ),
        fc.boolean(),
        async (seed, when, viaSignal) => {
          const timers = trackTimers();
          const p = pipelineWith(monitor, seed);
          const controller = new AbortController();
          const turn = p.respond(
            synthesizeFakeSpeech('Where is load 2314?'),
            viaSignal ? { signal: controller.signal } : {},
          );
          const bargeIn = () =>
            viaSignal ? controller.abort(new Error('user spoke')) : turn.abort('user spoke');
          let aborted = false;
          let audioAfterAbort = 0;
          let timer: ReturnType<typeof setTimeout> | undefined;
          if (when.kind === 'timer') {
            timer = setTimeout(() => {
              aborted = true;
              bargeIn();
            }, when.ms);
          }
          const events: TurnEvent[] = [];
          for await (const e of turn) {
            if (aborted && e.type === 'audio') audioAfterAbort++;
            events.push(e);
            if (when.kind === 'event' && events.length === when.n && !aborted) {
              aborted = true;
              bargeIn();
            }
          }
          clearTimeout(timer);
          const r = await turn.done;
          await settle();
          const pending = await timers.pending();
          timers.stop();
          expect(audioAfterAbort).toBe(0);
          expect(pending).toEqual([]);
          if (r.interrupted) {
            interrupted++;
            expect(events.map((e) => e.type).slice(-2)).toEqual(['interrupted', 'metrics']);
            expect(r.timeline.interrupted).toBe(true);
            expect(r.timeline.e2eMs).toBeUndefined();
            // Whatever was still running ended as interrupted, not as ok or error.
            for (const s of r.timeline.spans) expect(['ok', 'interrupted']).toContain(s.outcome);
          } else {
            completed++;
          }
        },
      ),
      { numRuns: 40 },
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(unhandled).toEqual([]);
    // Interrupted turns never reach the first-audio and end-to-end series.
    expect(monitor.stats('time_to_first_audio')?.count ?? 0).toBe(completed);
    expect(monitor.stats('e2e')?.count ?? 0).toBe(completed);
    expect(monitor.stats('turn', { labels: { outcome: 'interrupted' } })?.count ?? 0).toBe(interrupted);
    expect(interrupted).toBeGreaterThan(0);
  });

  it('before the turn starts resolves as interrupted without calling any stage', async () => {
    const llm = new FakeLanguageModel();
    const tts = new FakeTextToSpeech();
    const p = createVoicePipeline({
      stt: new FakeSpeechToText(),
      llm,
      tts,
      systemPrompt: '',
      monitor: false,
    });
    const r = await p.respond({ text: 'Hello' }, { signal: AbortSignal.abort() }).done;
    expect(r.interrupted).toBe(true);
    expect(llm.calls).toHaveLength(0);
    expect(tts.texts).toHaveLength(0);
  });

  it('keeps only what was heard in the history messages', async () => {
    const llm = new FakeLanguageModel({ script: ['First sentence here. Second sentence here. Third one.'] });
    const tts = new FakeTextToSpeech({ latency: { ttfb: 5 }, msPerChar: 1 });
    // Sentence mode: history is cut at the last sentence whose audio started (every TTS input
    // mode, at any cut point: barge-in-history.test.ts).
    const p = createVoicePipeline({
      llm,
      tts,
      systemPrompt: '',
      monitor: false,
      ttsConcurrency: 1,
      ttsInput: 'sentence',
    });
    const turn = p.respond({ text: 'Talk' });
    for await (const e of turn) if (e.type === 'audio' && e.sentenceIndex === 0) turn.abort();
    const r = await turn.done;
    expect(r.interrupted).toBe(true);
    expect(r.spokenText).toBe('First sentence here.');
    expect(r.messages).toEqual([
      { role: 'user', content: 'Talk' },
      { role: 'assistant', content: 'First sentence here.', interrupted: true },
    ]);
  });

  it('ignores an abort after the turn is done', async () => {
    const p = createVoicePipeline({
      llm: new FakeLanguageModel(),
      tts: new FakeTextToSpeech(),
      systemPrompt: '',
      monitor: false,
    });
    const turn = p.respond({ text: 'Hi' });
    const r = await turn.done;
    turn.abort();
    expect(r.interrupted).toBe(false);
  });

  it('aborts the in-flight HTTP requests of a streaming TTS stage', async () => {
    const open = new Set<ServerResponse>();
    const closedEarly: boolean[] = [];
    const server = createServer((req, res) => {
      open.add(res);
      res.writeHead(200, { 'content-type': 'audio/pcm' });
      res.write(synthesizeFakeSpeech('first'));
      const timer = setInterval(() => res.write(new Uint8Array(320)), 20);
      res.on('close', () => {
        clearInterval(timer);
        open.delete(res);
        closedEarly.push(!res.writableFinished);
      });
      req.resume();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tts`;
    // A minimal HTTP TTS adapter, the way a provider adapter streams a response body.
    const httpTts: TextToSpeech = {
      provider: 'http-test',
      defaultFormat: 'pcm_16000',
      async *synthesize(text: string, options: SynthesizeOptions = {}): AsyncIterable<AudioChunk> {
        const res = await fetch(url, {
          method: 'POST',
          body: text,
          ...(options.signal ? { signal: options.signal } : {}),
        });
        const reader = (res.body as ReadableStream<Uint8Array>).getReader();
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) return;
            yield { data: value, format: 'pcm_16000' };
          }
        } finally {
          reader.releaseLock();
        }
      },
    };
    try {
      const p = createVoicePipeline({
        llm: new FakeLanguageModel({ script: ['One. Two. Three.'] }),
        tts: httpTts,
        systemPrompt: '',
        monitor: false,
        ttsConcurrency: 2,
      });
      const turn = p.respond({ text: 'Count' });
      for await (const e of turn) if (e.type === 'audio') turn.abort();
      const r = await turn.done;
      expect(r.interrupted).toBe(true);
      for (let i = 0; i < 100 && open.size > 0; i++) await new Promise((res) => setTimeout(res, 10));
      expect(open.size).toBe(0);
      expect(closedEarly.length).toBeGreaterThan(0);
      expect(closedEarly.every(Boolean)).toBe(true);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
    await settle();
    expect(unhandled).toEqual([]);
  });
});
