import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCachedCompanyApi,
  createCacheManager,
  createCompanyApiClient,
  createCompanyApiTools,
  createEmbeddingSearch,
  createVoicePipeline,
  OP,
  PerformanceMonitor,
  performanceMonitor,
  type TurnEvent,
} from '../../src/index.js';
import { DeepgramSpeechToText } from '../../src/providers/deepgram/index.js';
import { ElevenLabsTextToSpeech } from '../../src/providers/elevenlabs/index.js';
import { OpenAIEmbedder, OpenAILanguageModel } from '../../src/providers/openai/index.js';
import { PineconeVectorIndex } from '../../src/providers/pinecone/index.js';
import {
  type FakeProviders,
  startFakeProviders,
  synthesizeFakeSpeech,
  transcribeFakeSpeech,
} from '../../src/testing/index.js';

// One whole turn over the four real SDKs (through earshot's adapters) and the company API:
// question audio in → STT → LLM tool call → company API → LLM answer → TTS audio out.
describe('a full turn over every adapter', () => {
  let fakes: FakeProviders;
  const monitor = new PerformanceMonitor();
  let pipeline: ReturnType<typeof createVoicePipeline>;
  let loadId: string;

  beforeAll(async () => {
    fakes = await startFakeProviders({ latency: 'instant', seed: 3 });
    loadId = fakes.companyApi.data.loads[0]!.id;
    const adapterMonitor = new PerformanceMonitor();
    const stt = await DeepgramSpeechToText.create({ ...fakes.options.deepgram, monitor: adapterMonitor });
    const llm = await OpenAILanguageModel.create({ ...fakes.options.openai, monitor: adapterMonitor });
    const tts = await ElevenLabsTextToSpeech.create({
      ...fakes.options.elevenlabs,
      outputFormat: 'pcm_16000',
      monitor: adapterMonitor,
    });
    const search = createEmbeddingSearch(
      await OpenAIEmbedder.create({ ...fakes.options.embedder, monitor: adapterMonitor }),
      await PineconeVectorIndex.create({ ...fakes.options.pinecone, monitor: adapterMonitor }),
    );
    const cache = createCacheManager({ monitor });
    const api = createCachedCompanyApi(
      createCompanyApiClient({ ...fakes.options.companyApi, monitor }),
      cache,
      { monitor },
    );
    pipeline = createVoicePipeline({
      stt,
      llm,
      tts,
      search,
      tools: createCompanyApiTools(api),
      systemPrompt: 'You are the dispatcher of a logistics company. Answer briefly.',
      monitor,
    });
  });

  afterAll(async () => {
    await fakes?.close();
  });

  it('answers a spoken question about a load with audio that says the answer, and a consistent timeline', async () => {
    const question = `What is the status of load ${loadId}?`;
    const turn = pipeline.respond({ audio: synthesizeFakeSpeech(question), format: 'pcm_16000' });
    const events: TurnEvent[] = [];
    const audio: Uint8Array[] = [];
    for await (const e of turn) {
      events.push(e);
      if (e.type === 'audio') audio.push(e.chunk.data);
    }
    const result = await turn.done;

    // STT heard the question through the real Deepgram SDK and the fake server.
    expect(result.transcript).toBe(question);
    // The model asked for the load through a tool call, and the company API answered it.
    const toolCall = events.find((e) => e.type === 'tool-call');
    expect(toolCall && 'call' in toolCall ? toolCall.call.name : undefined).toBe('get_load_status');
    expect(fakes.companyApi.requests.total).toBeGreaterThan(0);
    expect(result.reply).toContain(loadId);
    // The audio that came out of ElevenLabs says what the model wrote.
    const spoken = transcribeFakeSpeech(Buffer.concat(audio));
    expect(spoken.replace(/\s+/g, ' ').trim()).toBe(result.spokenText.replace(/\s+/g, ' ').trim());
    expect(spoken).toContain(loadId);

    // Timeline: every stage inside the turn, first audio before the last, and the critical path
    // explains the first audio (it starts at STT and ends at the first TTS byte).
    const t = result.timeline;
    expect(t.interrupted).toBe(false);
    expect(t.timeToFirstAudioMs).toBeGreaterThan(0);
    expect(t.timeToFirstAudioMs!).toBeLessThanOrEqual(t.e2eMs!);
    for (const span of t.spans) {
      expect(span.startMs).toBeGreaterThanOrEqual(0);
      expect(span.endMs).toBeGreaterThanOrEqual(span.startMs);
      expect(span.endMs).toBeLessThanOrEqual(t.marks.doneMs + 1e-6);
    }
    const names = t.spans.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['stt', 'llm', 'tool:get_load_status', 'tts']));
    expect(t.criticalPath.length).toBeGreaterThan(0);

    // The monitor holds the turn's series.
    for (const op of [
      'stt',
      'llm_ttft',
      'llm',
      'tool:get_load_status',
      'tts_ttfb',
      'tts',
      'time_to_first_audio',
      'e2e',
      'company_api',
    ]) {
      expect(monitor.stats(op)?.count, op).toBeGreaterThan(0);
    }
  });

  it('answers a question about the document base through embeddings and the Pinecone index', async () => {
    const turn = pipeline.respond({ text: 'What does the handbook say about detention billing?' });
    for await (const _ of turn) {
      // drain
    }
    const result = await turn.done;
    expect(result.timeline.spans.map((s) => s.name)).toContain('tool:search_documents');
    expect(fakes.pinecone.requests.countFor('query')).toBeGreaterThan(0);
    expect(result.reply.toLowerCase()).toContain('detention');
  });
});

// Issue 13: a README-quickstart user passes no `monitor` anywhere. The pipeline is then the one
// recorder of stage names in the shared monitor, and each provider call is counted once.
describe('a full turn with no monitor options: each call counted once in the shared monitor', () => {
  let fakes: FakeProviders;

  beforeAll(async () => {
    fakes = await startFakeProviders({ latency: 'instant', seed: 5 });
  });

  afterAll(async () => {
    await fakes?.close();
  });

  it('records stt, llm, tts and company_api once per call, whatever adapter or layer made it', async () => {
    performanceMonitor.reset();
    const stt = await DeepgramSpeechToText.create({ ...fakes.options.deepgram });
    const llm = await OpenAILanguageModel.create({ ...fakes.options.openai });
    const tts = await ElevenLabsTextToSpeech.create({
      ...fakes.options.elevenlabs,
      outputFormat: 'pcm_16000',
    });
    const search = createEmbeddingSearch(
      await OpenAIEmbedder.create({ ...fakes.options.embedder }),
      await PineconeVectorIndex.create({ ...fakes.options.pinecone }),
    );
    const api = createCachedCompanyApi(
      createCompanyApiClient({ ...fakes.options.companyApi }),
      createCacheManager(),
    );
    const pipeline = createVoicePipeline({
      stt,
      llm,
      tts,
      search,
      tools: createCompanyApiTools(api),
      systemPrompt: 'You are the dispatcher of a logistics company. Answer briefly.',
    });
    const loadId = fakes.companyApi.data.loads[0]!.id;
    const turns = [`What is the status of load ${loadId}?`, 'What can you do for me?'];
    for (const question of turns) {
      const turn = pipeline.respond({ audio: synthesizeFakeSpeech(question), format: 'pcm_16000' });
      for await (const _ of turn) {
        // drain
      }
      await turn.done;
    }

    const count = (op: string) => performanceMonitor.stats(op)?.count ?? 0;
    const sttCalls =
      fakes.deepgram.requests.countFor('transcribe') + fakes.deepgram.requests.countFor('live');
    const llmCalls = fakes.openai.requests.countFor('chat');
    // A TTS call is an HTTP synthesis (sentence mode) or a multi-stream-input context (streamed
    // input, the default with ElevenLabs); what the pipeline's per-turn prewarm sends (the
    // WebSocket, 101, and `GET /v1/models`) makes a connection ready, is not a call, and is not
    // recorded.
    const httpSyntheses = fakes.elevenlabs.requests.entries.filter(
      (r) => r.transport === 'http' && (r.route === 'stream' || r.route === 'convert') && r.status === 200,
    ).length;
    const ttsCalls = httpSyntheses + fakes.elevenlabs.stats.contexts;
    expect(fakes.elevenlabs.stats.contexts).toBeGreaterThan(0);
    expect(sttCalls).toBe(turns.length);
    expect(llmCalls).toBeGreaterThan(turns.length); // the tool turn takes two rounds
    expect(ttsCalls).toBeGreaterThan(0);
    expect(count(OP.stt)).toBe(sttCalls);
    expect(count(OP.llm)).toBe(llmCalls);
    expect(count(OP.llmTtft)).toBe(llmCalls);
    expect(count(OP.tts)).toBe(ttsCalls);
    expect(count(OP.ttsTtfb)).toBe(ttsCalls);
    expect(count(OP.companyApi)).toBe(fakes.companyApi.requests.total);
    expect(count(OP.e2e)).toBe(turns.length);
    expect(count(OP.timeToFirstAudio)).toBe(turns.length);
    // Adapter-only figures are not recorded without a monitor given to the adapter.
    expect(count(OP.embed)).toBe(0);
    expect(performanceMonitor.operations().filter((op) => op.startsWith('vector_'))).toEqual([]);
  });
});
