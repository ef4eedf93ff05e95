/**
 * `OpenAIEmbedder`: the `Embedder` stage contract over OpenAI embeddings, for document search.
 * @module
 */
import type { CreateEmbeddingResponse, EmbeddingCreateParams } from 'openai/resources/embeddings';
import { InvalidArgumentError } from '../../errors.js';
import { throwIfAborted } from '../../internal/abort.js';
import { OP } from '../../perf/operations.js';
import type { Embedder, StageCallOptions } from '../../pipeline/contracts.js';
import {
  CallControl,
  type CallOutcome,
  type LatencyRecorder,
  outcomeOf,
  recorderOf,
} from '../shared/index.js';
import { malformed, mapOpenAIError, PROVIDER } from './errors.js';
import {
  type OpenAIEmbedderOptions,
  openAIEmbedderOptionsSchema,
  parseOptions,
  type ResolvedOpenAIEmbedderOptions,
} from './options.js';
import { type OpenAIClient, OpenAIWarmth, openAIClientSource, releaseTick } from './sdk.js';

/** Decodes base64 of little-endian float32 values (what the API sends for `encoding_format: base64`). */
export function decodeFloat32Base64(data: string): number[] {
  const bytes = Buffer.from(data, 'base64');
  if (bytes.length % 4 !== 0)
    throw new RangeError(`${bytes.length} bytes is not a whole number of float32 values`);
  // Copy into a fresh, aligned buffer: a pooled Buffer's byteOffset may not be a multiple of 4.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Array<number>(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/**
 * Turns texts into vectors with OpenAI's embeddings API (or any server speaking its wire
 * format), as the pipeline's `Embedder`: pair it with a `VectorIndex` (e.g.
 * `PineconeVectorIndex`) for document search.
 *
 * With a `monitor` option, each request is recorded there as `embed` (labels `provider: 'openai'`, `model`,
 * `outcome`). Texts are sent in batches of `batchSize`; the result keeps the input order.
 *
 * **The base64 trap**: the `openai` SDK asks for base64 embeddings when no `encoding_format` is
 * given and decodes them itself, but hands back raw base64 strings when you ask for `base64`
 * explicitly. This adapter always returns `number[][]` either way (float32 precision with
 * base64, the default: 0.1 comes back as 0.10000000149011612).
 *
 * @example
 * ```ts
 * import { OpenAIEmbedder } from 'earshot/openai';
 * const embedder = new OpenAIEmbedder({ model: 'text-embedding-3-small', dimensions: 512 });
 * const [vector] = await embedder.embed(['How do I report a damaged trailer?']);
 * ```
 */
export class OpenAIEmbedder implements Embedder {
  readonly provider = PROVIDER;
  readonly model: string;
  /** The requested vector size, when `dimensions` was set. */
  readonly dimensions?: number;
  readonly #options: ResolvedOpenAIEmbedderOptions;
  readonly #getClient: () => Promise<OpenAIClient>;
  readonly #monitor: LatencyRecorder;
  readonly #warmth = new OpenAIWarmth();

  /** Validates options (ConfigError) and resolves the API key; the SDK loads on first use. */
  constructor(options: OpenAIEmbedderOptions = {}) {
    this.#options = parseOptions(openAIEmbedderOptionsSchema, options, 'OpenAIEmbedder options');
    this.#getClient = openAIClientSource(this.#options, 'OpenAIEmbedder');
    this.model = this.#options.model;
    if (this.#options.dimensions !== undefined) this.dimensions = this.#options.dimensions;
    this.#monitor = recorderOf(this.#options.monitor);
  }

  /**
   * Creates the embedder and loads the `openai` SDK now, so a missing package
   * (MissingDependencyError: `npm install openai`) or a bad option shows at startup.
   *
   * @example
   * ```ts
   * const embedder = await OpenAIEmbedder.create({ dimensions: 512 });
   * ```
   */
  static async create(options: OpenAIEmbedderOptions = {}): Promise<OpenAIEmbedder> {
    const embedder = new OpenAIEmbedder(options);
    await embedder.ready();
    return embedder;
  }

  /** Loads the SDK and builds the client now instead of on the first call. */
  async ready(): Promise<void> {
    await this.#getClient();
  }

  /**
   * Opens the connection to OpenAI now (DNS, TCP, TLS) with a `GET /models`, kept alive for
   * the next `embed`. Skipped when a call used the connection in the last 2 s. Never rejects
   * for a provider fault; rejects with AbortedError when `options.signal` aborts.
   *
   * @example
   * ```ts
   * await embedder.prewarm();
   * ```
   */
  prewarm(options: StageCallOptions = {}): Promise<void> {
    return this.#warmth.prewarm(this.#getClient, this.#options.timeoutMs, options);
  }

  /** Forgets the warm connection state (idle pooled sockets close on their own). Idempotent. */
  close(): Promise<void> {
    return this.#warmth.close();
  }

  /**
   * Embeds `texts` (in order). An empty list returns `[]` without a request; an empty or
   * blank text is an InvalidArgumentError (the API rejects it).
   */
  async embed(texts: readonly string[], options: StageCallOptions = {}): Promise<number[][]> {
    const what = `OpenAI embeddings (${this.model})`;
    throwIfAborted(options.signal, what);
    if (!Array.isArray(texts)) throw new InvalidArgumentError(`${what}: texts must be an array of strings.`);
    texts.forEach((t, i) => {
      if (typeof t !== 'string' || t.trim() === '') {
        throw new InvalidArgumentError(`${what}: texts[${i}] is empty; the API rejects empty input.`);
      }
    });
    if (texts.length === 0) return [];
    const client = await this.#getClient();
    const out: number[][] = [];
    for (let i = 0; i < texts.length; i += this.#options.batchSize) {
      out.push(
        ...(await this.#request(client, texts.slice(i, i + this.#options.batchSize), options.signal, what)),
      );
    }
    return out;
  }

  async #request(
    client: OpenAIClient,
    batch: readonly string[],
    signal: AbortSignal | undefined,
    what: string,
  ): Promise<number[][]> {
    const o = this.#options;
    const control = new CallControl(signal);
    // The SDK's timeout stops at the headers; this one covers the body too.
    control.arm(o.timeoutMs);
    const ctx = {
      what,
      control,
      timeoutMs: o.timeoutMs,
      deadlineMs: o.timeoutMs,
      deadlineWhat: 'in time',
      requestId: undefined as string | undefined,
    };
    const started = performance.now();
    let outcome: CallOutcome = 'error';
    try {
      const params: EmbeddingCreateParams = { model: this.model, input: [...batch] };
      if (o.dimensions !== undefined) params.dimensions = o.dimensions;
      // Leaving encoding_format out makes the SDK request base64 and decode it; asking for
      // 'base64' explicitly would hand back the raw strings.
      if (o.encodingFormat === 'float') params.encoding_format = 'float';
      const res = await client.embeddings
        .create(params, { signal: control.signal, timeout: o.timeoutMs, maxRetries: o.maxRetries })
        .withResponse();
      ctx.requestId = res.request_id ?? undefined;
      const vectors = this.#validate(res.data, batch.length, what, ctx.requestId);
      outcome = 'ok';
      await releaseTick(); // the pool takes the socket back a tick after the body ends
      this.#warmth.used();
      return vectors;
    } catch (err) {
      const mapped = mapOpenAIError(err, ctx);
      outcome = outcomeOf(mapped);
      throw mapped;
    } finally {
      control.dispose();
      this.#monitor.record(OP.embed, performance.now() - started, {
        provider: PROVIDER,
        model: this.model,
        outcome,
      });
    }
  }

  #validate(
    body: CreateEmbeddingResponse,
    expected: number,
    what: string,
    requestId: string | undefined,
  ): number[][] {
    if (!body || !Array.isArray(body.data))
      throw malformed(what, 'data', 'missing or not an array', requestId);
    if (body.data.length !== expected) {
      throw malformed(what, 'data', `${body.data.length} embeddings for ${expected} inputs`, requestId);
    }
    const out = new Array<number[]>(expected);
    for (const [i, item] of body.data.entries()) {
      const index = typeof item?.index === 'number' ? item.index : i;
      if (!Number.isInteger(index) || index < 0 || index >= expected || out[index]) {
        throw malformed(what, `data[${i}].index`, `bad or repeated index ${String(item?.index)}`, requestId);
      }
      let vector: unknown = item.embedding;
      if (typeof vector === 'string') {
        try {
          vector = decodeFloat32Base64(vector);
        } catch (err) {
          throw malformed(
            what,
            `data[${i}].embedding`,
            `undecodable base64 (${(err as Error).message})`,
            requestId,
          );
        }
      }
      if (
        !Array.isArray(vector) ||
        vector.length === 0 ||
        !vector.every((x) => typeof x === 'number' && Number.isFinite(x))
      ) {
        throw malformed(what, `data[${i}].embedding`, 'not a non-empty array of finite numbers', requestId);
      }
      if (this.dimensions !== undefined && vector.length !== this.dimensions) {
        throw malformed(
          what,
          `data[${i}].embedding`,
          `${vector.length} dimensions, expected ${this.dimensions}`,
          requestId,
        );
      }
      out[index] = vector as number[];
    }
    return out;
  }
}

/**
 * Creates an {@link OpenAIEmbedder} and loads the `openai` SDK right away, so a missing
 * package (MissingDependencyError: `npm install openai`) shows at startup.
 *
 * @deprecated Use {@link OpenAIEmbedder.create}; this alias stays for compatibility.
 */
export async function createOpenAIEmbedder(options: OpenAIEmbedderOptions = {}): Promise<OpenAIEmbedder> {
  const embedder = new OpenAIEmbedder(options);
  await embedder.ready();
  return embedder;
}
