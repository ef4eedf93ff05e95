/**
 * Stage contracts: the small interfaces every provider adapter (and every fake, and every
 * custom stage a host app writes) implements. The pipeline knows only these, never an SDK.
 *
 * Conventions shared by every contract:
 * - Streams are `AsyncIterable`s, so stages overlap (TTS starts on the first sentence while the
 *   LLM is still writing).
 * - Every call takes a {@link StageCallOptions} with an `AbortSignal`; aborting it must stop the
 *   remote request (close the socket / abort the fetch) and make the iterable end by throwing
 *   an `AbortedError`.
 * - Errors are `EarshotError`s (usually `ProviderError` with `provider`, `status`, `retryable`,
 *   `requestId`).
 * - Times are milliseconds.
 * @module
 */
import type { z } from 'zod';

/** Options every stage call accepts. */
export interface StageCallOptions {
  /** Cancels the call (barge-in, deadline). Implementations must honour it promptly. */
  signal?: AbortSignal;
}

/** Identifies a stage implementation in metrics labels and reports. */
export interface StageInfo {
  /** Provider name used in the `provider` label, e.g. `deepgram`, `openai`, `fake`. */
  readonly provider: string;
  /** Model id, voice id, index name... whatever distinguishes configurations. */
  readonly model?: string;
}

/**
 * Optional connection lifecycle any stage may implement, so the first call of a turn does not
 * pay for DNS, TCP/TLS or a WebSocket handshake (see docs/latency.md).
 */
export interface StageLifecycle {
  /**
   * Opens (or keeps open) the connections the next call will use: a keep-alive HTTP socket, an
   * idle WebSocket, a live STT socket. Idempotent and cheap when already warm. Never rejects for a
   * provider fault: a failed prewarm only leaves the connection cold (the next call connects as
   * usual). Rejects only with an `AbortedError` when `signal` aborts.
   */
  prewarm?(options?: StageCallOptions): Promise<void>;
  /** Releases pooled connections (kept-alive sockets, an idle WebSocket). Idempotent. */
  close?(): Promise<void>;
}

// ───────────────────────────── audio ─────────────────────────────

/**
 * Audio encodings, named the ElevenLabs way: `<codec>_<sampleRate>[_<bitrate>]`,
 * e.g. `pcm_16000` (signed 16-bit little-endian mono), `mp3_44100_128`, `ulaw_8000`,
 * plus `wav` for a RIFF/WAVE container (sample rate in its header).
 */
export type AudioFormat =
  | `pcm_${number}`
  | `mp3_${number}_${number}`
  | `ulaw_${number}`
  | `alaw_${number}`
  | 'wav'
  | (string & {});

/** Audio input to speech-to-text: a finished utterance or a stream of chunks. */
export type AudioInput = Uint8Array | AsyncIterable<Uint8Array>;

/** A chunk of synthesized audio. */
export interface AudioChunk {
  /** Raw bytes in `format`. */
  data: Uint8Array;
  /** Encoding of `data`. */
  format: AudioFormat;
  /**
   * The text whose speech starts in this chunk, when the provider says (ElevenLabs' character
   * alignment on a streamed synthesis). Optional; a streaming TTS should set it on
   * `synthesizeStream` chunks: with streamed input the pipeline cannot otherwise tell which of
   * the sentences it sent the audio has reached, so after a barge-in it keeps in the history
   * every sentence sent before the audio that was played (see "Barge-in" in docs/pipeline.md).
   */
  text?: string;
}

// ───────────────────────────── STT ─────────────────────────────

/** A transcript, interim or final. */
export interface Transcript {
  text: string;
  /** True when the provider will not revise this text. */
  isFinal: boolean;
  /** 0–1 when the provider reports it. */
  confidence?: number;
  /** Position in the audio, seconds from the start of the stream. */
  startSeconds?: number;
  durationSeconds?: number;
  /** Provider request id, for support tickets. */
  requestId?: string;
  /**
   * True when the provider's endpointing says the utterance ended with this final transcript
   * (Deepgram `speech_final`). Absent when the provider does not say.
   */
  speechFinal?: boolean;
  /**
   * An interim transcript (`isFinal: false`) that the provider expects to be the final one: a
   * "preflight" or "eager end of turn" transcript (Deepgram Flux `EagerEndOfTurn`, or a last
   * interim that repeats the final). Preemptive generation may start the answer on it; the
   * answer is kept only when the final transcript matches (normalised).
   */
  preflight?: boolean;
}

/** Options of a one-shot transcription. */
export interface TranscribeOptions extends StageCallOptions {
  /** Encoding of the input when it is not self-describing (WAV is). */
  format?: AudioFormat;
  /** BCP-47 language, e.g. `en-US`. */
  language?: string;
}

/** Events of a streaming transcription session. */
export type SpeechToTextEvent =
  | { type: 'transcript'; transcript: Transcript }
  /** The provider detected the start of speech. */
  | { type: 'speech-started'; atMs: number }
  /** End of the user's utterance (endpointing / utterance end): time to answer. */
  | {
      type: 'end-of-speech';
      atMs: number;
      transcript: string;
      /**
       * When the provider reports it (Deepgram `UtteranceEnd.last_word_end`, in seconds from the
       * start of the stream): the end of the last word, so the endpointing delay (last speech →
       * end of turn confirmed) can be measured.
       */
      lastWordEndSeconds?: number;
    }
  /**
   * The provider withdrew its last preflight transcript: the user kept talking in the same turn
   * (Deepgram Flux `TurnResumed`, sent after an `EagerEndOfTurn`). Work started on that
   * preflight (preemptive generation) is dropped at once instead of running on until the final
   * transcript contradicts it. Providers without eager end of turn never send it.
   */
  | { type: 'turn-resumed'; atMs: number };

/** A live transcription session (WebSocket or similar). */
export interface SpeechToTextSession extends AsyncIterable<SpeechToTextEvent> {
  /** Sends audio. Resolves when the bytes are handed to the transport. */
  send(chunk: Uint8Array): void | Promise<void>;
  /**
   * Declares that the user stopped speaking: the provider flushes and the next final
   * transcript answers it. STT latency is measured from this call to that final transcript.
   */
  finalize(): void | Promise<void>;
  /** Ends the session gracefully (the iterable ends after the last events). */
  close(): Promise<void>;
}

/** Speech-to-text. */
export interface SpeechToText extends StageInfo, StageLifecycle {
  /** Transcribes a finished utterance and returns the final transcript. */
  transcribe(audio: AudioInput, options?: TranscribeOptions): Promise<Transcript>;
  /** Opens a streaming session, for providers that stream. */
  stream?(options?: TranscribeOptions & { interimResults?: boolean }): Promise<SpeechToTextSession>;
  /**
   * {@link StageLifecycle.prewarm}, with the settings of the `stream()` call the warm session is
   * for (format, language, interim results), so an adapter can open a matching one. Without
   * them an adapter uses its best guess (earshot's Deepgram adapter: the last `stream()` call's).
   */
  prewarm?(options?: TranscribeOptions & { interimResults?: boolean }): Promise<void>;
}

// ───────────────────────────── LLM ─────────────────────────────

/** A tool call requested by the model. `arguments` is the raw JSON text the model wrote. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** Chat messages, provider-neutral. */
export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | {
      role: 'assistant';
      content: string;
      toolCalls?: ToolCall[];
      /**
       * Set by the pipeline on the reply a barge-in cut: `content` holds only the sentences
       * whose audio started, not everything the model wrote. Adapters do not send it.
       */
      interrupted?: true;
    }
  | { role: 'tool'; toolCallId: string; name: string; content: string };

/** A tool as the language model sees it: JSON Schema parameters. */
export interface ToolDefinition {
  name: string;
  description: string;
  /** JSON Schema of the arguments object. */
  parameters: Record<string, unknown>;
}

/** Token usage of one model call. */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  totalTokens?: number;
}

/** Events a language model streams. */
export type LanguageModelEvent =
  | { type: 'text-delta'; text: string }
  | { type: 'tool-call'; call: ToolCall }
  | { type: 'usage'; usage: TokenUsage }
  | {
      type: 'finish';
      reason: 'stop' | 'length' | 'tool-calls' | 'content-filter' | 'other';
      requestId?: string;
    };

/** Options of one model call. */
export interface GenerateOptions extends StageCallOptions {
  tools?: readonly ToolDefinition[];
  /** Upper bound on output tokens. Adapters default to 1024. */
  maxTokens?: number;
  temperature?: number;
}

/** A streaming chat language model. */
export interface LanguageModel extends StageInfo, StageLifecycle {
  /** Streams text deltas and tool calls for `messages`, then `usage` (when known) and `finish`. */
  stream(messages: readonly ChatMessage[], options?: GenerateOptions): AsyncIterable<LanguageModelEvent>;
}

// ───────────────────────────── TTS ─────────────────────────────

/** Options of one synthesis. */
export interface SynthesizeOptions extends StageCallOptions {
  /** Requested output format; adapters document their default. */
  format?: AudioFormat;
}

/** Options of {@link TextToSpeech.prewarm}. */
export interface SynthesisPrewarmOptions extends StageCallOptions {
  /**
   * How the next turn will send text: `true` into `synthesizeStream` (streamed input), `false`
   * one `synthesize()` per sentence. An adapter with both transports warms only the one the turn
   * will use (no idle WebSocket for a pipeline in sentence mode); `undefined` warms both.
   */
  streamedInput?: boolean;
}

/** Text-to-speech. */
export interface TextToSpeech extends StageInfo, StageLifecycle {
  /** Audio format produced when none is requested. */
  readonly defaultFormat: AudioFormat;
  /** {@link StageLifecycle.prewarm}, told which transport the next turn will use. */
  prewarm?(options?: SynthesisPrewarmOptions): Promise<void>;
  /** Synthesizes `text`; audio chunks arrive as they are produced. */
  synthesize(text: string, options?: SynthesizeOptions): AsyncIterable<AudioChunk>;
  /**
   * Streamed text in, audio out (e.g. ElevenLabs' WebSocket stream-input), for providers that
   * support it: text pieces are sent while the LLM writes.
   */
  synthesizeStream?(text: AsyncIterable<string>, options?: SynthesizeOptions): AsyncIterable<AudioChunk>;
}

// ───────────────────────────── search ─────────────────────────────

/** One document returned by a search. */
export interface SearchResult {
  id: string;
  /** Similarity score; higher is closer. */
  score: number;
  /** The text to give the model, when stored. */
  text?: string;
  metadata?: Record<string, unknown>;
}

/** Options of a document search. */
export interface SearchOptions extends StageCallOptions {
  /** Number of results. Default 5. */
  topK?: number;
  /** Provider namespace (Pinecone namespace, collection...). */
  namespace?: string;
  /** Metadata filter in the Mongo-like syntax Pinecone uses (`{ lang: { $eq: 'en' } }`). */
  filter?: Record<string, unknown>;
}

/** Query text → top-k documents. */
export interface DocumentSearch extends StageInfo, StageLifecycle {
  search(query: string, options?: SearchOptions): Promise<SearchResult[]>;
}

/** Text → vectors. */
export interface Embedder extends StageInfo, StageLifecycle {
  readonly dimensions?: number;
  embed(texts: readonly string[], options?: StageCallOptions): Promise<number[][]>;
}

/** A record stored in a vector index. */
export interface VectorRecord {
  id: string;
  values: number[];
  metadata?: Record<string, string | number | boolean | string[]>;
}

/** A vector store. An `Embedder` + `VectorIndex` pair makes a {@link DocumentSearch}. */
export interface VectorIndex extends StageInfo, StageLifecycle {
  query(vector: readonly number[], options?: SearchOptions): Promise<SearchResult[]>;
  upsert(
    records: readonly VectorRecord[],
    options?: StageCallOptions & { namespace?: string },
  ): Promise<void>;
}

// ───────────────────────────── tools ─────────────────────────────

/**
 * Context given to a tool when the model calls it: the call's id, a signal (barge-in and
 * `deadlines.tool`), and the pipeline's capabilities. The capabilities are optional because a
 * tool may also run outside a pipeline (a test, a script): fall back to doing the work
 * directly when one is absent.
 *
 * @example
 * ```ts
 * const lookup = defineTool({
 *   name: 'lookup_policy',
 *   description: 'Finds the company policy on a topic.',
 *   parameters: z.object({ topic: z.string() }),
 *   async execute({ topic }, ctx) {
 *     const started = performance.now();
 *     // Timed as `search` and cached like the built-in search tool when run in a pipeline.
 *     const results = ctx.search
 *       ? await ctx.search(policies, topic, { topK: 3 })
 *       : await policies.search(topic, { topK: 3, ...(ctx.signal ? { signal: ctx.signal } : {}) });
 *     ctx.record?.('policy_lookup', performance.now() - started);
 *     return results;
 *   },
 * });
 * ```
 */
export interface ToolContext extends StageCallOptions {
  /** Id of the model's tool call. */
  callId: string;
  /**
   * Runs a document search as a stage of the turn: a `search` span in the timeline, recorded as
   * `search`, read from and written to the search cache when the pipeline caches searches,
   * bounded by `deadlines.search` and by the tool's own signal (the default when
   * `options.signal` is not given).
   */
  search?(search: DocumentSearch, query: string, options?: SearchOptions): Promise<SearchResult[]>;
  /**
   * Records a measurement of the tool's own into the pipeline's monitor (nothing when the
   * pipeline was created with `monitor: false`). Use your own operation names.
   */
  record?(operation: string, durationMs: number, labels?: ToolRecordLabels): void;
}

/** Labels a tool may attach to {@link ToolContext.record}. */
export interface ToolRecordLabels {
  provider?: string;
  cached?: boolean;
  outcome?: string;
}

/**
 * A tool the model may call. `parameters` validates the model's arguments before `execute`
 * runs; a validation failure is reported back to the model as a tool error.
 */
export interface Tool<P extends z.ZodType = z.ZodType, R = unknown> extends StageLifecycle {
  name: string;
  description: string;
  parameters: P;
  /**
   * True when running the tool changes something (books a load, sends an email). Answers that
   * involved such a tool are never cached, and the tool never runs before the end of the
   * user's turn is confirmed (see preemptive generation in docs/latency.md).
   */
  sideEffects?: boolean;
  /**
   * True when the tool only reads: the pipeline may then run its {@link Tool.prefetch} before
   * the model asks. Ignored (no prefetch) when `sideEffects` is true.
   */
  readOnly?: boolean;
  /**
   * Guesses from the user's words which calls the model will make and runs them now, in
   * parallel with the first model call. A model call with the same arguments (after the
   * schema's defaults) gets the prefetched result instead of running again. Errors never fail
   * the turn: they are recorded as `prefetch` with `outcome: 'error'` and the tool runs as usual.
   * Only called when `readOnly` is true.
   */
  prefetch?(transcript: string, ctx: ToolContext): Promise<readonly ToolPrefetch<R>[]>;
  /**
   * Short phrase spoken while the turn waits for this tool ("One moment, let me check."), or
   * `false` for none. Default: the pipeline's `acknowledgement` option.
   */
  acknowledgement?: string | false;
  execute(args: z.output<P>, ctx: ToolContext): Promise<R>;
}

/** One call a tool ran ahead of the model: the arguments (as the model would write them) and the result. */
export interface ToolPrefetch<R = unknown> {
  arguments: Record<string, unknown>;
  result: R;
}
