/**
 * Runs one turn, top to bottom: speech-to-text → (search, in `context` mode) → the LLM answer
 * (from the cache, or the model with its tool loop) → chunks → TTS run-ahead → the result.
 * The stages live in their own files (`stt-stage.ts`, `search-stage.ts`, `llm-stage.ts`,
 * `tts-stage.ts`), all going through `runStage()`; what they share is a {@link TurnState}.
 * This file keeps the order of the stages, barge-in and the result. One instance per turn.
 * @module
 */
import { raceAbort } from '../internal/abort.js';
import { OP } from '../perf/operations.js';
import type { AudioInput, ChatMessage } from './contracts.js';
import type { TurnResult } from './events.js';
import type { NormalizedInput } from './input.js';
import { answer } from './llm-stage.js';
import { abortReason } from './scope.js';
import { formatSearchContext, runSearch } from './search-stage.js';
import { transcribe } from './stt-stage.js';
import type { TurnStream } from './turn.js';
import { type PipelineContext, TurnState } from './turn-state.js';

export { type NormalizedInput, normalizeInput } from './input.js';
export type { PipelineContext } from './turn-state.js';

/** @internal */
export class TurnRun {
  readonly #state: TurnState;
  readonly #input: NormalizedInput;
  readonly #userSignal: AbortSignal | undefined;
  readonly #onUserAbort = (): void => this.interrupt((this.#userSignal as AbortSignal).reason);

  constructor(
    pipeline: PipelineContext,
    stream: TurnStream,
    input: NormalizedInput,
    options: {
      history: readonly ChatMessage[];
      signal: AbortSignal | undefined;
      speechEndedAt: number | undefined;
    },
  ) {
    this.#state = new TurnState(pipeline, stream, options.history, options.speechEndedAt);
    this.#input = input;
    this.#userSignal = options.signal;
    stream.setAbortHandler((reason) => this.interrupt(reason));
    if (options.signal) {
      if (options.signal.aborted) this.interrupt(options.signal.reason);
      else options.signal.addEventListener('abort', this.#onUserAbort, { once: true });
    }
  }

  /** Barge-in. Ignored once the turn has finished. */
  interrupt(reason?: unknown): void {
    this.#state.interrupt(reason);
  }

  async run(): Promise<TurnResult> {
    const state = this.#state;
    try {
      await transcribe(state, this.#input);
      if (state.transcript.trim().length > 0) {
        state.newMessages.push({ role: 'user', content: state.transcript });
        await this.#answer();
        state.speech.flush();
      }
      state.speech.queue.close();
      await raceAbort(state.speech.queue.drained, state.signal, abortReason);
      await state.answer.store();
      return await this.#finish();
    } catch (err) {
      if (state.interruptedAt === undefined && state.fatal === undefined) state.fail(err);
      return await this.#finish();
    }
  }

  /** Search context (in `context` mode), then the cached answer or the model. */
  async #answer(): Promise<void> {
    const state = this.#state;
    const options = state.options;
    let waitedOn = state.lastSpanWait(OP.stt);
    let contextMessage: ChatMessage | undefined;
    if (options.search && options.searchMode === 'context') {
      const results = await runSearch(
        state,
        options.search,
        state.transcript,
        { topK: options.searchTool.topK ?? 5 },
        waitedOn,
      );
      contextMessage = { role: 'system', content: formatSearchContext(results) };
      waitedOn = state.lastSpanWait(OP.search);
    }
    const hit = await state.answer.lookup(waitedOn);
    if (hit) state.answer.replay(hit.answer, hit.wait);
    else await answer(state, contextMessage, hit === undefined ? waitedOn : state.lastSpanWait('cache:llm'));
  }

  async #finish(): Promise<TurnResult> {
    const state = this.#state;
    const speech = state.speech;
    state.finished = true;
    speech.stopTimer();
    this.#userSignal?.removeEventListener('abort', this.#onUserAbort);
    const interrupted = state.fatal === undefined && state.interruptedAt !== undefined;
    const error = state.fatal;
    // A failed or interrupted turn has aborted its scope already. A finished one has consumed
    // every stream, and aborting now would cut short what may still end gracefully (an STT
    // session closing).
    if (error) speech.queue.abandon(error);
    // Every stage call races the turn's signal, so these settle at once after an abort.
    await Promise.allSettled([...speech.queue.tasks, ...state.pending]);
    state.scope.dispose();
    const doneAt = performance.now();
    const cached = state.answer.replayed;
    const timeline = state.timeline;
    if (interrupted) {
      timeline.mark('interrupted', state.interruptedAt);
      state.stream.push({
        type: 'interrupted',
        atMs: Math.round(((state.interruptedAt as number) - timeline.origin) * 1000) / 1000,
      });
    }
    const outcome = error ? 'error' : interrupted ? 'interrupted' : 'ok';
    if (outcome === 'ok' && timeline.marks.firstAudio !== undefined) {
      timeline.record(OP.timeToFirstAudio, timeline.marks.firstAudio - timeline.origin, {
        cached,
        outcome: 'ok',
      });
      timeline.record(OP.e2e, (timeline.marks.lastAudio ?? doneAt) - timeline.origin, {
        cached,
        outcome: 'ok',
      });
    }
    timeline.record(OP.turn, doneAt - timeline.origin, { cached, outcome });
    const built = timeline.build(doneAt, { cached, interrupted }, state.options.targets);
    state.stream.push({ type: 'metrics', timeline: built });
    state.stream.close(error);
    if (error) throw error;
    const messages = state.newMessages.slice();
    if (interrupted && messages.length > 0) {
      // Keep what the user heard of the answer, not what the model wrote: the rest never reached them.
      const last = messages[messages.length - 1] as ChatMessage;
      if (last.role === 'assistant' && !last.toolCalls) messages.pop();
      const heard = speech.heardAnswer();
      if (heard.length > 0) messages.push({ role: 'assistant', content: heard });
    }
    return {
      turnId: state.stream.id,
      transcript: state.transcript,
      reply: state.reply,
      spokenText: speech.spokenText(),
      interrupted,
      cached,
      usage: state.usage,
      messages,
      timeline: built,
    };
  }
}

/** @internal */
export type { AudioInput };
