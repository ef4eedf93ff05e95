import { describe, expect, it } from 'vitest';
import { createCompanyApiTools, createVoicePipeline, formatWaterfall } from '../../src/index.js';
import { PerformanceMonitor, type RecordEvent } from '../../src/perf/index.js';
import {
  FakeLanguageModel,
  FakeSpeechToText,
  FakeTextToSpeech,
  synthesizeFakeSpeech,
} from '../../src/testing/index.js';
import { collect, fakeCompanyApi } from './helpers.js';

function pipeline(
  monitor: PerformanceMonitor,
  targets?: Record<string, number>,
  ttsInput: 'auto' | 'sentence' = 'auto',
) {
  return createVoicePipeline({
    ttsInput,
    stt: new FakeSpeechToText({ provider: 'deepgram-fake', latency: 3 }),
    llm: new FakeLanguageModel({ provider: 'openai-fake', latency: { ttft: 5, tokensPerSecond: 2000 } }),
    tts: new FakeTextToSpeech({ provider: 'elevenlabs-fake', latency: { ttfb: 4 }, msPerChar: 2 }),
    tools: createCompanyApiTools(fakeCompanyApi({ delayMs: 2 })),
    systemPrompt: '',
    monitor,
    ...(targets ? { targets } : {}),
  });
}

describe('turn metrics', () => {
  it('records every stage under its operation name with provider, cached and outcome labels', async () => {
    const monitor = new PerformanceMonitor();
    const seen: RecordEvent[] = [];
    monitor.onRecord((e) => seen.push(e));
    await pipeline(monitor).respond(synthesizeFakeSpeech('Where is load 2314?')).done;
    const names = new Set(seen.map((e) => e.name));
    for (const n of [
      'stt',
      'llm_ttft',
      'llm',
      'tool:get_load_status',
      'tts_ttfb',
      'tts',
      'time_to_first_audio',
      'e2e',
      'turn',
    ]) {
      expect(names).toContain(n);
    }
    expect(
      monitor.stats('stt', { labels: { provider: 'deepgram-fake', cached: 'false', outcome: 'ok' } })?.count,
    ).toBe(1);
    expect(
      monitor.stats('llm', { labels: { provider: 'openai-fake', cached: 'false', outcome: 'ok' } })?.count,
    ).toBe(2);
    expect(monitor.stats('llm_ttft', { labels: { provider: 'openai-fake', cached: 'false' } })?.count).toBe(
      2,
    );
    expect(
      monitor.stats('tts_ttfb', { labels: { provider: 'elevenlabs-fake', cached: 'false' } })?.count,
    ).toBeGreaterThan(0);
    expect(monitor.stats('time_to_first_audio', { labels: { cached: 'false', outcome: 'ok' } })?.count).toBe(
      1,
    );
  });

  it('records time to first audio and e2e from the end of speech', async () => {
    const monitor = new PerformanceMonitor();
    const t = await collect(pipeline(monitor).respond(synthesizeFakeSpeech('Hello there')));
    const tl = t.result.timeline;
    expect(monitor.stats('time_to_first_audio')?.maxMs).toBeCloseTo(tl.timeToFirstAudioMs ?? -1, 0);
    expect(monitor.stats('e2e')?.maxMs).toBeCloseTo(tl.e2eMs ?? -1, 0);
    const stt = tl.spans.find((s) => s.name === 'stt');
    expect(stt?.startMs).toBe(0);
    expect(tl.timeToFirstAudioMs).toBeGreaterThan(stt?.endMs ?? Number.POSITIVE_INFINITY);
  });

  it('checks per-turn targets into the timeline', async () => {
    const monitor = new PerformanceMonitor();
    const r = await pipeline(monitor, { stt: 10_000, time_to_first_audio: 0.001, search: 5 }).respond(
      synthesizeFakeSpeech('Hello'),
    ).done;
    const byOp = Object.fromEntries(r.timeline.targets.map((t) => [t.operation, t]));
    expect(byOp.stt?.pass).toBe(true);
    expect(byOp.time_to_first_audio?.pass).toBe(false);
    expect(byOp.time_to_first_audio?.actualMs).toBeGreaterThan(0);
    expect(byOp.search).toMatchObject({ actualMs: undefined, pass: true });
  });

  it.each([
    ['auto', 'until first text piece'],
    ['sentence', 'until sentence 0 complete'],
  ] as const)(
    'explains the first audio: the critical path names the stages it waited on (ttsInput %s)',
    async (mode, waited) => {
      const monitor = new PerformanceMonitor();
      const r = await pipeline(monitor, undefined, mode).respond(synthesizeFakeSpeech('Where is load 2314?'))
        .done;
      const stages = r.timeline.criticalPath.filter((s) => s.name !== 'overhead').map((s) => s.name);
      expect(stages).toEqual([
        'stt',
        'llm_ttft',
        'llm',
        'tool:get_load_status',
        'llm_ttft',
        'llm',
        'tts_ttfb',
      ]);
      const llmStep = r.timeline.criticalPath.filter((s) => s.name === 'llm');
      expect(llmStep.map((s) => s.detail)).toEqual(['until tool call get_load_status', waited]);
      const text = formatWaterfall(r.timeline);
      expect(text).toMatch(/critical path: stt [\d.]+ → /);
      expect(text.split('\n').filter((l) => l.startsWith('*')).length).toBeGreaterThanOrEqual(4);
    },
  );

  it('records into any object with record(name, ms, labels)', async () => {
    const samples: [string, number, unknown][] = [];
    await createVoicePipeline({
      llm: new FakeLanguageModel({ provider: 'p1' }),
      tts: new FakeTextToSpeech(),
      systemPrompt: '',
      monitor: { record: (name, ms, labels) => samples.push([name, ms, labels]) },
    }).respond({ text: 'Hi' }).done;
    expect(samples.find(([n]) => n === 'llm')?.[2]).toEqual({ provider: 'p1', cached: false, outcome: 'ok' });
    expect(samples.every(([, ms]) => ms >= 0 && Number.isFinite(ms))).toBe(true);
    expect(samples.map(([n]) => n)).toContain('time_to_first_audio');
  });

  it('keeps working when the monitor throws', async () => {
    const monitor = {
      record() {
        throw new Error('cardinality');
      },
    };
    const r = await createVoicePipeline({
      llm: new FakeLanguageModel(),
      tts: new FakeTextToSpeech(),
      systemPrompt: '',
      monitor,
    }).respond({ text: 'Hi' }).done;
    expect(r.reply.length).toBeGreaterThan(0);
    expect(r.timeline.measurements.length).toBeGreaterThan(0);
  });
});
