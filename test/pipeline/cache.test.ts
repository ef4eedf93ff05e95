import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createCacheManager } from '../../src/cache/index.js';
import {
  createCompanyApiTools,
  createVoicePipeline,
  defineTool,
  type PipelineCache,
  type VoicePipelineOptions,
} from '../../src/index.js';
import { PerformanceMonitor } from '../../src/perf/index.js';
import { normalizeTranscript } from '../../src/pipeline/cache.js';
import {
  FakeDocumentSearch,
  FakeLanguageModel,
  FakeSpeechToText,
  FakeTextToSpeech,
  synthesizeFakeSpeech,
} from '../../src/testing/index.js';
import { collect, eventStreams, fakeCompanyApi, MemoryStore } from './helpers.js';

function setup(store: PipelineCache, extra: Partial<VoicePipelineOptions> = {}) {
  const llm = new FakeLanguageModel();
  const tts = new FakeTextToSpeech({ msPerChar: 2, chunkBytes: 512 });
  const api = fakeCompanyApi();
  const monitor = new PerformanceMonitor();
  const pipeline = createVoicePipeline({
    stt: new FakeSpeechToText(),
    llm,
    tts,
    tools: createCompanyApiTools(api),
    systemPrompt: 'You are a dispatcher.',
    monitor,
    cache: { store, llm: true, tts: false },
    ...extra,
  });
  return { pipeline, llm, tts, api, monitor };
}

describe('LLM answer cache', () => {
  // A replay speaks in sentence mode: byte for byte the first turn's audio when that turn was
  // spoken in sentence mode too; the same words when it streamed its text into the TTS.
  it.each(['sentence', 'auto'] as const)(
    'replays a cached answer with the same events and the same audio, without calling the model or tools (ttsInput %s)',
    async (ttsInput) => {
      const store = new MemoryStore();
      const { pipeline, llm, api, monitor } = setup(store, { ttsInput });
      const first = await collect(pipeline.respond(synthesizeFakeSpeech('Where is load 2314?')));
      expect(llm.calls).toHaveLength(2);
      expect(api.calls).toHaveLength(1);
      const second = await collect(pipeline.respond(synthesizeFakeSpeech('Where is load 2314?')));
      expect(llm.calls).toHaveLength(2);
      expect(api.calls).toHaveLength(1);
      // Everything after the transcript (the STT ran again: new request id) replays as it was.
      const [a, b] = [eventStreams(first.events), eventStreams(second.events)];
      expect(b.other[0]).toMatchObject({ type: 'transcript', transcript: { text: 'Where is load 2314?' } });
      expect(b.other.slice(1)).toEqual(a.other.slice(1));
      if (ttsInput === 'sentence') {
        expect(b.audio).toEqual(a.audio);
        expect(second.audio).toEqual(first.audio);
      }
      expect(second.heard).toBe(first.heard);
      expect(second.heard).toBe(second.result.reply);
      expect(second.result.reply).toBe(first.result.reply);
      expect(second.result.messages).toEqual(first.result.messages);
      expect(second.result.cached).toBe(true);
      expect(second.result.timeline.cached).toBe(true);
      expect(first.result.timeline.cached).toBe(false);
      const llmSpan = second.result.timeline.spans.find((s) => s.name === 'llm');
      expect(llmSpan?.cached).toBe(true);
      expect(second.result.timeline.spans.some((s) => s.name.startsWith('tool:'))).toBe(false);
      expect(monitor.stats('llm', { labels: { cached: 'true' } })?.count).toBe(1);
      expect(monitor.stats('time_to_first_audio', { labels: { cached: 'true' } })?.count).toBe(1);
      expect(monitor.stats('time_to_first_audio', { labels: { cached: 'false' } })?.count).toBe(1);
    },
  );

  it('shares an answer between transcripts that differ only in case, spacing and end punctuation', async () => {
    const store = new MemoryStore();
    const { pipeline, llm } = setup(store);
    await pipeline.respond({ text: 'Hello,   what can you do?' }).done;
    const r = await pipeline.respond({ text: 'hello, what can you do' }).done;
    expect(r.cached).toBe(true);
    expect(llm.calls).toHaveLength(1);
    expect(normalizeTranscript(' What is 3.5?! ')).toBe('what is 3.5');
    expect(normalizeTranscript('3.5')).not.toBe(normalizeTranscript('35'));
  });

  it('keys on the system prompt, the model and the tool set', async () => {
    const store = new MemoryStore();
    await setup(store).pipeline.respond({ text: 'Hello' }).done;
    const other = setup(store, { systemPrompt: 'Another prompt.' });
    expect((await other.pipeline.respond({ text: 'Hello' }).done).cached).toBe(false);
    const noTools = setup(store, { tools: [] });
    expect((await noTools.pipeline.respond({ text: 'Hello' }).done).cached).toBe(false);
    const otherModel = setup(store, { llm: new FakeLanguageModel({ model: 'bigger' }) });
    expect((await otherModel.pipeline.respond({ text: 'Hello' }).done).cached).toBe(false);
    expect(store.keys('llm')).toHaveLength(4);
  });

  it('never caches an answer when a tool with side effects ran', async () => {
    const store = new MemoryStore();
    const book = defineTool({
      name: 'book_load',
      description: 'Books a load.',
      parameters: z.object({ id: z.string() }),
      sideEffects: true,
      execute: async ({ id }) => ({ booked: id }),
    });
    const script = [{ toolCalls: [{ name: 'book_load', arguments: { id: '9' } }] }, 'Booked.'];
    const llm = new FakeLanguageModel({ script: [...script, ...script] });
    const { pipeline } = setup(store, { llm, tools: [book] });
    await pipeline.respond({ text: 'Book load 9' }).done;
    const r = await pipeline.respond({ text: 'Book load 9' }).done;
    expect(r.cached).toBe(false);
    expect(store.sets).toBe(0);
    expect(llm.calls).toHaveLength(4);
  });

  it('does not cache an answer after a tool error, or an interrupted one', async () => {
    const store = new MemoryStore();
    const api = fakeCompanyApi({ fail: () => new Error('down') });
    const { pipeline } = setup(store, { tools: createCompanyApiTools(api) });
    await pipeline.respond({ text: 'Where is load 5?' }).done;
    expect(store.sets).toBe(0);
    const turn = pipeline.respond({ text: 'Hello there' });
    for await (const e of turn) if (e.type === 'sentence') turn.abort();
    expect((await turn.done).interrupted).toBe(true);
    expect(store.sets).toBe(0);
  });

  it('bypasses the cache for turns with history unless history is part of the key', async () => {
    const store = new MemoryStore();
    const history = [{ role: 'user' as const, content: 'Hi' }];
    const { pipeline } = setup(store);
    await pipeline.respond({ text: 'Hello' }, { history }).done;
    expect(store.gets + store.sets).toBe(0);
    const keyed = setup(store, { cache: { store, llm: { history: 'key' } } });
    await keyed.pipeline.respond({ text: 'Hello' }, { history }).done;
    expect((await keyed.pipeline.respond({ text: 'Hello' }, { history }).done).cached).toBe(true);
    expect((await keyed.pipeline.respond({ text: 'Hello' }, { history: [] }).done).cached).toBe(false);
  });

  it('passes the configured TTL and namespace to the store', async () => {
    const store = new MemoryStore();
    const { pipeline } = setup(store, { cache: { store, llm: { ttlSeconds: 60, namespace: 'answers' } } });
    await pipeline.respond({ text: 'Hello' }).done;
    expect(store.keys('answers')).toHaveLength(1);
    expect(store.ttl).toEqual([60]);
  });

  it('reads nothing from the store unless a kind is turned on', async () => {
    const store = new MemoryStore();
    const { pipeline } = setup(store, { cache: { store } });
    await pipeline.respond({ text: 'Hello' }).done;
    await pipeline.respond({ text: 'Hello' }).done;
    expect(store.gets + store.sets).toBe(0);
  });

  it('keeps answering when the cache is down, and says so with a recovered error event', async () => {
    const store = new MemoryStore();
    store.failReads = true;
    store.failWrites = true;
    const { pipeline } = setup(store, { cache: { store, llm: true, tts: true } });
    const t = await collect(pipeline.respond({ text: 'Hello' }));
    expect(t.heard).toBe(t.result.reply);
    expect(t.result.reply.length).toBeGreaterThan(0);
    const errors = t.events.filter((e) => e.type === 'error');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => e.type === 'error' && e.stage === 'cache' && e.recovered)).toBe(true);
  });

  it('works with earshot’s CacheManager', async () => {
    const monitor = new PerformanceMonitor();
    const cache = createCacheManager({ monitor });
    const store: PipelineCache = cache;
    const { pipeline, llm } = setup(store, { cache: { store, llm: true, tts: true } });
    const first = await collect(pipeline.respond({ text: 'Hello' }));
    const second = await collect(pipeline.respond({ text: 'Hello' }));
    expect(second.result.cached).toBe(true);
    expect(second.audio).toEqual(first.audio);
    expect(llm.calls).toHaveLength(1);
    await cache.close?.();
  });
});

describe('TTS and search caches', () => {
  it('synthesizes a repeated phrase once and replays its audio', async () => {
    const store = new MemoryStore();
    const llm = new FakeLanguageModel({
      script: ['One moment please. Load 1 is late.', 'One moment please. Load 2 is on time.'],
    });
    const { pipeline, tts, monitor } = setup(store, { llm, cache: { store, tts: true } });
    const a = await collect(pipeline.respond({ text: 'a' }));
    const b = await collect(pipeline.respond({ text: 'b' }));
    expect(tts.texts).toEqual(['One moment please.', 'Load 1 is late.', 'Load 2 is on time.']);
    expect(b.heard).toBe('One moment please. Load 2 is on time.');
    const firstChunkA = a.events.find((e) => e.type === 'audio');
    const firstChunkB = b.events.find((e) => e.type === 'audio');
    expect(firstChunkB).toEqual(firstChunkA);
    const hit = b.result.timeline.spans.find((s) => s.name === 'cache:tts' && s.cached);
    expect(hit?.sentenceIndex).toBe(0);
    expect(b.result.timeline.criticalPath.some((s) => s.name === 'cache:tts')).toBe(true);
    expect(monitor.stats('tts', { labels: { cached: 'true' } })?.count).toBe(1);
  });

  it('does not cache audio of chunks longer than maxTextChars', async () => {
    const store = new MemoryStore();
    const long = `${'This is a long sentence '.repeat(5)}end.`;
    const llm = new FakeLanguageModel({ script: [long, long] });
    const { pipeline, tts } = setup(store, {
      llm,
      cache: { store, tts: { maxTextChars: 40 } },
      chunker: { firstChunkMinChars: 0 },
    });
    await pipeline.respond({ text: 'a' }).done;
    await pipeline.respond({ text: 'b' }).done;
    expect(tts.texts).toHaveLength(2);
    expect(store.keys('tts')).toHaveLength(0);
  });

  it('caches search results under the pinecone namespace', async () => {
    const store = new MemoryStore();
    const search = new FakeDocumentSearch([{ id: 'p1', text: 'Report damaged cargo to dispatch.' }]);
    const llm = new FakeLanguageModel({
      script: [
        { toolCalls: [{ name: 'search_documents', arguments: { query: 'damaged cargo' } }] },
        'Report it.',
        { toolCalls: [{ name: 'search_documents', arguments: { query: 'damaged cargo' } }] },
        'Report it.',
      ],
    });
    const { pipeline, monitor } = setup(store, { llm, tools: [], search, cache: { store, search: true } });
    await pipeline.respond({ text: 'a' }).done;
    const r = await pipeline.respond({ text: 'b' }).done;
    expect(search.queries).toEqual(['damaged cargo']);
    expect(store.keys('pinecone')).toHaveLength(1);
    expect(r.timeline.spans.find((s) => s.name === 'search')?.cached).toBe(true);
    expect(monitor.stats('search', { labels: { cached: 'true' } })?.count).toBe(1);
  });
});

describe('tool context capabilities', () => {
  it('lets any tool run a timed, cached search through ctx.search and record its own figures', async () => {
    const store = new MemoryStore();
    const policies = new FakeDocumentSearch([{ id: 'p1', text: 'Report damaged cargo to dispatch.' }]);
    const seen: { hadSearch: boolean; hadRecord: boolean }[] = [];
    const lookup = defineTool({
      name: 'lookup_policy',
      description: 'Finds the company policy on a topic.',
      parameters: z.object({ topic: z.string() }),
      async execute({ topic }, ctx) {
        seen.push({
          hadSearch: typeof ctx.search === 'function',
          hadRecord: typeof ctx.record === 'function',
        });
        if (!ctx.search || !ctx.record) throw new Error('no pipeline capabilities');
        const results = await ctx.search(policies, topic, { topK: 1 });
        ctx.record('policy_lookup', 7, { outcome: 'ok' });
        return results.map((r) => r.id);
      },
    });
    const llm = new FakeLanguageModel({
      script: [
        { toolCalls: [{ name: 'lookup_policy', arguments: { topic: 'damaged cargo' } }] },
        'Report it.',
        { toolCalls: [{ name: 'lookup_policy', arguments: { topic: 'damaged cargo' } }] },
        'Report it.',
      ],
    });
    const { pipeline, monitor } = setup(store, {
      llm,
      tools: [lookup],
      cache: { store, search: true },
    });
    const first = await pipeline.respond({ text: 'a' }).done;
    const second = await pipeline.respond({ text: 'b' }).done;
    expect(seen).toEqual([
      { hadSearch: true, hadRecord: true },
      { hadSearch: true, hadRecord: true },
    ]);
    // One real search; the second came from the cache, both timed as the `search` stage.
    expect(policies.queries).toEqual(['damaged cargo']);
    expect(first.timeline.spans.find((s) => s.name === 'search')?.cached).toBe(false);
    expect(second.timeline.spans.find((s) => s.name === 'search')?.cached).toBe(true);
    expect(monitor.stats('search', { labels: { cached: 'false' } })?.count).toBe(1);
    expect(monitor.stats('search', { labels: { cached: 'true' } })?.count).toBe(1);
    expect(monitor.stats('policy_lookup')?.count).toBe(2);
    expect(first.messages.find((m) => m.role === 'tool')?.content).toBe('["p1"]');
  });
});
