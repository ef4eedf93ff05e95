/**
 * `PineconeVectorIndex`: the `VectorIndex` stage contract over a Pinecone index.
 * @module
 */
import type { Index, Pinecone, PineconeConfiguration, RecordMetadata } from '@pinecone-database/pinecone';
import { InvalidArgumentError, MissingDependencyError } from '../../errors.js';
import { raceAbort, throwIfAborted } from '../../internal/abort.js';
import type {
  SearchOptions,
  SearchResult,
  StageCallOptions,
  VectorIndex,
  VectorRecord,
} from '../../pipeline/contracts.js';
import { type LatencyRecorder, lazyAsync, outcomeOf, recorderOf, resolveApiKey } from '../shared/index.js';
import { malformed, mapPineconeError, PROVIDER } from './errors.js';
import {
  normalizeHost,
  type PineconeVectorIndexOptions,
  parsePineconeOptions,
  type ResolvedPineconeVectorIndexOptions,
} from './options.js';
import { loadPineconeSdk } from './sdk.js';
import {
  createTimedFetch,
  type PineconeCallState,
  runPineconeCall,
  settlePineconeCall,
} from './timed-fetch.js';

/** What {@link PineconeVectorIndex.describeStats} returns. */
export interface PineconeIndexStats {
  /** Vector size, when the index has one. */
  dimension?: number;
  /** Records over every namespace. */
  totalRecordCount: number;
  /** Namespace → record count. */
  namespaces: Record<string, number>;
}

/** A connection used within this many ms is still warm: prewarm then sends nothing. */
const WARM_FOR_MS = 2_000;

function checkVector(vector: unknown, what: string): number[] {
  if (!Array.isArray(vector) || vector.length === 0) {
    throw new InvalidArgumentError(`${what}: the vector must be a non-empty array of numbers.`);
  }
  for (let i = 0; i < vector.length; i++) {
    if (typeof vector[i] !== 'number' || !Number.isFinite(vector[i])) {
      throw new InvalidArgumentError(`${what}: vector[${i}] is not a finite number.`);
    }
  }
  return [...(vector as number[])];
}

function checkMetadata(metadata: unknown, where: string): void {
  if (metadata === undefined) return;
  if (!metadata || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new InvalidArgumentError(`${where}.metadata must be a plain object.`);
  }
  for (const [k, v] of Object.entries(metadata)) {
    const ok =
      typeof v === 'string' ||
      typeof v === 'boolean' ||
      (typeof v === 'number' && Number.isFinite(v)) ||
      (Array.isArray(v) && v.every((x) => typeof x === 'string'));
    if (!ok) {
      throw new InvalidArgumentError(
        `${where}.metadata.${k} must be a string, a finite number, a boolean or a list of strings (Pinecone's types).`,
      );
    }
  }
}

/**
 * A Pinecone index as the pipeline's `VectorIndex`: `query` (top-k, namespace, metadata filter)
 * and `upsert` (batched), over the official `@pinecone-database/pinecone` SDK (an optional
 * peer: `npm install @pinecone-database/pinecone`, loaded on first use).
 *
 * With a `monitor` option, every HTTP attempt is timed through a wrapped `fetchApi` and recorded as `vector_query`,
 * `vector_upsert`, `vector_stats` or `vector_describe_index` (labels `provider: 'pinecone'`,
 * `index`, `outcome`), and cut after `timeoutMs`: the SDK has no timeout of its own. The
 * pipeline records the whole document search (embed + query) as `search`.
 *
 * Pass the index `host` (from the Pinecone console or `describeIndex`): then no control-plane
 * call is made, and the SDK's process-wide host cache (keyed by API key and index name, shared
 * by every client in the process) never comes into play.
 *
 * @example
 * ```ts
 * import { PineconeVectorIndex } from 'earshot/pinecone';
 * const index = new PineconeVectorIndex({ host: 'docs-abc123.svc.aped-4627-b74a.pinecone.io', indexName: 'docs' });
 * const hits = await index.query(vector, { topK: 3, namespace: 'handbook', filter: { lang: { $eq: 'en' } } });
 * ```
 */
export class PineconeVectorIndex implements VectorIndex {
  readonly provider = PROVIDER;
  /** The index name, or its host when no name was given (the `index` label of metrics). */
  readonly model: string;
  readonly #options: ResolvedPineconeVectorIndexOptions;
  readonly #apiKey: string;
  readonly #monitor: LatencyRecorder;
  readonly #getIndex = lazyAsync(() => this.#connect());
  #lastUsedAt = Number.NEGATIVE_INFINITY;
  #prewarming: Promise<void> | undefined;

  /** Validates options (ConfigError) and resolves the API key; the SDK loads on first use. */
  constructor(options: PineconeVectorIndexOptions) {
    this.#options = parsePineconeOptions(options);
    this.#apiKey = resolveApiKey(this.#options.apiKey, 'PINECONE_API_KEY', 'Pinecone');
    this.model =
      this.#options.indexName ?? normalizeHost(this.#options.host as string).replace(/^https?:\/\//, '');
    this.#monitor = recorderOf(this.#options.monitor);
  }

  /**
   * Creates the index and loads the SDK now (and, without `host`, looks the host up), so a
   * missing package or a wrong index shows at startup.
   *
   * @example
   * ```ts
   * const index = await PineconeVectorIndex.create({ host: process.env.PINECONE_HOST });
   * ```
   */
  static async create(options: PineconeVectorIndexOptions): Promise<PineconeVectorIndex> {
    const index = new PineconeVectorIndex(options);
    await index.ready();
    return index;
  }

  /** Loads the SDK (and looks up the host when only `indexName` was given) now. */
  async ready(options: StageCallOptions = {}): Promise<void> {
    await raceAbort(this.#getIndex(), options.signal, 'Pinecone setup');
  }

  /**
   * Opens the connection to the index host now (DNS, TCP, TLS) with a `describe_index_stats`
   * request, kept alive by the fetch pool for the next query: call it when a turn starts.
   * Not recorded in the monitor. Skipped when a call used the connection in the last 2 s.
   * Never rejects for a provider fault; rejects with AbortedError when `options.signal` aborts.
   *
   * @example
   * ```ts
   * await index.prewarm();
   * ```
   */
  async prewarm(options: StageCallOptions = {}): Promise<void> {
    const what = 'Pinecone prewarm';
    throwIfAborted(options.signal, what);
    if (performance.now() - this.#lastUsedAt < WARM_FOR_MS) return;
    this.#prewarming ??= (async () => {
      try {
        const index = await this.#getIndex();
        const state: PineconeCallState = {
          timeoutMs: this.#options.timeoutMs,
          attempts: 0,
          unrecorded: true,
        };
        await runPineconeCall(state, () => index.describeIndexStats());
        // The pool takes the socket back a tick after the body ends: a query made in the same
        // tick would open a second connection.
        await new Promise((resolve) => setImmediate(resolve));
        this.#lastUsedAt = performance.now();
      } catch (err) {
        // A missing SDK is a setup error to report; a provider fault leaves the connection cold.
        if (err instanceof MissingDependencyError) throw err;
      } finally {
        this.#prewarming = undefined;
      }
    })();
    await raceAbort(this.#prewarming, options.signal, what);
  }

  /** Forgets the warm connection state (idle pooled sockets close on their own). Idempotent. */
  close(): Promise<void> {
    this.#lastUsedAt = Number.NEGATIVE_INFINITY;
    return Promise.resolve();
  }

  async #connect(): Promise<Index<RecordMetadata>> {
    const sdk = await loadPineconeSdk();
    const o = this.#options;
    const fetchApi = createTimedFetch({
      base: o.fetchApi ?? ((input, init) => fetch(input, init)),
      monitor: this.#monitor,
      index: this.model,
      defaultTimeoutMs: o.timeoutMs,
    });
    const pc: Pinecone = new sdk.Pinecone({
      apiKey: this.#apiKey,
      maxRetries: o.maxRetries,
      fetchApi: fetchApi as NonNullable<PineconeConfiguration['fetchApi']>,
      ...(o.controllerHostUrl === undefined ? {} : { controllerHostUrl: o.controllerHostUrl }),
      ...(o.additionalHeaders === undefined ? {} : { additionalHeaders: o.additionalHeaders }),
    });
    let host = o.host;
    if (host === undefined) {
      const name = o.indexName as string;
      // Its own call state: a caller aborting must not poison the lookup shared by later calls.
      const state: PineconeCallState = { timeoutMs: o.timeoutMs, attempts: 0 };
      const what = `Pinecone describeIndex(${name})`;
      try {
        const description = await runPineconeCall(state, () => pc.describeIndex(name));
        settlePineconeCall(state);
        host = description.host;
      } catch (err) {
        const mapped = mapPineconeError(err, state, what);
        settlePineconeCall(state, outcomeOf(mapped));
        throw mapped;
      }
      if (!host) throw new InvalidArgumentError(`${what} returned no host; pass { host } explicitly.`);
    }
    // Always hand the SDK a host: it then skips describeIndex and its global host cache.
    return pc.index({ host: normalizeHost(host) });
  }

  async #call<T>(
    what: string,
    signal: AbortSignal | undefined,
    fn: (index: Index<RecordMetadata>) => Promise<T>,
  ): Promise<T> {
    throwIfAborted(signal, what);
    const index = await raceAbort(this.#getIndex(), signal, what);
    const state: PineconeCallState = { signal, timeoutMs: this.#options.timeoutMs, attempts: 0 };
    try {
      // The SDK's retry backoff ignores signals: the race makes an abort prompt anyway.
      const result = await raceAbort(
        runPineconeCall(state, () => fn(index)),
        signal,
        what,
      );
      settlePineconeCall(state);
      // The pool takes the socket back a tick after the body ends: a call made in the same tick
      // would open a second connection.
      await new Promise((resolve) => setImmediate(resolve));
      this.#lastUsedAt = performance.now();
      return result;
    } catch (err) {
      const mapped = mapPineconeError(err, state, what);
      settlePineconeCall(state, outcomeOf(mapped));
      throw mapped;
    }
  }

  /**
   * The `topK` records nearest to `vector` (highest score first), with their metadata; the
   * `textField` metadata (default `text`) becomes `SearchResult.text`. An empty `filter` object
   * is ignored (the SDK would reject it).
   */
  async query(vector: readonly number[], options: SearchOptions = {}): Promise<SearchResult[]> {
    const o = this.#options;
    const namespace = options.namespace ?? o.namespace;
    const what = `Pinecone query (${this.model}${namespace ? `/${namespace}` : ''})`;
    const values = checkVector(vector, what);
    const topK = options.topK ?? o.topK;
    if (!Number.isInteger(topK) || topK < 1 || topK > 10_000) {
      throw new InvalidArgumentError(`${what}: topK must be an integer from 1 to 10000, got ${topK}.`);
    }
    const filter = options.filter && Object.keys(options.filter).length > 0 ? options.filter : undefined;
    const response = await this.#call(what, options.signal, (index) =>
      index.query({
        vector: values,
        topK,
        ...(namespace === undefined ? {} : { namespace }),
        includeMetadata: true,
        includeValues: false,
        ...(filter ? { filter } : {}),
      }),
    );
    // The SDK maps the JSON without checking it: a match must have an id and a numeric score.
    const matches: unknown = response.matches ?? [];
    if (!Array.isArray(matches)) throw malformed(what, 'matches', 'not an array');
    return matches.map((m: { id?: unknown; score?: unknown; metadata?: unknown } | null, i): SearchResult => {
      if (m === null || typeof m !== 'object' || typeof m.id !== 'string') {
        throw malformed(what, `matches[${i}].id`, 'a match without a string id');
      }
      const score = m.score ?? 0;
      if (typeof score !== 'number' || !Number.isFinite(score)) {
        throw malformed(what, `matches[${i}].score`, 'not a finite number');
      }
      const result: SearchResult = { id: m.id, score };
      const metadata = m.metadata as Record<string, unknown> | undefined;
      if (
        metadata !== undefined &&
        metadata !== null &&
        (typeof metadata !== 'object' || Array.isArray(metadata))
      ) {
        throw malformed(what, `matches[${i}].metadata`, 'not an object');
      }
      if (metadata) {
        result.metadata = metadata;
        const text = metadata[o.textField];
        if (typeof text === 'string') result.text = text;
      }
      return result;
    });
  }

  /**
   * Stores `records` (inserting or replacing by id), `upsertBatchSize` per request, in order.
   * If a batch fails, the batches before it stay stored; the error says which records failed.
   */
  async upsert(
    records: readonly VectorRecord[],
    options: StageCallOptions & { namespace?: string } = {},
  ): Promise<void> {
    const namespace = options.namespace ?? this.#options.namespace;
    const label = `Pinecone upsert (${this.model}${namespace ? `/${namespace}` : ''})`;
    if (!Array.isArray(records)) throw new InvalidArgumentError(`${label}: records must be an array.`);
    const prepared = records.map((r, i) => {
      if (!r || typeof r.id !== 'string' || r.id.length === 0) {
        throw new InvalidArgumentError(`${label}: records[${i}].id must be a non-empty string.`);
      }
      checkMetadata(r.metadata, `${label}: records[${i}]`);
      const values = checkVector(r.values, `${label}: records[${i}]`);
      return r.metadata ? { id: r.id, values, metadata: r.metadata as RecordMetadata } : { id: r.id, values };
    });
    const size = this.#options.upsertBatchSize;
    for (let i = 0; i < prepared.length; i += size) {
      const batch = prepared.slice(i, i + size);
      const what =
        prepared.length <= size
          ? label
          : `${label}, records ${i + 1}–${i + batch.length} of ${prepared.length}${i > 0 ? ' (earlier records were stored)' : ''}`;
      await this.#call(what, options.signal, (index) =>
        index.upsert(namespace === undefined ? { records: batch } : { records: batch, namespace }),
      );
    }
  }

  /** Record counts per namespace and the dimension (`describe_index_stats`). */
  async describeStats(options: StageCallOptions = {}): Promise<PineconeIndexStats> {
    const what = `Pinecone describeIndexStats (${this.model})`;
    const stats = await this.#call(what, options.signal, (index) => index.describeIndexStats());
    const namespaces: Record<string, number> = {};
    for (const [name, summary] of Object.entries(stats.namespaces ?? {}))
      namespaces[name] = summary.recordCount ?? 0;
    const out: PineconeIndexStats = { totalRecordCount: stats.totalRecordCount ?? 0, namespaces };
    if (stats.dimension) out.dimension = stats.dimension;
    return out;
  }
}

/**
 * Creates a {@link PineconeVectorIndex} and loads the SDK (and, without `host`, looks the host
 * up) right away, so a missing package or a wrong index shows at startup.
 *
 * @deprecated Use {@link PineconeVectorIndex.create}; this alias stays for compatibility.
 */
export async function createPineconeVectorIndex(
  options: PineconeVectorIndexOptions,
): Promise<PineconeVectorIndex> {
  const index = new PineconeVectorIndex(options);
  await index.ready();
  return index;
}
