/**
 * Options of the Pinecone adapter: a zod schema, the type inferred from it, and the defaults
 * (retries off in favour of the pipeline's deadlines; a per-request timeout, which the SDK
 * lacks).
 * @module
 */
import { z } from 'zod';
import { ConfigError } from '../../errors.js';
import type { PerformanceMonitor } from '../../perf/index.js';

const monitorSchema = z.custom<PerformanceMonitor>(
  (v) => typeof v === 'object' && v !== null && typeof (v as { record?: unknown }).record === 'function',
  { message: 'expected a PerformanceMonitor' },
);

/** A `fetch`-compatible function. */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Defaults of {@link PineconeVectorIndexOptions}, documented in docs/providers.md. */
export const PINECONE_DEFAULTS = {
  topK: 5,
  textField: 'text',
  timeoutMs: 3_000,
  maxRetries: 0,
  upsertBatchSize: 100,
} as const;

/** Schema of {@link PineconeVectorIndexOptions}. */
export const pineconeVectorIndexOptionsSchema = z
  .object({
    /** API key. Default: `process.env.PINECONE_API_KEY`. Registered as a secret, never logged. */
    apiKey: z.string().min(1).optional(),
    /**
     * The index host from the Pinecone console or `describeIndex` (e.g.
     * `my-index-abc123.svc.aped-4627-b74a.pinecone.io`). A host without a scheme gets
     * `https://`; a fake server needs its `http://`. Either `host` or `indexName` is required;
     * with `host` no control-plane call is ever made.
     */
    host: z.string().min(1).optional(),
    /**
     * Index name. Without `host`, the host is looked up once with `describeIndex` (one
     * control-plane round trip on the first call). Also the `index` label of metrics.
     */
    indexName: z.string().min(1).optional(),
    /** Control-plane URL. Default: the SDK's (`https://api.pinecone.io`). */
    controllerHostUrl: z.url({ protocol: /^https?$/ }).optional(),
    /**
     * Namespace used when a call names none. Default: the index's default namespace (the SDK
     * sends `__default__`; `''` names the same namespace).
     */
    namespace: z.string().optional(),
    /** Results per query when a call gives no `topK`. Default 5. */
    topK: z.number().int().min(1).max(10_000).default(PINECONE_DEFAULTS.topK),
    /** Metadata field holding the document text, returned as `SearchResult.text`. Default `text`. */
    textField: z.string().min(1).default(PINECONE_DEFAULTS.textField),
    /**
     * Deadline in ms of each HTTP attempt, headers and body (the SDK has no timeout of its own;
     * this one is enforced in the wrapped `fetch`). Default 3 000.
     */
    timeoutMs: z.number().int().positive().default(PINECONE_DEFAULTS.timeoutMs),
    /** SDK retries (5xx only, backoff 200/400/800 ms). Default 0: the pipeline owns deadlines. */
    maxRetries: z.number().int().min(0).max(10).default(PINECONE_DEFAULTS.maxRetries),
    /** Records per upsert request (Pinecone's limits: 1000 records, 2 MB). Default 100. */
    upsertBatchSize: z.number().int().min(1).max(1000).default(PINECONE_DEFAULTS.upsertBatchSize),
    /** The `fetch` to wrap (for proxies or custom agents). Default: the global `fetch`. */
    fetchApi: z
      .custom<FetchLike>((v) => typeof v === 'function', { message: 'expected a fetch function' })
      .optional(),
    /** Extra headers sent with every request. */
    additionalHeaders: z.record(z.string(), z.string()).optional(),
    /**
     * Where this adapter records its per-attempt latencies (`vector_query`, `vector_upsert`, …).
     * Default: nowhere — the pipeline records the `search` stage once; pass a monitor to record
     * these figures too (`false` is the same as leaving it out).
     */
    monitor: z.union([monitorSchema, z.literal(false)]).optional(),
  })
  .strict()
  .refine((o) => o.host !== undefined || o.indexName !== undefined, {
    message: 'give the index host (recommended) or its indexName',
    path: ['host'],
  });

/** Options of `PineconeVectorIndex`, as callers write them. */
export type PineconeVectorIndexOptions = z.input<typeof pineconeVectorIndexOptionsSchema>;
/** Options with every default filled in. */
export type ResolvedPineconeVectorIndexOptions = z.output<typeof pineconeVectorIndexOptionsSchema>;

/** Validates options, throwing ConfigError with every bad field (never echoing the key). */
export function parsePineconeOptions(
  options: PineconeVectorIndexOptions,
): ResolvedPineconeVectorIndexOptions {
  const parsed = pineconeVectorIndexOptionsSchema.safeParse(options ?? {});
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map((i) => ({
      path: i.path.join('.'),
      message: i.path[0] === 'apiKey' ? 'must be a non-empty string' : i.message,
    })),
    { source: 'PineconeVectorIndex options' },
  );
}

/** A host as the data plane needs it: with a scheme (`https://` unless one is given). */
export function normalizeHost(host: string): string {
  const trimmed = host.trim().replace(/\/+$/, '');
  return /^https?:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`;
}
