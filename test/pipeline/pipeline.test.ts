import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, InvalidArgumentError, ToolError } from '../../src/errors.js';
import {
  type ChatMessage,
  createCompanyApiTools,
  createVoicePipeline,
  defineTool,
  type TurnEvent,
} from '../../src/index.js';
import { PerformanceMonitor } from '../../src/perf/index.js';
import {
  FakeDocumentSearch,
  FakeLanguageModel,
  FakeSpeechToText,
  FakeTextToSpeech,
  synthesizeFakeSpeech,
} from '../../src/testing/index.js';
import { collect, fakeCompanyApi, types } from './helpers.js';

function stages() {
  return {
    stt: new FakeSpeechToText(),
    llm: new FakeLanguageModel(),
    tts: new FakeTextToSpeech({ msPerChar: 2 }),
  };
}

async function* chunked(bytes: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let o = 0; o < bytes.length; o += size) {
    await new Promise((r) => setImmediate(r));
    yield bytes.subarray(o, o + size);
  }
}

describe('createVoicePipeline: a turn', () => {
  it('answers spoken audio with audio that says the reply, sentence by sentence', async () => {
    const llm = new FakeLanguageModel({
      script: ['Load 2314 is in Denver. It arrives at 3.5 p.m. today. Anything else?'],
    });
    const p = createVoicePipeline({ ...stages(), llm, systemPrompt: 'Be brief.', monitor: false });
    const t = await collect(p.respond(synthesizeFakeSpeech('Where is load 2314?')));
    expect(t.result.transcript).toBe('Where is load 2314?');
    expect(t.result.reply).toBe('Load 2314 is in Denver. It arrives at 3.5 p.m. today. Anything else?');
    expect(t.events.filter((e) => e.type === 'sentence').map((e) => (e as { text: string }).text)).toEqual([
      'Load 2314 is in Denver.',
      'It arrives at 3.5 p.m. today.',
      'Anything else?',
    ]);
    expect(t.heard).toBe(t.result.reply);
    expect(t.result.spokenText).toBe(t.result.reply);
    expect(t.result.interrupted).toBe(false);
  });

  it('emits the transcript first and the metrics last', async () => {
    const p = createVoicePipeline({ ...stages(), systemPrompt: '', monitor: false });
    const t = await collect(p.respond(synthesizeFakeSpeech('Hello there')));
    const ts = types(t.events);
    expect(ts[0]).toBe('transcript');
    expect(ts.at(-1)).toBe('metrics');
    expect(ts.indexOf('sentence')).toBeLessThan(ts.indexOf('audio'));
  });

  it('sends the system prompt, the history and the transcript to the model', async () => {
    const llm = new FakeLanguageModel({ script: ['Sure.'] });
    const p = createVoicePipeline({
      ...stages(),
      llm,
      systemPrompt: 'You are a dispatcher.',
      monitor: false,
    });
    const history: ChatMessage[] = [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
    ];
    await p.respond({ text: 'And load 7?' }, { history }).done;
    expect(llm.calls[0]?.messages).toEqual([
      { role: 'system', content: 'You are a dispatcher.' },
      ...history,
      { role: 'user', content: 'And load 7?' },
    ]);
  });

  it('returns the messages to append to the history', async () => {
    const llm = new FakeLanguageModel({
      script: [
        {
          text: 'Let me check.',
          toolCalls: [{ id: 'c1', name: 'get_load_status', arguments: { load_id: '7' } }],
        },
        'It is in Denver.',
      ],
    });
    const p = createVoicePipeline({
      ...stages(),
      llm,
      tools: createCompanyApiTools(fakeCompanyApi()),
      systemPrompt: '',
      monitor: false,
    });
    const r = await p.respond({ text: 'Where is load 7?' }).done;
    expect(r.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
    expect(r.messages[1]).toMatchObject({
      content: 'Let me check.',
      toolCalls: [{ id: 'c1', name: 'get_load_status' }],
    });
    expect(r.messages[3]).toEqual({ role: 'assistant', content: 'It is in Denver.' });
  });

  it('accepts text input without an stt stage', async () => {
    const { llm, tts } = stages();
    const p = createVoicePipeline({ llm, tts, systemPrompt: '', monitor: false });
    const t = await collect(p.respond({ text: 'Hello' }));
    expect(t.result.transcript).toBe('Hello');
    expect(t.heard.length).toBeGreaterThan(0);
  });

  it('rejects audio input when the pipeline has no stt stage', () => {
    const { llm, tts } = stages();
    const p = createVoicePipeline({ llm, tts, systemPrompt: '', monitor: false });
    expect(() => p.respond(new Uint8Array(4))).toThrow(InvalidArgumentError);
  });

  it('streams audio into a streaming STT session and answers when the stream ends', async () => {
    const stt = new FakeSpeechToText({ latency: 5 });
    const llm = new FakeLanguageModel({ script: ['Got it.'] });
    const p = createVoicePipeline({ ...stages(), stt, llm, systemPrompt: '', monitor: false });
    const t = await collect(p.respond(chunked(synthesizeFakeSpeech('Check load 99 please'), 3000)));
    expect(t.result.transcript).toBe('Check load 99 please');
    expect(t.heard).toBe('Got it.');
    const sttSpan = t.result.timeline.spans.find((s) => s.name === 'stt');
    expect(sttSpan?.startMs).toBe(0);
  });

  it('transcribes a stream in one request when the STT cannot stream', async () => {
    const stt = new FakeSpeechToText({ streaming: false });
    const p = createVoicePipeline({ ...stages(), stt, systemPrompt: '', monitor: false });
    const r = await p.respond({
      audio: chunked(synthesizeFakeSpeech('Hello there'), 1000),
      format: 'pcm_16000',
    }).done;
    expect(r.transcript).toBe('Hello there');
  });

  it('ends quietly when the transcript is empty', async () => {
    const llm = new FakeLanguageModel();
    const p = createVoicePipeline({ ...stages(), llm, systemPrompt: '', monitor: false });
    const t = await collect(p.respond(new Uint8Array(64)));
    expect(t.result.transcript).toBe('');
    expect(t.result.reply).toBe('');
    expect(llm.calls).toHaveLength(0);
    expect(types(t.events)).toEqual(['transcript', 'metrics']);
  });

  it('applies transformText before TTS but keeps the original sentence in events', async () => {
    const llm = new FakeLanguageModel({ script: ['It weighs 40 lbs. Skip me.'] });
    const p = createVoicePipeline({
      ...stages(),
      llm,
      systemPrompt: '',
      monitor: false,
      transformText: (s) => (s === 'Skip me.' ? '' : s.replace('lbs', 'pounds')),
    });
    const t = await collect(p.respond({ text: 'Weight?' }));
    expect(t.events.filter((e) => e.type === 'sentence').map((e) => (e as { text: string }).text)).toEqual([
      'It weighs 40 lbs.',
      'Skip me.',
    ]);
    expect(t.heard).toBe('It weighs 40 pounds.');
  });

  it('lets several consumers iterate the same turn, each from the start', async () => {
    const p = createVoicePipeline({ ...stages(), systemPrompt: '', monitor: false });
    const turn = p.respond({ text: 'Hello' });
    const [a, b] = await Promise.all([collect(turn), collect(turn)]);
    expect(types(a.events)).toEqual(types(b.events));
    const late: TurnEvent[] = [];
    for await (const e of turn) late.push(e);
    expect(types(late)).toEqual(types(a.events));
  });

  it('resolves done without anyone iterating', async () => {
    const p = createVoicePipeline({ ...stages(), systemPrompt: '', monitor: false });
    const r = await p.respond({ text: 'Hello' }).done;
    expect(r.reply.length).toBeGreaterThan(0);
  });

  it('reports usage summed over the tool rounds', async () => {
    const llm = new FakeLanguageModel({
      script: [{ toolCalls: [{ name: 'get_load_status', arguments: { load_id: '1' } }] }, 'Done.'],
    });
    const p = createVoicePipeline({
      ...stages(),
      llm,
      tools: createCompanyApiTools(fakeCompanyApi()),
      systemPrompt: '',
      monitor: false,
    });
    const r = await p.respond({ text: 'Where is load 1?' }).done;
    expect(r.usage?.outputTokens).toBeGreaterThan(8);
    expect(r.usage?.totalTokens).toBe((r.usage?.inputTokens ?? 0) + (r.usage?.outputTokens ?? 0));
  });
});

describe('createVoicePipeline: tools', () => {
  it('runs the company-API tool the model asks for and speaks the answer', async () => {
    const api = fakeCompanyApi();
    const p = createVoicePipeline({
      ...stages(),
      tools: createCompanyApiTools(api),
      systemPrompt: '',
      monitor: false,
    });
    const t = await collect(p.respond(synthesizeFakeSpeech('Where is load 2314?')));
    expect(api.calls.map((c) => [c.method, c.arg])).toEqual([['getLoadStatus', '2314']]);
    expect(api.calls[0]?.signal).toBeInstanceOf(AbortSignal);
    const result = t.events.find((e) => e.type === 'tool-result');
    expect(result).toMatchObject({
      name: 'get_load_status',
      isError: false,
      result: { id: '2314', status: 'in_transit' },
    });
    expect(t.heard).toContain('in transit');
  });

  it('runs several tool calls of one round in parallel', async () => {
    let running = 0;
    let maxRunning = 0;
    const slow = defineTool({
      name: 'slow',
      description: 'Takes a while.',
      parameters: z.object({ n: z.number() }),
      execute: async ({ n }) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((r) => setTimeout(r, 20));
        running--;
        return { n };
      },
    });
    const llm = new FakeLanguageModel({
      script: [{ toolCalls: [1, 2, 3].map((n) => ({ name: 'slow', arguments: { n } })) }, 'All three done.'],
    });
    const p = createVoicePipeline({ ...stages(), llm, tools: [slow], systemPrompt: '', monitor: false });
    const t = await collect(p.respond({ text: 'Go' }));
    expect(maxRunning).toBe(3);
    expect(
      t.events.filter((e) => e.type === 'tool-result').map((e) => (e as { content: string }).content),
    ).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
    expect(llm.calls[1]?.messages.filter((m) => m.role === 'tool')).toHaveLength(3);
  });

  it('times every tool call as tool:<name> with its outcome', async () => {
    const monitor = new PerformanceMonitor();
    const llm = new FakeLanguageModel({
      script: [
        {
          toolCalls: [
            { name: 'get_load_status', arguments: { load_id: '1' } },
            { name: 'get_inventory', arguments: { item_id: 'A-1' } },
          ],
        },
        'OK.',
      ],
    });
    const p = createVoicePipeline({
      ...stages(),
      llm,
      tools: createCompanyApiTools(fakeCompanyApi()),
      systemPrompt: '',
      monitor,
    });
    await p.respond({ text: 'x' }).done;
    expect(monitor.stats('tool:get_load_status', { labels: { outcome: 'ok' } })?.count).toBe(1);
    expect(monitor.stats('tool:get_inventory', { labels: { outcome: 'ok' } })?.count).toBe(1);
  });

  it('bounds the tool rounds and then asks the model to answer without tools', async () => {
    const loop = defineTool({
      name: 'again',
      description: 'Always asks for more.',
      parameters: z.object({}),
      execute: async () => 'more',
    });
    const llm = new FakeLanguageModel({
      respond: (_m, tools) =>
        tools.length > 0 ? { toolCalls: [{ name: 'again', arguments: {} }] } : 'Giving up after two rounds.',
    });
    const p = createVoicePipeline({
      ...stages(),
      llm,
      tools: [loop],
      maxToolRounds: 2,
      systemPrompt: '',
      monitor: false,
    });
    const t = await collect(p.respond({ text: 'loop' }));
    expect(llm.calls.map((c) => c.tools.length)).toEqual([1, 1, 0]);
    expect(t.result.reply).toBe('Giving up after two rounds.');
  });

  it('reports invalid arguments back to the model, which can correct itself', async () => {
    const llm = new FakeLanguageModel({
      script: [
        { toolCalls: [{ name: 'get_load_status', arguments: { load_id: 'not valid!' } }] },
        { toolCalls: [{ name: 'get_load_status', arguments: { load_id: '12' } }] },
        'Load 12 is in Denver.',
      ],
    });
    const api = fakeCompanyApi();
    const p = createVoicePipeline({
      ...stages(),
      llm,
      tools: createCompanyApiTools(api),
      systemPrompt: '',
      monitor: false,
      onToolError: 'throw',
    });
    const t = await collect(p.respond({ text: 'Where is load 12?' }));
    const results = t.events.filter((e) => e.type === 'tool-result') as Extract<
      TurnEvent,
      { type: 'tool-result' }
    >[];
    expect(results[0]?.isError).toBe(true);
    expect(JSON.parse(results[0]?.content ?? '{}').error).toMatch(
      /Invalid arguments for "get_load_status": load_id/,
    );
    expect(results[1]?.isError).toBe(false);
    expect(api.calls).toHaveLength(1);
    expect(t.result.reply).toBe('Load 12 is in Denver.');
  });

  it('answers an unknown tool name with an error the model can read', async () => {
    const llm = new FakeLanguageModel({
      script: [{ toolCalls: [{ name: 'nope', arguments: {} }] }, 'Sorry.'],
    });
    const p = createVoicePipeline({
      ...stages(),
      llm,
      tools: createCompanyApiTools(fakeCompanyApi()),
      systemPrompt: '',
      monitor: false,
    });
    const t = await collect(p.respond({ text: 'x' }));
    expect(t.events.find((e) => e.type === 'tool-result')).toMatchObject({ isError: true, name: 'nope' });
    expect(t.result.reply).toBe('Sorry.');
  });

  it('speaks an apology when a tool fails and onToolError is apologize (the default)', async () => {
    const api = fakeCompanyApi({ fail: () => new Error('503 from upstream') });
    const llm = new FakeLanguageModel({
      script: [
        { text: 'Let me check.', toolCalls: [{ name: 'get_load_status', arguments: { load_id: '1' } }] },
      ],
    });
    const p = createVoicePipeline({
      ...stages(),
      llm,
      tools: createCompanyApiTools(api),
      systemPrompt: '',
      monitor: false,
      apology: 'Sorry, the load system is not answering.',
    });
    const t = await collect(p.respond({ text: 'Where is load 1?' }));
    const err = t.events.find((e) => e.type === 'error');
    expect(err).toMatchObject({ stage: 'tool:get_load_status', recovered: true });
    expect((err as { error: unknown }).error).toBeInstanceOf(ToolError);
    expect(t.heard).toBe('Let me check. Sorry, the load system is not answering.');
    expect(llm.calls).toHaveLength(1);
  });

  it('fails the turn with a ToolError when onToolError is throw', async () => {
    const api = fakeCompanyApi({ fail: () => new Error('boom') });
    const llm = new FakeLanguageModel({
      script: [{ toolCalls: [{ name: 'get_load_status', arguments: { load_id: '1' } }] }],
    });
    const p = createVoicePipeline({
      ...stages(),
      llm,
      tools: createCompanyApiTools(api),
      systemPrompt: '',
      monitor: false,
      onToolError: 'throw',
    });
    const turn = p.respond({ text: 'Where is load 1?' });
    await expect(turn.done).rejects.toBeInstanceOf(ToolError);
    await expect(turn.done).rejects.toMatchObject({ code: 'EARSHOT_TOOL_FAILED', tool: 'get_load_status' });
    await expect(collect(turn)).rejects.toBeInstanceOf(ToolError);
  });

  it('hands the tool error to the model when onToolError is report', async () => {
    const api = fakeCompanyApi({ fail: () => new Error('load service down') });
    const p = createVoicePipeline({
      ...stages(),
      tools: createCompanyApiTools(api),
      systemPrompt: '',
      monitor: false,
      onToolError: 'report',
    });
    const t = await collect(p.respond({ text: 'Where is load 77?' }));
    expect(t.heard).toMatch(/could not get that information/);
    expect(t.events.some((e) => e.type === 'error' && e.recovered)).toBe(true);
  });

  it('offers document search as a tool and records each search', async () => {
    const monitor = new PerformanceMonitor();
    const search = new FakeDocumentSearch([
      { id: 'p1', text: 'Report damaged cargo to dispatch within one hour.' },
      { id: 'p2', text: 'Drivers rest ten hours after eleven hours of driving.' },
    ]);
    const p = createVoicePipeline({ ...stages(), search, systemPrompt: '', monitor });
    expect(p.tools.map((t) => t.name)).toEqual(['search_documents']);
    const t = await collect(p.respond({ text: 'What is our safety policy for damaged cargo?' }));
    expect(search.queries).toEqual(['What is our safety policy for damaged cargo?']);
    expect(t.heard).toContain('Report damaged cargo to dispatch');
    expect(
      monitor.stats('search', { labels: { provider: 'fake', cached: 'false', outcome: 'ok' } })?.count,
    ).toBe(1);
    expect(monitor.stats('tool:search_documents')?.count).toBe(1);
  });

  it('searches before the model runs in context mode and gives it the documents', async () => {
    const search = new FakeDocumentSearch([{ id: 'p1', text: 'Trailers are inspected every 90 days.' }]);
    const llm = new FakeLanguageModel({ script: ['Every 90 days.'] });
    const p = createVoicePipeline({
      ...stages(),
      llm,
      search,
      searchMode: 'context',
      systemPrompt: 'S',
      monitor: false,
    });
    const r = await p.respond({ text: 'How often are trailers inspected?' }).done;
    expect(p.tools).toHaveLength(0);
    expect(llm.calls[0]?.messages[1]).toMatchObject({
      role: 'system',
      content: expect.stringContaining('every 90 days'),
    });
    expect(r.timeline.spans.map((s) => s.name).slice(0, 3)).toEqual(['search', 'llm', 'tts']);
  });
});

describe('createVoicePipeline: options', () => {
  it('lists every invalid option in one ConfigError', () => {
    let err: unknown;
    try {
      createVoicePipeline({
        llm: {} as never,
        tts: new FakeTextToSpeech(),
        systemPrompt: 'x',
        ttsConcurrency: 0,
        deadlines: { tts: -1 },
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const paths = (err as ConfigError).issues.map((i) => i.path).sort();
    expect(paths).toEqual(['deadlines.tts', 'llm', 'ttsConcurrency']);
  });

  it('rejects two tools with the same name', () => {
    const tools = [...createCompanyApiTools(fakeCompanyApi()), ...createCompanyApiTools(fakeCompanyApi())];
    expect(() => createVoicePipeline({ ...stages(), tools, systemPrompt: '' })).toThrow(/unique/);
  });

  it('rejects a speechEndedAt in the future', () => {
    const p = createVoicePipeline({ ...stages(), systemPrompt: '', monitor: false });
    expect(() => p.respond({ text: 'x' }, { speechEndedAt: performance.now() + 10_000 })).toThrow(
      InvalidArgumentError,
    );
  });

  it('measures from speechEndedAt when the host gives it', async () => {
    const p = createVoicePipeline({ ...stages(), systemPrompt: '', monitor: false });
    const r = await p.respond({ text: 'x' }, { speechEndedAt: performance.now() - 50 }).done;
    expect(r.timeline.timeToFirstAudioMs).toBeGreaterThanOrEqual(50);
    expect(r.timeline.criticalPath[0]?.name).toBe('overhead');
  });
});
