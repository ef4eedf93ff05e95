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
  AudioChunk,
  AudioFormat,
  ChatMessage,
  LanguageModel,
  TextToSpeech,
  TokenUsage,
  Tool,
  ToolDefinition,
  ToolPrefetch,
} from './contracts.js';
import type { FallbackStage, TurnEvent } from './events.js';
import type { ResolvedPipelineOptions } from './options.js';
import { abortReason, borrowScope, Scope, type StageScope } from './scope.js';
import type { SentenceChunkerOptions } from './sentence-chunker.js';
import { SpeechOutput } from './speech-output.js';
import type { WaitedOn } from './speech-queue.js';
import { type LiveSpan, type MetricSink, TimelineRecorder } from './timeline.js';
import type { TurnStream } from './turn.js';

/** Abort reason of a prefetch the finished turn did not need (not an error: never recorded as one). */
export const PREFETCH_UNUSED: AbortedError = new AbortedError(
  'The turn finished without using this prefetch.',
);

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
  /** Audio of stock phrases (acknowledgements), by voice, format and text. */
  phraseAudio: Map<string, AudioChunk[]>;
}

const now = (): number => performance.now();

/** The message of anything thrown. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `err` as an EarshotError (a `PipelineError` "`<what>`: …" wrapping anything else). */
function asEarshotError(err: unknown, what: string): EarshotError {
  return err instanceof EarshotError ? err : new PipelineError(`${what}: ${messageOf(err)}`, { cause: err });
}

type MarkName = Parameters<TimelineRecorder['mark']>[0];

/**
 * @internal The shared state of one turn. The turn's root state runs speech-to-text; each
 * answer (search, cache, model, speech) runs in a child state with a scope of its own. A
 * preemptive answer's child is *held*: its events, marks and audio wait in order until
 * {@link TurnState.release} (the end of turn is confirmed) or are dropped with the child.
 */
export class TurnState {
  /** The turn's root state (itself for the root). */
  readonly root: TurnState;
  readonly #parent: TurnState | undefined;
  /** Deliveries held until release (a preemptive answer); undefined once released. */
  #held: (() => void)[] | undefined;
  #resolveReleased!: () => void;
  /** Settles when the state's output may be played (at once unless held). */
  readonly released: Promise<void>;
  readonly pipeline: PipelineContext;
  readonly options: ResolvedPipelineOptions;
  readonly stream: TurnStream;
  /** Aborted on barge-in or on a fatal error (a child's also when dropped); every stage call is linked to it. */
  readonly scope: Scope;
  readonly timeline: TimelineRecorder;
  readonly history: readonly ChatMessage[];
  /** Work the turn waits for before it resolves (an STT session closing). */
  readonly pending: Promise<unknown>[];
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
  /** Prefetches of read-only tools, by tool name (never reject). */
  readonly prefetches = new Map<string, Promise<readonly ToolPrefetch[]>>();
  /** Scopes of the prefetches still running. */
  readonly prefetchScopes = new Set<Scope>();
  /** Model calls started by this state. */
  llmCalls = 0;
  /** Output tokens of its model calls (streamed pieces for a call cut before its usage report). */
  outputTokens = 0;
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
    parent?: { state: TurnState; held: boolean },
  ) {
    this.pipeline = pipeline;
    this.options = pipeline.options;
    this.stream = stream;
    this.history = history;
    this.#speechEndedAt = speechEndedAt;
    this.#parent = parent?.state;
    this.root = parent ? parent.state.root : this;
    this.scope = new Scope(parent?.state.signal);
    this.timeline =
      parent?.state.timeline ?? new TimelineRecorder(stream.id, speechEndedAt ?? now(), pipeline.metrics);
    this.pending = parent?.state.pending ?? [];
    this.#held = parent?.held ? [] : undefined;
    this.released = new Promise<void>((resolve) => {
      this.#resolveReleased = resolve;
    });
    if (!this.#held) this.#resolveReleased();
    this.llm = parent?.state.llm ?? this.options.llm;
    this.tts = parent?.state.tts ?? this.options.tts;
    this.ttsFormat = parent?.state.ttsFormat ?? this.options.ttsFormat ?? this.tts.defaultFormat;
    this.answer = new AnswerCache(this);
    this.speech = new SpeechOutput(this);
  }

  /** A child state for an answer (held: a preemptive one, played only once released). */
  child(transcript: string, held: boolean): TurnState {
    const child = new TurnState(this.pipeline, this.stream, this.history, this.#speechEndedAt, {
      state: this,
      held,
    });
    child.transcript = transcript;
    child.newMessages.push({ role: 'user', content: transcript });
    return child;
  }

  /** Whether output is being held (a preemptive answer before the end of turn is confirmed). */
  get held(): boolean {
    return this.#held !== undefined;
  }

  /** Plays what was held, in order, and everything from now on at once. */
  release(): void {
    const held = this.#held;
    if (!held) return;
    this.#held = undefined;
    this.#resolveReleased();
    for (const deliver of held) deliver();
  }

  /** Runs `deliver` now, or at release when output is held. */
  deliver(deliver: () => void): void {
    if (this.#held) this.#held.push(deliver);
    else deliver();
  }

  /** Sets a timeline mark (at release when held; the time stays when it happened). */
  mark(name: MarkName, at = now()): void {
    this.deliver(() => this.timeline.mark(name, at));
  }

  /** Barge-in. Ignored once the turn has finished. */
  interrupt(reason?: unknown): void {
    if (this.root.finished || this.scope.aborted) return;
    this.interruptedAt = now();
    this.stream.stopAudio();
    this.scope.abort(new AbortedError('The turn was interrupted (barge-in).', { cause: reason }));
  }

  /** Fails the turn with `err` (first failure wins; ignored after a barge-in). */
  fail(err: unknown): void {
    // A released answer's failure is the turn's; a held one only loses its own work.
    if (this.#parent && !this.held) {
      this.#parent.fail(err);
      return;
    }
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
    if (this.scope.aborted || this.root.finished) return;
    this.deliver(() => {
      if (!this.scope.aborted && !this.root.finished) this.stream.push(event);
    });
  }

  /** Fixes the latency clock's origin: the host's `speechEndedAt`, or `at` (once). */
  fixOrigin(at: number): void {
    if (this.root !== this) {
      this.root.fixOrigin(at);
      return;
    }
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

  /**
   * Stops the prefetches still running: the answer is complete without them, so the turn does
   * not wait for them. A load they started through the cache goes on there (single-flight never
   * cancels a load for a caller that leaves), so the data is still cached for the next turn.
   */
  stopUnusedPrefetches(): void {
    for (const scope of this.prefetchScopes) scope.abort(PREFETCH_UNUSED);
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
