/**
 * Isolation of listener errors. A listener is someone else's code (an exporter, a log hook):
 * its failure must never change the caller's call: `track()` still returns the caller's
 * result, `wrap`/`@tracked` raise no unhandled rejection, a timeline keeps recording.
 * @module
 */

/** Called with every error a listener throws (or rejects with). */
export type ListenerErrorHandler = (error: unknown) => void;

/**
 * Calls listeners so that whatever they do — throw, or return a promise that rejects — never
 * reaches the code that notified them. Each error goes to `onError` when one is given;
 * otherwise the first error is reported once as a process warning (code
 * `EARSHOT_LISTENER_ERROR`) and the rest only counted.
 *
 * @example
 * ```ts
 * const guard = new ListenerGuard('timeline');
 * for (const l of listeners) guard.call(l, event); // never throws
 * guard.errors; // how many listener calls failed
 * ```
 */
export class ListenerGuard {
  private failures = 0;

  /**
   * @param source what the listeners listen to, for the warning (`performance monitor`)
   * @param onError receives every listener error; when it throws itself, that is ignored
   */
  constructor(
    readonly source: string,
    private readonly onError?: ListenerErrorHandler,
  ) {}

  /** Listener calls that threw or rejected so far. */
  get errors(): number {
    return this.failures;
  }

  /** Calls `listener(event)`; a throw or a rejected returned promise is reported, not raised. */
  call<E>(listener: (event: E) => unknown, event: E): void {
    let result: unknown;
    try {
      result = listener(event);
    } catch (err) {
      this.report(err);
      return;
    }
    if (
      result !== null &&
      typeof result === 'object' &&
      typeof (result as { then?: unknown }).then === 'function'
    ) {
      (result as PromiseLike<unknown>).then(undefined, (err: unknown) => this.report(err));
    }
  }

  /** Reports one listener error (to `onError`, or as a once-only warning). */
  report(err: unknown): void {
    this.failures++;
    if (this.onError) {
      try {
        this.onError(err);
      } catch {
        // The error handler failing is not the caller's problem either.
      }
      return;
    }
    if (this.failures === 1) {
      const message = err instanceof Error ? err.message : String(err);
      process.emitWarning(
        `earshot: a ${this.source} listener threw; the call it observed is unaffected. Further listener errors are counted, not reported. First error: ${message.slice(0, 200)}`,
        { code: 'EARSHOT_LISTENER_ERROR' },
      );
    }
  }
}
