/**
 * The LLM answer cache of one turn: looks the answer up, records what the turn produces
 * (deltas, chunks, tool calls and results) so a clean answer can be stored, rolls back what a
 * failed model call recorded before its fallback, and replays a stored answer.
 * @module
 */
import { OP } from '../perf/operations.js';
import { type CachedLlmAnswer, type CachedLlmEvent, isCachedLlmAnswer, llmCacheKey } from './cache.js';
import type { TurnEvent } from './events.js';
import type { WaitedOn } from './speech-queue.js';
import type { TurnState } from './turn-state.js';

/** A hit: the stored answer and the cache span it waited on. */
interface AnswerHit {
  answer: CachedLlmAnswer;
  wait: WaitedOn;
}

/** @internal */
export class AnswerCache {
  readonly #state: TurnState;
  /** Recorded events while the answer may still be stored; undefined when not recording. */
  #events: CachedLlmEvent[] | undefined;
  #key: string | undefined;
  /** The turn's answer came from the cache. */
  replayed = false;

  constructor(state: TurnState) {
    this.#state = state;
  }

  /**
   * Looks the turn's answer up and starts recording. `undefined`: caching is off for this turn;
   * `null`: a miss; otherwise the hit.
   */
  async lookup(waitedOn: WaitedOn | undefined): Promise<AnswerHit | null | undefined> {
    const state = this.#state;
    const config = state.pipeline.llmCache;
    if (!config || !state.pipeline.store) return undefined;
    if (state.history.length > 0 && config.history === 'bypass') return undefined;
    const key = llmCacheKey({
      transcript: state.transcript,
      provider: state.llm.provider,
      model: state.llm.model,
      systemPrompt: state.options.systemPrompt,
      tools: state.pipeline.toolDefs,
      ...(config.history === 'key' && state.history.length > 0 ? { history: state.history } : {}),
    });
    this.#key = key;
    this.#events = [];
    const span = state.timeline.start('cache:llm', {
      provider: state.llm.provider,
      ...(waitedOn ? { waitedOn } : {}),
    });
    const value = await state.cacheGet(key, config.namespace, state.signal);
    state.timeline.end(span);
    if (!isCachedLlmAnswer(value)) return null;
    span.cached = true;
    return { answer: value, wait: { spanId: span.id, at: span.end as number, reason: 'cached answer' } };
  }

  /** Records one event of the answer (no-op when not recording). */
  push(event: CachedLlmEvent): void {
    this.#events?.push(event);
  }

  /** A point to roll back to. */
  mark(): number {
    return this.#events?.length ?? 0;
  }

  /** Forgets what was recorded after `mark` (a model call that failed before its fallback). */
  rollback(mark: number): void {
    if (this.#events) this.#events.length = mark;
  }

  /** Replays a stored answer: its events, chunks (as stored, not re-chunked) and messages. */
  replay(answer: CachedLlmAnswer, waitedOn: WaitedOn): void {
    const state = this.#state;
    const speech = state.speech;
    const timeline = state.timeline;
    this.replayed = true;
    this.#events = undefined;
    const provider = state.llm.provider;
    const span = timeline.start(OP.llm, { provider, cached: true, round: 0, waitedOn });
    speech.textSpan = span;
    for (const event of answer.events) {
      if (span.firstOutput === undefined) {
        span.firstOutput = performance.now();
        state.mark('firstToken', span.firstOutput);
        timeline.record(OP.llmTtft, span.firstOutput - span.start, { provider, cached: true });
      }
      switch (event.type) {
        case 'llm-delta':
          state.reply += event.text;
          state.emit({ type: 'llm-delta', text: event.text, round: event.round });
          break;
        case 'sentence':
          // Stored chunks, not re-chunked: a max-wait flush in the original turn replays as it was.
          speech.addSentence(event.text, { spanId: span.id, at: performance.now() });
          break;
        case 'tool-call':
          state.emit({ type: 'tool-call', call: event.call, round: event.round });
          break;
        case 'tool-result': {
          const result: TurnEvent = {
            type: 'tool-result',
            callId: event.callId,
            name: event.name,
            content: event.content,
            isError: event.isError,
            round: event.round,
          };
          if (event.result !== undefined) result.result = event.result;
          state.emit(result);
          break;
        }
      }
    }
    timeline.end(span);
    timeline.record(OP.llm, (span.end as number) - span.start, { provider, cached: true, outcome: 'ok' });
    state.newMessages.push(...answer.messages);
  }

  /** Stores the turn's answer when it is clean, complete and free of side effects. */
  async store(): Promise<void> {
    const state = this.#state;
    const config = state.pipeline.llmCache;
    const events = this.#events;
    const key = this.#key;
    if (!config || !state.pipeline.store || !events || !key || this.replayed) return;
    // Only clean, complete, side-effect-free answers are worth replaying to someone else.
    if (
      state.sideEffects ||
      state.recoveredErrors > 0 ||
      state.lastFinish !== 'stop' ||
      state.reply.trim() === ''
    )
      return;
    const value: CachedLlmAnswer = { v: 1, events, reply: state.reply, messages: state.newMessages.slice(1) };
    await state.cacheSet(key, value, config.namespace, config.ttlSeconds, state.signal);
  }
}
