/**
 * Options of the Deepgram adapter: a zod schema, the type inferred from it, and the defaults
 * (from the source design: `nova-2`, `smart_format`, interim results; retries off in favour of
 * the pipeline's deadlines; live settings tuned for latency, each explained in
 * docs/providers.md).
 * @module
 */
import { z } from 'zod';
import { ConfigError } from '../../errors.js';
import type { PerformanceMonitor } from '../../perf/index.js';

const monitorSchema = z.custom<PerformanceMonitor>(
  (v) => typeof v === 'object' && v !== null && typeof (v as { record?: unknown }).record === 'function',
  { message: 'expected a PerformanceMonitor' },
);

/** Defaults of {@link DeepgramSpeechToTextOptions}, documented in docs/providers.md. */
export const DEEPGRAM_DEFAULTS = {
  model: 'nova-2',
  smartFormat: true,
  interimResults: true,
  noDelay: true,
  endpointingMs: 100,
  utteranceEndMs: 1000,
  vadEvents: true,
  encoding: 'linear16',
  sampleRate: 16_000,
  channels: 1,
  keepAliveMs: 5_000,
  finalizeGraceMs: 500,
  warmIdleMs: 30_000,
  timeoutMs: 10_000,
  maxRetries: 0,
  reconnectAttempts: 0,
} as const;

/** Schema of {@link DeepgramSpeechToTextOptions}. */
export const deepgramOptionsSchema = z
  .object({
    /** API key. Default: `process.env.DEEPGRAM_API_KEY`. Registered as a secret, never logged. */
    apiKey: z.string().min(1).optional(),
    /** API origin for REST and WebSocket, e.g. a fake server or a proxy. Default Deepgram's (`https://api.deepgram.com`). */
    baseUrl: z.url({ protocol: /^(https?|wss?)$/ }).optional(),
    /**
     * Model id. Default `nova-2` (the source design's choice); `nova-3` is newer. A `flux-*`
     * model (`flux-general-en`, `flux-general-multi`) streams over Deepgram Flux (`/v2/listen`),
     * which detects turns itself and, with `eagerEotThreshold`, sends preflight transcripts;
     * every other model streams over `/v1/listen`. Prerecorded `transcribe()` always uses
     * `/v1/listen` (Flux is streaming only), so give a nova model for it.
     */
    model: z.string().min(1).default(DEEPGRAM_DEFAULTS.model),
    /**
     * Flux only: end-of-turn confidence (0.5–0.9) at which Flux sends `EndOfTurn`. Higher waits
     * longer and cuts off fewer speakers. Default: Deepgram's (0.7).
     */
    eotThreshold: z.number().min(0.5).max(0.9).optional(),
    /**
     * Flux only: confidence (0.3–0.9, not above `eotThreshold`) at which Flux sends
     * `EagerEndOfTurn`, which this adapter emits as a preflight transcript, so the pipeline's
     * preemptive generation starts the answer before the end of turn. Lower starts earlier and
     * wastes more LLM calls (each `TurnResumed` drops one). Default: off (no eager end of turn).
     */
    eagerEotThreshold: z.number().min(0.3).max(0.9).optional(),
    /**
     * Flux only: ms of silence after which Flux ends the turn whatever its confidence
     * (500–10 000). Default: Deepgram's (5 000).
     */
    eotTimeoutMs: z.number().int().min(500).max(10_000).optional(),
    /** BCP-47 language, e.g. `en-US`. Default: Deepgram's default for the model (English). */
    language: z.string().min(1).optional(),
    /** Numbers, dates and punctuation formatted. Default true. */
    smartFormat: z.boolean().default(DEEPGRAM_DEFAULTS.smartFormat),
    /** Live: interim (not final) transcripts while the user speaks. Default true. */
    interimResults: z.boolean().default(DEEPGRAM_DEFAULTS.interimResults),
    /**
     * Live: Deepgram's `no_delay`: with `smartFormat` on, send finals at once instead of holding
     * them up to ~3 s to format a number that may continue. Default true.
     */
    noDelay: z.boolean().default(DEEPGRAM_DEFAULTS.noDelay),
    /**
     * Live: ms of silence that ends an utterance (`speech_final`), or false to disable. Default
     * 100: a final (and the end of turn, when the app has no turn detector of its own) comes
     * 100 ms after the last word. Deepgram's own default is 10; raise it (300–500) if speakers
     * who pause mid-sentence get cut off.
     */
    endpointingMs: z
      .union([z.number().int().min(10), z.literal(false)])
      .default(DEEPGRAM_DEFAULTS.endpointingMs),
    /** Live: `UtteranceEnd` after this gap between words (≥ 1000), or false. Default 1000. */
    utteranceEndMs: z
      .union([z.number().int().min(1000), z.literal(false)])
      .default(DEEPGRAM_DEFAULTS.utteranceEndMs),
    /** Live: `SpeechStarted` events. Default true. */
    vadEvents: z.boolean().default(DEEPGRAM_DEFAULTS.vadEvents),
    /** Live: encoding of raw audio when the call gives no `format`. Default `linear16`. */
    encoding: z.string().min(1).default(DEEPGRAM_DEFAULTS.encoding),
    /** Live: sample rate of raw audio when the call gives no `format`. Default 16 000. */
    sampleRate: z.number().int().positive().default(DEEPGRAM_DEFAULTS.sampleRate),
    /** Live: audio channels. Default 1. */
    channels: z.number().int().min(1).max(8).default(DEEPGRAM_DEFAULTS.channels),
    /**
     * Live: send a KeepAlive when no audio was sent for this long (Deepgram closes idle sockets
     * after 10 s), or false. Default 5 000.
     */
    keepAliveMs: z
      .union([z.number().int().positive(), z.literal(false)])
      .default(DEEPGRAM_DEFAULTS.keepAliveMs),
    /**
     * Live: how long `finalize()` waits for Deepgram's reply before the finals received so far end
     * the utterance (Deepgram does not answer a Finalize when nothing is buffered). Default 500.
     */
    finalizeGraceMs: z.number().int().positive().default(DEEPGRAM_DEFAULTS.finalizeGraceMs),
    /**
     * Live: how long a socket opened by `prewarm()` waits (with KeepAlive messages) for the next
     * `stream()` before it is closed. Default 30 000.
     */
    warmIdleMs: z.number().int().positive().default(DEEPGRAM_DEFAULTS.warmIdleMs),
    /**
     * Deadline in ms: a whole prerecorded request; and opening a live socket. Default 10 000.
     */
    timeoutMs: z.number().int().positive().default(DEEPGRAM_DEFAULTS.timeoutMs),
    /** SDK retries of REST calls (on 408/429/5xx, backoff from 1 s). Default 0: the pipeline owns deadlines. */
    maxRetries: z.number().int().min(0).max(10).default(DEEPGRAM_DEFAULTS.maxRetries),
    /** SDK reconnects of a dropped live socket. Default 0 (a reconnect loses the utterance anyway). */
    reconnectAttempts: z.number().int().min(0).max(30).default(DEEPGRAM_DEFAULTS.reconnectAttempts),
    /**
     * Where this adapter records its own latencies (`stt` / `tts`, `tts_ttfb`, with provider
     * labels). Default: nowhere (`false` says the same): the pipeline records every stage call
     * once; give a monitor here only when you use the adapter on its own (issue 13).
     */
    monitor: z.union([monitorSchema, z.literal(false)]).optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    const flux = isFluxModel(o.model);
    for (const key of ['eotThreshold', 'eagerEotThreshold', 'eotTimeoutMs'] as const) {
      if (o[key] !== undefined && !flux) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `only applies to Flux models (flux-general-en, flux-general-multi), not "${o.model}"`,
        });
      }
    }
    if (o.eagerEotThreshold !== undefined && o.eagerEotThreshold > (o.eotThreshold ?? 0.7)) {
      ctx.addIssue({
        code: 'custom',
        path: ['eagerEotThreshold'],
        message: `must not exceed eotThreshold (${o.eotThreshold ?? 0.7}): the eager end of turn comes first`,
      });
    }
  });

/**
 * True for a Deepgram Flux model (`flux-*`): those stream over `/v2/listen` with turn detection
 * and eager end of turn; every other model streams over `/v1/listen`.
 */
export function isFluxModel(model: string): boolean {
  return model.startsWith('flux-');
}

/** Options of `DeepgramSpeechToText`, as callers write them (every field optional). */
export type DeepgramSpeechToTextOptions = z.input<typeof deepgramOptionsSchema>;
/** Options with every default filled in. */
export type ResolvedDeepgramOptions = z.output<typeof deepgramOptionsSchema>;

/** Validates options, throwing ConfigError with every bad field (never echoing the key). */
export function parseDeepgramOptions(options: DeepgramSpeechToTextOptions): ResolvedDeepgramOptions {
  const parsed = deepgramOptionsSchema.safeParse(options);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map((i) => ({
      path: i.path.join('.'),
      message: i.path[0] === 'apiKey' ? 'must be a non-empty string' : i.message,
    })),
    { source: 'DeepgramSpeechToText options' },
  );
}
