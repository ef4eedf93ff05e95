/**
 * Options of {@link createVoicePipeline}: zod schema, inferred types, documented defaults.
 * @module
 */
import { z } from 'zod';
import { ttlSecondsSchema } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import type { PipelineCache } from './cache.js';
import type { DocumentSearch, LanguageModel, SpeechToText, TextToSpeech, Tool } from './contracts.js';
import { sentenceChunkerOptionsSchema } from './sentence-chunker.js';
import type { PipelineMonitor } from './timeline.js';

const fn = (x: unknown): boolean => typeof x === 'function';
const obj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;

const sttSchema = z.custom<SpeechToText>(
  (x) => obj(x) && fn(x.transcribe) && typeof x.provider === 'string',
  'must be a SpeechToText: { provider: string, transcribe(audio) } (stream() optional)',
);
const llmSchema = z.custom<LanguageModel>(
  (x) => obj(x) && fn(x.stream) && typeof x.provider === 'string',
  'must be a LanguageModel: { provider: string, stream(messages, options) }',
);
const ttsSchema = z.custom<TextToSpeech>(
  (x) => obj(x) && fn(x.synthesize) && typeof x.provider === 'string' && typeof x.defaultFormat === 'string',
  'must be a TextToSpeech: { provider: string, defaultFormat, synthesize(text, options) }',
);
const searchSchema = z.custom<DocumentSearch>(
  (x) => obj(x) && fn(x.search) && typeof x.provider === 'string',
  'must be a DocumentSearch: { provider: string, search(query, options) }',
);
const toolSchema = z.custom<Tool>(
  (x) => obj(x) && typeof x.name === 'string' && fn(x.execute) && obj(x.parameters),
  'must be a Tool: { name, description, parameters: zod schema, execute(args, ctx) } (see defineTool)',
);
const cacheStoreSchema = z.custom<PipelineCache>(
  (x) => obj(x) && fn(x.get) && fn(x.set),
  'must be a cache with get(key, namespace) and set(key, value, namespace, { ttlSeconds }), e.g. a CacheManager',
);
const monitorSchema = z.custom<PipelineMonitor>(
  (x) => obj(x) && fn(x.record),
  'must be a PerformanceMonitor (or any object with record(name, ms, labels)), or false',
);
const ms = z.number().finite().positive();
const namespace = z.string().min(1).max(128);

const llmCacheSchema = z.union([
  z.boolean(),
  z
    .object({
      /** TTL of cached answers. Default: the namespace's (1800 s in earshot's defaults). */
      ttlSeconds: ttlSecondsSchema.optional(),
      namespace: namespace.default('llm'),
      /**
       * Turns that carry history: `bypass` (default) neither reads nor writes the cache,
       * because the answer may depend on the conversation; `key` adds the history to the key.
       */
      history: z.enum(['bypass', 'key']).default('bypass'),
    })
    .strict(),
]);
const ttsCacheSchema = z.union([
  z.boolean(),
  z
    .object({
      ttlSeconds: ttlSecondsSchema.optional(),
      namespace: namespace.default('tts'),
      /** Only chunks up to this many characters are cached (repeated phrases are short). Default 200. */
      maxTextChars: z.number().int().positive().default(200),
    })
    .strict(),
]);
const searchCacheSchema = z.union([
  z.boolean(),
  z.object({ ttlSeconds: ttlSecondsSchema.optional(), namespace: namespace.default('pinecone') }).strict(),
]);

/** Options of {@link createVoicePipeline}. */
export const voicePipelineOptionsSchema = z
  .object({
    /** Speech-to-text. Optional when every turn is given text (`respond({ text })`). */
    stt: sttSchema.optional(),
    llm: llmSchema,
    tts: ttsSchema,
    /** Tools offered to the model. Default none. */
    tools: z.array(toolSchema).default([]),
    /** Document search, offered to the model as a `search_documents` tool (or run up front, see `searchMode`). */
    search: searchSchema.optional(),
    /**
     * `tool` (default): the model decides when to search. `context`: every turn searches the
     * transcript before the model runs and adds the results to the system prompt (on the critical path).
     */
    searchMode: z.enum(['tool', 'context']).default('tool'),
    /** The search tool's settings. Defaults: name `search_documents`, topK 5. */
    searchTool: z
      .object({
        name: z.string().min(1).max(64).optional(),
        description: z.string().min(1).optional(),
        topK: z.number().int().min(1).max(20).optional(),
        namespace: z.string().min(1).optional(),
        filter: z.record(z.string(), z.unknown()).optional(),
      })
      .strict()
      .default({}),
    /**
     * Caching, opt-in per kind: `{ store, llm?, tts?, search? }`. `store` is earshot's
     * CacheManager (or anything with get/set by key and namespace). Each kind is off unless set
     * to `true` or an options object.
     */
    cache: z
      .object({
        store: cacheStoreSchema,
        llm: llmCacheSchema.default(false),
        tts: ttsCacheSchema.default(false),
        search: searchCacheSchema.default(false),
      })
      .strict()
      .optional(),
    /** Where metrics go. Default: the shared `performanceMonitor`. `false` records nothing. */
    monitor: z.union([monitorSchema, z.literal(false)]).optional(),
    /** System prompt of every turn. */
    systemPrompt: z.string(),
    /** Per-turn latency targets (ms) checked into `timeline.targets`, e.g. `{ time_to_first_audio: 500 }`. */
    targets: z.record(z.string().min(1), ms).optional(),
    /** Most model calls that may run tools in one turn; after them the model must answer in text. Default 3. */
    maxToolRounds: z.number().int().min(0).max(16).default(3),
    /**
     * How the answer's text reaches TTS. `auto` (default): `stream` when the TTS stage has
     * `synthesizeStream` and no TTS cache is configured (`cache.tts`), else `sentence`.
     * `sentence`: one TTS request per chunk of the sentence chunker (each chunk cached when the
     * TTS cache is on). `stream`: one `synthesizeStream` per model call, fed as the model writes
     * (first piece after a few words, then at clause and sentence breaks), so the voice starts
     * before the first sentence is complete; the TTS stage must have `synthesizeStream`; streamed
     * audio is never written to the TTS cache. A stream that fails before any audio falls back
     * to sentence mode for the rest of the answer. See docs/latency.md.
     */
    ttsInput: z.enum(['sentence', 'stream', 'auto']).default('auto'),
    /** TTS requests in flight at once (run-ahead). Audio is still emitted in sentence order. Default 2. */
    ttsConcurrency: z.number().int().min(1).max(16).default(2),
    /**
     * When a tool fails while running (not when the model's arguments are invalid, which always
     * go back to the model): `apologize` (default) speaks `apology` and ends the answer;
     * `report` hands the error to the model, which words the answer; `throw` fails the turn
     * with the ToolError.
     */
    onToolError: z.enum(['apologize', 'report', 'throw']).default('apologize'),
    /** What is spoken when a tool fails and `onToolError` is `apologize`. */
    apology: z
      .string()
      .min(1)
      .default("Sorry, I couldn't look that up right now. Please try again in a moment."),
    /** Per-stage deadlines in ms; a stage past its deadline is aborted with a TimeoutError (or falls back). Default none. */
    deadlines: z
      .object({
        /** End of speech → final transcript. */
        stt: ms.optional(),
        /** Model call → first token or tool call. */
        llmFirstToken: ms.optional(),
        /** Whole model call (one round of the tool loop). */
        llm: ms.optional(),
        /** TTS request → first audio byte (per chunk). */
        ttsFirstByte: ms.optional(),
        /** Whole TTS request (per chunk). */
        tts: ms.optional(),
        /** One tool call. A tool that misses it fails like any failing tool. */
        tool: ms.optional(),
        /** One document search. */
        search: ms.optional(),
      })
      .strict()
      .default({}),
    /**
     * Fallback stages. When a stage fails (or misses its deadline) before producing output, its
     * fallback takes over for the rest of the turn; the switch is emitted as a `fallback` event
     * and kept in `timeline.fallbacks`.
     */
    fallbacks: z
      .object({ stt: sttSchema.optional(), llm: llmSchema.optional(), tts: ttsSchema.optional() })
      .strict()
      .default({}),
    /** Sentence chunker settings (first-chunk rule, max chunk length, max-wait flush). */
    chunker: sentenceChunkerOptionsSchema.prefault({}),
    /**
     * Transform applied to each chunk before TTS (e.g. a normalizer that spells out units). The
     * `sentence` event keeps the original text; an empty result skips TTS for that chunk.
     */
    transformText: z.custom<(text: string) => string>(fn, 'must be a function (text) => string').optional(),
    /** Audio format requested from TTS. Default: the TTS stage's `defaultFormat`. */
    ttsFormat: z.string().min(1).optional(),
    /** Input audio format when it is not self-describing, passed to STT. */
    audioFormat: z.string().min(1).optional(),
    /** BCP-47 language passed to STT. */
    language: z.string().min(1).optional(),
    /**
     * Preemptive generation (streamed audio with a streaming STT): start the answer on a final
     * transcript before the end of turn is confirmed, play it only once confirmed, and start
     * again when the confirmed transcript differs (normalised). Default true. See docs/latency.md.
     */
    preemptive: z.boolean().default(true),
    /**
     * Prewarm the model's, the TTS's and the search's connections at the start of every audio
     * turn, while speech-to-text runs (stages without `prewarm()` are skipped). Default true.
     */
    prewarm: z.boolean().default(true),
    /**
     * Prefetched tool data (tools with `readOnly: true` and `prefetch()`): `tool` (default) runs
     * prefetches in parallel with the first model call, and the model's matching call gets the
     * prefetched result; `context` waits for them and puts the calls and their results in the
     * prompt, so the model can answer in one round; `off` never prefetches.
     */
    prefetch: z.enum(['tool', 'context', 'off']).default('tool'),
    /**
     * Short phrase spoken when the model asks for a tool and said nothing yet (a tool's own
     * `acknowledgement` wins; `false` on a tool silences it). Its audio is kept after the first
     * synthesis. Default none. It counts in `time_to_first_audio`, never in `time_to_answer_audio`.
     */
    acknowledgement: z.string().min(1).max(200).optional(),
    /** Model settings. */
    maxTokens: z.number().int().positive().optional(),
    temperature: z.number().min(0).max(2).optional(),
  })
  .strict()
  .superRefine((options, ctx) => {
    if (options.ttsInput === 'stream' && typeof options.tts.synthesizeStream !== 'function') {
      ctx.addIssue({
        code: 'custom',
        path: ['ttsInput'],
        message: `'stream' needs a TTS stage with synthesizeStream() (provider ${options.tts.provider} has none); use 'auto' or 'sentence'`,
      });
    }
  });

/** What you pass to {@link createVoicePipeline}. */
export type VoicePipelineOptions = z.input<typeof voicePipelineOptionsSchema>;
/** @internal */
export type ResolvedPipelineOptions = z.output<typeof voicePipelineOptionsSchema>;

/** @internal Parses options, turning zod issues into a ConfigError that lists every bad field. */
export function parsePipelineOptions(options: VoicePipelineOptions): ResolvedPipelineOptions {
  const parsed = voicePipelineOptionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
      { source: 'createVoicePipeline options' },
    );
  }
  return parsed.data;
}
