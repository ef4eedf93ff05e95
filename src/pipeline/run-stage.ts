/**
 * The stage-attempt protocol, written once: span → deadline scope → call → record →
 * classify → interrupted → fallback switch. Speech-to-text, the language model, text-to-speech
 * and search all go through {@link runStage}; what differs between them is in their spec.
 * @module
 */
import { EarshotError, ProviderError, TimeoutError } from '../errors.js';
import type { StageInfo } from './contracts.js';
import type { FallbackStage } from './events.js';
import { abortReason, noop, Scope, type StageScope, stageTimeout } from './scope.js';
import type { WaitedOn } from './speech-queue.js';
import type { LiveSpan } from './timeline.js';
import { messageOf, type TurnState } from './turn-state.js';

/** A deadline of a stage call, with the words its TimeoutError uses. */
export interface StageDeadline {
  ms: number | undefined;
  /** The `deadlines.<option>` to raise. */
  option: string;
  /** What missed it, e.g. "The language model (first token)". */
  what: string;
}

/** One attempt of a stage call, as the stage's `call` sees it. */
export interface StageAttempt<S> {
  /** The stage this attempt calls (the fallback after a switch). */
  readonly stage: S;
  readonly provider: string;
  readonly scope: StageScope;
  readonly signal: AbortSignal;
  /** What this attempt waited on (for the critical path). */
  readonly waitedOn: WaitedOn | undefined;
  /** The attempt's span, once begun. */
  readonly span: LiveSpan | undefined;
  /** Starts the span and arms the deadlines (idempotent): at once unless `lazySpan`. */
  begin(): LiveSpan;
  /** Marks the first output: clears the first-output deadline; returns its time. */
  markFirstOutput(): number;
}

/** How one stage goes through the protocol. */
export interface StageSpec<S extends StageInfo, T> {
  /** Operation recorded (an `OP.*` name); also the span's name. */
  operation: string;
  /** The stage to call first. */
  stage: S;
  waitedOn?: WaitedOn | undefined;
  /** Extra span fields (round, sentence index). */
  spanFields?: { round?: number; sentenceIndex?: number };
  /** Whole-call deadline. */
  deadline?: StageDeadline;
  /** First-output deadline (first token, first audio byte). */
  firstOutputDeadline?: StageDeadline;
  /**
   * The call runs under this signal instead of the turn's (a search inside a tool): when it
   * aborts while the turn goes on, the span ends `interrupted` and the error goes to the caller
   * as it is.
   */
  parentSignal?: AbortSignal | undefined;
  /** The span starts when the call says (`attempt.begin()`), e.g. at the end of speech. */
  lazySpan?: boolean;
  /** Called with the span's start time when it begins. */
  onBegin?(at: number): void;
  fallback?: {
    stage: FallbackStage;
    to: S | undefined;
    /** Whether this failed attempt may be redone by the fallback (e.g. nothing said yet). */
    canTake?(attempt: StageAttempt<S>): boolean;
    /** Runs before the switch (drain the audio, roll back recorded events). */
    prepare?(attempt: StageAttempt<S>): void | Promise<void>;
    /** The turn uses `next` from now on. */
    onSwitch?(next: S): void;
    /** The fallback's span waits on the failed one. Default true. */
    chain?: boolean;
  };
  call(attempt: StageAttempt<S>): Promise<T>;
  /** After the span ended and was recorded: e.g. a cache write off the stage's clock. */
  afterSuccess?(value: T, attempt: StageAttempt<S>): Promise<void>;
}

type Classified = { turn: true } | { turn: false; error: EarshotError; timeout: boolean };

/** Why a stage call failed: the turn ended (barge-in, fatal error), a deadline, or the provider. */
function classify(
  state: TurnState,
  err: unknown,
  scope: StageScope,
  operation: string,
  provider: string,
): Classified {
  if (state.scope.aborted) return { turn: true };
  const reason: unknown = scope.aborted ? scope.signal.reason : undefined;
  if (reason instanceof TimeoutError) return { turn: false, error: reason, timeout: true };
  if (err instanceof TimeoutError) return { turn: false, error: err, timeout: true };
  if (err instanceof EarshotError) return { turn: false, error: err, timeout: false };
  return {
    turn: false,
    error: new ProviderError(
      `The ${operation} stage (provider ${provider}) failed: ${messageOf(err)}`,
      { provider, retryable: false },
      { cause: err },
    ),
    timeout: false,
  };
}

/**
 * Runs one stage call through the protocol: starts its span, arms its deadlines, calls it,
 * records `operation` (`outcome` ok/error, `cached` from the span), tells a barge-in from a
 * failure, and on a failure switches to the fallback stage when the spec allows.
 */
export async function runStage<S extends StageInfo, T>(state: TurnState, spec: StageSpec<S, T>): Promise<T> {
  const timeline = state.timeline;
  let stage = spec.stage;
  let waitedOn = spec.waitedOn;
  const fallback = spec.fallback;
  for (;;) {
    const provider = stage.provider;
    const first = spec.firstOutputDeadline;
    const whole = spec.deadline;
    const scope: StageScope =
      spec.parentSignal !== undefined && spec.parentSignal !== state.signal
        ? new Scope(spec.parentSignal)
        : state.stageScope(first?.ms ?? whole?.ms);
    let span: LiveSpan | undefined;
    let clearFirstOutput: () => void = noop;
    const attemptWaitedOn = waitedOn;
    const attempt: StageAttempt<S> = {
      stage,
      provider,
      scope,
      signal: scope.signal,
      waitedOn: attemptWaitedOn,
      get span() {
        return span;
      },
      begin(): LiveSpan {
        if (span) return span;
        const at = performance.now();
        spec.onBegin?.(at);
        span = timeline.start(spec.operation, {
          provider,
          start: at,
          ...(attemptWaitedOn ? { waitedOn: attemptWaitedOn } : {}),
          ...spec.spanFields,
        });
        if (first)
          clearFirstOutput = scope.deadline(first.ms, () =>
            stageTimeout(first.what, first.option, first.ms as number, provider),
          );
        if (whole)
          scope.deadline(whole.ms, () =>
            stageTimeout(whole.what, whole.option, whole.ms as number, provider),
          );
        return span;
      },
      markFirstOutput(): number {
        const begun = attempt.begin();
        if (begun.firstOutput === undefined) {
          clearFirstOutput();
          begun.firstOutput = performance.now();
        }
        return begun.firstOutput;
      },
    };
    if (!spec.lazySpan) attempt.begin();
    try {
      const value = await spec.call(attempt);
      const done = attempt.begin();
      timeline.end(done);
      timeline.record(spec.operation, (done.end as number) - done.start, {
        provider,
        cached: done.cached,
        outcome: 'ok',
      });
      await spec.afterSuccess?.(value, attempt);
      return value;
    } catch (err) {
      if (spec.parentSignal?.aborted && !state.scope.aborted) {
        // The caller around this stage was cancelled (a tool's deadline): that caller reports it.
        if (span) timeline.end(span, 'interrupted');
        throw err;
      }
      const classified = classify(state, err, scope, spec.operation, provider);
      if (classified.turn) {
        if (span) timeline.end(span, 'interrupted');
        throw abortReason(state.signal);
      }
      const error = classified.error;
      if (span) {
        timeline.end(span, classified.timeout ? 'timeout' : 'error', error.message);
        timeline.record(spec.operation, (span.end as number) - span.start, {
          provider,
          cached: false,
          outcome: 'error',
        });
      }
      const next = fallback?.to;
      if (fallback && next && stage !== next && (fallback.canTake?.(attempt) ?? true)) {
        await fallback.prepare?.(attempt);
        state.switchTo(fallback.stage, provider, next.provider, error);
        stage = next;
        fallback.onSwitch?.(next);
        if (span && fallback.chain !== false)
          waitedOn = { spanId: span.id, at: span.end as number, reason: `${provider} failed` };
        continue;
      }
      throw error;
    } finally {
      scope.dispose();
    }
  }
}
