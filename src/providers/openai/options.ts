/**
 * Options of the OpenAI adapters: zod schemas, the types inferred from them, and the defaults
 * (from the source design: at most 1024 output tokens, streaming; retries off in favour of the
 * pipeline's deadlines).
 * @module
 */
import { z } from 'zod';
import { ConfigError } from '../../errors.js';
import type { PerformanceMonitor } from '../../perf/index.js';
import type { OpenAIChatModel, OpenAIEmbeddingModel } from './models.js';
import type { OpenAIClient } from './sdk.js';

const monitorSchema = z.custom<PerformanceMonitor>(
  (v) => typeof v === 'object' && v !== null && typeof (v as { record?: unknown }).record === 'function',
  { message: 'expected a PerformanceMonitor' },
);

const clientSchema = z.custom<OpenAIClient>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { chat?: { completions?: { create?: unknown } } }).chat?.completions?.create ===
      'function' &&
    typeof (v as { embeddings?: { create?: unknown } }).embeddings?.create === 'function',
  { message: 'expected an OpenAI client (new OpenAI(...) from the "openai" package)' },
);

/** What {@link OpenAILanguageModelOptions.onCallMetrics} receives after each model call. */
export interface OpenAICallMetrics {
  /** Model id requested. */
  model: string;
  /** OpenAI's `x-request-id`, when a response arrived. Quote it to OpenAI support. */
  requestId?: string;
  /** `ok`, or why the call ended early. */
  outcome: 'ok' | 'error' | 'timeout' | 'aborted';
  /** Call start → first text or tool-call token (time to first token), when one arrived. */
  ttftMs?: number;
  /** Call start → last chunk. */
  totalMs: number;
  /** Prompt tokens, when usage was reported. */
  inputTokens?: number;
  /** Completion tokens, when usage was reported (reasoning tokens included, as billed). */
  outputTokens?: number;
  /** Hidden reasoning tokens of a reasoning model (part of `outputTokens`, never streamed). */
  reasoningTokens?: number;
  /** Visible output tokens per second after the first token, when at least two arrived. */
  tokensPerSecond?: number;
  /** How the model stopped, when it did. */
  finishReason?: string;
}

const connection = {
  /** API key. Default: `process.env.OPENAI_API_KEY`. Registered as a secret, never logged. */
  apiKey: z.string().min(1).optional(),
  /**
   * API root, e.g. a fake server (`http://127.0.0.1:PORT/v1`), a proxy or an Azure-compatible
   * gateway. Default: the SDK's (`OPENAI_BASE_URL`, else `https://api.openai.com/v1`).
   */
  baseURL: z.url({ protocol: /^https?$/ }).optional(),
  /** `OpenAI-Organization` header. Default: the SDK's (`OPENAI_ORG_ID`). */
  organization: z.string().min(1).optional(),
  /** `OpenAI-Project` header. Default: the SDK's (`OPENAI_PROJECT_ID`). */
  project: z.string().min(1).optional(),
  /** Extra headers sent with every request. */
  defaultHeaders: z.record(z.string(), z.string()).optional(),
  /** SDK retries (408/409/429/5xx and connection errors, backoff from 0.5 s). Default 0: the pipeline owns deadlines. */
  maxRetries: z.number().int().min(0).max(10).default(0),
  /** SDK log level (`OPENAI_LOG`). Default: the SDK's (`warn`). */
  logLevel: z.enum(['off', 'error', 'warn', 'info', 'debug']).optional(),
  /**
   * An existing `OpenAI` client to use instead of building one; `apiKey`, `baseURL`,
   * `organization`, `project`, `defaultHeaders` and `logLevel` are then ignored (the client
   * has its own), while `timeoutMs` and `maxRetries` still apply per request.
   */
  client: clientSchema.optional(),
  /**
   * Where this adapter records its latencies (`llm`, `llm_ttft`, `llm_tpot`, `embed`). Default:
   * nowhere — the pipeline records each stage call once; pass a monitor to record the
   * adapter's own figures too (`false` is the same as leaving it out).
   */
  monitor: z.union([monitorSchema, z.literal(false)]).optional(),
};

/** Defaults of {@link OpenAILanguageModelOptions}, documented in docs/providers.md. */
export const OPENAI_LLM_DEFAULTS = {
  model: 'gpt-4o-mini',
  maxTokens: 1024,
  maxTokensParam: 'max_completion_tokens',
  timeoutMs: 10_000,
  idleTimeoutMs: 10_000,
  maxRetries: 0,
} as const;

/** Schema of {@link OpenAILanguageModelOptions}. */
export const openAILanguageModelOptionsSchema = z
  .object({
    ...connection,
    /** Chat model id. Default `gpt-4o-mini`. */
    model: z
      .custom<OpenAIChatModel>((v) => typeof v === 'string' && v.length > 0, {
        message: 'must be a non-empty model id',
      })
      .default(OPENAI_LLM_DEFAULTS.model),
    /** Upper bound on output tokens when a call gives none. Default 1024 (source design). */
    maxTokens: z.number().int().positive().default(OPENAI_LLM_DEFAULTS.maxTokens),
    /**
     * Which request field carries `maxTokens`: `max_completion_tokens` (default; what the API
     * documents for every chat model and the only one o-series / gpt-5 models accept) or the
     * deprecated `max_tokens` (for older OpenAI-compatible servers that only know it).
     */
    maxTokensParam: z
      .enum(['max_tokens', 'max_completion_tokens'])
      .default(OPENAI_LLM_DEFAULTS.maxTokensParam),
    /** Sampling temperature (0–2) when a call gives none. Default: the API's (1). */
    temperature: z.number().min(0).max(2).optional(),
    /** Let the model request several tools in one turn. Default: the API's (true). */
    parallelToolCalls: z.boolean().optional(),
    /**
     * Deadline in ms from sending the request to OpenAI's response headers (the SDK's
     * `timeout`; per attempt when `maxRetries` > 0). Default 10 000.
     */
    timeoutMs: z.number().int().positive().default(OPENAI_LLM_DEFAULTS.timeoutMs),
    /**
     * Longest silence in ms between two streamed chunks (including the first one after the
     * headers) before the call fails with a TimeoutError: catches stalled streams, which the
     * SDK's own timeout does not cover. Default 10 000.
     */
    idleTimeoutMs: z.number().int().positive().default(OPENAI_LLM_DEFAULTS.idleTimeoutMs),
    /** Called once per model call with its timings, tokens/s and request id (keep it cheap). */
    onCallMetrics: z.custom<(metrics: OpenAICallMetrics) => void>((v) => typeof v === 'function').optional(),
  })
  .strict();

/** Options of `OpenAILanguageModel`, as callers write them (every field optional). */
export type OpenAILanguageModelOptions = z.input<typeof openAILanguageModelOptionsSchema>;
/** Options with every default filled in. */
export type ResolvedOpenAILanguageModelOptions = z.output<typeof openAILanguageModelOptionsSchema>;

/** Defaults of {@link OpenAIEmbedderOptions}, documented in docs/providers.md. */
export const OPENAI_EMBEDDER_DEFAULTS = {
  model: 'text-embedding-3-small',
  encodingFormat: 'base64',
  batchSize: 2048,
  timeoutMs: 10_000,
  maxRetries: 0,
} as const;

/** Schema of {@link OpenAIEmbedderOptions}. */
export const openAIEmbedderOptionsSchema = z
  .object({
    ...connection,
    /** Embedding model id. Default `text-embedding-3-small`. */
    model: z
      .custom<OpenAIEmbeddingModel>((v) => typeof v === 'string' && v.length > 0, {
        message: 'must be a non-empty model id',
      })
      .default(OPENAI_EMBEDDER_DEFAULTS.model),
    /** Vector size (text-embedding-3 models can shorten theirs). Default: the model's own (1536 for -3-small). */
    dimensions: z.number().int().min(1).max(16_384).optional(),
    /**
     * Wire encoding. `base64` (default) sends float32 as base64, about a quarter of the bytes of
     * JSON numbers; values then have float32 precision. `float` sends JSON numbers.
     */
    encodingFormat: z.enum(['base64', 'float']).default(OPENAI_EMBEDDER_DEFAULTS.encodingFormat),
    /** Most texts per request (the API's limit is 2048). Default 2048. */
    batchSize: z.number().int().min(1).max(2048).default(OPENAI_EMBEDDER_DEFAULTS.batchSize),
    /** Deadline in ms of each request, body included. Default 10 000. */
    timeoutMs: z.number().int().positive().default(OPENAI_EMBEDDER_DEFAULTS.timeoutMs),
  })
  .strict();

/** Options of `OpenAIEmbedder`, as callers write them (every field optional). */
export type OpenAIEmbedderOptions = z.input<typeof openAIEmbedderOptionsSchema>;
/** Options with every default filled in. */
export type ResolvedOpenAIEmbedderOptions = z.output<typeof openAIEmbedderOptionsSchema>;

/** Validates options, throwing ConfigError with every bad field (never echoing the key). */
export function parseOptions<S extends z.ZodType>(schema: S, options: unknown, source: string): z.output<S> {
  const parsed = schema.safeParse(options ?? {});
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map((i) => ({
      path: i.path.join('.'),
      message: i.path[0] === 'apiKey' ? 'must be a non-empty string' : i.message,
    })),
    { source },
  );
}
