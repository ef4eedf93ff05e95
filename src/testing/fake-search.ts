/**
 * Search without a service: {@link FakeDocumentSearch}, {@link FakeEmbedder} and
 * {@link InMemoryVectorIndex}.
 * @module
 */
import { abortableSleep, abortReason } from '../internal/abort.js';
import type {
  DocumentSearch,
  Embedder,
  SearchOptions,
  SearchResult,
  StageCallOptions,
  VectorIndex,
  VectorRecord,
} from '../pipeline/contracts.js';
import { cosineSimilarity, fakeEmbed } from './fake-embedding.js';
import { FAKE_LOG_LIMIT, log, throwIfAborted } from './fake-stage-kit.js';
import { LatencyModel, type LatencyProfile } from './latency.js';

/** A document for {@link FakeDocumentSearch}. */
export interface FakeSearchDocument {
  id: string;
  text: string;
  metadata?: Record<string, unknown>;
}

/**
 * An in-memory document search over {@link fakeEmbed} vectors (cosine similarity).
 *
 * @example
 * ```ts
 * const search = new FakeDocumentSearch([{ id: 'p1', text: 'Report a damaged trailer to dispatch within one hour.' }]);
 * await search.search('damaged trailer'); // [{ id: 'p1', score: 0.6, text: ... }]
 * ```
 */
export class FakeDocumentSearch implements DocumentSearch {
  readonly provider: string;
  readonly model: string;
  readonly latency: LatencyModel;
  /** The queries received, in order; the last {@link FAKE_LOG_LIMIT}. */
  readonly queries: string[] = [];
  readonly #docs: { doc: FakeSearchDocument; vector: number[] }[];

  constructor(
    documents: readonly FakeSearchDocument[],
    options: { provider?: string; model?: string; latency?: LatencyProfile; seed?: number | string } = {},
  ) {
    this.provider = options.provider ?? 'fake';
    this.model = options.model ?? 'fake-index';
    this.latency = new LatencyModel(options.latency ?? { kind: 'none' }, { seed: options.seed ?? 1 });
    this.#docs = documents.map((doc) => ({ doc, vector: fakeEmbed(doc.text, 256) }));
  }

  async search(query: string, options: SearchOptions = {}): Promise<SearchResult[]> {
    log(this.queries, query);
    await abortableSleep(this.latency.sample(), options.signal, abortReason);
    const q = fakeEmbed(query, 256);
    return this.#docs
      .map(({ doc, vector }) => {
        const r: SearchResult = { id: doc.id, score: cosineSimilarity(q, vector), text: doc.text };
        if (doc.metadata) r.metadata = doc.metadata;
        return r;
      })
      .sort((a, b) => b.score - a.score)
      .slice(0, options.topK ?? 5);
  }
}

/** An {@link Embedder} over {@link fakeEmbed}: deterministic, no model. */
export class FakeEmbedder implements Embedder {
  readonly provider = 'fake';
  readonly model = 'fake-embedding';
  readonly dimensions: number;
  /** Texts embedded so far; the last {@link FAKE_LOG_LIMIT}. */
  readonly texts: string[] = [];

  constructor(dimensions = 256) {
    this.dimensions = dimensions;
  }

  async embed(texts: readonly string[], options: StageCallOptions = {}): Promise<number[][]> {
    throwIfAborted(options.signal);
    for (const t of texts) log(this.texts, t);
    return texts.map((t) => fakeEmbed(t, this.dimensions));
  }
}

/** A {@link VectorIndex} in memory (cosine similarity, exact search; filters on equal metadata values). */
export class InMemoryVectorIndex implements VectorIndex {
  readonly provider = 'memory';
  readonly model: string;
  readonly #namespaces = new Map<string, Map<string, VectorRecord>>();

  constructor(name = 'memory-index') {
    this.model = name;
  }

  async upsert(
    records: readonly VectorRecord[],
    options: StageCallOptions & { namespace?: string } = {},
  ): Promise<void> {
    throwIfAborted(options.signal);
    const ns = options.namespace ?? '';
    let map = this.#namespaces.get(ns);
    if (!map) {
      map = new Map();
      this.#namespaces.set(ns, map);
    }
    for (const r of records) map.set(r.id, r);
  }

  async query(vector: readonly number[], options: SearchOptions = {}): Promise<SearchResult[]> {
    throwIfAborted(options.signal);
    const map = this.#namespaces.get(options.namespace ?? '') ?? new Map<string, VectorRecord>();
    const filter = options.filter ?? {};
    const out: SearchResult[] = [];
    for (const r of map.values()) {
      if (!Object.entries(filter).every(([k, v]) => r.metadata?.[k] === v)) continue;
      const res: SearchResult = { id: r.id, score: cosineSimilarity(vector, r.values) };
      if (r.metadata) {
        res.metadata = r.metadata;
        if (typeof r.metadata.text === 'string') res.text = r.metadata.text;
      }
      out.push(res);
    }
    return out.sort((a, b) => b.score - a.score).slice(0, options.topK ?? 5);
  }
}
