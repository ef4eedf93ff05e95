/**
 * Document search as a stage and as a tool: {@link createEmbeddingSearch} makes a
 * `DocumentSearch` from an `Embedder` and a `VectorIndex`; {@link createDocumentSearchTool}
 * offers any `DocumentSearch` to the model. Inside a pipeline, the tool's searches go through
 * the tool context's `search` capability: timed as `search` and cached (namespace `pinecone`)
 * when search caching is on.
 * @module
 */
import { z } from 'zod';
import { InvalidArgumentError, ResponseValidationError } from '../errors.js';
import type {
  DocumentSearch,
  Embedder,
  SearchOptions,
  SearchResult,
  StageCallOptions,
  Tool,
  ToolContext,
  VectorIndex,
} from './contracts.js';
import { toolDefinition } from './tools.js';

/**
 * Makes a {@link DocumentSearch} that embeds the query, then queries the index. Its `prewarm()`
 * and `close()` call those of the embedder and the index (when they have them).
 *
 * @example
 * ```ts
 * const search = createEmbeddingSearch(new OpenAIEmbedder({ client }), new PineconeVectorIndex({ index }));
 * const docs = await search.search('how do I report a damaged trailer', { topK: 3 });
 * ```
 */
export function createEmbeddingSearch(embedder: Embedder, index: VectorIndex): DocumentSearch {
  if (!embedder || typeof embedder.embed !== 'function') {
    throw new InvalidArgumentError('createEmbeddingSearch needs an Embedder (an object with embed(texts)).');
  }
  if (!index || typeof index.query !== 'function') {
    throw new InvalidArgumentError(
      'createEmbeddingSearch needs a VectorIndex (an object with query(vector)).',
    );
  }
  const model = index.model ?? embedder.model;
  return {
    provider: `${embedder.provider}+${index.provider}`,
    ...(model === undefined ? {} : { model }),
    async search(query: string, options: SearchOptions = {}): Promise<SearchResult[]> {
      const callOptions = options.signal ? { signal: options.signal } : {};
      const vectors = await embedder.embed([query], callOptions);
      const vector = vectors[0];
      if (!Array.isArray(vector) || vector.length === 0) {
        throw new ResponseValidationError(
          'The embedder returned no vector for the query',
          [{ path: '0', message: 'expected one non-empty vector' }],
          { provider: embedder.provider, retryable: false },
        );
      }
      return index.query(vector, options);
    },
    // Warm connections (issue 14): the pipeline prewarms `search`, which is these two.
    async prewarm(options?: StageCallOptions): Promise<void> {
      await Promise.all([embedder.prewarm?.(options), index.prewarm?.(options)]);
    },
    async close(): Promise<void> {
      await Promise.all([embedder.close?.(), index.close?.()]);
    },
  };
}

/** Options of {@link createDocumentSearchTool}. */
export interface DocumentSearchToolOptions {
  /** Tool name. Default `search_documents`. */
  name?: string;
  /** What the model reads. Default: company documents (policies, procedures, manuals). */
  description?: string;
  /** Results per search when the model does not ask. Default 5, at most 20. */
  topK?: number;
  namespace?: string;
  filter?: Record<string, unknown>;
  /** Longest text per result handed to the model. Default 1200 characters. */
  maxTextChars?: number;
}

const searchArgs = z.object({
  query: z.string().min(1).max(1000).describe('What to look for, in plain words.'),
  top_k: z.number().int().min(1).max(20).optional().describe('How many documents to return (default 5).'),
});

/**
 * Offers a {@link DocumentSearch} to the model as a tool (`search_documents` by default).
 * Returns the top documents with id, score, text and metadata.
 *
 * @example
 * ```ts
 * const pipeline = createVoicePipeline({ stt, llm, tts, tools: [createDocumentSearchTool(search)], systemPrompt });
 * ```
 */
export function createDocumentSearchTool(
  search: DocumentSearch,
  options: DocumentSearchToolOptions = {},
): Tool<typeof searchArgs, { results: SearchResult[] }> {
  if (!search || typeof search.search !== 'function') {
    throw new InvalidArgumentError(
      'createDocumentSearchTool needs a DocumentSearch (an object with search(query)).',
    );
  }
  const topK = options.topK ?? 5;
  if (!Number.isInteger(topK) || topK < 1 || topK > 20)
    throw new InvalidArgumentError('topK must be an integer from 1 to 20.');
  const maxText = options.maxTextChars ?? 1200;
  const tool: Tool<typeof searchArgs, { results: SearchResult[] }> = {
    name: options.name ?? 'search_documents',
    description:
      options.description ??
      'Searches company documents (policies, procedures, manuals, FAQs) and returns the most relevant passages.',
    parameters: searchArgs,
    async execute(args, ctx: ToolContext) {
      const searchOptions: SearchOptions = { topK: args.top_k ?? topK };
      if (ctx.signal) searchOptions.signal = ctx.signal;
      if (options.namespace !== undefined) searchOptions.namespace = options.namespace;
      if (options.filter !== undefined) searchOptions.filter = options.filter;
      // In a pipeline the search is a timed, cached stage of the turn (ToolContext.search).
      const results = ctx.search
        ? await ctx.search(search, args.query, searchOptions)
        : await search.search(args.query, searchOptions);
      return {
        results: results.map((r) => {
          const out: SearchResult = { id: r.id, score: Math.round(r.score * 1000) / 1000 };
          if (r.text !== undefined)
            out.text = r.text.length > maxText ? `${r.text.slice(0, maxText)}…` : r.text;
          if (r.metadata !== undefined) out.metadata = r.metadata;
          return out;
        }),
      };
    },
  };
  toolDefinition(tool);
  return tool;
}
