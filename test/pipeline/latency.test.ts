import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type ChatMessage,
  createCompanyApiTools,
  createVoicePipeline,
  defineTool,
  type LanguageModel,
  type SpeechToText,
  type SpeechToTextEvent,
  type SpeechToTextSession,
  TimeoutError,
  type TurnEvent,
  type VoicePipelineOptions,
} from '../../src/index.js';
import { PerformanceMonitor } from '../../src/perf/index.js';
import { OP } from '../../src/perf/operations.js';
import {
  FakeLanguageModel,
  FakeSpeechToText,
  FakeStreamingTextToSpeech,
  FakeTextToSpeech,
  synthesizeFakeSpeech,
} from '../../src/testing/index.js';
import { collect, fakeCompanyApi, settle, trackTimers, types } from './helpers.js';

/** The utterance as a stream of small chunks. */
async function* streamOf(text: string): AsyncIterable<Uint8Array> {
  const audio = synthesizeFakeSpeech(text);
  for (let offset = 0; offset < audio.byteLength; offset += 4096) yield audio.subarray(offset, offset + 4096);
}

/** Echoes the user's last words, so the audio says which transcript it answers. */
const echo = (messages: readonly ChatMessage[]) => {
  const user = [...messages].reverse().find((m) => m.role === 'user');
  return `You asked: ${user?.content ?? ''}`;
};

/**
 * A streaming STT scripted event by event: `before` finals while the audio streams (after its
 * first chunk), then after finalize() `after` (each a final, `speechFinal` as given), then an
 * end-of-speech after `endpointMs`.
 */
function scriptedStt(script: {
  before?: string[];
  after: { text: string; speechFinal?: boolean }[];
  endpointMs?: number;
}): SpeechToText & { sessions: { closed: boolean }[] } {
  const sessions: { closed: boolean }[] = [];
  return {
    provider: 'scripted',
    sessions,
    async transcribe() {
      throw new Error('one-shot not scripted');
    },
    async stream(options = {}) {
      const record = { closed: false };
      sessions.push(record);
      const queue: SpeechToTextEvent[] = [];
      let wake: (() => void) | undefined;
      let ended = false;
      const timers = new Set<ReturnType<typeof setTimeout>>();
      const push = (event: SpeechToTextEvent) => {
        queue.push(event);
        wake?.();
      };
      let sent = false;
      options.signal?.addEventListener('abort', () => {
        for (const t of timers) clearTimeout(t);
        ended = true;
        wake?.();
      });
      const session: SpeechToTextSession = {
        send() {
          if (sent) return;
          sent = true;
          for (const text of script.before ?? [])
            push({ type: 'transcript', transcript: { text, isFinal: true, speechFinal: false } });
        },
        finalize() {
          const t = setTimeout(() => {
            timers.delete(t);
            for (const f of script.after) {
              const transcript = {
                text: f.text,
                isFinal: true,
                ...(f.speechFinal === undefined ? {} : { speechFinal: f.speechFinal }),
              };
              push({ type: 'transcript', transcript });
            }
            const e = setTimeout(() => {
              timers.delete(e);
              push({ type: 'end-of-speech', atMs: 0, transcript: '', lastWordEndSeconds: 1 });
            }, script.endpointMs ?? 0);
            timers.add(e);
          }, 5);
          timers.add(t);
        },
        async close() {
          record.closed = true;
          for (const t of timers) clearTimeout(t);
          ended = true;
          wake?.();
        },
        [Symbol.asyncIterator]() {
          return {
            next: async (): Promise<IteratorResult<SpeechToTextEvent>> => {
              for (;;) {
                const event = queue.shift();
                if (event) return { value: event, done: false };
                if (ended) return { value: undefined, done: true };
                await new Promise<void>((resolve) => {
                  wake = resolve;
                });
              }
            },
          };
        },
      };
      return session;
    },
  };
}

function pipelineWith(extra: Partial<VoicePipelineOptions>, monitor = new PerformanceMonitor()) {
  const tts = new FakeTextToSpeech({ msPerChar: 2, chunkBytes: 512 });
  const llm = new FakeLanguageModel({ respond: echo });
  const pipeline = createVoicePipeline({
    stt: new FakeSpeechToText({ endOfTurnDelayMs: 150 }),
    llm,
    tts,
    systemPrompt: 'You are a dispatcher.',
    monitor,
    ...extra,
  });
  return { pipeline, llm, tts, monitor };
}

function firstIndex(events: readonly TurnEvent[], type: TurnEvent['type']): number {
  return events.findIndex((e) => e.type === type);
}

describe('preemptive generation', () => {
  it('starts the model before the end of turn is confirmed, plays nothing before it, and keeps a matching answer', async () => {
    const { pipeline, llm, monitor } = pipelineWith({});
    const { events, result, heard } = await collect(pipeline.respond(streamOf('Where is load 2314?')));
    expect(result.preemptive).toEqual({ outcome: 'hit', attempts: 1, wastedLlmCalls: 0, wastedTokens: 0 });
    expect(llm.calls).toHaveLength(1);
    expect(heard).toBe('You asked: Where is load 2314?');
    // The model ran before the transcript was confirmed…
    const llmSpan = result.timeline.spans.find((s) => s.name === OP.llm);
    expect(llmSpan?.startMs).toBeLessThan(result.timeline.marks.transcriptMs as number);
    // …but every answer event, and every audio byte, comes after the confirmed transcript.
    const transcriptAt = firstIndex(events, 'transcript');
    expect(transcriptAt).toBeGreaterThanOrEqual(0);
    expect(firstIndex(events, 'llm-delta')).toBeGreaterThan(transcriptAt);
    expect(firstIndex(events, 'audio')).toBeGreaterThan(transcriptAt);
    expect(result.timeline.marks.firstAudioMs).toBeGreaterThanOrEqual(
      result.timeline.marks.transcriptMs as number,
    );
    expect(monitor.stats(OP.preemptive, { labels: { outcome: 'hit' } })?.count).toBe(1);
    expect(monitor.stats(OP.endOfTurn)?.count).toBe(1);
    expect(result.messages[0]).toEqual({ role: 'user', content: 'Where is load 2314?' });
  });

  it('waits for the confirmation without starting early when preemptive is off', async () => {
    const { pipeline, llm, monitor } = pipelineWith({ preemptive: false });
    const { result, heard } = await collect(pipeline.respond(streamOf('Where is load 2314?')));
    expect(result.preemptive).toBeUndefined();
    expect(heard).toBe('You asked: Where is load 2314?');
    const llmSpan = result.timeline.spans.find((s) => s.name === OP.llm);
    expect(llmSpan?.startMs).toBeGreaterThanOrEqual(result.timeline.marks.transcriptMs as number);
    expect(llm.calls).toHaveLength(1);
    expect(monitor.stats(OP.preemptive)).toBeUndefined();
  });

  it('drops the early answer when the confirmed transcript differs: no audio from it, and starts again', async () => {
    const stt = scriptedStt({ before: ['Where is load'], after: [{ text: '2314?' }] });
    const { pipeline, llm, monitor } = pipelineWith({ stt });
    const timers = trackTimers();
    const { events, result, heard } = await collect(pipeline.respond(streamOf('x')));
    await settle();
    const leftover = await timers.pending();
    timers.stop();
    expect(leftover).toEqual([]);
    expect(stt.sessions.every((s) => s.closed)).toBe(true);
    expect(result.transcript).toBe('Where is load 2314?');
    expect(heard).toBe('You asked: Where is load 2314?');
    expect(events.filter((e) => e.type === 'sentence').map((e) => (e as { text: string }).text)).toEqual([
      'You asked: Where is load 2314?',
    ]);
    expect(llm.calls.map((c) => c.messages.at(-1)?.content)).toEqual([
      'Where is load',
      'Where is load 2314?',
    ]);
    expect(result.preemptive).toMatchObject({ outcome: 'miss', attempts: 1, wastedLlmCalls: 1 });
    expect(result.preemptive?.wastedTokens).toBeGreaterThan(0);
    expect(monitor.stats(OP.preemptive, { labels: { outcome: 'miss' } })?.count).toBe(1);
    expect(result.messages[0]).toEqual({ role: 'user', content: 'Where is load 2314?' });
  });

  it('restarts on a changed candidate and keeps the last one when it matches', async () => {
    const stt = scriptedStt({
      before: ['Where is'],
      after: [{ text: 'load 2314?', speechFinal: false }],
      endpointMs: 60,
    });
    const { pipeline, llm } = pipelineWith({ stt });
    const { result, heard } = await collect(pipeline.respond(streamOf('x')));
    expect(heard).toBe('You asked: Where is load 2314?');
    expect(result.preemptive).toMatchObject({ outcome: 'hit', attempts: 2, wastedLlmCalls: 1 });
    expect(llm.calls).toHaveLength(2);
  });

  it('never runs a tool with side effects for an answer that is dropped', async () => {
    let booked = 0;
    const book = defineTool({
      name: 'book_load',
      description: 'Books a load.',
      parameters: z.object({}),
      sideEffects: true,
      execute: async () => {
        booked++;
        return { ok: true };
      },
    });
    const stt = scriptedStt({ before: ['Book it'], after: [{ text: 'tomorrow, not now.' }] });
    const llm = new FakeLanguageModel({
      respond: (messages) => {
        const last = messages.at(-1);
        if (last?.role === 'tool') return 'Done.';
        if (last?.role === 'user' && last.content === 'Book it')
          return { toolCalls: [{ name: 'book_load', arguments: {} }] };
        return 'I will book it tomorrow.';
      },
    });
    const { pipeline } = pipelineWith({ stt, llm, tools: [book] });
    const { result, heard } = await collect(pipeline.respond(streamOf('x')));
    expect(heard).toBe('I will book it tomorrow.');
    expect(booked).toBe(0);
    expect(result.preemptive?.outcome).toBe('miss');
  });

  it('on barge-in before the end of turn: no audio, interrupted, no timers left, the session closed', async () => {
    const timers = trackTimers();
    try {
      const stt = scriptedStt({
        before: ['Where is load 2314?'],
        after: [{ text: '', speechFinal: false }],
        endpointMs: 60_000,
      });
      const { pipeline, llm } = pipelineWith({ stt });
      const turn = pipeline.respond(streamOf('x'));
      const seen: TurnEvent[] = [];
      const reading = (async () => {
        for await (const e of turn) seen.push(e);
      })();
      while (llm.calls.length === 0) await new Promise((r) => setTimeout(r, 5));
      turn.abort();
      const result = await turn.done;
      await reading;
      expect(result.interrupted).toBe(true);
      expect(types(seen)).not.toContain('audio');
      expect(types(seen)).not.toContain('llm-delta');
      expect(stt.sessions.every((s) => s.closed)).toBe(true);
      await settle();
      expect(await timers.pending()).toEqual([]);
    } finally {
      timers.stop();
    }
  });

  it('takes the host’s turn.endOfTurn() as the end of turn on a stream that never ends', async () => {
    let release: () => void = () => {};
    async function* endless(): AsyncIterable<Uint8Array> {
      yield* streamOf('Where is load 2314?');
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    }
    const stt = new FakeSpeechToText({ endOfTurnDelayMs: 60_000 });
    const { pipeline } = pipelineWith({ stt });
    const turn = pipeline.respond(endless());
    await new Promise((r) => setTimeout(r, 30));
    turn.endOfTurn();
    const { result, heard } = await collect(turn);
    release();
    expect(result.transcript).toBe('Where is load 2314?');
    expect(heard).toBe('You asked: Where is load 2314?');
  });
});

describe('prefetched tool data', () => {
  it('runs read-only prefetches in parallel with the model; the model’s matching call gets the prefetched result', async () => {
    const api = fakeCompanyApi();
    const monitor = new PerformanceMonitor();
    const { pipeline } = pipelineWith(
      { llm: new FakeLanguageModel(), tools: createCompanyApiTools(api) },
      monitor,
    );
    const r = await pipeline.respond({ text: 'Where is load 2314?' }).done;
    expect(api.calls.map((c) => [c.method, c.arg])).toEqual([['getLoadStatus', '2314']]);
    const toolSpan = r.timeline.spans.find((s) => s.name === 'tool:get_load_status');
    expect(toolSpan?.cached).toBe(true);
    expect(r.reply).toMatch(/2314/);
    expect(monitor.stats(OP.prefetch, { labels: { outcome: 'ok' } })?.count).toBe(1);
  });

  it('in context mode puts the prefetched data in the prompt: one model call answers', async () => {
    const api = fakeCompanyApi();
    const llm = new FakeLanguageModel();
    const { pipeline } = pipelineWith({ llm, tools: createCompanyApiTools(api), prefetch: 'context' });
    const r = await pipeline.respond({ text: 'Where is load 2314?' }).done;
    expect(llm.calls).toHaveLength(1);
    expect(api.calls).toHaveLength(1);
    expect(r.reply).toMatch(/2314/);
    expect(r.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
  });

  it('a failing prefetch never fails the turn: recorded as an error, and the tool runs as usual', async () => {
    let prefetches = 0;
    const api = fakeCompanyApi();
    const tools = createCompanyApiTools(api).map((tool) =>
      tool.name === 'get_load_status'
        ? {
            ...tool,
            prefetch: async () => {
              prefetches++;
              throw new Error('prefetch down');
            },
          }
        : tool,
    );
    const monitor = new PerformanceMonitor();
    for (const prefetch of ['tool', 'context'] as const) {
      const { pipeline } = pipelineWith({ llm: new FakeLanguageModel(), tools, prefetch }, monitor);
      const r = await pipeline.respond({ text: 'Where is load 2314?' }).done;
      expect(r.reply).toMatch(/2314/);
      expect(r.timeline.spans.find((s) => s.name === 'tool:get_load_status')?.cached).toBe(false);
    }
    expect(prefetches).toBe(2);
    expect(api.calls).toHaveLength(2);
    expect(monitor.stats(OP.prefetch, { labels: { outcome: 'error' } })?.count).toBe(2);
  });

  it('a prefetch that throws before returning a promise, or returns no list, is no data: the tool runs as usual', async () => {
    const api = fakeCompanyApi();
    const variants: ((...a: never[]) => unknown)[] = [
      () => {
        throw new Error('sync failure');
      },
      async () => 'not a list',
      () => undefined,
    ];
    const monitor = new PerformanceMonitor();
    for (const [k, prefetch] of variants.entries()) {
      const tools = createCompanyApiTools(api).map((tool) =>
        tool.name === 'get_load_status' ? ({ ...tool, prefetch } as typeof tool) : tool,
      );
      const { pipeline } = pipelineWith(
        { llm: new FakeLanguageModel(), tools, prefetch: 'context' },
        monitor,
      );
      const r = await pipeline.respond({ text: 'Where is load 2314?' }).done;
      expect(r.reply, `variant ${k}`).toMatch(/2314/);
      expect(r.timeline.spans.find((s) => s.name === 'tool:get_load_status')?.cached).toBe(false);
    }
    expect(api.calls).toHaveLength(variants.length);
    // only the throw is an error; an empty answer is not
    expect(monitor.stats(OP.prefetch, { labels: { outcome: 'error' } })?.count).toBe(1);
    expect(monitor.stats(OP.prefetch, { labels: { outcome: 'ok' } })?.count ?? 0).toBe(0);
  });

  it('a prefetch the answer did not use never holds the turn: done settles, the prefetch is stopped, no error is recorded', async () => {
    let signal: AbortSignal | undefined;
    const slow = {
      name: 'slow_lookup',
      description: 'A read-only lookup whose upstream never answers.',
      parameters: z.object({}),
      readOnly: true,
      execute: async () => 'unused',
      prefetch: (_text: string, ctx: { signal?: AbortSignal }) =>
        new Promise<never>((_, reject) => {
          const s = ctx.signal as AbortSignal;
          signal = s;
          s.addEventListener('abort', () => reject(s.reason), { once: true });
        }),
    };
    const monitor = new PerformanceMonitor();
    // the model answers without calling the tool; the tool deadline is far away
    const { pipeline } = pipelineWith({ tools: [slow], deadlines: { tool: 60_000 } }, monitor);
    const done = pipeline.respond({ text: 'Hello there.' }).done;
    const late = new Promise<'held'>((resolve) => setTimeout(() => resolve('held'), 10_000).unref());
    const first = await Promise.race([done.then(() => 'done' as const), late]);
    expect(first).toBe('done');
    expect(signal?.aborted).toBe(true);
    expect(monitor.stats(OP.prefetch, { labels: { outcome: 'error' } })?.count ?? 0).toBe(0);
  });

  it('the prefetches of a turn share one deadline: the one that hangs times out (named in the reason), the others still count', async () => {
    const seen: { callId: string; signal: AbortSignal }[] = [];
    const hang = (name: string) => ({
      name,
      description: 'A read-only lookup whose upstream never answers.',
      parameters: z.object({}),
      readOnly: true,
      execute: async () => 'unused',
      prefetch: (_text: string, ctx: { callId: string; signal?: AbortSignal }) => {
        seen.push({ callId: ctx.callId, signal: ctx.signal as AbortSignal });
        // Ignores its signal: the deadline alone must free the turn.
        return new Promise<never>(() => {});
      },
    });
    const api = fakeCompanyApi();
    const monitor = new PerformanceMonitor();
    const { pipeline } = pipelineWith(
      {
        llm: new FakeLanguageModel(),
        tools: [...createCompanyApiTools(api), hang('hang_one'), hang('hang_two')],
        prefetch: 'context',
        deadlines: { tool: 50 },
      },
      monitor,
    );
    const r = await pipeline.respond({ text: 'Where is load 2314?' }).done;
    expect(r.reply).toMatch(/2314/);
    expect(api.calls.map((c) => c.method)).toEqual(['getLoadStatus']);
    expect(seen.map((s) => s.callId)).toEqual(['prefetch_hang_one', 'prefetch_hang_two']);
    for (const { signal } of seen) {
      expect(signal.aborted).toBe(true);
      expect(signal.reason).toBeInstanceOf(TimeoutError);
      expect(String(signal.reason.message)).toMatch(/"hang_one", "hang_two".*50 ms/);
      // the finished load prefetch is not named: only what was still running when time ran out
      expect(String(signal.reason.message)).not.toMatch(/get_load_status/);
    }
    expect(monitor.stats(OP.prefetch, { labels: { outcome: 'ok' } })?.count).toBe(1);
    expect(monitor.stats(OP.prefetch, { labels: { outcome: 'error' } })?.count).toBe(2);
    // A second turn gets a fresh deadline: the first turn's timeout does not leak into it.
    const again = await pipeline.respond({ text: 'Where is load 2315?' }).done;
    expect(again.reply).toMatch(/2315/);
    expect(seen.slice(2).every((s) => s.signal !== seen[0]?.signal)).toBe(true);
  });

  it('never prefetches for a tool with side effects or without readOnly, nor with prefetch off', async () => {
    let calls = 0;
    const prefetch = async () => {
      calls++;
      return [];
    };
    const base = { description: 'x', parameters: z.object({}), execute: async () => 1, prefetch };
    const tools = [
      defineTool({ ...base, name: 'writes', readOnly: true, sideEffects: true }),
      defineTool({ ...base, name: 'unmarked' }),
    ];
    const { pipeline } = pipelineWith({ llm: new FakeLanguageModel({ script: ['Hi.'] }), tools });
    await pipeline.respond({ text: 'hello' }).done;
    const reads = defineTool({ ...base, name: 'reads', readOnly: true });
    const off = pipelineWith({
      llm: new FakeLanguageModel({ script: ['Hi.'] }),
      tools: [reads],
      prefetch: 'off',
    });
    await off.pipeline.respond({ text: 'hello' }).done;
    expect(calls).toBe(0);
  });

  it('the company-API tools recognise ids and filters in the question', async () => {
    const api = fakeCompanyApi();
    const tools = createCompanyApiTools(api);
    const ctx = { callId: 'p' };
    const ahead = async (text: string) =>
      (await Promise.all(tools.map(async (t) => (await t.prefetch?.(text, ctx)) ?? [])))
        .flat()
        .map((p) => p.arguments);
    expect(await ahead('Where is load 2314?')).toEqual([{ load_id: '2314' }]);
    expect(await ahead('How many of item SKU-1001 do we have')).toEqual([{ item_id: 'SKU-1001' }]);
    expect(await ahead('Is trailer TR-12 available?')).toEqual([{ equipment_id: 'TR-12' }]);
    expect(await ahead('Which loads are delayed?')).toEqual([{ status: 'delayed' }]);
    expect(await ahead('Any forklifts in maintenance?')).toEqual([
      { type: 'forklift', status: 'maintenance' },
    ]);
    expect(await ahead('Tell me a joke')).toEqual([]);
    expect(tools.every((t) => t.readOnly === true && !t.sideEffects)).toBe(true);
  });
  it('the company-API tools recognise every status and type as spoken, the same on every call', async () => {
    const tools = createCompanyApiTools(fakeCompanyApi());
    const ctx = { callId: 'p' };
    const ahead = async (text: string) =>
      (await Promise.all(tools.map(async (t) => (await t.prefetch?.(text, ctx)) ?? [])))
        .flat()
        .map((p) => p.arguments);
    const cases: [string, unknown[]][] = [
      ...['pending', 'assigned', 'delayed', 'delivered', 'cancelled'].map((status): [string, unknown[]] => [
        `Which loads are ${status}?`,
        [{ status }],
      ]),
      ['Which loads are in transit?', [{ status: 'in_transit' }]],
      ['Which loads are in-transit?', [{ status: 'in_transit' }]],
      ['Any tractors out of service?', [{ type: 'tractor', status: 'out_of_service' }]],
      ['Which reefers are in use?', [{ type: 'reefer', status: 'in_use' }]],
      ['Which trailers are available?', [{ type: 'trailer', status: 'available' }]],
      ['Any flatbeds?', [{ type: 'flatbed' }]],
      ['Is the delayed one here?', []],
    ];
    // Twice over, interleaved: the compiled patterns are shared by every call and every tool.
    for (let round = 0; round < 2; round++)
      for (const [text, expected] of cases) expect(await ahead(text), text).toEqual(expected);
  });
});

describe('acknowledgement and time to answer audio', () => {
  it('speaks the phrase while a tool runs, counts it in time_to_first_audio only, and keeps its audio', async () => {
    const api = fakeCompanyApi({ delayMs: 40 });
    const monitor = new PerformanceMonitor();
    const { pipeline, tts } = pipelineWith(
      {
        llm: new FakeLanguageModel(),
        tools: createCompanyApiTools(api),
        acknowledgement: 'One moment.',
        prefetch: 'off',
      },
      monitor,
    );
    const first = await collect(pipeline.respond({ text: 'Where is load 2314?' }));
    expect(first.heard.startsWith('One moment. ')).toBe(true);
    const timeline = first.result.timeline;
    expect(timeline.timeToAnswerAudioMs).toBeGreaterThan(timeline.timeToFirstAudioMs as number);
    expect(timeline.timeToAnswerAudioMs).toBeGreaterThanOrEqual(
      (timeline.spans.find((s) => s.name === 'tool:get_load_status')?.endMs as number) - 0.001,
    );
    await pipeline.respond({ text: 'Where is load 2315?' }).done;
    expect(tts.texts.filter((t) => t === 'One moment.')).toHaveLength(1);
    expect(monitor.stats(OP.timeToFirstAudio)?.count).toBe(2);
    expect(monitor.stats(OP.timeToAnswerAudio)?.count).toBe(2);
    const p = (op: string) => monitor.stats(op)?.p50 as number;
    expect(p(OP.timeToAnswerAudio)).toBeGreaterThan(p(OP.timeToFirstAudio));
  });

  it('a tool may silence it; without tools the answer audio is the first audio', async () => {
    const api = fakeCompanyApi();
    const tools = createCompanyApiTools(api).map((t) => ({ ...t, acknowledgement: false as const }));
    const { pipeline } = pipelineWith({
      llm: new FakeLanguageModel(),
      tools,
      acknowledgement: 'One moment.',
      prefetch: 'off',
    });
    const r = await collect(pipeline.respond({ text: 'Where is load 2314?' }));
    expect(r.heard.includes('One moment.')).toBe(false);
    const plain = await pipelineWith({}).pipeline.respond({ text: 'Hello there' }).done;
    expect(plain.timeline.timeToAnswerAudioMs).toBe(plain.timeline.timeToFirstAudioMs);
  });

  it('applies targets to time_to_answer_audio too', async () => {
    const api = fakeCompanyApi({ delayMs: 20 });
    const { pipeline } = pipelineWith({
      llm: new FakeLanguageModel(),
      tools: createCompanyApiTools(api),
      acknowledgement: 'One moment.',
      prefetch: 'off',
      targets: { [OP.timeToAnswerAudio]: 0.001, [OP.timeToFirstAudio]: 60_000 },
    });
    const r = await pipeline.respond({ text: 'Where is load 2314?' }).done;
    const check = r.timeline.targets.find((t) => t.operation === OP.timeToAnswerAudio);
    expect(check?.pass).toBe(false);
    expect(r.timeline.targets.find((t) => t.operation === OP.timeToFirstAudio)?.pass).toBe(true);
  });
});

describe('warm connections', () => {
  it('prewarm() and close() reach every stage, fallback and tool that has them; turns prewarm the answer stages', async () => {
    const log: string[] = [];
    const lifecycle = (name: string) => ({
      prewarm: async () => {
        log.push(`prewarm ${name}`);
      },
      close: async () => {
        log.push(`close ${name}`);
      },
    });
    const stt = Object.assign(new FakeSpeechToText(), lifecycle('stt'));
    const llm = Object.assign(new FakeLanguageModel({ respond: echo }), lifecycle('llm'));
    const tts = Object.assign(new FakeTextToSpeech(), lifecycle('tts'));
    const fallback = Object.assign(new FakeTextToSpeech({ provider: 'backup' }), lifecycle('tts fallback'));
    const tool = {
      ...defineTool({ name: 't', description: 'x', parameters: z.object({}), execute: async () => 1 }),
      ...lifecycle('tool'),
    };
    const failing = {
      ...defineTool({ name: 'f', description: 'x', parameters: z.object({}), execute: async () => 1 }),
      prewarm: async () => {
        throw new Error('cold');
      },
    };
    const pipeline = createVoicePipeline({
      stt,
      llm,
      tts,
      fallbacks: { tts: fallback },
      tools: [tool, failing],
      systemPrompt: '',
      monitor: false,
    });
    await pipeline.prewarm();
    expect(log.sort()).toEqual([
      'prewarm llm',
      'prewarm stt',
      'prewarm tool',
      'prewarm tts',
      'prewarm tts fallback',
    ]);
    log.length = 0;
    await pipeline.respond(synthesizeFakeSpeech('Hello there')).done;
    expect(log.sort()).toEqual(['prewarm llm', 'prewarm tts']);
    log.length = 0;
    await pipeline.respond({ text: 'Hello' }).done;
    expect(log).toEqual([]);
    const cold = createVoicePipeline({ stt, llm, tts, systemPrompt: '', monitor: false, prewarm: false });
    await cold.respond(synthesizeFakeSpeech('Hello there')).done;
    expect(log).toEqual([]);
    await pipeline.close();
    expect(log.sort()).toEqual(['close llm', 'close stt', 'close tool', 'close tts', 'close tts fallback']);
    const aborted = new AbortController();
    aborted.abort();
    await expect(pipeline.prewarm({ signal: aborted.signal })).rejects.toThrow(/aborted/);
  });
});

describe('preemptive generation on a preflight transcript', () => {
  /** The final 40 ms after the end of the audio, confirmed at once; a preflight before it. */
  function preflightPipeline(
    stt: FakeSpeechToText,
    extra: Partial<VoicePipelineOptions> = {},
    tokensPerSecond = 400,
  ) {
    const tts = new FakeStreamingTextToSpeech({ msPerChar: 2, chunkBytes: 512, streamFirstByteMs: 1 });
    const llm = new FakeLanguageModel({ respond: echo, latency: { ttft: 20, tokensPerSecond } });
    const monitor = new PerformanceMonitor();
    const pipeline = createVoicePipeline({ stt, llm, tts, systemPrompt: '', monitor, ...extra });
    return { pipeline, llm, tts, monitor };
  }

  it('starts the answer on the preflight before the final, plays nothing before the final, and keeps it when they match', async () => {
    const stt = new FakeSpeechToText({ latency: 40, preflightMs: 0 });
    const { pipeline, llm, monitor } = preflightPipeline(stt);
    const { events, result, heard } = await collect(pipeline.respond(streamOf('Where is load 2314?')));
    expect(result.preemptive).toEqual({ outcome: 'hit', attempts: 1, wastedLlmCalls: 0, wastedTokens: 0 });
    expect(llm.calls).toHaveLength(1);
    expect(heard).toBe('You asked: Where is load 2314?');
    const tl = result.timeline;
    const llmSpan = tl.spans.find((s) => s.name === OP.llm);
    // The model started on the preflight, well before the final transcript (40 ms)…
    expect(llmSpan?.startMs).toBeLessThan(tl.marks.transcriptMs as number);
    expect(tl.marks.transcriptMs).toBeGreaterThanOrEqual(35);
    // …and nothing was emitted before the final confirmed the turn.
    const transcriptAt = firstIndex(events, 'transcript');
    expect(firstIndex(events, 'llm-delta')).toBeGreaterThan(transcriptAt);
    expect(firstIndex(events, 'audio')).toBeGreaterThan(transcriptAt);
    expect(tl.marks.firstAudioMs).toBeGreaterThanOrEqual(tl.marks.transcriptMs as number);
    expect(monitor.stats(OP.preemptive, { labels: { outcome: 'hit' } })?.count).toBe(1);
  });

  it('drops the answer started on a preflight that the final contradicts: no audio from it, the stream aborted, the final answered', async () => {
    const stt = new FakeSpeechToText({
      latency: 250,
      preflightMs: 0,
      preflightText: (final) => final.replace('2314', '2315'),
    });
    // A slow model (first text piece at about 155 ms, the last token at about 355 ms): the
    // abandoned answer is still being written and spoken (held) when the final arrives (250 ms).
    const { pipeline, llm, tts, monitor } = preflightPipeline(stt, {}, 15);
    const timers = trackTimers();
    const { events, result, heard } = await collect(pipeline.respond(streamOf('Where is load 2314?')));
    await settle();
    const leftover = await timers.pending();
    timers.stop();
    expect(leftover).toEqual([]);
    expect(result.transcript).toBe('Where is load 2314?');
    expect(llm.calls.map((c) => c.messages.at(-1)?.content)).toEqual([
      'Where is load 2315?',
      'Where is load 2314?',
    ]);
    // No audio, no sentence, no delta from the abandoned answer ever reached the host.
    expect(heard).toBe('You asked: Where is load 2314?');
    const said = events.flatMap((e) => (e.type === 'llm-delta' ? [e.text] : [])).join('');
    expect(said).not.toContain('2315');
    expect(result.preemptive).toMatchObject({ outcome: 'miss', attempts: 1, wastedLlmCalls: 1 });
    expect(monitor.stats(OP.preemptive, { labels: { outcome: 'miss' } })?.count).toBe(1);
    // The abandoned answer's TTS stream had started (held audio) and was aborted, not completed.
    const abandoned = tts.streams.filter((x) => x.pieces.join('').includes('You asked'));
    expect(abandoned.map((x) => x.state)).toEqual(['aborted', 'ended']);
    expect(abandoned[0]?.chunks).toBeGreaterThan(0);
  });

  it('sends no preflight when its draw is not earlier than the final (the fake is never faster than its latency)', async () => {
    const stt = new FakeSpeechToText({ latency: 10, preflightMs: 30 });
    const { pipeline, llm } = preflightPipeline(stt);
    const { result, heard } = await collect(pipeline.respond(streamOf('Where is load 2314?')));
    expect(heard).toBe('You asked: Where is load 2314?');
    expect(llm.calls).toHaveLength(1);
    // No early start: the final confirmed the turn before anything else arrived.
    expect(result.preemptive).toBeUndefined();
  });

  it('ignores a preflight when preemptive generation is off', async () => {
    const stt = new FakeSpeechToText({ latency: 40, preflightMs: 0 });
    const { pipeline, llm } = preflightPipeline(stt, { preemptive: false });
    const { result } = await collect(pipeline.respond(streamOf('Where is load 2314?')));
    const llmSpan = result.timeline.spans.find((s) => s.name === OP.llm);
    expect(llmSpan?.startMs).toBeGreaterThanOrEqual(result.timeline.marks.transcriptMs as number);
    expect(llm.calls).toHaveLength(1);
    expect(result.preemptive).toBeUndefined();
  });
});

describe('preemptive generation when the provider withdraws its preflight (turn-resumed)', () => {
  /**
   * A streaming STT scripted like Deepgram Flux: an eager preflight on the first audio, then
   * `turn-resumed` 30 ms later (the user kept talking), then the final 150 ms after finalize().
   */
  function resumingStt(finalText: string, log: { finalAt?: number }): SpeechToText {
    return {
      provider: 'scripted',
      async transcribe() {
        throw new Error('one-shot not scripted');
      },
      async stream(options = {}) {
        const queue: SpeechToTextEvent[] = [];
        let wake: (() => void) | undefined;
        let ended = false;
        const timers = new Set<ReturnType<typeof setTimeout>>();
        const push = (event: SpeechToTextEvent) => {
          queue.push(event);
          wake?.();
        };
        const later = (ms: number, f: () => void) => {
          const t = setTimeout(() => {
            timers.delete(t);
            f();
          }, ms);
          timers.add(t);
        };
        const stop = () => {
          for (const t of timers) clearTimeout(t);
          ended = true;
          wake?.();
        };
        options.signal?.addEventListener('abort', stop);
        let sent = false;
        return {
          send() {
            if (sent) return;
            sent = true;
            push({
              type: 'transcript',
              transcript: { text: 'Where is load 2314?', isFinal: false, preflight: true },
            });
            later(30, () => push({ type: 'turn-resumed', atMs: performance.now() }));
          },
          finalize() {
            later(150, () => {
              log.finalAt = performance.now();
              push({ type: 'transcript', transcript: { text: finalText, isFinal: true, speechFinal: true } });
            });
          },
          async close() {
            stop();
          },
          [Symbol.asyncIterator]() {
            return {
              next: async (): Promise<IteratorResult<SpeechToTextEvent>> => {
                for (;;) {
                  const event = queue.shift();
                  if (event) return { value: event, done: false };
                  if (ended) return { value: undefined, done: true };
                  await new Promise<void>((resolve) => {
                    wake = resolve;
                  });
                }
              },
            };
          },
        } satisfies SpeechToTextSession;
      },
    };
  }

  /** A slow fake model that notes when each call's signal aborted. */
  function watchedModel() {
    const inner = new FakeLanguageModel({ respond: echo, latency: { ttft: 20, tokensPerSecond: 15 } });
    const abortedAt: (number | undefined)[] = [];
    const llm: LanguageModel = {
      provider: inner.provider,
      stream(messages, options = {}) {
        const i = abortedAt.push(undefined) - 1;
        options.signal?.addEventListener('abort', () => {
          abortedAt[i] = performance.now();
        });
        return inner.stream(messages, options);
      },
    };
    return { llm, inner, abortedAt };
  }

  it.each([
    ['the user said more', 'Where is load 2314? And load 99?'],
    ['the same words came back', 'Where is load 2314?'],
  ])(
    'drops the answer started on the preflight as soon as the turn resumes (%s), before the final',
    async (_name, finalText) => {
      const log: { finalAt?: number } = {};
      const { llm, inner, abortedAt } = watchedModel();
      const tts = new FakeStreamingTextToSpeech({ msPerChar: 2, chunkBytes: 512, streamFirstByteMs: 1 });
      const monitor = new PerformanceMonitor();
      const pipeline = createVoicePipeline({
        stt: resumingStt(finalText, log),
        llm,
        tts,
        systemPrompt: '',
        monitor,
      });
      const { events, result, heard } = await collect(pipeline.respond(streamOf('Where is load 2314?')));
      expect(result.transcript).toBe(finalText);
      expect(inner.calls.map((c) => c.messages.at(-1)?.content)).toEqual(['Where is load 2314?', finalText]);
      // The early answer was cut when the turn resumed, not when the final contradicted it.
      expect(abortedAt[0]).toBeDefined();
      expect(abortedAt[0] as number).toBeLessThan(log.finalAt as number);
      expect(result.preemptive).toMatchObject({ outcome: 'miss', attempts: 1, wastedLlmCalls: 1 });
      expect(monitor.stats(OP.preemptive, { labels: { outcome: 'miss' } })?.count).toBe(1);
      // Only the answer to the confirmed transcript was heard.
      expect(heard).toBe(`You asked: ${finalText}`);
      expect(events.filter((e) => e.type === 'transcript')).toHaveLength(1);
    },
  );
});
