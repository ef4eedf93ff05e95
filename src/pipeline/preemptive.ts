/**
 * Preemptive generation: on streamed audio, the answer starts on a final transcript before the
 * end of turn is confirmed, in a held child state (nothing is played). At confirmation the
 * answer is kept when the confirmed transcript matches (normalised) and released (playout
 * starts then); otherwise it is dropped (its scope aborted, its held output discarded) and the
 * turn answers afresh. Outcomes are recorded as `preemptive` (`outcome: hit | miss`), the
 * dropped work in the result's `preemptive` summary.
 * @module
 */
import { AbortedError } from '../errors.js';
import { OP } from '../perf/operations.js';
import { normalizeTranscript } from './cache.js';
import type { PreemptiveSummary } from './events.js';
import type { TurnState } from './turn-state.js';

/** @internal An answer in flight: its state and the promise of its text phase. */
export interface AnswerRun {
  state: TurnState;
  done: Promise<void>;
}

interface Attempt extends AnswerRun {
  key: string;
  startedAt: number;
  failed: boolean;
}

/** @internal */
export class PreemptiveAnswers {
  readonly #root: TurnState;
  readonly #start: (state: TurnState) => Promise<void>;
  #current: Attempt | undefined;
  /** Every answer started early, for the turn's clean-up. */
  readonly runs: AnswerRun[] = [];
  #outcome: 'hit' | 'miss' | undefined;
  #wastedLlmCalls = 0;
  #wastedTokens = 0;

  constructor(root: TurnState, start: (state: TurnState) => Promise<void>) {
    this.#root = root;
    this.#start = start;
  }

  /** A final transcript before the end of turn: start (or restart) the answer on it. */
  onCandidate(text: string): void {
    if (this.#root.scope.aborted || this.#root.root.finished) return;
    const key = normalizeTranscript(text);
    if (key.length === 0 || this.#current?.key === key) return;
    if (this.#current) this.#drop(this.#current);
    const state = this.#root.child(text, true);
    const attempt: Attempt = {
      key,
      state,
      done: Promise.resolve(),
      startedAt: performance.now(),
      failed: false,
    };
    attempt.done = this.#start(state).catch((err: unknown) => {
      attempt.failed = true;
      throw err;
    });
    attempt.done.catch(() => {});
    this.#current = attempt;
    this.runs.push(attempt);
  }

  /**
   * The end of turn is confirmed with `transcript`: the early answer when it matches (released:
   * its output plays from now on), else undefined (the early answer is dropped).
   */
  claim(transcript: string): AnswerRun | undefined {
    const attempt = this.#current;
    this.#current = undefined;
    if (!attempt) return undefined;
    const timeline = this.#root.timeline;
    if (!attempt.failed && !attempt.state.scope.aborted && attempt.key === normalizeTranscript(transcript)) {
      this.#outcome = 'hit';
      // How far ahead the answer started.
      timeline.record(OP.preemptive, performance.now() - attempt.startedAt, { outcome: 'hit' });
      attempt.state.newMessages[0] = { role: 'user', content: transcript };
      attempt.state.release();
      return attempt;
    }
    this.#drop(attempt);
    return undefined;
  }

  /**
   * Drops whatever is still held: the turn ends without a confirmed transcript, or the provider
   * withdrew the preflight the answer started on (`turn-resumed`). A later candidate, even with
   * the same text, starts afresh.
   */
  dropAll(): void {
    if (this.#current) this.#drop(this.#current);
    this.#current = undefined;
  }

  /** What preemption did, or undefined when it never started. */
  summary(): PreemptiveSummary | undefined {
    if (this.runs.length === 0) return undefined;
    return {
      outcome: this.#outcome ?? 'miss',
      attempts: this.runs.length,
      wastedLlmCalls: this.#wastedLlmCalls,
      wastedTokens: this.#wastedTokens,
    };
  }

  #drop(attempt: Attempt): void {
    const state = attempt.state;
    if (!state.held) return;
    state.scope.abort(
      new AbortedError('The preemptive answer was dropped: the transcript changed before the end of turn.'),
    );
    this.#wastedLlmCalls += state.llmCalls;
    this.#wastedTokens += state.outputTokens;
    this.#root.timeline.record(OP.preemptive, performance.now() - attempt.startedAt, { outcome: 'miss' });
  }
}
