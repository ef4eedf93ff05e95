/**
 * The in-process target of `demo`, `load` and `check`: a full voice pipeline (STT → LLM with
 * the company-API tools and document search → TTS) with the cache, wired either on earshot's
 * fakes (no keys, nothing leaves the machine) or on the live providers.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { type CacheManager, createCacheManager } from '../cache/index.js';
import { createCachedCompanyApi, createCompanyApiClient } from '../company-api/index.js';
import { createCompanyApiTools } from '../company-api/tools.js';
import { loadConfigFromEnv } from '../config/index.js';
import {
  ConfigError,
  type EarshotError,
  InvalidArgumentError,
  MissingDependencyError,
  registerSecret,
  UpstreamError,
} from '../errors.js';
import { PerformanceMonitor } from '../perf/index.js';
import type { DocumentSearch, LanguageModel, SpeechToText, TextToSpeech } from '../pipeline/contracts.js';
import type { VoicePipelineOptions } from '../pipeline/options.js';
import type { TurnInput, VoicePipeline } from '../pipeline/pipeline.js';
import { createVoicePipeline } from '../pipeline/pipeline.js';
import { synthesizeFakeSpeech } from '../testing/audio.js';
import { type FakeCompanyApi, startFakeCompanyApi } from '../testing/fake-company-api.js';
import type { FakeProviders } from '../testing/fake-providers.js';
import {
  FakeDocumentSearch,
  FakeLanguageModel,
  FakeSpeechToText,
  FakeTextToSpeech,
} from '../testing/fake-stages.js';
import { latencyProfiles } from '../testing/latency.js';
import { type StageLatencyProfileName, stageLatencyProfiles } from '../testing/profiles.js';
import { DEMO_DOCUMENTS, DEMO_SYSTEM_PROMPT, type DemoIds } from './demo-data.js';
import { NoCache } from './no-cache.js';
import { WholeAnswerLanguageModel } from './sequential-stages.js';

/**
 * Where the stages come from: `fake` (earshot's in-process fake stages), `servers` (the real
 * provider adapters and SDKs against earshot's wire-compatible fake servers), `live` (the
 * real services).
 */
export type ProviderMode = 'fake' | 'servers' | 'live';

/** Provider modes `--providers` accepts; `auto` is `servers` when the provider SDKs are installed, else `fake`. */
export const PROVIDER_MODES = ['auto', 'fake', 'servers', 'live'] as const;

/** Options of {@link createPipelineTarget}. */
export interface PipelineTargetOptions {
  mode: ProviderMode | 'auto';
  monitor: PerformanceMonitor;
  /** Latency profile of the fake stages. Default `sourceDesignAfter`. */
  profile?: StageLatencyProfileName;
  seed?: number;
  /** Redis URL for the shared cache tier; absent: memory only. */
  redisUrl?: string | undefined;
  /** `false` turns every cache off (measures the uncached pipeline). */
  cache?: boolean;
  /**
   * With Redis: reuse the configured key prefix (`EARSHOT_REDIS_KEY_PREFIX`, default
   * `earshot:`), so entries cached by earlier runs answer. Default false: a fresh prefix per
   * run, whose entries are deleted when the target closes.
   */
  warmCache?: boolean;
  /**
   * The source design's "before" pipeline: stages one after another (the whole transcript,
   * then the whole answer, then speech), no overlap of the LLM and TTS.
   */
  sequential?: boolean;
  /** More pipeline options (latency techniques of the full pipeline). */
  pipelineOptions?: Partial<VoicePipelineOptions>;
  env: Readonly<Record<string, string | undefined>>;
  /** Progress messages (Redis connected, live providers wired...). */
  log?: (line: string) => void;
}

/** A ready pipeline and what the report says about it. */
export interface PipelineTarget {
  pipeline: VoicePipeline;
  cache: CacheManager | undefined;
  /** Ids of real records, for the questions. */
  ids: DemoIds;
  /** The company API (cached) for component checks. */
  companyApi: ReturnType<typeof createCachedCompanyApi>;
  search: DocumentSearch;
  /** Turns a question into the turn input (fake speech, or audio made by the live TTS). */
  input(question: string, signal?: AbortSignal): Promise<TurnInput>;
  description: string;
  providers: string;
  cacheDescription: string;
  /** Set when results may come from an earlier run's cache (`--warm-cache`): say it loudly. */
  cacheWarning?: string;
  close(): Promise<void>;
}

/** Provider keys the live mode needs, by stage. */
const LIVE_KEYS = ['DEEPGRAM_API_KEY', 'OPENAI_API_KEY', 'ELEVENLABS_API_KEY'] as const;

async function companyApiFor(
  o: PipelineTargetOptions,
  cache: CacheManager | undefined,
  running?: FakeCompanyApi,
): Promise<{
  api: ReturnType<typeof createCachedCompanyApi>;
  ids: DemoIds;
  fake?: FakeCompanyApi;
  where: string;
}> {
  const url = o.env.COMPANY_API_URL;
  if (o.mode === 'live' && url) {
    const key = o.env.COMPANY_API_KEY;
    registerSecret(key);
    const client = createCompanyApiClient({
      baseUrl: url,
      ...(key ? { apiKey: key } : {}),
      monitor: o.monitor,
    });
    const api = createCachedCompanyApi(client, cache ?? noCache, { monitor: o.monitor });
    const ids = await liveIds(api);
    return { api, ids, where: `company API at ${new URL(url).host}` };
  }
  // The company's API does not get faster with the source design's optimizations (the cache
  // answers repeats): the fake upstream is P50 60 / P90 100 ms on both profiles, and instant on
  // the instant profile (a check on it must not miss by construction).
  const instant = o.profile === 'instant';
  const fake =
    running ??
    (await startFakeCompanyApi({
      latency: instant ? latencyProfiles.instant : latencyProfiles.companyApi,
      seed: o.seed ?? 1,
    }));
  const client = createCompanyApiClient({ baseUrl: fake.url, monitor: o.monitor });
  const api = createCachedCompanyApi(client, cache ?? noCache, { monitor: o.monitor });
  const ids: DemoIds = {
    loads: fake.data.loads.slice(0, 40).map((l) => l.id),
    items: fake.data.inventory.slice(0, 40).map((i) => i.id),
    skus: fake.data.inventory.slice(0, 40).map((i) => i.sku),
    equipment: fake.data.equipment.slice(0, 40).map((e) => e.id),
  };
  const where = instant ? 'fake company API (no latency)' : 'fake company API (P50 60 ms, P90 100 ms)';
  // A fake started by startFakeProviders is closed with the others.
  return running ? { api, ids, where } : { api, ids, fake, where };
}

/** A cache that never hits, for `--no-cache` runs: the API wrapper then always loads. */
const noCache = new NoCache();

async function liveIds(api: ReturnType<typeof createCachedCompanyApi>): Promise<DemoIds> {
  const pick = <T>(v: unknown, f: (x: T) => string): string[] => {
    const list = Array.isArray(v)
      ? v
      : v && typeof v === 'object'
        ? Object.values(v).find(Array.isArray)
        : undefined;
    return ((list as T[] | undefined) ?? []).slice(0, 20).map(f);
  };
  const [loads, inventory, equipment] = await Promise.all([
    api.listLoads({ limit: 20 } as never),
    api.listInventory({ limit: 20 } as never),
    api.listEquipment({ limit: 20 } as never),
  ]);
  const ids: DemoIds = {
    loads: pick<{ id: string }>(loads, (x) => x.id),
    items: pick<{ id: string }>(inventory, (x) => x.id),
    skus: pick<{ sku: string }>(inventory, (x) => x.sku),
    equipment: pick<{ id: string }>(equipment, (x) => x.id),
  };
  for (const [k, v] of Object.entries(ids)) {
    if (v.length === 0)
      throw new InvalidArgumentError(
        `The company API returned no ${k}; the demo needs a few records to ask about.`,
      );
  }
  return ids;
}

async function cacheFor(o: PipelineTargetOptions): Promise<{
  cache: CacheManager | undefined;
  description: string;
  warning?: string;
  close: () => Promise<void>;
}> {
  if (o.cache === false) return { cache: undefined, description: 'off (--no-cache)', close: async () => {} };
  // The documented EARSHOT_* cache variables (TTLs, memory bounds, Redis prefix and timeouts).
  const cfg = loadConfigFromEnv(o.env).cache;
  const base = {
    monitor: o.monitor,
    namespaces: cfg.namespaces,
    memory: cfg.memory,
    maxValueBytes: cfg.maxValueBytes,
  };
  const url = o.redisUrl ?? cfg.redis?.url;
  if (!url) {
    const cache = createCacheManager(base);
    return { cache, description: 'embedded memory tier (lru-cache)', close: () => cache.close() };
  }
  const shared = cfg.redis?.keyPrefix ?? 'earshot:';
  // A fresh prefix per run: a second run must not read the answers cached by the first.
  const keyPrefix = o.warmCache
    ? shared
    : `${shared}run-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}:`;
  // Loaded only when asked for: ioredis is an optional peer of earshot.
  const { createRedisTier } = await import('../redis/index.js');
  const l2 = createRedisTier({
    url,
    keyPrefix,
    ...(cfg.redis
      ? { commandTimeoutMs: cfg.redis.commandTimeoutMs, connectTimeoutMs: cfg.redis.connectTimeoutMs }
      : {}),
  });
  const where = redisWhere(url);
  try {
    await l2.connect();
  } catch (err) {
    await l2.close().catch(() => {});
    throw new UpstreamError(
      `REDIS_URL is set, but Redis at ${where} is not reachable. Start Redis, fix REDIS_URL, or unset it to use the embedded cache.`,
      { provider: 'redis', retryable: true },
      { cause: err },
    );
  }
  const cache = createCacheManager({ ...base, l2 });
  await cache.connect();
  if (o.warmCache) {
    return {
      cache,
      description: `memory + Redis (${where}), shared key prefix "${keyPrefix}" reused (--warm-cache)`,
      warning: `WARM CACHE: entries cached in Redis by earlier runs under "${keyPrefix}" answer as hits; latencies and the hit rate are not those of a first visit.`,
      close: () => cache.close(),
    };
  }
  return {
    cache,
    description: `memory + Redis (${where}), fresh key prefix "${keyPrefix}" (deleted at the end)`,
    close: async () => {
      const names = new Set([...Object.keys(cfg.namespaces), ...Object.keys(cache.stats().namespaces)]);
      for (const ns of names) await cache.invalidateNamespace(ns).catch(() => {});
      // Then every key of this run's prefix (locks, late background writes), twice: a write
      // that was in flight during the first sweep lands before the second.
      await sweepPrefix(l2.client, keyPrefix);
      await new Promise((r) => setTimeout(r, 250));
      await sweepPrefix(l2.client, keyPrefix);
      await cache.close();
    },
  };
}

/** Deletes every key under `prefix` (SCAN + UNLINK; a single node only). Best effort. */
async function sweepPrefix(client: unknown, prefix: string): Promise<void> {
  const c = client as {
    scan?: (cursor: string, ...args: (string | number)[]) => Promise<[string, string[]]>;
    unlink?: (...keys: string[]) => Promise<number>;
  };
  if (typeof c.scan !== 'function' || typeof c.unlink !== 'function') return;
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await c.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await c.unlink(...keys);
    } while (cursor !== '0');
  } catch {
    // best effort: the entries expire with their TTL anyway
  }
}

function redisWhere(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '6379'}`;
  } catch {
    return 'REDIS_URL';
  }
}

interface Stages {
  stt: SpeechToText;
  llm: LanguageModel;
  tts: TextToSpeech;
  search: DocumentSearch;
  input: PipelineTarget['input'];
  providers: string;
}

function fakeStages(o: PipelineTargetOptions): Stages {
  const name = o.profile ?? 'sourceDesignAfter';
  const p = stageLatencyProfiles[name];
  const seed = o.seed ?? 1;
  return {
    stt: new FakeSpeechToText({ latency: p.stt, seed }),
    llm: new FakeLanguageModel({ latency: p.llm, seed: seed + 1 }),
    tts: new FakeTextToSpeech({ latency: p.tts, seed: seed + 2 }),
    search: new FakeDocumentSearch(DEMO_DOCUMENTS, { latency: p.search, seed: seed + 3 }),
    input: async (question) => synthesizeFakeSpeech(question),
    providers: `earshot fakes, latency profile "${name}" (no network, no keys)`,
  };
}

/** Connection options of the adapters: the fake servers' (servers mode) or none (live: keys from env). */
interface AdapterEndpoints {
  deepgram?: { apiKey: string; baseUrl: string };
  openai?: { apiKey: string; baseURL: string };
  embedder?: { apiKey: string; baseURL: string; dimensions: number };
  elevenlabs?: { apiKey: string; baseUrl: string };
  pinecone?: { apiKey: string; host: string; controllerHostUrl: string; indexName: string };
}

/**
 * The provider adapters (real SDKs). They get a private monitor: the pipeline records the
 * stages into the run's monitor, and the adapters' own records under the same names would
 * count every call twice.
 */
async function adapterStages(o: PipelineTargetOptions, at: AdapterEndpoints, live: boolean): Promise<Stages> {
  const own = new PerformanceMonitor();
  // Provider adapters load their SDKs lazily; `create` makes a missing SDK fail here.
  const [{ DeepgramSpeechToText }, { OpenAILanguageModel, OpenAIEmbedder }, { ElevenLabsTextToSpeech }] =
    await Promise.all([
      import('../providers/deepgram/index.js'),
      import('../providers/openai/index.js'),
      import('../providers/elevenlabs/index.js'),
    ]);
  const stt = await DeepgramSpeechToText.create({ ...at.deepgram, monitor: own });
  const llm = await OpenAILanguageModel.create({ ...at.openai, monitor: own, maxTokens: 300 });
  const tts = await ElevenLabsTextToSpeech.create({
    ...at.elevenlabs,
    monitor: own,
    outputFormat: 'pcm_16000',
  });
  let search: DocumentSearch = new FakeDocumentSearch(DEMO_DOCUMENTS);
  let searchName = 'in-memory documents';
  const indexName = at.pinecone?.indexName ?? o.env.PINECONE_INDEX;
  if (at.pinecone || (o.env.PINECONE_API_KEY && indexName)) {
    const [{ PineconeVectorIndex }, { createEmbeddingSearch }] = await Promise.all([
      import('../providers/pinecone/index.js'),
      import('../pipeline/search.js'),
    ]);
    const index = await PineconeVectorIndex.create({
      ...(at.pinecone ?? { indexName: indexName! }),
      monitor: own,
    });
    const embedder = await OpenAIEmbedder.create({ ...at.embedder, monitor: own });
    search = createEmbeddingSearch(embedder, index);
    searchName = `Pinecone index ${indexName}`;
  }
  if (!live) {
    return {
      stt,
      llm,
      tts,
      search,
      input: async (question) => ({ audio: synthesizeFakeSpeech(question), format: 'pcm_16000' }),
      providers: `Deepgram, OpenAI, ElevenLabs and Pinecone adapters on their SDKs, against earshot's fake servers on 127.0.0.1, latency profile "${o.profile ?? 'sourceDesignAfter'}"`,
    };
  }
  // The question audio is made once per question by the live TTS (not timed), so STT hears speech.
  const audioOf = new Map<string, Promise<Uint8Array>>();
  const input: PipelineTarget['input'] = async (question, signal) => {
    let audio = audioOf.get(question);
    if (!audio) {
      audio = (async () => {
        const parts: Uint8Array[] = [];
        for await (const chunk of tts.synthesize(question, signal ? { signal } : {})) parts.push(chunk.data);
        return Buffer.concat(parts);
      })();
      audioOf.set(question, audio);
      audio.catch(() => audioOf.delete(question));
    }
    return { audio: await audio, format: 'pcm_16000' };
  };
  return { stt, llm, tts, search, input, providers: `live: Deepgram, OpenAI, ElevenLabs, ${searchName}` };
}

/**
 * The fake servers need `ws` (a dev dependency of earshot, not a dependency). `earshot/testing`
 * loads it on first use, so a missing `ws` surfaces when the servers start: said here in the
 * CLI's words (the user asked for `--providers servers`, not for `earshot/testing`).
 */
async function startFakeServers(
  options: Parameters<typeof import('../testing/fake-providers.js').startFakeProviders>[0],
): Promise<FakeProviders> {
  const { startFakeProviders } = await import('../testing/fake-providers.js');
  try {
    return await startFakeProviders(options);
  } catch (err) {
    if (err instanceof MissingDependencyError && err.packageName === 'ws') {
      throw new MissingDependencyError('ws', 'The fake provider servers (--providers servers)', {
        cause: err,
      });
    }
    throw err;
  }
}

function checkLiveKeys(env: PipelineTargetOptions['env']): void {
  const missing = LIVE_KEYS.filter((k) => !env[k]);
  if (missing.length > 0) {
    throw new ConfigError(
      missing.map((k) => ({ path: k, message: 'is not set; --live needs a key for every provider' })),
      { source: 'environment (--live)' },
    );
  }
}

/**
 * Builds the pipeline target. Throws ConfigError when `--live` lacks a key, and
 * MissingDependencyError when a provider SDK (or ioredis for REDIS_URL) is not installed.
 */
export async function createPipelineTarget(o: PipelineTargetOptions): Promise<PipelineTarget> {
  if (o.mode === 'auto') {
    try {
      return await createPipelineTarget({ ...o, mode: 'servers' });
    } catch (err) {
      if (!(err instanceof MissingDependencyError)) throw err;
      o.log?.(`provider SDKs not installed (${err.packageName} missing): using the in-process fake stages`);
      return createPipelineTarget({ ...o, mode: 'fake' });
    }
  }
  const closers: (() => Promise<void>)[] = [];
  try {
    if (o.mode === 'live') checkLiveKeys(o.env);
    const c = await cacheFor(o);
    closers.push(c.close);
    let fakes: FakeProviders | undefined;
    if (o.mode === 'servers') {
      fakes = await startFakeServers({
        latency: o.profile ?? 'sourceDesignAfter',
        seed: o.seed ?? 1,
        documents: DEMO_DOCUMENTS,
      });
      const running = fakes;
      closers.push(() => running.close());
    }
    const api = await companyApiFor(o, c.cache, fakes?.companyApi);
    if (api.fake) {
      const fake = api.fake;
      closers.push(() => fake.close());
    }
    const stages =
      o.mode === 'fake'
        ? fakeStages(o)
        : await adapterStages(o, fakes ? { ...fakes.options } : {}, o.mode === 'live');
    const pipeline = createVoicePipeline({
      ...o.pipelineOptions,
      stt: stages.stt,
      llm: o.sequential ? new WholeAnswerLanguageModel(stages.llm) : stages.llm,
      tts: stages.tts,
      tools: createCompanyApiTools(api.api),
      search: stages.search,
      systemPrompt: DEMO_SYSTEM_PROMPT,
      monitor: o.monitor,
      ...(c.cache ? { cache: { store: c.cache, llm: true, tts: true, search: true } } : {}),
    });
    return {
      pipeline,
      cache: c.cache,
      ids: api.ids,
      companyApi: api.api,
      search: stages.search,
      input: stages.input,
      description: `in-process voice pipeline (STT → LLM + tools → TTS), ${api.where}`,
      providers: stages.providers,
      cacheDescription: c.description,
      ...(c.warning ? { cacheWarning: c.warning } : {}),
      async close() {
        for (const close of closers.reverse()) await close().catch(() => {});
      },
    };
  } catch (err) {
    for (const close of closers.reverse()) await close().catch(() => {});
    throw err as EarshotError;
  }
}
