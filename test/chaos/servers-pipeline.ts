/**
 * The demo pipeline on the real provider adapters and SDKs, against earshot's fake servers on
 * 127.0.0.1 (what `earshot demo --providers servers` runs), with knobs the chaos tests need:
 * short adapter timeouts, pipeline deadlines above them, a healthy second set of STT/LLM/TTS
 * fakes as fallbacks, and a per-provider sample log of what the adapters recorded.
 */
import {
  DEMO_DOCUMENTS,
  DEMO_SYSTEM_PROMPT,
  type DemoIds,
  demoQuestion,
  type QuestionKind,
} from '../../src/cli/demo-data.js';
import { createCompanyApiClient } from '../../src/company-api/index.js';
import { createCompanyApiTools } from '../../src/company-api/tools.js';
import { PerformanceMonitor } from '../../src/perf/index.js';
import type { TurnInput, VoicePipeline } from '../../src/pipeline/pipeline.js';
import { createVoicePipeline } from '../../src/pipeline/pipeline.js';
import { createEmbeddingSearch } from '../../src/pipeline/search.js';
import { DeepgramSpeechToText } from '../../src/providers/deepgram/index.js';
import { ElevenLabsTextToSpeech } from '../../src/providers/elevenlabs/index.js';
import { createOpenAIEmbedder, createOpenAILanguageModel } from '../../src/providers/openai/index.js';
import { createPineconeVectorIndex } from '../../src/providers/pinecone/index.js';
import {
  type FakeDeepgram,
  type FakeElevenLabs,
  type FakeOpenAI,
  type FakeProviders,
  type StageLatencyProfile,
  startFakeDeepgram,
  startFakeElevenLabs,
  startFakeOpenAI,
  startFakeProviders,
  synthesizeFakeSpeech,
} from '../../src/testing/index.js';

/**
 * Adapter timeouts. Each sits below the pipeline deadline of its stage, so a stalled provider
 * is cut by its adapter (recorded as `outcome: timeout`, an error) before the pipeline gives
 * up on the stage (which would record the adapter call as `aborted`, not an error).
 */
export const ADAPTER_TIMEOUTS = {
  deepgram: 2000,
  openai: { timeoutMs: 4000, idleTimeoutMs: 1500 },
  elevenlabs: 2000,
  pinecone: 1500,
  embedder: 1500,
  companyApi: 1500,
} as const;

/**
 * Pipeline deadlines, each above the adapter timeout beneath it. Both are far above what a
 * healthy fake takes even on a starved 2-core CI box (loop lag up to ~250 ms measured), so a
 * timeout here is an injected stall, never a slow machine.
 */
export const PIPELINE_DEADLINES = {
  stt: 3000,
  llmFirstToken: 3000,
  llm: 8000,
  ttsFirstByte: 3000,
  tts: 8000,
  tool: 3000,
  search: 2500,
} as const;

/**
 * The longest a turn can take when every stage uses all its time, derived from the deadlines:
 * STT primary + fallback; per model round (at most maxToolRounds + 1 = 3 here) the primary's
 * first-token deadline then the fallback's whole call, plus a tool; per spoken chunk (at most
 * 4 in these answers, one TTS request at a time) primary first byte + fallback whole request.
 * Anything past it means a stage waited on something no deadline covers.
 */
export const TURN_BUDGET_MS =
  2 * PIPELINE_DEADLINES.stt +
  3 * (PIPELINE_DEADLINES.llmFirstToken + PIPELINE_DEADLINES.llm + PIPELINE_DEADLINES.tool) +
  4 * (PIPELINE_DEADLINES.ttsFirstByte + PIPELINE_DEADLINES.tts);

/** A light latency profile: realistic overlap between stages, cheap enough for a 2-core CI box. */
export const LIGHT_PROFILE: StageLatencyProfile = {
  stt: { kind: 'distribution', p50Ms: 15, p90Ms: 30 },
  llm: { ttft: { kind: 'distribution', p50Ms: 20, p90Ms: 40 }, tokensPerSecond: 2000 },
  tts: { ttfb: { kind: 'distribution', p50Ms: 15, p90Ms: 30 }, bytesPerSecond: Number.POSITIVE_INFINITY },
  tool: { kind: 'distribution', p50Ms: 5, p90Ms: 10 },
  search: { kind: 'distribution', p50Ms: 5, p90Ms: 10 },
};

/** One adapter sample, as the adapters recorded it. */
export interface AdapterSample {
  name: string;
  provider: string;
  outcome: string;
  labels: Record<string, unknown>;
}

/** Adapter samples, kept in order, with per-provider error counts. */
export class SampleLog {
  readonly samples: AdapterSample[] = [];

  add(name: string, labels: Record<string, unknown>): void {
    this.samples.push({
      name,
      provider: String(labels.provider ?? (name === 'company_api' ? 'company_api' : '?')),
      outcome: String(labels.outcome ?? ''),
      labels,
    });
  }

  clear(): void {
    this.samples.length = 0;
  }

  /**
   * Failed calls of `provider`: samples with outcome `error` or `timeout` of its request-level
   * operations (`stt`, `llm`, `embed`, `tts`, `vector_*`, `company_api`; not the derived
   * `llm_ttft` / `tts_ttfb` / `llm_tpot`, which repeat a call already counted).
   */
  failures(provider: string): number {
    return this.samples.filter(
      (s) =>
        s.provider === provider &&
        (s.outcome === 'error' || s.outcome === 'timeout') &&
        REQUEST_OPERATIONS.test(s.name),
    ).length;
  }

  count(provider: string, outcome: string): number {
    return this.samples.filter(
      (s) => s.provider === provider && s.outcome === outcome && REQUEST_OPERATIONS.test(s.name),
    ).length;
  }
}

const REQUEST_OPERATIONS = /^(stt|llm|embed|tts|vector_\w+|company_api)$/;

/** A monitor that also logs each sample with its labels (adapter-level error accounting). */
function loggingMonitor(log: SampleLog): PerformanceMonitor {
  const m = new PerformanceMonitor();
  m.onRecord((e) => log.add(e.name, e.labels as Record<string, unknown>));
  return m;
}

export interface ServersPipeline {
  pipeline: VoicePipeline;
  fakes: FakeProviders;
  /** The healthy fakes behind the fallback adapters (when `fallbacks`). */
  secondary: { deepgram: FakeDeepgram; openai: FakeOpenAI; elevenlabs: FakeElevenLabs } | undefined;
  /** The run's monitor: what the pipeline records (stages, turns). */
  monitor: PerformanceMonitor;
  /** Samples of the primary adapters (the ones whose fakes misbehave). */
  primary: SampleLog;
  /** Samples of the fallback adapters. */
  fallback: SampleLog;
  ids: DemoIds;
  question(kind: QuestionKind, random: () => number): string;
  /** Turn input: the question as fake speech, as one buffer or as a stream of 100 ms chunks. */
  input(question: string, streamed: boolean): TurnInput;
  close(): Promise<void>;
}

export interface ServersPipelineOptions {
  seed?: number;
  fallbacks?: boolean;
  ttsConcurrency?: number;
  /** The pipeline's `ttsInput` (default: the pipeline's default, `'auto'`). */
  ttsInput?: 'auto' | 'sentence' | 'stream';
  /** Stage deadlines; default {@link PIPELINE_DEADLINES}. */
  deadlines?: Partial<Record<keyof typeof PIPELINE_DEADLINES, number>>;
}

/** Starts the fakes and wires the pipeline on the real adapters. */
export async function startServersPipeline(o: ServersPipelineOptions = {}): Promise<ServersPipeline> {
  const seed = o.seed ?? 1;
  const closers: (() => Promise<void>)[] = [];
  try {
    const fakes = await startFakeProviders({
      latency: LIGHT_PROFILE,
      seed,
      documents: DEMO_DOCUMENTS,
    });
    closers.push(() => fakes.close());
    // The fake company API of startFakeProviders answers at once; give it the profile's tool latency.
    fakes.companyApi.latency.set(LIGHT_PROFILE.tool);
    // Audio at 20× real time: still streamed in several chunks (so faults land mid-stream), but a
    // three-sentence answer does not hold a virtual user for seconds.
    fakes.elevenlabs.audioRate = 20;

    const primary = new SampleLog();
    const fallback = new SampleLog();
    const own = loggingMonitor(primary);
    const monitor = new PerformanceMonitor();

    const stt = await DeepgramSpeechToText.create({
      ...fakes.options.deepgram,
      monitor: own,
      timeoutMs: ADAPTER_TIMEOUTS.deepgram,
    });
    const llm = await createOpenAILanguageModel({
      ...fakes.options.openai,
      monitor: own,
      maxTokens: 300,
      // The SDK logs the malformed frames it is fed to the console; the adapter reports them.
      logLevel: 'off',
      ...ADAPTER_TIMEOUTS.openai,
    });
    const tts = await ElevenLabsTextToSpeech.create({
      ...fakes.options.elevenlabs,
      monitor: own,
      outputFormat: 'pcm_16000',
      timeoutMs: ADAPTER_TIMEOUTS.elevenlabs,
    });
    const index = await createPineconeVectorIndex({
      ...fakes.options.pinecone,
      monitor: own,
      timeoutMs: ADAPTER_TIMEOUTS.pinecone,
    });
    const embedder = await createOpenAIEmbedder({
      ...fakes.options.embedder,
      monitor: own,
      timeoutMs: ADAPTER_TIMEOUTS.embedder,
    });
    // No retries: every injected fault then maps to exactly one failed call in the monitor.
    const companyApi = createCompanyApiClient({
      ...fakes.options.companyApi,
      monitor: own,
      retries: 0,
      timeoutMs: ADAPTER_TIMEOUTS.companyApi,
    });

    let secondary: ServersPipeline['secondary'];
    let fallbacks = {};
    if (o.fallbacks) {
      const [dg, oa, el] = await Promise.all([
        startFakeDeepgram({ latency: LIGHT_PROFILE.stt, seed: seed + 100 }),
        startFakeOpenAI({
          latency: LIGHT_PROFILE.llm.ttft,
          tokensPerSecond: LIGHT_PROFILE.llm.tokensPerSecond,
          seed: seed + 100,
        }),
        startFakeElevenLabs({ latency: LIGHT_PROFILE.tts.ttfb, audioRate: 20, seed: seed + 100 }),
      ]);
      closers.push(
        () => dg.close(),
        () => oa.close(),
        () => el.close(),
      );
      secondary = { deepgram: dg, openai: oa, elevenlabs: el };
      const fbMonitor = loggingMonitor(fallback);
      const key = fakes.options.openai.apiKey;
      fallbacks = {
        stt: await DeepgramSpeechToText.create({
          apiKey: key,
          baseUrl: dg.url,
          monitor: fbMonitor,
          timeoutMs: ADAPTER_TIMEOUTS.deepgram,
        }),
        llm: await createOpenAILanguageModel({
          apiKey: key,
          baseURL: oa.baseURL,
          monitor: fbMonitor,
          maxTokens: 300,
          logLevel: 'off',
          ...ADAPTER_TIMEOUTS.openai,
        }),
        tts: await ElevenLabsTextToSpeech.create({
          apiKey: key,
          baseUrl: el.url,
          monitor: fbMonitor,
          outputFormat: 'pcm_16000',
          timeoutMs: ADAPTER_TIMEOUTS.elevenlabs,
        }),
      };
    }

    const pipeline = createVoicePipeline({
      stt,
      llm,
      tts,
      tools: createCompanyApiTools(companyApi),
      search: createEmbeddingSearch(embedder, index),
      systemPrompt: DEMO_SYSTEM_PROMPT,
      monitor,
      deadlines: { ...PIPELINE_DEADLINES, ...o.deadlines },
      fallbacks,
      ttsConcurrency: o.ttsConcurrency ?? 2,
      ...(o.ttsInput ? { ttsInput: o.ttsInput } : {}),
    });
    const ids: DemoIds = {
      loads: fakes.companyApi.data.loads.slice(0, 40).map((l) => l.id),
      items: fakes.companyApi.data.inventory.slice(0, 40).map((i) => i.id),
      skus: fakes.companyApi.data.inventory.slice(0, 40).map((i) => i.sku),
      equipment: fakes.companyApi.data.equipment.slice(0, 40).map((e) => e.id),
    };
    const speech = new Map<string, Uint8Array>();
    return {
      pipeline,
      fakes,
      secondary,
      monitor,
      primary,
      fallback,
      ids,
      question: (kind, random) => demoQuestion(kind, ids, random),
      input(question, streamed) {
        let audio = speech.get(question);
        if (audio === undefined) {
          audio = synthesizeFakeSpeech(question);
          speech.set(question, audio);
        }
        if (!streamed) return { audio, format: 'pcm_16000' };
        const bytes = audio;
        return {
          format: 'pcm_16000',
          audio: (async function* () {
            // 100 ms chunks, sent faster than real time (a recorded utterance replayed).
            for (let i = 0; i < bytes.length; i += 3200) {
              yield bytes.subarray(i, Math.min(bytes.length, i + 3200));
              await new Promise((r) => setTimeout(r, 2));
            }
          })(),
        };
      },
      async close() {
        for (const c of closers.reverse()) await c().catch(() => {});
      },
    };
  } catch (err) {
    for (const c of closers.reverse()) await c().catch(() => {});
    throw err;
  }
}
