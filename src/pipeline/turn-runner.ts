/**
 * Runs one turn, top to bottom: speech-to-text → the answer (search in `context` mode, the LLM
 * answer from the cache or the model with its tool loop) → chunks → TTS run-ahead → the result.
 * The stages live in their own files (`stt-stage.ts`, `search-stage.ts`, `llm-stage.ts`,
 * `tts-stage.ts`), all going through `runStage()`; what they share is a {@link TurnState}. An
 * answer runs in a child state of the turn, started early by preemptive generation
 * (`preemptive.ts`) or when the transcript is final. This file keeps the order of the stages,
 * barge-in and the result. One instance per turn.
 * @module
 */
import { noop, raceAbort } from '../internal/abort.js';
import { OP } from '../perf/operations.js';
import type { ChatMessage } from './contracts.js';
import type { TurnResult } from './events.js';
import type { NormalizedInput } from './input.js';
import { answer } from './llm-stage.js';
import { type AnswerRun, PreemptiveAnswers } from './preemptive.js';
import { prewarmStage } from './prewarm.js';
import { abortReason } from './scope.js';
import { formatSearchContext, runSearch } from './search-stage.js';
import { prewarmStreamingStt, transcribe } from './stt-stage.js';
import type { TurnStream } from './turn.js';
import { type PipelineContext, TurnState } from './turn-state.js';

export { normalizeInput } from './input.js';
export type { PipelineContext } from './turn-state.js';

/** The answer phase of one child state: search context, then the cached answer or the model. */
async function answerTurn(state: TurnState): Promise<void> {
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
  state.speech.flush();
}

/** Starts prewarming the stages the answer will use, while speech-to-text runs. */
function prewarmAnswerStages(state: TurnState): void {
  const options = state.options;
  for (const stage of [options.llm, options.tts, options.search]) {
    if (stage) void prewarmStage(stage, state.pipeline, state.signal);
  }
}

/** @internal */
export class TurnRun {
  readonly #state: TurnState;
  readonly #input: NormalizedInput;
  readonly #userSignal: AbortSignal | undefined;
  readonly #onUserAbort = (): void => this.interrupt((this.#userSignal as AbortSignal).reason);
  readonly #preemptive: PreemptiveAnswers | undefined;
  #resolveEndOfTurn: () => void = noop;
  readonly #endOfTurn: Promise<void>;
  /** The answer that is played (undefined until the transcript is confirmed). */
  #answer: AnswerRun | undefined;

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
    this.#endOfTurn = new Promise<void>((resolve) => {
      this.#resolveEndOfTurn = resolve;
    });
    if (input.kind === 'stream' && pipeline.options.preemptive)
      this.#preemptive = new PreemptiveAnswers(this.#state, answerTurn);
    stream.setAbortHandler((reason) => this.interrupt(reason));
    stream.setEndOfTurnHandler(() => this.#resolveEndOfTurn());
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
    const root = this.#state;
    try {
      if (this.#input.kind !== 'text' && root.options.prewarm) prewarmAnswerStages(root);
      const preemptive = this.#preemptive;
      await transcribe(root, this.#input, {
        endOfTurn: this.#endOfTurn,
        ...(preemptive
          ? {
              onCandidate: (text: string) => preemptive.onCandidate(text),
              onRetract: () => preemptive.dropAll(),
            }
          : {}),
      });
      // Ready the next utterance's STT session while the answer plays (not bound to this turn:
      // the adapter bounds an idle warm session itself).
      if (this.#input.kind === 'stream' && root.options.prewarm && !root.scope.aborted)
        void prewarmStreamingStt(root.options.stt, root.options);
      if (root.transcript.trim().length > 0) {
        let run = preemptive?.claim(root.transcript);
        if (!run) {
          const state = root.child(root.transcript, false);
          run = { state, done: answerTurn(state) };
        }
        this.#answer = run;
        await run.done;
      }
      preemptive?.dropAll();
      const speech = (this.#answer?.state ?? root).speech;
      speech.queue.close();
      await raceAbort(speech.queue.drained, root.signal, abortReason);
      await this.#answer?.state.answer.store();
      return await this.#finish();
    } catch (err) {
      if (root.interruptedAt === undefined && root.fatal === undefined) root.fail(err);
      return await this.#finish();
    }
  }

  async #finish(): Promise<TurnResult> {
    const root = this.#state;
    const answered = this.#answer?.state ?? root;
    const speech = answered.speech;
    root.finished = true;
    this.#preemptive?.dropAll();
    const runs = [...(this.#preemptive?.runs ?? []), ...(this.#answer ? [this.#answer] : [])];
    for (const run of runs) run.state.speech.stopTimer();
    this.#userSignal?.removeEventListener('abort', this.#onUserAbort);
    const interrupted = root.fatal === undefined && root.interruptedAt !== undefined;
    const error = root.fatal;
    // A failed or interrupted turn has aborted its scope already. A finished one has consumed
    // every stream, and aborting now would cut short what may still end gracefully (an STT
    // session closing).
    if (error) speech.queue.abandon(error);
    // The answer is complete: a prefetch still running was not needed and must not hold `done`.
    root.stopUnusedPrefetches();
    for (const run of runs) run.state.stopUnusedPrefetches();
    // Every stage call races the turn's signal, so these settle at once after an abort.
    await Promise.allSettled([
      ...runs.flatMap((run) => [run.done, ...run.state.speech.queue.tasks, ...run.state.prefetches.values()]),
      ...root.pending,
    ]);
    for (const run of runs) run.state.scope.dispose();
    root.scope.dispose();
    const doneAt = performance.now();
    const cached = answered.answer.replayed;
    const timeline = root.timeline;
    if (interrupted) {
      timeline.mark('interrupted', root.interruptedAt);
      root.stream.push({
        type: 'interrupted',
        atMs: Math.round(((root.interruptedAt as number) - timeline.origin) * 1000) / 1000,
      });
    }
    const outcome = error ? 'error' : interrupted ? 'interrupted' : 'ok';
    const answerAudioAt = speech.firstAnswerAudioAt();
    if (answerAudioAt !== undefined) timeline.mark('firstAnswerAudio', answerAudioAt);
    if (outcome === 'ok' && timeline.marks.firstAudio !== undefined) {
      const labels = { cached, outcome: 'ok' };
      timeline.record(OP.timeToFirstAudio, timeline.marks.firstAudio - timeline.origin, labels);
      if (answerAudioAt !== undefined)
        timeline.record(OP.timeToAnswerAudio, answerAudioAt - timeline.origin, labels);
      timeline.record(OP.e2e, (timeline.marks.lastAudio ?? doneAt) - timeline.origin, labels);
    }
    timeline.record(OP.turn, doneAt - timeline.origin, { cached, outcome });
    const built = timeline.build(doneAt, { cached, interrupted }, root.options.targets);
    root.stream.push({ type: 'metrics', timeline: built });
    root.stream.close(error);
    if (error) throw error;
    const messages = answered.newMessages.slice();
    if (interrupted && messages.length > 0) {
      // Keep what the user heard of the answer, not what the model wrote: the rest never reached them.
      const last = messages[messages.length - 1] as ChatMessage;
      if (last.role === 'assistant' && !last.toolCalls) messages.pop();
      const heard = speech.heardAnswer();
      if (heard.length > 0) messages.push({ role: 'assistant', content: heard, interrupted: true });
    }
    const result: TurnResult = {
      turnId: root.stream.id,
      transcript: root.transcript,
      reply: answered.reply,
      spokenText: speech.spokenText(),
      interrupted,
      cached,
      usage: answered.usage,
      messages,
      timeline: built,
    };
    const preemptive = this.#preemptive?.summary();
    if (preemptive) result.preemptive = preemptive;
    return result;
  }
}
