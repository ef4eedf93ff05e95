import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createCompanyApiTools,
  createVoicePipeline,
  type TurnEvent,
  type TurnTimeline,
} from '../../src/index.js';
import { PerformanceMonitor } from '../../src/perf/index.js';
import {
  FakeLanguageModel,
  type FakeLlmReply,
  FakeSpeechToText,
  FakeTextToSpeech,
  synthesizeFakeSpeech,
} from '../../src/testing/index.js';
import { collect, fakeCompanyApi } from './helpers.js';

const sentence = fc
  .tuple(
    fc.constantFrom('Load', 'The trailer', 'Your order', 'Dock 4', 'It', 'Driver Ann'),
    fc.constantFrom(
      'is ready',
      'left at 3.5 p.m.',
      'arrives soon',
      'weighs 40 lbs',
      'is late, sorry',
      'is at Dr. Pepper Way',
    ),
    fc.constantFrom('.', '!', '?', '...'),
  )
  .map(([a, b, c]) => `${a} ${b}${c}`);
const reply = fc.array(sentence, { minLength: 1, maxLength: 6 }).map((s) => s.join(' '));
const ms = (max: number) => fc.integer({ min: 0, max });

const EPS = 0.01;

/** Invariants every finished (not interrupted) turn's timeline must hold. */
function checkTimeline(tl: TurnTimeline): void {
  const done = tl.marks.doneMs;
  for (const s of tl.spans) {
    expect(s.startMs).toBeGreaterThanOrEqual(-EPS);
    expect(s.endMs).toBeGreaterThanOrEqual(s.startMs - EPS);
    expect(s.endMs).toBeLessThanOrEqual(done + EPS);
    if (s.firstOutputMs !== undefined) {
      expect(s.firstOutputMs).toBeGreaterThanOrEqual(s.startMs - EPS);
      expect(s.firstOutputMs).toBeLessThanOrEqual(s.endMs + EPS);
    }
    if (s.waitedOn) {
      expect(s.waitedOn.spanId).toBeLessThan(s.id);
      expect(s.waitedOn.atMs).toBeLessThanOrEqual(s.startMs + EPS);
    }
  }
  const m = tl.marks;
  const order = [
    m.transcriptMs,
    m.firstTokenMs,
    m.firstSentenceMs,
    m.firstAudioMs,
    m.lastAudioMs,
    m.doneMs,
  ].filter((x): x is number => x !== undefined);
  for (let i = 1; i < order.length; i++)
    expect(order[i]).toBeGreaterThanOrEqual((order[i - 1] as number) - EPS);
  const ttfa = tl.timeToFirstAudioMs;
  if (ttfa === undefined) {
    expect(tl.criticalPath).toEqual([]);
    return;
  }
  if (tl.e2eMs !== undefined) expect(ttfa).toBeLessThanOrEqual(tl.e2eMs);
  // The critical path tiles [0, ttfa] exactly: no gap, no overlap, nothing negative.
  const path = tl.criticalPath;
  expect(path[0]?.startMs).toBe(0);
  expect(path.at(-1)?.endMs).toBe(ttfa);
  for (let i = 0; i < path.length; i++) {
    const step = path[i]!;
    expect(step.endMs).toBeGreaterThanOrEqual(step.startMs);
    if (i > 0) expect(step.startMs).toBe(path[i - 1]!.endMs);
  }
  const sum = path.reduce((a, s) => a + s.durationMs, 0);
  expect(Math.abs(sum - ttfa)).toBeLessThan(0.01 * path.length + EPS);
  // The first audio always waited on a TTS request (or a cached one) last.
  const lastStage = [...path].reverse().find((s) => s.name !== 'overhead');
  expect(['tts_ttfb', 'cache:tts']).toContain(lastStage?.name);
  const ttfaSample = tl.measurements.find((x) => x.name === 'time_to_first_audio');
  if (ttfaSample) expect(Math.abs(ttfaSample.durationMs - ttfa)).toBeLessThan(0.01);
}

describe('pipeline properties', () => {
  it('hands audio out in sentence order, whatever the TTS latencies and concurrency', async () => {
    await fc.assert(
      fc.asyncProperty(
        reply,
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 5 }),
        ms(25),
        fc.integer({ min: 64, max: 4096 }),
        fc.constantFrom('sentence' as const, 'auto' as const),
        async (text, seed, concurrency, maxTtfb, chunkBytes, ttsInput) => {
          const p = createVoicePipeline({
            ttsInput,
            llm: new FakeLanguageModel({ script: [text], latency: { tokensPerSecond: 2000 } }),
            tts: new FakeTextToSpeech({
              latency: { ttfb: { kind: 'uniform', minMs: 0, maxMs: maxTtfb }, bytesPerSecond: 300_000 },
              seed,
              chunkBytes,
              msPerChar: 3,
            }),
            systemPrompt: '',
            monitor: false,
            ttsConcurrency: concurrency,
            chunker: { firstChunkMinChars: 0 },
          });
          const t = await collect(p.respond({ text: 'go' }));
          const sentences = t.events
            .filter((e) => e.type === 'sentence')
            .map((e) => (e as { text: string }).text);
          const order = t.events.flatMap((e) => (e.type === 'audio' ? [e.sentenceIndex] : []));
          for (let i = 1; i < order.length; i++) expect(order[i]).toBeGreaterThanOrEqual(order[i - 1]!);
          // Sentence mode: one request, so audio events, per sentence. A stream's audio carries
          // the index of the first sentence written since it opened (one stream per model call).
          if (ttsInput === 'sentence') expect([...new Set(order)]).toEqual(sentences.map((_, i) => i));
          else expect([...new Set(order)]).toEqual(sentences.length > 0 ? [0] : []);
          expect(t.heard).toBe(sentences.join(' '));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('keeps the timeline consistent: spans inside the turn, ttfa ≤ e2e, a critical path that adds up', async () => {
    await fc.assert(
      fc.asyncProperty(
        reply,
        fc.integer({ min: 1, max: 10_000 }),
        fc.record({ stt: ms(10), ttft: ms(15), tool: ms(10), ttfb: ms(15) }),
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 1, max: 3 }),
        fc.boolean(),
        async (text, seed, lat, toolCalls, concurrency, preface) => {
          const script: FakeLlmReply[] = [];
          if (toolCalls > 0) {
            script.push({
              ...(preface ? { text: 'Let me check.' } : {}),
              toolCalls: Array.from({ length: toolCalls }, (_, i) => ({
                name: 'get_load_status',
                arguments: { load_id: String(100 + i) },
              })),
            });
          }
          script.push(text);
          const monitor = new PerformanceMonitor();
          const p = createVoicePipeline({
            stt: new FakeSpeechToText({ latency: { kind: 'uniform', minMs: 0, maxMs: lat.stt }, seed }),
            llm: new FakeLanguageModel({
              script,
              seed,
              latency: { ttft: { kind: 'uniform', minMs: 0, maxMs: lat.ttft }, tokensPerSecond: 1500 },
            }),
            tts: new FakeTextToSpeech({
              latency: { ttfb: { kind: 'uniform', minMs: 0, maxMs: lat.ttfb }, bytesPerSecond: 500_000 },
              seed,
              msPerChar: 2,
            }),
            tools: createCompanyApiTools(fakeCompanyApi({ delayMs: lat.tool })),
            systemPrompt: '',
            monitor,
            ttsConcurrency: concurrency,
          });
          const t = await collect(p.respond(synthesizeFakeSpeech('Where is load 100?')));
          checkTimeline(t.result.timeline);
          expect(t.result.timeline.spans.filter((s) => s.name === 'tool:get_load_status')).toHaveLength(
            toolCalls,
          );
          expect(monitor.stats('time_to_first_audio')?.count).toBe(1);
          const metrics = t.events.at(-1) as Extract<TurnEvent, { type: 'metrics' }>;
          expect(metrics.timeline).toEqual(t.result.timeline);
        },
      ),
      { numRuns: 40 },
    );
  });
});
