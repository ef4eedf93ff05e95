/**
 * Runs one turn: STT → (search) → LLM with the tool loop → sentence chunker → TTS run-ahead,
 * with caching, deadlines, fallbacks, barge-in and the timeline. One instance per turn.
 * @module
 */
import {
  AbortedError,
  EarshotError,
  InvalidArgumentError,
  PipelineError,
  ProviderError,
  TimeoutError,
  ToolError,
} from '../errors.js';
import { abortReason, borrowScope, noop, raceAbort, Scope, type StageScope, stageTimeout } from './abort.js';
import {
  type CachedLlmAnswer,
  type CachedLlmEvent,
  decodeCachedAudio,
  encodeCachedAudio,
  isCachedLlmAnswer,
  llmCacheKey,
  type PipelineCache,
  searchCacheKey,
  ttsCacheKey,
} from './cache.js';
import type {
  AudioChunk,
  AudioFormat,
  AudioInput,
  ChatMessage,
  DocumentSearch,
  GenerateOptions,
  LanguageModel,
  SearchOptions,
  SearchResult,
  SpeechToText,
  SpeechToTextSession,
  TextToSpeech,
  TokenUsage,
  Tool,
  ToolCall,
  ToolContext,
  ToolDefinition,
  TranscribeOptions,
  Transcript,
} from './contracts.js';
import type { FallbackStage, TurnEvent, TurnResult } from './events.js';
import type { ResolvedPipelineOptions } from './options.js';
import { SEARCH_HOOK, type SearchHook } from './search.js';
import { SentenceChunker, type SentenceChunkerOptions } from './sentence-chunker.js';
import { type SpeechItem, SpeechQueue, type WaitedOn } from './speech-queue.js';
import { type LiveSpan, type MetricSink, TimelineRecorder } from './timeline.js';
import { executeToolCall, type ToolCallOutcome } from './tools.js';
import type { TurnStream } from './turn.js';

/** @internal Everything a turn needs from its pipeline, resolved once. */
export interface PipelineContext {
  o: ResolvedPipelineOptions;
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

/** @internal The input of a turn, normalized. */
export type NormalizedInput =
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; bytes: Uint8Array; format: AudioFormat | undefined }
  | { kind: 'stream'; audio: AsyncIterable<Uint8Array>; format: AudioFormat | undefined };

const now = (): number => performance.now();

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function closeIterator(it: AsyncIterator<unknown>): void {
  try {
    const p = it.return?.();
    if (p && typeof (p as Promise<unknown>).then === 'function') (p as Promise<unknown>).then(noop, noop);
  } catch {
    // A stage whose return() throws has nothing left for us to clean up.
  }
}

/**
 * Reads `iterable` item by item, giving up as soon as `signal` aborts (and closing the
 * iterator). One abort listener for the whole stream, not one per item: a turn reads hundreds
 * of tokens and audio chunks.
 */
async function consume<T>(
  iterable: AsyncIterable<T>,
  signal: AbortSignal,
  onItem: (item: T) => void,
): Promise<void> {
  if (signal.aborted) throw abortReason(signal);
  const it = iterable[Symbol.asyncIterator]();
  let finished = false;
  let rejectWait: ((err: unknown) => void) | undefined;
  const onAbort = (): void => rejectWait?.(abortReason(signal));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      const next = it.next();
      // A stage that ignores its signal must not hold the turn: race it against the abort.
      const r = await new Promise<IteratorResult<T>>((resolve, reject) => {
        rejectWait = reject;
        next.then(resolve, reject);
      });
      rejectWait = undefined;
      if (r.done) {
        finished = true;
        return;
      }
      onItem(r.value);
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    if (!finished) closeIterator(it);
  }
}

function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.byteLength;
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}

/**
 * Reads the caller's audio stream for a stage, keeping a copy when a fallback may need it, and
 * noticing when it ends (the end of speech).
 */
class AudioTap implements AsyncIterable<Uint8Array> {
  readonly chunks: Uint8Array[] | undefined;
  ended = false;
  readonly #it: AsyncIterator<Uint8Array>;
  readonly #signal: AbortSignal;
  /** Called once when the source ends: the end of the user's speech. */
  onEnd: () => void = noop;

  constructor(source: AsyncIterable<Uint8Array>, keep: boolean, signal: AbortSignal) {
    this.#it = source[Symbol.asyncIterator]();
    this.chunks = keep ? [] : undefined;
    this.#signal = signal;
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    if (this.ended) return { value: undefined, done: true };
    const r = await raceAbort(this.#it.next(), this.#signal);
    if (r.done) {
      this.ended = true;
      this.onEnd();
    } else {
      this.chunks?.push(r.value);
    }
    return r;
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    // A stage that stops reading early does not close the source: a fallback may still need it.
    return { next: () => this.next(), return: async () => ({ value: undefined, done: true }) };
  }

  /** Reads the rest and returns everything (for a fallback stage). */
  async drain(): Promise<Uint8Array> {
    while (!this.ended) await this.next();
    return concatBytes(this.chunks ?? []);
  }

  close(): void {
    if (!this.ended) closeIterator(this.#it);
  }
}

type Classified = { turn: true } | { turn: false; error: EarshotError; timeout: boolean };

/** @internal */
export class TurnRun {
  readonly #c: PipelineContext;
  readonly #o: ResolvedPipelineOptions;
  readonly #stream: TurnStream;
  readonly #scope = new Scope();
  readonly #rec: TimelineRecorder;
  readonly #chunker: SentenceChunker;
  readonly #history: readonly ChatMessage[];
  readonly #input: NormalizedInput;
  readonly #speechEndedAt: number | undefined;
  readonly #userSignal: AbortSignal | undefined;
  readonly #onUserAbort = (): void => this.interrupt((this.#userSignal as AbortSignal).reason);
  readonly #queue: SpeechQueue;
  readonly #pending: Promise<unknown>[] = [];
  #originFixed = false;
  #fatal: EarshotError | undefined;
  #interruptedAt: number | undefined;
  #finished = false;
  #transcript = '';
  #reply = '';
  #sentences: string[] = [];
  #audioStarted: boolean[] = [];
  #newMessages: ChatMessage[] = [];
  /** First chunk of the answer after the last tool round (what the final assistant message holds). */
  #answerSentenceStart = 0;
  #usage: TokenUsage | undefined;
  #cacheEvents: CachedLlmEvent[] | undefined;
  #llmCacheKey: string | undefined;
  #sideEffects = false;
  #recoveredErrors = 0;
  #cachedAnswer = false;
  #lastFinish: string | undefined;
  #llm: LanguageModel;
  #tts: TextToSpeech;
  #ttsFormat: AudioFormat;
  #textSpan: LiveSpan | undefined;
  #staleTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #searchHook: SearchHook = (search, query, options) =>
    this.#search(search, query, options, undefined);

  constructor(
    context: PipelineContext,
    stream: TurnStream,
    input: NormalizedInput,
    options: {
      history: readonly ChatMessage[];
      signal: AbortSignal | undefined;
      speechEndedAt: number | undefined;
    },
  ) {
    this.#c = context;
    this.#o = context.o;
    this.#stream = stream;
    this.#input = input;
    this.#history = options.history;
    this.#speechEndedAt = options.speechEndedAt;
    this.#rec = new TimelineRecorder(stream.id, options.speechEndedAt ?? now(), context.metrics);
    this.#chunker = new SentenceChunker(context.chunkerOptions);
    this.#llm = this.#o.llm;
    this.#tts = this.#o.tts;
    this.#ttsFormat = this.#o.ttsFormat ?? this.#tts.defaultFormat;
    this.#queue = new SpeechQueue(this.#o.ttsConcurrency, {
      synthesize: (item, onChunk) => this.#synthesize(item, onChunk),
      emit: (item, chunk) => this.#emitAudio(item, chunk),
      fail: (err) => this.#fail(err),
      spanOf: (item) => item.audioSpan,
    });
    this.#userSignal = options.signal;
    stream.setAbortHandler((reason) => this.interrupt(reason));
    if (options.signal) {
      if (options.signal.aborted) this.interrupt(options.signal.reason);
      else options.signal.addEventListener('abort', this.#onUserAbort, { once: true });
    }
  }

  // ───────────────────────── lifecycle ─────────────────────────

  /** Barge-in. Ignored once the turn has finished. */
  interrupt(reason?: unknown): void {
    if (this.#finished || this.#scope.aborted) return;
    this.#interruptedAt = now();
    this.#stream.stopAudio();
    this.#scope.abort(new AbortedError('The turn was interrupted (barge-in).', { cause: reason }));
  }

  #fail(err: unknown): void {
    if (this.#scope.aborted) return;
    this.#fatal =
      err instanceof EarshotError
        ? err
        : new PipelineError(`The turn failed: ${message(err)}`, { cause: err });
    this.#scope.abort(this.#fatal);
  }

  #emit(event: TurnEvent): void {
    if (!this.#scope.aborted && !this.#finished) this.#stream.push(event);
  }

  async run(): Promise<TurnResult> {
    try {
      await this.#stt();
      if (this.#transcript.trim().length > 0) {
        this.#newMessages.push({ role: 'user', content: this.#transcript });
        let waitedOn = this.#lastSpanWait('stt');
        let contextMessage: ChatMessage | undefined;
        if (this.#o.search && this.#o.searchMode === 'context') {
          const results = await this.#search(
            this.#o.search,
            this.#transcript,
            { topK: this.#o.searchTool.topK ?? 5 },
            waitedOn,
          );
          contextMessage = { role: 'system', content: formatContext(results) };
          waitedOn = this.#lastSpanWait('search');
        }
        const hit = await this.#lookupAnswer(waitedOn);
        if (hit) this.#replay(hit.answer, hit.wait);
        else
          await this.#llmLoop(contextMessage, hit === undefined ? waitedOn : this.#lastSpanWait('cache:llm'));
        this.#flushChunker();
      }
      this.#queue.close();
      await raceAbort(this.#queue.drained, this.#scope.signal);
      await this.#storeAnswer();
      return await this.#finish();
    } catch (err) {
      if (this.#interruptedAt === undefined && this.#fatal === undefined) {
        this.#fatal =
          err instanceof EarshotError
            ? err
            : new PipelineError(`The turn failed: ${message(err)}`, { cause: err });
        this.#scope.abort(this.#fatal);
      }
      return await this.#finish();
    }
  }

  /** The span that ended last with this name, as a `waitedOn` for the next stage. */
  #lastSpanWait(name: string): WaitedOn | undefined {
    for (let i = this.#rec.spans.length - 1; i >= 0; i--) {
      const s = this.#rec.spans[i] as LiveSpan;
      if (s.name === name) return { spanId: s.id, at: s.end ?? now() };
    }
    return undefined;
  }

  async #finish(): Promise<TurnResult> {
    this.#finished = true;
    if (this.#staleTimer !== undefined) clearTimeout(this.#staleTimer);
    this.#userSignal?.removeEventListener('abort', this.#onUserAbort);
    const interrupted = this.#fatal === undefined && this.#interruptedAt !== undefined;
    const error = this.#fatal;
    // A failed or interrupted turn has aborted its scope already. A finished one has consumed
    // every stream, and aborting now would cut short what may still end gracefully (an STT
    // session closing).
    if (error) this.#queue.abandon(error);
    // Every stage call races the turn's signal, so these settle at once after an abort.
    await Promise.allSettled([...this.#queue.tasks, ...this.#pending]);
    this.#scope.dispose();
    const doneAt = now();
    const cached = this.#cachedAnswer;
    const rec = this.#rec;
    if (interrupted) {
      rec.mark('interrupted', this.#interruptedAt);
      this.#stream.push({
        type: 'interrupted',
        atMs: Math.round(((this.#interruptedAt as number) - rec.origin) * 1000) / 1000,
      });
    }
    const outcome = error ? 'error' : interrupted ? 'interrupted' : 'ok';
    if (outcome === 'ok' && rec.marks.firstAudio !== undefined) {
      rec.record('time_to_first_audio', rec.marks.firstAudio - rec.origin, { cached, outcome: 'ok' });
      rec.record('e2e', (rec.marks.lastAudio ?? doneAt) - rec.origin, { cached, outcome: 'ok' });
    }
    rec.record('turn', doneAt - rec.origin, { cached, outcome });
    const timeline = rec.build(doneAt, { cached, interrupted }, this.#o.targets);
    this.#stream.push({ type: 'metrics', timeline });
    this.#stream.close(error);
    if (error) throw error;
    const spoken = this.#sentences.filter((_, i) => this.#audioStarted[i]).join(' ');
    const messages = this.#newMessages.slice();
    if (interrupted && messages.length > 0) {
      // Keep what the user heard of the answer, not what the model wrote: the rest never reached them.
      const last = messages[messages.length - 1] as ChatMessage;
      if (last.role === 'assistant' && !last.toolCalls) messages.pop();
      const heard = this.#sentences
        .slice(this.#answerSentenceStart)
        .filter((_, i) => this.#audioStarted[this.#answerSentenceStart + i])
        .join(' ');
      if (heard.length > 0) messages.push({ role: 'assistant', content: heard });
    }
    return {
      turnId: this.#stream.id,
      transcript: this.#transcript,
      reply: this.#reply,
      spokenText: spoken,
      interrupted,
      cached,
      usage: this.#usage,
      messages,
      timeline,
    };
  }

  // ───────────────────────── errors ─────────────────────────

  #classify(err: unknown, scope: StageScope, stage: string, provider: string): Classified {
    if (this.#scope.aborted) return { turn: true };
    const reason: unknown = scope.aborted ? scope.signal.reason : undefined;
    if (reason instanceof TimeoutError) return { turn: false, error: reason, timeout: true };
    if (err instanceof TimeoutError) return { turn: false, error: err, timeout: true };
    if (err instanceof EarshotError) return { turn: false, error: err, timeout: false };
    return {
      turn: false,
      error: new ProviderError(
        `The ${stage} stage (provider ${provider}) failed: ${message(err)}`,
        {
          provider,
          retryable: false,
        },
        { cause: err },
      ),
      timeout: false,
    };
  }

  /** A scope of its own for a stage with a deadline; the turn's signal, borrowed, otherwise. */
  #stageScope(deadline: number | undefined): StageScope {
    return deadline === undefined ? borrowScope(this.#scope) : new Scope(this.#scope.signal);
  }

  #switchTo(stage: FallbackStage, from: string, to: string, error: EarshotError): void {
    this.#rec.fallback(stage, from, to, `${error.code}: ${error.message}`);
    this.#emit({ type: 'fallback', stage, from, to, error });
  }

  #recovered(stage: string, error: EarshotError): void {
    this.#recoveredErrors++;
    this.#emit({ type: 'error', stage, error, recovered: true });
  }

  // ───────────────────────── STT ─────────────────────────

  #fixOrigin(at: number): void {
    if (this.#originFixed) return;
    this.#originFixed = true;
    this.#rec.origin = this.#speechEndedAt ?? at;
  }

  async #stt(): Promise<void> {
    const input = this.#input;
    if (input.kind === 'text') {
      this.#fixOrigin(now());
      this.#setTranscript({ text: input.text, isFinal: true });
      return;
    }
    let stt = this.#o.stt as SpeechToText;
    const fallback = this.#o.fallbacks.stt;
    let bytes = input.kind === 'bytes' ? input.bytes : undefined;
    const tap =
      input.kind === 'stream'
        ? new AudioTap(input.audio, fallback !== undefined, this.#scope.signal)
        : undefined;
    const format = input.format ?? this.#o.audioFormat;
    try {
      for (;;) {
        const scope = this.#stageScope(this.#o.deadlines.stt);
        const provider = stt.provider;
        const st: { span?: LiveSpan } = {};
        // The STT clock starts at the end of speech: now for a finished utterance, the end of
        // the stream for streamed audio.
        const begin = (): LiveSpan => {
          if (st.span) return st.span;
          const at = now();
          this.#fixOrigin(at);
          st.span = this.#rec.start('stt', { provider, start: at });
          scope.deadline(this.#o.deadlines.stt, () =>
            stageTimeout('Speech-to-text', 'stt', this.#o.deadlines.stt as number, provider),
          );
          return st.span;
        };
        if (tap) tap.onEnd = begin;
        const opts: TranscribeOptions = { signal: scope.signal };
        if (format !== undefined) opts.format = format;
        if (this.#o.language !== undefined) opts.language = this.#o.language;
        try {
          let t: Transcript;
          if (bytes) {
            begin();
            t = await raceAbort(stt.transcribe(bytes, opts), scope.signal);
          } else if (stt.stream) {
            t = await this.#sttSession(stt, tap as AudioTap, opts, scope, begin);
          } else {
            t = await raceAbort(stt.transcribe(tap as AudioTap, opts), scope.signal);
          }
          const span = begin();
          this.#rec.end(span);
          this.#rec.record('stt', (span.end as number) - span.start, {
            provider,
            cached: false,
            outcome: 'ok',
          });
          this.#setTranscript(t);
          return;
        } catch (err) {
          const c = this.#classify(err, scope, 'stt', provider);
          const span = st.span;
          if (c.turn) {
            if (span) this.#rec.end(span, 'interrupted');
            throw abortReason(this.#scope.signal);
          }
          if (span) {
            this.#rec.end(span, c.timeout ? 'timeout' : 'error', c.error.message);
            this.#rec.record('stt', (span.end as number) - span.start, {
              provider,
              cached: false,
              outcome: 'error',
            });
          }
          if (fallback && stt !== fallback) {
            if (tap) tap.onEnd = () => this.#fixOrigin(now());
            bytes = bytes ?? (await (tap as AudioTap).drain());
            this.#switchTo('stt', provider, fallback.provider, c.error);
            stt = fallback;
            continue;
          }
          throw c.error;
        } finally {
          scope.dispose();
        }
      }
    } finally {
      tap?.close();
    }
  }

  async #sttSession(
    stt: SpeechToText,
    tap: AudioTap,
    opts: TranscribeOptions,
    scope: StageScope,
    begin: () => void,
  ): Promise<Transcript> {
    const session: SpeechToTextSession = await raceAbort(
      (stt.stream as NonNullable<SpeechToText['stream']>)({ ...opts, interimResults: false }),
      scope.signal,
    );
    let finalized = false;
    const finals: string[] = [];
    let last: Transcript | undefined;
    let resolve!: (t: Transcript) => void;
    const answer = new Promise<Transcript>((r) => {
      resolve = r;
    });
    const make = (fallbackText?: string): Transcript => {
      const text = finals.join(' ').trim() || fallbackText || '';
      const t: Transcript = { text, isFinal: true };
      if (last?.confidence !== undefined) t.confidence = last.confidence;
      if (last?.requestId !== undefined) t.requestId = last.requestId;
      return t;
    };
    const reader = consume(session, scope.signal, (ev) => {
      if (ev.type === 'transcript' && ev.transcript.isFinal) {
        if (ev.transcript.text) finals.push(ev.transcript.text);
        last = ev.transcript;
        if (finalized) resolve(make());
      } else if (ev.type === 'end-of-speech' && finalized) {
        resolve(make(ev.transcript));
      }
    }).then(() => resolve(make()));
    reader.catch(noop);
    try {
      for (;;) {
        const r = await tap.next();
        if (r.done) break;
        await raceAbort(Promise.resolve(session.send(r.value)), scope.signal);
      }
      begin();
      finalized = true;
      await raceAbort(Promise.resolve(session.finalize()), scope.signal);
      return await raceAbort(Promise.race([answer, reader.then(() => answer)]), scope.signal);
    } finally {
      // Graceful close off the critical path; an abort has already stopped the session.
      this.#pending.push(
        Promise.resolve()
          .then(() => session.close())
          .catch(noop),
      );
    }
  }

  #setTranscript(t: Transcript): void {
    this.#transcript = t.text;
    this.#rec.mark('transcript');
    this.#emit({ type: 'transcript', transcript: t });
  }

  // ───────────────────────── search ─────────────────────────

  async #search(
    search: DocumentSearch,
    query: string,
    options: SearchOptions,
    waitedOn: WaitedOn | undefined,
  ): Promise<SearchResult[]> {
    const provider = search.provider;
    const span = this.#rec.start('search', { provider, ...(waitedOn ? { waitedOn } : {}) });
    const scope: StageScope =
      options.signal === undefined || options.signal === this.#scope.signal
        ? this.#stageScope(this.#o.deadlines.search)
        : new Scope(options.signal);
    scope.deadline(this.#o.deadlines.search, () =>
      stageTimeout('Document search', 'search', this.#o.deadlines.search as number, provider),
    );
    const sc = this.#c.searchCache;
    const store = this.#c.store;
    const key = sc
      ? searchCacheKey({
          provider,
          model: search.model,
          query,
          topK: options.topK ?? 5,
          namespace: options.namespace,
          filter: options.filter,
        })
      : undefined;
    try {
      if (sc && store && key) {
        const hit = await this.#cacheGet(store, key, sc.namespace, scope.signal);
        if (Array.isArray(hit)) {
          span.cached = true;
          this.#rec.end(span);
          this.#rec.record('search', span.end! - span.start, { provider, cached: true, outcome: 'ok' });
          return hit as SearchResult[];
        }
      }
      const results = await raceAbort(
        search.search(query, { ...options, signal: scope.signal }),
        scope.signal,
      );
      this.#rec.end(span);
      this.#rec.record('search', span.end! - span.start, { provider, cached: false, outcome: 'ok' });
      if (sc && store && key)
        await this.#cacheSet(store, key, results, sc.namespace, sc.ttlSeconds, scope.signal);
      return results;
    } catch (err) {
      if (options.signal?.aborted && !this.#scope.aborted) {
        // The tool around this search was cancelled (its deadline): that tool reports it.
        this.#rec.end(span, 'interrupted');
        throw err;
      }
      const c = this.#classify(err, scope, 'search', provider);
      if (c.turn) {
        this.#rec.end(span, 'interrupted');
        throw abortReason(this.#scope.signal);
      }
      this.#rec.end(span, c.timeout ? 'timeout' : 'error', c.error.message);
      this.#rec.record('search', span.end! - span.start, { provider, cached: false, outcome: 'error' });
      throw c.error;
    } finally {
      scope.dispose();
    }
  }

  // ───────────────────────── cache helpers ─────────────────────────

  async #cacheGet(
    store: PipelineCache,
    key: string,
    namespace: string,
    signal: AbortSignal,
  ): Promise<unknown> {
    try {
      return await raceAbort(
        Promise.resolve().then(() => store.get(key, namespace)),
        signal,
      );
    } catch (err) {
      if (signal.aborted) throw err;
      this.#recovered(
        'cache',
        err instanceof EarshotError
          ? err
          : new PipelineError(`Cache read failed: ${message(err)}`, { cause: err }),
      );
      return undefined;
    }
  }

  async #cacheSet(
    store: PipelineCache,
    key: string,
    value: unknown,
    namespace: string,
    ttlSeconds: number | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    try {
      const p = Promise.resolve().then(() =>
        ttlSeconds === undefined
          ? store.set(key, value, namespace)
          : store.set(key, value, namespace, { ttlSeconds }),
      );
      await raceAbort(p, signal);
    } catch (err) {
      if (signal.aborted) throw err;
      // A failed write costs a future hit, nothing else; it is reported, not fatal.
      this.#recovered(
        'cache',
        err instanceof EarshotError
          ? err
          : new PipelineError(`Cache write failed: ${message(err)}`, { cause: err }),
      );
    }
  }

  // ───────────────────────── LLM answer cache ─────────────────────────

  /** `undefined`: caching off for this turn; `null`: a miss; otherwise the hit. */
  async #lookupAnswer(
    waitedOn: WaitedOn | undefined,
  ): Promise<{ answer: CachedLlmAnswer; wait: WaitedOn } | null | undefined> {
    const lc = this.#c.llmCache;
    const store = this.#c.store;
    if (!lc || !store) return undefined;
    if (this.#history.length > 0 && lc.history === 'bypass') return undefined;
    const key = llmCacheKey({
      transcript: this.#transcript,
      provider: this.#llm.provider,
      model: this.#llm.model,
      systemPrompt: this.#o.systemPrompt,
      tools: this.#c.toolDefs,
      ...(lc.history === 'key' && this.#history.length > 0 ? { history: this.#history } : {}),
    });
    this.#llmCacheKey = key;
    this.#cacheEvents = [];
    const span = this.#rec.start('cache:llm', {
      provider: this.#llm.provider,
      ...(waitedOn ? { waitedOn } : {}),
    });
    const value = await this.#cacheGet(store, key, lc.namespace, this.#scope.signal);
    this.#rec.end(span);
    if (!isCachedLlmAnswer(value)) return null;
    span.cached = true;
    return { answer: value, wait: { spanId: span.id, at: span.end as number, reason: 'cached answer' } };
  }

  #replay(answer: CachedLlmAnswer, waitedOn: WaitedOn): void {
    this.#cachedAnswer = true;
    this.#cacheEvents = undefined;
    const provider = this.#llm.provider;
    const span = this.#rec.start('llm', { provider, cached: true, round: 0, waitedOn });
    this.#textSpan = span;
    for (const ev of answer.events) {
      if (span.firstOutput === undefined) {
        span.firstOutput = now();
        this.#rec.mark('firstToken', span.firstOutput);
        this.#rec.record('llm_ttft', span.firstOutput - span.start, { provider, cached: true });
      }
      switch (ev.type) {
        case 'llm-delta':
          this.#reply += ev.text;
          this.#emit({ type: 'llm-delta', text: ev.text, round: ev.round });
          break;
        case 'sentence':
          // Stored chunks, not re-chunked: a max-wait flush in the original turn replays as it was.
          this.#addSentence(ev.text, { spanId: span.id, at: now() });
          break;
        case 'tool-call':
          this.#emit({ type: 'tool-call', call: ev.call, round: ev.round });
          break;
        case 'tool-result': {
          const e: TurnEvent = {
            type: 'tool-result',
            callId: ev.callId,
            name: ev.name,
            content: ev.content,
            isError: ev.isError,
            round: ev.round,
          };
          if (ev.result !== undefined) e.result = ev.result;
          this.#emit(e);
          break;
        }
      }
    }
    this.#rec.end(span);
    this.#rec.record('llm', (span.end as number) - span.start, { provider, cached: true, outcome: 'ok' });
    this.#newMessages.push(...answer.messages);
  }

  async #storeAnswer(): Promise<void> {
    const lc = this.#c.llmCache;
    const store = this.#c.store;
    const events = this.#cacheEvents;
    const key = this.#llmCacheKey;
    if (!lc || !store || !events || !key || this.#cachedAnswer) return;
    // Only clean, complete, side-effect-free answers are worth replaying to someone else.
    if (
      this.#sideEffects ||
      this.#recoveredErrors > 0 ||
      this.#lastFinish !== 'stop' ||
      this.#reply.trim() === ''
    )
      return;
    const value: CachedLlmAnswer = { v: 1, events, reply: this.#reply, messages: this.#newMessages.slice(1) };
    await this.#cacheSet(store, key, value, lc.namespace, lc.ttlSeconds, this.#scope.signal);
  }

  // ───────────────────────── LLM + tools ─────────────────────────

  async #llmLoop(contextMessage: ChatMessage | undefined, firstWait: WaitedOn | undefined): Promise<void> {
    const messages: ChatMessage[] = [];
    if (this.#o.systemPrompt.length > 0) messages.push({ role: 'system', content: this.#o.systemPrompt });
    if (contextMessage) messages.push(contextMessage);
    messages.push(...this.#history, { role: 'user', content: this.#transcript });
    let waitedOn = firstWait;
    const defs = this.#c.toolDefs;
    for (let round = 0; ; round++) {
      const offerTools = defs.length > 0 && round < this.#o.maxToolRounds;
      const r = await this.#llmRound(messages, round, offerTools ? defs : undefined, waitedOn);
      if (r.calls.length === 0) {
        if (r.text.length > 0) this.#newMessages.push({ role: 'assistant', content: r.text });
        return;
      }
      // What the model said before its tool calls ("Let me check") is spoken now, not after the tools.
      this.#flushChunker();
      if (!offerTools) {
        this.#recovered(
          'llm',
          new PipelineError(
            `The model asked for tools after ${this.#o.maxToolRounds} tool rounds; its calls were ignored. ` +
              'Raise maxToolRounds if the model needs more.',
          ),
        );
        if (r.text.length > 0) this.#newMessages.push({ role: 'assistant', content: r.text });
        return;
      }
      const outcomes = await raceAbort(Promise.all(r.tools), this.#scope.signal);
      this.#answerSentenceStart = this.#sentences.length;
      const assistant: ChatMessage = { role: 'assistant', content: r.text, toolCalls: r.calls };
      messages.push(assistant);
      this.#newMessages.push(assistant);
      let lastEnd: LiveSpan | undefined;
      let failed: ToolCallOutcome | undefined;
      for (let i = 0; i < r.calls.length; i++) {
        const call = r.calls[i] as ToolCall;
        const o = outcomes[i] as ToolCallOutcome & { span: LiveSpan };
        const toolMessage: ChatMessage = {
          role: 'tool',
          toolCallId: call.id,
          name: call.name,
          content: o.content,
        };
        messages.push(toolMessage);
        this.#newMessages.push(toolMessage);
        const ev: TurnEvent = {
          type: 'tool-result',
          callId: call.id,
          name: call.name,
          content: o.content,
          isError: o.error !== undefined,
          round,
        };
        if (o.result !== undefined) ev.result = o.result;
        this.#emit(ev);
        this.#cacheEvents?.push(ev as CachedLlmEvent);
        if (!lastEnd || (o.span.end ?? 0) > (lastEnd.end ?? 0)) lastEnd = o.span;
        if (o.error?.kind === 'execution' && !failed) failed = o;
      }
      if (failed?.error) {
        const error = failed.error.error;
        if (this.#o.onToolError === 'throw') throw error;
        if (this.#o.onToolError === 'apologize') {
          this.#recovered(`tool:${error instanceof ToolError ? error.tool : 'unknown'}`, error);
          this.#speakApology(lastEnd);
          return;
        }
        this.#recovered(`tool:${error instanceof ToolError ? error.tool : 'unknown'}`, error);
      }
      waitedOn = lastEnd
        ? { spanId: lastEnd.id, at: lastEnd.end ?? now(), reason: `tool ${lastEnd.name.slice(5)} result` }
        : undefined;
    }
  }

  #speakApology(after: LiveSpan | undefined): void {
    const text = this.#o.apology;
    this.#reply += (this.#reply.length > 0 ? ' ' : '') + text;
    this.#newMessages.push({ role: 'assistant', content: text });
    this.#addSentence(
      text,
      after ? { spanId: after.id, at: after.end ?? now(), reason: 'tool failed' } : undefined,
    );
  }

  async #llmRound(
    messages: readonly ChatMessage[],
    round: number,
    tools: readonly ToolDefinition[] | undefined,
    waitedOn: WaitedOn | undefined,
  ): Promise<{ text: string; calls: ToolCall[]; tools: Promise<ToolCallOutcome & { span: LiveSpan }>[] }> {
    const fallback = this.#o.fallbacks.llm;
    for (;;) {
      const model = this.#llm;
      const provider = model.provider;
      const span = this.#rec.start('llm', { provider, round, ...(waitedOn ? { waitedOn } : {}) });
      this.#textSpan = span;
      const d = this.#o.deadlines;
      const scope = this.#stageScope(d.llmFirstToken ?? d.llm);
      const clearTtft = scope.deadline(d.llmFirstToken, () =>
        stageTimeout(
          'The language model (first token)',
          'llmFirstToken',
          d.llmFirstToken as number,
          provider,
        ),
      );
      scope.deadline(d.llm, () => stageTimeout('The language model', 'llm', d.llm as number, provider));
      const opts: GenerateOptions = { signal: scope.signal };
      if (tools) opts.tools = tools;
      if (this.#o.maxTokens !== undefined) opts.maxTokens = this.#o.maxTokens;
      if (this.#o.temperature !== undefined) opts.temperature = this.#o.temperature;
      let text = '';
      const calls: ToolCall[] = [];
      const running: Promise<ToolCallOutcome & { span: LiveSpan }>[] = [];
      const cacheMark = this.#cacheEvents?.length ?? 0;
      try {
        await consume(model.stream(messages.slice(), opts), scope.signal, (ev) => {
          if (span.firstOutput === undefined && (ev.type === 'text-delta' || ev.type === 'tool-call')) {
            clearTtft();
            span.firstOutput = now();
            this.#rec.mark('firstToken', span.firstOutput);
            this.#rec.record('llm_ttft', span.firstOutput - span.start, { provider, cached: false });
          }
          switch (ev.type) {
            case 'text-delta':
              if (ev.text.length === 0) return;
              text += ev.text;
              this.#cacheEvents?.push({ type: 'llm-delta', text: ev.text, round });
              this.#onDelta(ev.text, round, span);
              return;
            case 'tool-call': {
              calls.push(ev.call);
              this.#emit({ type: 'tool-call', call: ev.call, round });
              this.#cacheEvents?.push({ type: 'tool-call', call: ev.call, round });
              if (tools) {
                const p = this.#runTool(ev.call, round, span);
                p.catch(noop);
                running.push(p);
              }
              return;
            }
            case 'usage': {
              const input = (this.#usage?.inputTokens ?? 0) + ev.usage.inputTokens;
              const output = (this.#usage?.outputTokens ?? 0) + ev.usage.outputTokens;
              this.#usage = { inputTokens: input, outputTokens: output, totalTokens: input + output };
              return;
            }
            case 'finish':
              this.#lastFinish = ev.reason;
              return;
          }
        });
        this.#rec.end(span);
        this.#rec.record('llm', span.end! - span.start, { provider, cached: false, outcome: 'ok' });
        return { text, calls, tools: running };
      } catch (err) {
        const c = this.#classify(err, scope, 'llm', provider);
        if (c.turn) {
          this.#rec.end(span, 'interrupted');
          throw abortReason(this.#scope.signal);
        }
        this.#rec.end(span, c.timeout ? 'timeout' : 'error', c.error.message);
        this.#rec.record('llm', span.end! - span.start, { provider, cached: false, outcome: 'error' });
        // A fallback may only retry a call that said nothing yet: spoken text cannot be taken back.
        if (fallback && model !== fallback && span.firstOutput === undefined) {
          if (this.#cacheEvents) this.#cacheEvents.length = cacheMark;
          this.#switchTo('llm', provider, fallback.provider, c.error);
          this.#llm = fallback;
          waitedOn = { spanId: span.id, at: span.end as number, reason: `${provider} failed` };
          continue;
        }
        throw c.error;
      } finally {
        scope.dispose();
      }
    }
  }

  async #runTool(
    call: ToolCall,
    round: number,
    llmSpan: LiveSpan,
  ): Promise<ToolCallOutcome & { span: LiveSpan }> {
    const name = call.name;
    const tool = this.#c.toolsByName.get(name);
    const span = this.#rec.start(`tool:${name}`, {
      round,
      waitedOn: { spanId: llmSpan.id, at: now(), reason: `tool call ${name}` },
    });
    const d = this.#o.deadlines.tool;
    const scope = this.#stageScope(d);
    scope.deadline(
      d,
      () =>
        new TimeoutError(`Tool "${name}" did not finish within ${d} ms. Raise deadlines.tool.`, d as number),
    );
    const ctx: ToolContext & { [SEARCH_HOOK]?: SearchHook } = { callId: call.id, signal: scope.signal };
    ctx[SEARCH_HOOK] = this.#searchHook;
    let outcome: ToolCallOutcome;
    try {
      outcome = await raceAbort(executeToolCall(tool, name, call.arguments, ctx), scope.signal);
    } catch (err) {
      if (this.#scope.aborted) {
        this.#rec.end(span, 'interrupted');
        throw abortReason(this.#scope.signal);
      }
      const error =
        scope.signal.reason instanceof TimeoutError
          ? new ToolError(name, scope.signal.reason.message, { cause: scope.signal.reason })
          : err instanceof ToolError
            ? err
            : new ToolError(name, `Tool "${name}" failed: ${message(err)}`, { cause: err });
      outcome = { content: JSON.stringify({ error: error.message }), error: { kind: 'execution', error } };
    } finally {
      scope.dispose();
    }
    if (tool?.sideEffects) this.#sideEffects = true;
    const timedOut = scope.signal.reason instanceof TimeoutError;
    this.#rec.end(
      span,
      outcome.error ? (timedOut ? 'timeout' : 'error') : 'ok',
      outcome.error?.error.message,
    );
    this.#rec.record(`tool:${name}`, span.end! - span.start, { outcome: outcome.error ? 'error' : 'ok' });
    return { ...outcome, span };
  }

  // ───────────────────────── chunker ─────────────────────────

  #onDelta(text: string, round: number, span: LiveSpan): void {
    this.#emit({ type: 'llm-delta', text, round });
    this.#reply += text;
    const t = now();
    for (const s of this.#chunker.push(text, t)) this.#addSentence(s, { spanId: span.id, at: t });
    this.#armStaleTimer();
  }

  #armStaleTimer(): void {
    if (this.#staleTimer !== undefined) return;
    const at = this.#chunker.staleAtMs;
    if (at === undefined) return;
    this.#staleTimer = setTimeout(
      () => {
        this.#staleTimer = undefined;
        if (this.#finished) return;
        const t = now();
        const span = this.#textSpan;
        for (const s of this.#chunker.flushStale(t)) {
          this.#addSentence(s, span ? { spanId: span.id, at: t, reason: 'max-wait flush' } : undefined);
        }
        this.#armStaleTimer();
      },
      Math.max(0, at - now()),
    );
  }

  #flushChunker(): void {
    const span = this.#textSpan;
    const t = now();
    for (const s of this.#chunker.flush())
      this.#addSentence(s, span ? { spanId: span.id, at: t } : undefined);
    if (this.#staleTimer !== undefined) {
      clearTimeout(this.#staleTimer);
      this.#staleTimer = undefined;
    }
  }

  #addSentence(text: string, waitedOn: WaitedOn | undefined): void {
    const index = this.#sentences.length;
    this.#sentences.push(text);
    this.#audioStarted.push(false);
    this.#rec.mark('firstSentence');
    this.#emit({ type: 'sentence', index, text });
    this.#cacheEvents?.push({ type: 'sentence', text });
    if (waitedOn && waitedOn.reason === undefined) waitedOn.reason = `sentence ${index} complete`;
    this.#queue.add(index, text, waitedOn);
  }

  // ───────────────────────── TTS ─────────────────────────

  #emitAudio(item: SpeechItem, chunk: AudioChunk): void {
    if (this.#scope.aborted) return;
    const t = now();
    if (this.#rec.marks.firstAudio === undefined) {
      this.#rec.mark('firstAudio', t);
      this.#rec.firstAudioSpanId = item.audioSpan?.id;
    }
    this.#rec.marks.lastAudio = t;
    this.#audioStarted[item.index] = true;
    this.#stream.push({ type: 'audio', sentenceIndex: item.index, chunk });
  }

  async #synthesize(item: SpeechItem, onChunk: (chunk: AudioChunk) => void): Promise<void> {
    const transform = this.#o.transformText;
    const text = transform ? transform(item.text) : item.text;
    if (typeof text !== 'string') {
      throw new InvalidArgumentError('transformText must return a string (return "" to skip a chunk).');
    }
    if (text.trim().length === 0) return;
    let waitedOn = item.waitedOn;
    const tc = this.#c.ttsCache;
    const store = this.#c.store;
    let key: string | undefined;
    if (tc && store && text.length <= tc.maxTextChars) {
      const tts = this.#tts;
      key = ttsCacheKey({ provider: tts.provider, model: tts.model, format: this.#ttsFormat, text });
      const span = this.#rec.start('cache:tts', {
        provider: tts.provider,
        sentenceIndex: item.index,
        ...(waitedOn ? { waitedOn } : {}),
      });
      item.audioSpan = span;
      const hit = decodeCachedAudio(await this.#cacheGet(store, key, tc.namespace, this.#scope.signal));
      if (hit && hit.length > 0) {
        span.cached = true;
        span.firstOutput = now();
        this.#rec.record('tts_ttfb', span.firstOutput - span.start, { provider: tts.provider, cached: true });
        for (const chunk of hit) onChunk(chunk);
        this.#rec.end(span);
        this.#rec.record('tts', span.end! - span.start, {
          provider: tts.provider,
          cached: true,
          outcome: 'ok',
        });
        return;
      }
      this.#rec.end(span);
      waitedOn = { spanId: span.id, at: span.end as number, reason: 'cache miss' };
    }
    const fallback = this.#o.fallbacks.tts;
    const d = this.#o.deadlines;
    for (;;) {
      const tts = this.#tts;
      const provider = tts.provider;
      const span = this.#rec.start('tts', {
        provider,
        sentenceIndex: item.index,
        ...(waitedOn ? { waitedOn } : {}),
      });
      item.audioSpan = span;
      const scope = this.#stageScope(d.ttsFirstByte ?? d.tts);
      const clearTtfb = scope.deadline(d.ttsFirstByte, () =>
        stageTimeout('Text-to-speech (first byte)', 'ttsFirstByte', d.ttsFirstByte as number, provider),
      );
      scope.deadline(d.tts, () => stageTimeout('Text-to-speech', 'tts', d.tts as number, provider));
      const collected: AudioChunk[] | undefined = key ? [] : undefined;
      try {
        await consume(
          tts.synthesize(text, { signal: scope.signal, format: this.#ttsFormat }),
          scope.signal,
          (chunk) => {
            if (chunk.data.byteLength === 0) return;
            if (span.firstOutput === undefined) {
              clearTtfb();
              span.firstOutput = now();
              this.#rec.record('tts_ttfb', span.firstOutput - span.start, { provider, cached: false });
            }
            collected?.push(chunk);
            onChunk(chunk);
          },
        );
        this.#rec.end(span);
        this.#rec.record('tts', span.end! - span.start, { provider, cached: false, outcome: 'ok' });
        if (key && collected && collected.length > 0 && store && tc) {
          const ttsKey = ttsCacheKey({ provider, model: tts.model, format: this.#ttsFormat, text });
          await this.#cacheSet(
            store,
            ttsKey,
            encodeCachedAudio(collected),
            tc.namespace,
            tc.ttlSeconds,
            this.#scope.signal,
          );
        }
        return;
      } catch (err) {
        const c = this.#classify(err, scope, 'tts', provider);
        if (c.turn) {
          this.#rec.end(span, 'interrupted');
          throw abortReason(this.#scope.signal);
        }
        this.#rec.end(span, c.timeout ? 'timeout' : 'error', c.error.message);
        this.#rec.record('tts', span.end! - span.start, { provider, cached: false, outcome: 'error' });
        // Only a chunk with no audio out yet can be redone by another voice without a repeat.
        if (fallback && tts !== fallback && item.received === 0) {
          this.#switchTo('tts', provider, fallback.provider, c.error);
          this.#tts = fallback;
          if (this.#o.ttsFormat === undefined) this.#ttsFormat = fallback.defaultFormat;
          waitedOn = { spanId: span.id, at: span.end as number, reason: `${provider} failed` };
          continue;
        }
        throw c.error;
      } finally {
        scope.dispose();
      }
    }
  }
}

/** Search results as a system message for `searchMode: 'context'`. */
function formatContext(results: readonly SearchResult[]): string {
  if (results.length === 0) return 'No company documents matched the question.';
  const lines = results.map(
    (r, i) => `[${i + 1}] ${(r.text ?? JSON.stringify(r.metadata ?? {})).slice(0, 1200)}`,
  );
  return `Relevant company documents (use them if they answer the question):\n${lines.join('\n')}`;
}

/** @internal Normalizes what `respond()` accepts. */
export function normalizeInput(input: unknown): NormalizedInput {
  if (input instanceof Uint8Array) return { kind: 'bytes', bytes: input, format: undefined };
  if (typeof input === 'object' && input !== null) {
    const o = input as { text?: unknown; audio?: unknown; format?: unknown };
    if (typeof o.text === 'string') return { kind: 'text', text: o.text };
    if (o.audio !== undefined) {
      const format = typeof o.format === 'string' ? o.format : undefined;
      if (o.audio instanceof Uint8Array) return { kind: 'bytes', bytes: o.audio, format };
      if (isAsyncIterable(o.audio)) return { kind: 'stream', audio: o.audio, format };
    }
    if (isAsyncIterable(input)) return { kind: 'stream', audio: input, format: undefined };
  }
  throw new InvalidArgumentError(
    'respond() takes audio (a Uint8Array or an async iterable of Uint8Array chunks), { audio, format }, or { text }.',
  );
}

function isAsyncIterable(x: unknown): x is AsyncIterable<Uint8Array> {
  return typeof (x as AsyncIterable<Uint8Array> | null)?.[Symbol.asyncIterator] === 'function';
}

/** @internal */
export type { AudioInput };
