/**
 * `createVoicePipeline`: wires stages into a streaming voice pipeline whose every turn is
 * measured. See `docs/pipeline.md`.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';
import { noop, raceAbort, throwIfAborted } from '../internal/abort.js';
import { performanceMonitor } from '../perf/index.js';
import type {
  AudioFormat,
  AudioInput,
  ChatMessage,
  SpeechToText,
  StageLifecycle,
  Tool,
} from './contracts.js';
import type { TurnResult } from './events.js';
import { parsePipelineOptions, type ResolvedPipelineOptions, type VoicePipelineOptions } from './options.js';
import { prewarmStage } from './prewarm.js';
import { createDocumentSearchTool } from './search.js';
import { preResolvedChunkerOptions } from './sentence-chunker.js';
import { prewarmStreamingStt } from './stt-stage.js';
import { MetricSink } from './timeline.js';
import { toolDefinition, validateTool } from './tools.js';
import { type Turn, TurnStream } from './turn.js';
import { normalizeInput, type PipelineContext, TurnRun } from './turn-runner.js';

/** What a turn takes: audio (bytes or a stream of chunks), audio with its format, or text. */
export type TurnInput =
  | Uint8Array
  | AsyncIterable<Uint8Array>
  | { audio: AudioInput; format?: AudioFormat }
  | { text: string };

/** Options of {@link VoicePipeline.respond}. */
export interface RespondOptions {
  /** Barge-in: aborting it interrupts the turn (same as `turn.abort()`). */
  signal?: AbortSignal;
  /** Earlier messages of the conversation (without the system prompt). Default none. */
  history?: readonly ChatMessage[];
  /**
   * `performance.now()` time when the user stopped speaking, if your voice activity detector
   * knows it. Default: when `respond` is called (for a finished utterance or text) or when the
   * audio stream ends.
   */
  speechEndedAt?: number;
  /** Id of the turn in events, metrics and reports. Default: a random UUID. */
  turnId?: string;
}

/** A configured pipeline. Stateless between turns: pass the history you keep. */
export interface VoicePipeline {
  /**
   * Answers one user turn. Returns at once; the turn runs in the background.
   *
   * @example
   * ```ts
   * const turn = pipeline.respond(utterance, { signal: bargeIn.signal, history });
   * for await (const e of turn) if (e.type === 'audio') play(e.chunk);
   * const result = await turn.done;
   * history.push(...result.messages);
   * ```
   */
  respond(input: TurnInput, options?: RespondOptions): Turn;
  /** Every tool offered to the model (yours plus the search tool). */
  readonly tools: readonly Tool[];
  /**
   * Opens the connections the next turn will use: calls `prewarm()` on every stage, fallback
   * and tool that has one, in parallel. Never rejects for a provider fault (a failed prewarm
   * leaves that connection cold); rejects only when `signal` aborts.
   *
   * @example
   * ```ts
   * const pipeline = createVoicePipeline({ stt, llm, tts, systemPrompt });
   * await pipeline.prewarm(); // at startup, or when a call comes in
   * ```
   */
  prewarm(options?: { signal?: AbortSignal }): Promise<void>;
  /** Releases pooled connections: calls `close()` on every stage, fallback and tool that has one. Idempotent. */
  close(): Promise<void>;
}

function cacheKind<T extends object>(value: boolean | T, defaults: T): T | undefined {
  if (value === false) return undefined;
  if (value === true) return defaults;
  return value;
}

/**
 * Creates a streaming voice pipeline: STT → LLM (with tools) → sentence chunker → TTS, with
 * run-ahead synthesis, barge-in, per-stage deadlines and fallbacks, opt-in caching, and a
 * timeline of every turn recorded into the monitor (`stt`, `llm_ttft`, `llm`, `tool:<name>`,
 * `search`, `tts_ttfb`, `tts`, `time_to_first_audio`, `e2e`, `turn`).
 *
 * Throws ConfigError (listing every bad field) for invalid options.
 *
 * @example
 * ```ts
 * const pipeline = createVoicePipeline({
 *   stt, llm, tts,
 *   tools: createCompanyApiTools(api),
 *   systemPrompt: 'You are a dispatcher assistant. Answer in one or two short sentences.',
 *   cache: { store: cacheManager, llm: true, tts: true },
 * });
 * const { reply, timeline } = await pipeline.respond(audio).done;
 * ```
 */
export function createVoicePipeline(options: VoicePipelineOptions): VoicePipeline {
  const resolved: ResolvedPipelineOptions = parsePipelineOptions(options);
  const tools: Tool[] = [...resolved.tools];
  if (resolved.search && resolved.searchMode === 'tool') {
    const searchTool = resolved.searchTool;
    tools.push(
      createDocumentSearchTool(resolved.search, {
        ...(searchTool.name !== undefined ? { name: searchTool.name } : {}),
        ...(searchTool.description !== undefined ? { description: searchTool.description } : {}),
        ...(searchTool.topK !== undefined ? { topK: searchTool.topK } : {}),
        ...(searchTool.namespace !== undefined ? { namespace: searchTool.namespace } : {}),
        ...(searchTool.filter !== undefined ? { filter: searchTool.filter } : {}),
      }),
    );
  }
  const toolsByName = new Map<string, Tool>();
  for (const t of tools) {
    validateTool(t);
    if (toolsByName.has(t.name)) {
      throw new InvalidArgumentError(`Two tools are named "${t.name}": tool names must be unique.`);
    }
    toolsByName.set(t.name, t);
  }
  const cache = resolved.cache;
  const context: PipelineContext = {
    options: resolved,
    tools,
    toolsByName,
    toolDefs: tools.map(toolDefinition),
    metrics: resolved.monitor === false ? undefined : new MetricSink(resolved.monitor ?? performanceMonitor),
    chunkerOptions: preResolvedChunkerOptions(resolved.chunker),
    store: cache?.store,
    llmCache: cache ? cacheKind(cache.llm, { namespace: 'llm', history: 'bypass' }) : undefined,
    ttsCache: cache ? cacheKind(cache.tts, { namespace: 'tts', maxTextChars: 200 }) : undefined,
    searchCache: cache ? cacheKind(cache.search, { namespace: 'pinecone' }) : undefined,
    phraseAudio: new Map(),
  };

  const lifecycles = (): StageLifecycle[] => {
    const all = [
      resolved.stt,
      resolved.llm,
      resolved.tts,
      resolved.search,
      resolved.fallbacks.stt,
      resolved.fallbacks.llm,
      resolved.fallbacks.tts,
      ...tools,
    ];
    return [...new Set(all.filter((stage): stage is NonNullable<typeof stage> => stage !== undefined))];
  };

  return {
    tools,
    async prewarm(prewarmOptions: { signal?: AbortSignal } = {}): Promise<void> {
      const signal = prewarmOptions.signal;
      throwIfAborted(signal, 'The pipeline prewarm');
      // A streaming STT is prewarmed for the session a turn opens (same format and settings).
      const streamingStt = [resolved.stt, resolved.fallbacks.stt].filter(
        (s) => typeof s?.stream === 'function',
      );
      const warming = lifecycles().map((stage) =>
        streamingStt.includes(stage as SpeechToText)
          ? prewarmStreamingStt(stage as SpeechToText, resolved, signal)
          : prewarmStage(stage, context, signal),
      );
      await raceAbort(Promise.all(warming), signal, 'The pipeline prewarm');
    },
    async close(): Promise<void> {
      await Promise.all(
        lifecycles().map((stage) =>
          typeof stage.close === 'function'
            ? Promise.resolve()
                .then(() => stage.close?.())
                .catch(noop)
            : undefined,
        ),
      );
    },
    respond(input: TurnInput, respondOptions: RespondOptions = {}): Turn {
      const normalized = normalizeInput(input);
      if (normalized.kind !== 'text' && !resolved.stt) {
        throw new InvalidArgumentError(
          'This pipeline has no stt stage, so respond() needs { text }. Pass stt to createVoicePipeline for audio.',
        );
      }
      const history = respondOptions.history ?? [];
      if (!Array.isArray(history))
        throw new InvalidArgumentError('history must be an array of chat messages.');
      const speechEndedAt = respondOptions.speechEndedAt;
      if (
        speechEndedAt !== undefined &&
        !(Number.isFinite(speechEndedAt) && speechEndedAt <= performance.now())
      ) {
        throw new InvalidArgumentError(
          'speechEndedAt must be a performance.now() time that is not in the future.',
        );
      }
      const id = respondOptions.turnId ?? randomUUID();
      let run!: TurnRun;
      const done = new Promise<TurnResult>((resolve, reject) => {
        // Started on the next microtask so the caller can attach listeners first.
        queueMicrotask(() => run.run().then(resolve, reject));
      });
      const stream = new TurnStream(id, done);
      run = new TurnRun(context, stream, normalized, {
        history,
        signal: respondOptions.signal,
        speechEndedAt,
      });
      return stream;
    },
  };
}
