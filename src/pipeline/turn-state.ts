/**
 * What every stage of one turn shares: the pipeline's resolved settings, the turn's scope,
 * timeline and event stream, the stages in use (a fallback swaps them), the conversation so
 * far, and the small helpers every stage needs (emit, fallback switch, recovered errors,
 * cache reads and writes that never fail a turn).
 * @module
 */
import { AbortedError, EarshotError, PipelineError } from '../errors.js';
import { raceAbort } from '../internal/abort.js';
import { AnswerCache } from './answer-cache.js';
import type { PipelineCache } from './cache.js';
import type {
  AudioFormat,
  ChatMessage,
  LanguageModel,
  TextToSpeech,
  TokenUsage,
  Tool,
  ToolDefinition,
} from './contracts.js';
import type { FallbackStage, TurnEvent } from './events.js';
import type { ResolvedPipelineOptions } from './options.js';
import { abortReason, borrowScope, Scope, type StageScope } from './scope.js';
import type { SentenceChunkerOptions } from './sentence-chunker.js';
import { SpeechOutput } from './speech-output.js';
import type { WaitedOn } from './speech-queue.js';
import { type LiveSpan, type MetricSink, TimelineRecorder } from './timeline.js';
import type { TurnStream } from './turn.js';

/** @internal Everything a turn needs from its pipeline, resolved once. */
export interface PipelineContext {
  options: ResolvedPipelineOptions;
  tools: readonly Tool[];
  toolsByName: ReadonlyMap<string, Tool>;
  toolDefs: readonly ToolDefinition[];
  metrics: MetricSink | undefined;
  chunkerOptions: SentenceChunkerOptions;
  store: PipelineCache | undefined;
  llmCache: { namespace: string; ttlSeconds?: number | undefined; history: 'bypass' | 'key' } | undefined;
  ttsCache: { namespace: string; ttlSeconds?: number | undefined; maxTextChars: number } | undefined;
  searchCache: { namespace: string; ttlSeconds?: number | undefined } | undefined;
}

const now = (): number => performance.now();

/** The message of anything thrown. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `err` as an EarshotError (a `PipelineError` "`<what>`: …" wrapping anything else). */
export function asEarshotError(err: unknown, what: string): EarshotError {
  return err instanceof EarshotError ? err : new PipelineError(`${what}: ${messageOf(err)}`, { cause: err });
}

/** @internal The shared state of one turn. */
export class TurnState {
  readonly pipeline: PipelineContext;
  readonly options: ResolvedPipelineOptions;
  readonly stream: TurnStream;
  /** Aborted on barge-in or on a fatal error; every stage call is linked to it. */
  readonly scope = new Scope();
  readonly timeline: TimelineRecorder;
  readonly history: readonly ChatMessage[];
  /** Work the turn waits for before it resolves (an STT session closing). */
  readonly pending: Promise<unknown>[] = [];
  /** The stages in use; a fallback replaces them for the rest of the turn. */
  llm: LanguageModel;
  tts: TextToSpeech;
  ttsFormat: AudioFormat;
  /** The user's words (final transcript or the text input). */
  transcript = '';
  /** Everything the model wrote (and the apology, when one is spoken). */
  reply = '';
  usage: TokenUsage | undefined;
  /** Finish reason of the last model call. */
  lastFinish: string | undefined;
  /** A tool with side effects ran: the answer must not be cached. */
  sideEffects = false;
  recoveredErrors = 0;
  /** Messages this turn adds to the conversation. */
  readonly newMessages: ChatMessage[] = [];
  finished = false;
  /** The error that failed the turn. */
  fatal: EarshotError | undefined;
  /** When a barge-in interrupted the turn. */
  interruptedAt: number | undefined;
  /** The LLM answer cache: lookup, recording, replay, store. */
  readonly answer: AnswerCache;
  /** Text → chunks → ordered audio. */
  readonly speech: SpeechOutput;
  readonly #speechEndedAt: number | undefined;
  #originFixed = false;

  constructor(
    pipeline: PipelineContext,
    stream: TurnStream,
    history: readonly ChatMessage[],
    speechEndedAt: number | undefined,
  ) {
    this.pipeline = pipeline;
    this.options = pipeline.options;
    this.stream = stream;
    this.history = history;
    this.#speechEndedAt = speechEndedAt;
    this.timeline = new TimelineRecorder(stream.id, speechEndedAt ?? now(), pipeline.metrics);
    this.llm = this.options.llm;
    this.tts = this.options.tts;
    this.ttsFormat = this.options.ttsFormat ?? this.tts.defaultFormat;
    this.answer = new AnswerCache(this);
    this.speech = new SpeechOutput(this);
  }

  /** Barge-in. Ignored once the turn has finished. */
  interrupt(reason?: unknown): void {
    if (this.finished || this.scope.aborted) return;
    this.interruptedAt = now();
    this.stream.stopAudio();
    this.scope.abort(new AbortedError('The turn was interrupted (barge-in).', { cause: reason }));
  }

  /** Fails the turn with `err` (first failure wins; ignored after a barge-in). */
  fail(err: unknown): void {
    if (this.scope.aborted) return;
    this.fatal = asEarshotError(err, 'The turn failed');
    this.scope.abort(this.fatal);
  }

  /** The turn's signal. */
  get signal(): AbortSignal {
    return this.scope.signal;
  }

  /** Hands an event to the caller, unless the turn is over or aborted. */
  emit(event: TurnEvent): void {
    if (!this.scope.aborted && !this.finished) this.stream.push(event);
  }

  /** Fixes the latency clock's origin: the host's `speechEndedAt`, or `at` (once). */
  fixOrigin(at: number): void {
    if (this.#originFixed) return;
    this.#originFixed = true;
    this.timeline.origin = this.#speechEndedAt ?? at;
  }

  /** Records and emits a fallback switch. */
  switchTo(stage: FallbackStage, from: string, to: string, error: EarshotError): void {
    this.timeline.fallback(stage, from, to, `${error.code}: ${error.message}`);
    this.emit({ type: 'fallback', stage, from, to, error });
  }

  /** Reports a failure the turn recovered from. */
  recovered(stage: string, error: EarshotError): void {
    this.recoveredErrors++;
    this.emit({ type: 'error', stage, error, recovered: true });
  }

  /** A scope of its own for a stage call with a deadline; the turn's signal, borrowed, otherwise. */
  stageScope(deadlineMs: number | undefined): StageScope {
    return deadlineMs === undefined ? borrowScope(this.scope) : new Scope(this.scope.signal);
  }

  /** The span that ended last with this name, as a `waitedOn` for the next stage. */
  lastSpanWait(name: string): WaitedOn | undefined {
    const spans = this.timeline.spans;
    for (let i = spans.length - 1; i >= 0; i--) {
      const span = spans[i] as LiveSpan;
      if (span.name === name) return { spanId: span.id, at: span.end ?? now() };
    }
    return undefined;
  }

  /** Reads the cache; a failed read is a miss (reported as recovered), an abort rethrows. */
  async cacheGet(key: string, namespace: string, signal: AbortSignal): Promise<unknown> {
    const store = this.pipeline.store;
    if (!store) return undefined;
    try {
      return await raceAbort(
        Promise.resolve().then(() => store.get(key, namespace)),
        signal,
        abortReason,
      );
    } catch (err) {
      if (signal.aborted) throw err;
      this.recovered('cache', asEarshotError(err, 'Cache read failed'));
      return undefined;
    }
  }

  /** Writes the cache; a failed write costs a future hit only (reported as recovered). */
  async cacheSet(
    key: string,
    value: unknown,
    namespace: string,
    ttlSeconds: number | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    const store = this.pipeline.store;
    if (!store) return;
    try {
      const writing = Promise.resolve().then(() =>
        ttlSeconds === undefined
          ? store.set(key, value, namespace)
          : store.set(key, value, namespace, { ttlSeconds }),
      );
      await raceAbort(writing, signal, abortReason);
    } catch (err) {
      if (signal.aborted) throw err;
      this.recovered('cache', asEarshotError(err, 'Cache write failed'));
    }
  }
}
