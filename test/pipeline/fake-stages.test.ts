import { describe, expect, it } from 'vitest';
import { AbortedError, ProviderError } from '../../src/errors.js';
import type { LanguageModelEvent, SpeechToTextEvent, ToolDefinition } from '../../src/pipeline/index.js';
import { Pacer } from '../../src/testing/fake-stage-kit.js';
import {
  FakeLanguageModel,
  FakeSpeechToText,
  FakeTextToSpeech,
  LatencyModel,
  stageLatencyProfiles,
  synthesizeFakeSpeech,
  transcribeFakeSpeech,
} from '../../src/testing/index.js';
import { concat, trackTimers } from './helpers.js';

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const loadTool: ToolDefinition = {
  name: 'get_load_status',
  description: 'Load status',
  parameters: { type: 'object', properties: { load_id: { type: 'string' } }, required: ['load_id'] },
};

describe('FakeTextToSpeech and FakeSpeechToText', () => {
  it('round-trip: the STT reads back what the TTS said, in PCM and WAV', async () => {
    const tts = new FakeTextToSpeech({ chunkBytes: 100, msPerChar: 3 });
    const stt = new FakeSpeechToText();
    for (const format of ['pcm_16000', 'wav'] as const) {
      const chunks = await all(tts.synthesize('Load 2314 is in Denver.', { format }));
      expect(chunks.length).toBeGreaterThan(1);
      expect(chunks.every((c) => c.format === format)).toBe(true);
      expect((await stt.transcribe(concat(chunks.map((c) => c.data)))).text).toBe('Load 2314 is in Denver.');
    }
  });

  it('fails a scripted TTS call after its first-byte latency', async () => {
    const tts = new FakeTextToSpeech({
      fail: (_t, call) =>
        call === 1 ? new ProviderError('429', { provider: 'fake', retryable: true }) : undefined,
    });
    await all(tts.synthesize('a'));
    await expect(all(tts.synthesize('b'))).rejects.toBeInstanceOf(ProviderError);
    expect(tts.texts).toEqual(['a', 'b']);
  });

  it('stops at once on abort, with an AbortedError and no timer left', async () => {
    const timers = trackTimers();
    const tts = new FakeTextToSpeech({ latency: { ttfb: 10_000 } });
    const ac = new AbortController();
    const p = all(tts.synthesize('slow', { signal: ac.signal }));
    setTimeout(() => ac.abort(), 5);
    await expect(p).rejects.toBeInstanceOf(AbortedError);
    const pending = await timers.pending();
    timers.stop();
    expect(pending).toEqual([]);
  });

  it('streams a session: interim text, a final transcript after finalize, then end of speech', async () => {
    const stt = new FakeSpeechToText({ latency: 3 });
    const session = await stt.stream!({ interimResults: true });
    const audio = synthesizeFakeSpeech('Where is trailer 9?', { msPerChar: 2 });
    const events: Promise<SpeechToTextEvent[]> = all(session);
    for (let o = 0; o < audio.length; o += 50) session.send(audio.subarray(o, o + 50));
    session.finalize();
    await session.close();
    const evs = await events;
    expect(evs[0]?.type).toBe('speech-started');
    expect(
      evs.some(
        (e) =>
          e.type === 'transcript' && !e.transcript.isFinal && e.transcript.text === 'Where is trailer 9?',
      ),
    ).toBe(true);
    expect(evs.slice(-2)).toEqual([
      {
        type: 'transcript',
        transcript: expect.objectContaining({ text: 'Where is trailer 9?', isFinal: true }),
      },
      expect.objectContaining({ type: 'end-of-speech', transcript: 'Where is trailer 9?' }),
    ]);
  });
});

describe('FakeLanguageModel', () => {
  it('streams a scripted reply token by token and then usage and finish', async () => {
    const llm = new FakeLanguageModel({ script: ['Load 7 is late. Sorry!'] });
    const evs = await all(llm.stream([{ role: 'user', content: 'x' }]));
    const text = evs.flatMap((e) => (e.type === 'text-delta' ? [e.text] : [])).join('');
    expect(text).toBe('Load 7 is late. Sorry!');
    expect(evs.filter((e) => e.type === 'text-delta').length).toBeGreaterThan(3);
    expect(evs.slice(-2).map((e) => e.type)).toEqual(['usage', 'finish']);
    expect(evs.at(-1)).toMatchObject({ reason: 'stop' });
  });

  it('calls the company-API tool for a load question and answers from the tool result', async () => {
    const llm = new FakeLanguageModel();
    const first = await all(
      llm.stream([{ role: 'user', content: 'Where is load 2314?' }], { tools: [loadTool] }),
    );
    const call = first.find(
      (e): e is Extract<LanguageModelEvent, { type: 'tool-call' }> => e.type === 'tool-call',
    );
    expect(call?.call).toMatchObject({ name: 'get_load_status', arguments: '{"load_id":"2314"}' });
    expect(first.at(-1)).toMatchObject({ reason: 'tool-calls' });
    const second = await all(
      llm.stream(
        [
          { role: 'user', content: 'Where is load 2314?' },
          { role: 'assistant', content: '', toolCalls: [call!.call] },
          {
            role: 'tool',
            toolCallId: call!.call.id,
            name: 'get_load_status',
            content: '{"id":"2314","status":"delayed"}',
          },
        ],
        { tools: [loadTool] },
      ),
    );
    const text = second.flatMap((e) => (e.type === 'text-delta' ? [e.text] : [])).join('');
    expect(text).toMatch(/status delayed/);
    expect(llm.calls).toHaveLength(2);
  });

  it('answers without tools when none are offered', async () => {
    const evs = await all(new FakeLanguageModel().stream([{ role: 'user', content: 'Where is load 2314?' }]));
    expect(evs.some((e) => e.type === 'tool-call')).toBe(false);
  });

  it('paces tokens at its rate after the time to first token', async () => {
    const llm = new FakeLanguageModel({
      script: ['one two three four five six seven eight'],
      latency: { ttft: 10, tokensPerSecond: 200 },
    });
    const times: number[] = [];
    const start = performance.now();
    for await (const e of llm.stream([])) if (e.type === 'text-delta') times.push(performance.now() - start);
    // 8 tokens at 200/s after 10 ms: the last one cannot come before 10 + 7 × 5 ms.
    expect(times[0]).toBeGreaterThanOrEqual(9);
    expect(times.at(-1)).toBeGreaterThanOrEqual(44);
  });
});

describe('stage latency profiles', () => {
  it('reproduce the source design’s P90 figures (STT 150→80, TTS 150→85 ms)', () => {
    const p90 = (profile: ConstructorParameters<typeof LatencyModel>[0]) => {
      const m = new LatencyModel(profile, { seed: 42 });
      const xs = Array.from({ length: 20_000 }, () => m.sample()).sort((a, b) => a - b);
      return xs[Math.floor(xs.length * 0.9)]!;
    };
    const { sourceDesignBefore: before, sourceDesignAfter: after } = stageLatencyProfiles;
    expect(p90(before.stt)).toBeCloseTo(150, -1);
    expect(p90(after.stt)).toBeCloseTo(80, -1);
    expect(p90(before.tts.ttfb)).toBeCloseTo(150, -1);
    expect(p90(after.tts.ttfb)).toBeCloseTo(85, -1);
    // LLM: TTFT P90 + 40 tokens at the rate ≈ the source's 400 → 250 ms.
    expect(p90(before.llm.ttft) + (40 * 1000) / before.llm.tokensPerSecond).toBeCloseTo(400, -1);
    expect(p90(after.llm.ttft) + (40 * 1000) / after.llm.tokensPerSecond).toBeCloseTo(250, -1);
  });

  it('are seedable: the same seed gives the same latencies', () => {
    const a = new FakeTextToSpeech({ latency: stageLatencyProfiles.sourceDesignAfter.tts, seed: 7 });
    const b = new FakeTextToSpeech({ latency: stageLatencyProfiles.sourceDesignAfter.tts, seed: 7 });
    const xs = Array.from({ length: 5 }, () => a.ttfb.sample());
    expect(Array.from({ length: 5 }, () => b.ttfb.sample())).toEqual(xs);
  });

  it('transcribeFakeSpeech ignores audio without text', () => {
    expect(transcribeFakeSpeech(new Uint8Array(100))).toBe('');
  });
});

describe("Pacer (the fakes' clock)", () => {
  it('is never early: until(due) and wait(ms) return no sooner than asked, for fractional times', async () => {
    // Timers fire up to ~1 ms early (whole-millisecond loop time) and cannot wait under 1 ms;
    // a fake that promised "not before" failed a CI run by 1.6 ms.
    const pacer = new Pacer(undefined);
    try {
      const early: string[] = [];
      for (let k = 0; k < 60; k++) {
        const ms = 1 + ((k * 7919) % 4000) / 1000; // 1.000 … 4.999 ms, fractional
        const due = performance.now() + ms;
        await pacer.until(due);
        if (performance.now() < due) early.push(`until ${ms} ms`);
        const t0 = performance.now();
        await pacer.wait(ms);
        if (performance.now() - t0 < ms) early.push(`wait ${ms} ms`);
      }
      expect(early).toEqual([]);
    } finally {
      pacer.dispose();
    }
  });

  it('still aborts a wait at once', async () => {
    const ac = new AbortController();
    const pacer = new Pacer(ac.signal);
    const waiting = pacer.until(performance.now() + 10_000);
    ac.abort(new Error('stop'));
    await expect(waiting).rejects.toBeInstanceOf(AbortedError);
    pacer.dispose();
  });
});
