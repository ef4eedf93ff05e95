/**
 * Cancellation scopes of a turn: child scopes linked to the turn's signal, and per-stage
 * deadlines (the race itself is `raceAbort` in `internal/abort.ts`). Every listener
 * and timer created here is removed in `dispose()`, so an aborted turn leaves nothing pending.
 * @module
 */
import { TimeoutError } from '../errors.js';
import { abortReason, noop } from '../internal/abort.js';

export { abortReason, noop };

/** What a stage call needs from its scope: a signal, deadlines, and a way to let go. */
export interface StageScope {
  readonly signal: AbortSignal;
  readonly aborted: boolean;
  deadline(ms: number | undefined, makeError: () => TimeoutError): () => void;
  dispose(): void;
}

/**
 * A stage scope that borrows its parent's signal: for stage calls without a deadline, so a
 * turn does not pay for an AbortController and a listener per call it does not need.
 */
class BorrowedScope implements StageScope {
  readonly #parent: Scope;
  constructor(parent: Scope) {
    this.#parent = parent;
  }
  get signal(): AbortSignal {
    return this.#parent.signal;
  }
  get aborted(): boolean {
    return this.#parent.aborted;
  }
  deadline(): () => void {
    return noop;
  }
  dispose(): void {}
}

/** See {@link BorrowedScope}. */
export function borrowScope(parent: Scope): StageScope {
  return new BorrowedScope(parent);
}

/**
 * An AbortController linked to a parent signal, with optional deadlines. Aborting the parent
 * aborts the scope with the parent's reason; a deadline aborts it with a {@link TimeoutError}.
 * Call {@link Scope.dispose} when the work is over: it unlinks the parent and clears timers.
 */
export class Scope implements StageScope {
  readonly #controller = new AbortController();
  readonly #parent: AbortSignal | undefined;
  #timers: ReturnType<typeof setTimeout>[] | undefined;
  readonly #onParentAbort = (): void => {
    this.abort((this.#parent as AbortSignal).reason);
  };

  constructor(parent?: AbortSignal) {
    this.#parent = parent;
    if (parent) {
      if (parent.aborted) this.#controller.abort(parent.reason);
      else parent.addEventListener('abort', this.#onParentAbort, { once: true });
    }
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get aborted(): boolean {
    return this.#controller.signal.aborted;
  }

  /** Aborts the scope (and every scope linked below it). The first reason wins. */
  abort(reason?: unknown): void {
    if (!this.#controller.signal.aborted) this.#controller.abort(reason);
  }

  /**
   * Aborts the scope with `makeError()` after `ms` unless the returned function is called first.
   * `undefined` or a non-positive `ms` sets no deadline.
   */
  deadline(ms: number | undefined, makeError: () => TimeoutError): () => void {
    if (ms === undefined || !(ms > 0) || this.aborted) return noop;
    const timer = setTimeout(() => this.abort(makeError()), ms);
    if (this.#timers) this.#timers.push(timer);
    else this.#timers = [timer];
    return () => clearTimeout(timer);
  }

  /** Unlinks from the parent and clears every deadline. Does not abort. Idempotent. */
  dispose(): void {
    this.#parent?.removeEventListener('abort', this.#onParentAbort);
    if (this.#timers) {
      for (const t of this.#timers) clearTimeout(t);
      this.#timers = undefined;
    }
  }
}

/** Builds the TimeoutError of a stage deadline, with a message that says what to change. */
export function stageTimeout(what: string, option: string, ms: number, provider: string): TimeoutError {
  const err = new TimeoutError(
    `${what} (provider ${provider}) did not finish within ${ms} ms. Raise deadlines.${option}, ` +
      'check the provider, or configure a fallback stage.',
    ms,
  );
  deadlineErrors.add(err);
  return err;
}

const deadlineErrors = new WeakSet<Error>();

/** @internal Whether `err` is a pipeline deadline (`deadlines.*`), not a provider's own timeout. */
export function isStageDeadline(err: unknown): boolean {
  return err instanceof TimeoutError && deadlineErrors.has(err);
}
