/**
 * Options of the ElevenLabs adapter: a zod schema, the type inferred from it, and the
 * defaults (from the source design: `eleven_turbo_v2_5`, stability/similarity settings; retries
 * off in favour of the pipeline's deadlines). The source design's `optimize_streaming_latency: 3`
 * is no longer sent by default: ElevenLabs deprecated it (issue 16).
 * @module
 */
import { z } from 'zod';
import { ConfigError } from '../../errors.js';
import type { PerformanceMonitor } from '../../perf/index.js';

/** Output formats ElevenLabs streams (`TextToSpeechStreamRequestOutputFormat`). */
export const ELEVENLABS_OUTPUT_FORMATS = [
  'mp3_22050_32',
  'mp3_24000_48',
  'mp3_44100_32',
  'mp3_44100_64',
  'mp3_44100_96',
  'mp3_44100_128',
  'mp3_44100_192',
  'pcm_8000',
  'pcm_16000',
  'pcm_22050',
  'pcm_24000',
  'pcm_32000',
  'pcm_44100',
  'pcm_48000',
  'ulaw_8000',
  'alaw_8000',
  'opus_48000_32',
  'opus_48000_64',
  'opus_48000_96',
  'opus_48000_128',
  'opus_48000_192',
] as const;
/** One ElevenLabs output format. */
export type ElevenLabsOutputFormat = (typeof ELEVENLABS_OUTPUT_FORMATS)[number];

/** When streamed input forces generation: see `flush` in {@link ElevenLabsTextToSpeechOptions}. */
export const ELEVENLABS_FLUSH_MODES = ['first-and-sentence', 'sentence', 'always', 'never'] as const;
/** One `flush` mode of the ElevenLabs adapter's streamed input. */
export type ElevenLabsFlushMode = (typeof ELEVENLABS_FLUSH_MODES)[number];

const SENTENCE_END = /[.!?…。！？]["'”’)\]]*\s*$/;

/**
 * Whether streamed input sends `piece` with `flush: true`: `index` is the piece's position in the
 * synthesis (0 for the first piece that carries text).
 */
export function flushesPiece(mode: ElevenLabsFlushMode, piece: string, index: number): boolean {
  switch (mode) {
    case 'always':
      return true;
    case 'never':
      return false;
    case 'first-and-sentence':
      return index === 0 || SENTENCE_END.test(piece);
    case 'sentence':
      return SENTENCE_END.test(piece);
  }
}

/** Characters billed or sent by one synthesis, reported to `onUsage`. */
export interface ElevenLabsUsage {
  /** `http` (one request) or `websocket` (stream-input). */
  mode: 'http' | 'websocket';
  /** Characters of text sent. */
  characters: number;
  /** Characters billed, from the `character-cost` / `x-character-count` header when sent (HTTP only). */
  characterCost?: number;
  requestId?: string;
}

const monitorSchema = z.custom<PerformanceMonitor>(
  (v) => typeof v === 'object' && v !== null && typeof (v as { record?: unknown }).record === 'function',
  { message: 'expected a PerformanceMonitor' },
);

/** Defaults of {@link ElevenLabsTextToSpeechOptions}, documented in docs/providers.md. */
export const ELEVENLABS_DEFAULTS = {
  /** "Rachel", one of ElevenLabs' premade voices available to every account. */
  voiceId: '21m00Tcm4TlvDq8ikWAM',
  modelId: 'eleven_turbo_v2_5',
  outputFormat: 'pcm_16000',
  stability: 0.5,
  similarityBoost: 0.75,
  timeoutMs: 10_000,
  maxRetries: 0,
  chunkLengthSchedule: [120, 160, 250, 290],
  flush: 'first-and-sentence',
  autoMode: false,
  inactivityTimeoutSeconds: 20,
  webSocketRoute: 'multi-stream-input',
  idleConnectionMs: 15_000,
} as const;

const unit = z.number().min(0).max(1);

/** Schema of {@link ElevenLabsTextToSpeechOptions}. */
export const elevenLabsOptionsSchema = z
  .object({
    /** API key. Default: `process.env.ELEVENLABS_API_KEY`. Registered as a secret, never logged. */
    apiKey: z.string().min(1).optional(),
    /** API origin, e.g. a fake server, a proxy or a regional endpoint. Default `https://api.elevenlabs.io`. */
    baseUrl: z.url({ protocol: /^https?$/ }).optional(),
    /** Voice id. Default `21m00Tcm4TlvDq8ikWAM` ("Rachel", a premade voice). */
    voiceId: z.string().min(1).default(ELEVENLABS_DEFAULTS.voiceId),
    /** Model id. Default `eleven_turbo_v2_5` (the source design's); `eleven_flash_v2_5` is faster still. */
    modelId: z.string().min(1).default(ELEVENLABS_DEFAULTS.modelId),
    /** Audio format when a call asks for none. Default `pcm_16000` (what Deepgram and telephony stacks take raw). */
    outputFormat: z.enum(ELEVENLABS_OUTPUT_FORMATS).default(ELEVENLABS_DEFAULTS.outputFormat),
    /**
     * ElevenLabs' deprecated `optimize_streaming_latency` (0 off … 4 max, which may mispronounce
     * numbers). Not sent unless set: the service marks it deprecated, and what cuts latency now
     * is a flash/turbo model, a raw `pcm_*` output format, streamed text input and a warm
     * connection (docs/providers.md).
     */
    optimizeStreamingLatency: z.number().int().min(0).max(4).optional(),
    /** Voice settings sent with every request. Defaults: stability 0.5, similarityBoost 0.75. */
    voiceSettings: z
      .object({
        /** Lower: more expressive; higher: more monotone. Default 0.5. */
        stability: unit.default(ELEVENLABS_DEFAULTS.stability),
        /** Closeness to the original voice; higher costs a little latency. Default 0.75. */
        similarityBoost: unit.default(ELEVENLABS_DEFAULTS.similarityBoost),
        /** Style exaggeration; anything but 0 adds latency. Default: the voice's. */
        style: unit.optional(),
        /** Default: the voice's. Adds latency when on. */
        useSpeakerBoost: z.boolean().optional(),
        /** Speaking speed, 0.7–1.2. Default: the voice's (1.0). */
        speed: z.number().min(0.7).max(1.2).optional(),
      })
      .strict()
      .prefault({}),
    /** ISO 639-1 language to enforce (multilingual models). Default: detected. */
    languageCode: z.string().min(2).optional(),
    /**
     * Deadline in ms for the first audio byte and for each later gap between chunks (a stalled
     * stream fails instead of hanging). Default 10 000.
     */
    timeoutMs: z.number().int().positive().default(ELEVENLABS_DEFAULTS.timeoutMs),
    /** SDK retries of HTTP calls (on 408/429/5xx, backoff from 1 s). Default 0: the pipeline owns deadlines. */
    maxRetries: z.number().int().min(0).max(10).default(ELEVENLABS_DEFAULTS.maxRetries),
    /** stream-input: characters buffered before each generation (50–500 each). Default ElevenLabs' [120, 160, 250, 290]. */
    chunkLengthSchedule: z
      .array(z.number().int().min(50).max(500))
      .min(1)
      .max(8)
      .default([...ELEVENLABS_DEFAULTS.chunkLengthSchedule]),
    /**
     * stream-input: when to force generation of the buffered text (ElevenLabs' `flush`).
     * `first-and-sentence` (default): after the first piece of a synthesis, so ElevenLabs starts
     * speaking on the first words instead of waiting for the whole first sentence or the chunk
     * schedule, then after each piece that ends a sentence. `sentence`: only after pieces that end
     * a sentence. `always`: after every piece. `never`: leave it to the chunk schedule.
     */
    flush: z.enum(ELEVENLABS_FLUSH_MODES).default(ELEVENLABS_DEFAULTS.flush),
    /** stream-input: ElevenLabs' `auto_mode` (generation on sentence boundaries server-side). Default false. */
    autoMode: z.boolean().default(ELEVENLABS_DEFAULTS.autoMode),
    /** stream-input: seconds without text before ElevenLabs closes the socket (max 180). Default 20. */
    inactivityTimeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(180)
      .default(ELEVENLABS_DEFAULTS.inactivityTimeoutSeconds),
    /**
     * Which WebSocket `synthesizeStream` speaks. `multi-stream-input` (default): one connection
     * kept open and reused across calls, one context per call, closed on barge-in, opened ahead
     * of time by `prewarm()`. `stream-input`: a new connection per call (the older protocol).
     */
    webSocketRoute: z
      .enum(['multi-stream-input', 'stream-input'])
      .default(ELEVENLABS_DEFAULTS.webSocketRoute),
    /**
     * multi-stream-input: how long an idle connection is kept for the next call before it is
     * closed. Must stay below `inactivityTimeoutSeconds` (the server closes idle sockets then),
     * so no keep-alive traffic is needed. Default 15 000.
     */
    idleConnectionMs: z.number().int().positive().default(ELEVENLABS_DEFAULTS.idleConnectionMs),
    /**
     * Where this adapter records its own latencies (`stt` / `tts`, `tts_ttfb`, with provider
     * labels). Default: nowhere (`false` says the same): the pipeline records every stage call
     * once; give a monitor here only when you use the adapter on its own (issue 13).
     */
    monitor: z.union([monitorSchema, z.literal(false)]).optional(),
    /** Called after each synthesis with the characters sent (and billed, when known). */
    onUsage: z.custom<(usage: ElevenLabsUsage) => void>((v) => typeof v === 'function').optional(),
  })
  .strict();

/** Options of `ElevenLabsTextToSpeech`, as callers write them (every field optional). */
export type ElevenLabsTextToSpeechOptions = z.input<typeof elevenLabsOptionsSchema>;
/** Options with every default filled in. */
export type ResolvedElevenLabsOptions = z.output<typeof elevenLabsOptionsSchema>;

/** Validates options, throwing ConfigError with every bad field (never echoing the key). */
export function parseElevenLabsOptions(options: ElevenLabsTextToSpeechOptions): ResolvedElevenLabsOptions {
  const parsed = elevenLabsOptionsSchema.safeParse(options);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map((i) => ({
      path: i.path.join('.'),
      message: i.path[0] === 'apiKey' ? 'must be a non-empty string' : i.message,
    })),
    { source: 'ElevenLabsTextToSpeech options' },
  );
}
