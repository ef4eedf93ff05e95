/**
 * Every fake at once: Deepgram, OpenAI, ElevenLabs, Pinecone (seeded with a small document
 * base) and the company API, on ephemeral 127.0.0.1 ports, with one latency profile, plus the
 * options that point each earshot adapter (or the raw SDK) at its fake.
 * @module
 */
import { type FakeCompanyApi, startFakeCompanyApi } from './fake-company-api.js';
import { type FakeDeepgram, startFakeDeepgram } from './fake-deepgram.js';
import { type FakeElevenLabs, startFakeElevenLabs } from './fake-elevenlabs.js';
import { fakeEmbed } from './fake-embedding.js';
import { type FakeOpenAI, startFakeOpenAI } from './fake-openai.js';
import { type FakePinecone, startFakePinecone } from './fake-pinecone.js';
import { type FaultProfile, latencyProfiles } from './latency.js';
import { type StageLatencyProfile, type StageLatencyProfileName, stageLatencyProfiles } from './profiles.js';

/** A document of the fake knowledge base. */
export interface FakeDocument {
  id: string;
  text: string;
  /** Filterable metadata; `text` is added automatically. */
  metadata?: Record<string, string | number | boolean>;
}

/** The document base the fake Pinecone index starts with (a logistics company's handbook). */
export const FAKE_DOCUMENTS: readonly FakeDocument[] = [
  {
    id: 'doc-detention',
    text: 'Detention is billed at 75 dollars per hour after two free hours at the shipper or receiver.',
    metadata: { topic: 'billing' },
  },
  {
    id: 'doc-reefer',
    text: 'Reefer loads must be pre-cooled to the set point before loading and checked every four hours in transit.',
    metadata: { topic: 'equipment' },
  },
  {
    id: 'doc-hazmat',
    text: 'Hazmat loads require placards, a certified driver and the emergency response guide in the cab.',
    metadata: { topic: 'safety' },
  },
  {
    id: 'doc-pod',
    text: 'A proof of delivery must be uploaded within 24 hours of delivery for the invoice to be released.',
    metadata: { topic: 'billing' },
  },
  {
    id: 'doc-inspection',
    text: 'Trailer inspection covers tires, brakes, lights and doors, and is logged before every dispatch.',
    metadata: { topic: 'equipment' },
  },
  {
    id: 'doc-weight',
    text: 'The maximum gross weight is 80,000 pounds; overweight loads need a permit before dispatch.',
    metadata: { topic: 'safety' },
  },
  {
    id: 'doc-returns',
    text: 'Damaged inventory is returned to the warehouse and counted within two business days.',
    metadata: { topic: 'inventory' },
  },
  {
    id: 'doc-cycle-count',
    text: 'Inventory cycle counts run every Monday; discrepancies over two percent are escalated.',
    metadata: { topic: 'inventory' },
  },
];

/** Options of {@link startFakeProviders}. */
export interface FakeProvidersOptions {
  /**
   * Latency of every fake: a stage profile name (`instant`, `sourceDesignBefore`,
   * `sourceDesignAfter`) or a profile object. Default `instant`.
   */
  latency?: StageLatencyProfileName | StageLatencyProfile;
  /** Seed of every latency and fault draw. Default 1. */
  seed?: number;
  /** Faults of every fake (change one fake at runtime with `fakes.<name>.faults.set`). */
  faults?: FaultProfile;
  /** Documents of the fake Pinecone index. Default {@link FAKE_DOCUMENTS}. */
  documents?: readonly FakeDocument[];
  /** Embedding dimensions of the fake OpenAI embeddings and the index. Default 256. */
  dimensions?: number;
}

/** Running fakes and the options that point clients at them. */
export interface FakeProviders {
  readonly deepgram: FakeDeepgram;
  readonly openai: FakeOpenAI;
  readonly elevenlabs: FakeElevenLabs;
  readonly pinecone: FakePinecone;
  readonly companyApi: FakeCompanyApi;
  /** Ready-made options: spread them into the adapters' options. */
  readonly options: {
    deepgram: { apiKey: string; baseUrl: string };
    openai: { apiKey: string; baseURL: string };
    embedder: { apiKey: string; baseURL: string; dimensions: number };
    elevenlabs: { apiKey: string; baseUrl: string };
    pinecone: { apiKey: string; host: string; controllerHostUrl: string; indexName: string };
    companyApi: { baseUrl: string; apiKey: string };
  };
  /** Stops every fake. */
  close(): Promise<void>;
}

/** A placeholder key: the fakes accept any non-empty key. Never a real one. */
const FAKE_KEY = 'fake-key-for-local-tests';

/**
 * Starts every fake server and returns them with client options.
 *
 * @example
 * ```ts
 * const fakes = await startFakeProviders({ latency: 'sourceDesignAfter' });
 * const llm = new OpenAILanguageModel({ ...fakes.options.openai });
 * const tts = new ElevenLabsTextToSpeech({ ...fakes.options.elevenlabs });
 * // ...
 * await fakes.close();
 * ```
 */
export async function startFakeProviders(options: FakeProvidersOptions = {}): Promise<FakeProviders> {
  const profile =
    typeof options.latency === 'object'
      ? options.latency
      : stageLatencyProfiles[options.latency ?? 'instant'];
  const seed = options.seed ?? 1;
  const dimensions = options.dimensions ?? 256;
  const faults = options.faults;
  const documents = options.documents ?? FAKE_DOCUMENTS;
  const instant = profile === stageLatencyProfiles.instant;
  const started: Array<{ close(): Promise<void> }> = [];
  const track = <T extends { close(): Promise<void> }>(p: Promise<T>) =>
    p.then((server) => {
      started.push(server);
      return server;
    });
  try {
    const withFaults = faults === undefined ? {} : { faults };
    const [deepgram, openai, elevenlabs, pinecone, companyApi] = await Promise.all([
      track(startFakeDeepgram({ latency: profile.stt, seed, ...withFaults })),
      track(
        startFakeOpenAI({
          latency: profile.llm.ttft,
          tokensPerSecond: profile.llm.tokensPerSecond,
          embeddingDimensions: dimensions,
          seed,
          ...withFaults,
        }),
      ),
      // Real-time pacing unless instant: audio arrives as fast as a real voice would play it ×4.
      track(
        startFakeElevenLabs({
          latency: profile.tts.ttfb,
          audioRate: instant ? Number.POSITIVE_INFINITY : 4,
          seed,
          ...withFaults,
        }),
      ),
      track(
        startFakePinecone({
          latency: profile.search,
          dimension: dimensions,
          seed,
          records: documents.map((d) => ({
            id: d.id,
            values: fakeEmbed(d.text, dimensions),
            metadata: { ...d.metadata, text: d.text },
          })),
          ...withFaults,
        }),
      ),
      track(
        startFakeCompanyApi({
          latency: instant ? latencyProfiles.instant : latencyProfiles.companyApi,
          seed,
          ...withFaults,
        }),
      ),
    ]);
    return {
      deepgram,
      openai,
      elevenlabs,
      pinecone,
      companyApi,
      options: {
        deepgram: { apiKey: FAKE_KEY, baseUrl: deepgram.url },
        openai: { apiKey: FAKE_KEY, baseURL: openai.baseURL },
        embedder: { apiKey: FAKE_KEY, baseURL: openai.baseURL, dimensions },
        elevenlabs: { apiKey: FAKE_KEY, baseUrl: elevenlabs.url },
        pinecone: {
          apiKey: FAKE_KEY,
          host: pinecone.url,
          controllerHostUrl: pinecone.url,
          indexName: pinecone.indexName,
        },
        companyApi: { baseUrl: companyApi.url, apiKey: FAKE_KEY },
      },
      close: async () => {
        await Promise.all(started.map((s) => s.close()));
      },
    };
  } catch (err) {
    await Promise.allSettled(started.map((s) => s.close()));
    throw err;
  }
}
