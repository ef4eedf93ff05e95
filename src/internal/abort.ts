/**
 * AbortSignal plumbing shared by every module that waits on something it did not start:
 * works on Node 20.0+ (no `AbortSignal.any`), removes every listener and timer it adds, and
 * never leaves a rejection unhandled. The one `raceAbort` of the code base lives here.
 * @module
 */
import { AbortedError, EarshotError } from '../errors.js';

/** Does nothing: the handler of a rejection we deliberately stopped waiting for. */
export const noop = (): void => {};

/**
 * What {@link raceAbort} rejects with when the signal fires: a function of the signal (e.g.
 * {@link abortReason}), or a short description of the work, which makes an `AbortedError`
 * "`<what>` was aborted." carrying the signal's reason as its cause.
 */
type AbortRejection = string | ((signal: AbortSignal) => unknown);

function rejection(onAbort: AbortRejection, signal: AbortSignal): unknown {
  return typeof onAbort === 'string'
    ? new AbortedError(`${onAbort} was aborted.`, { cause: signal.reason })
    : onAbort(signal);
}

/**
 * Settles like `promise`, or rejects as soon as `signal` fires, whichever comes first (no
 * signal: `promise` itself). `promise` goes on (a single-flight load shared with other
 * callers must not be cancelled by one of them leaving); its late rejection gets a handler so
 * it is never reported as unhandled.
 */
export function raceAbort<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  onAbort: AbortRejection,
): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.then(noop, noop);
    return Promise.reject(rejection(onAbort, signal));
  }
  return new Promise<T>((resolve, reject) => {
    const listener = (): void => {
      promise.then(noop, noop);
      reject(rejection(onAbort, signal));
    };
    signal.addEventListener('abort', listener, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', listener);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', listener);
        reject(e);
      },
    );
  });
}

/** Waits `ms`, or rejects when `signal` fires (clearing the timer). */
export function abortableSleep(
  ms: number,
  signal: AbortSignal | undefined,
  onAbort: AbortRejection,
): Promise<void> {
  if (signal?.aborted) return Promise.reject(rejection(onAbort, signal));
  if (!(ms > 0)) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const listener = (): void => {
      clearTimeout(timer);
      reject(rejection(onAbort, signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', listener);
      resolve();
    }, ms);
    signal?.addEventListener('abort', listener, { once: true });
  });
}

/** Throws `AbortedError` ("`<what>` was aborted.") if `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new AbortedError(`${what} was aborted.`, { cause: signal.reason });
}

/**
 * The abort reason of `signal` as an `EarshotError`: an `EarshotError` reason (a
 * `TimeoutError` from a deadline, an `AbortedError` from a barge-in) stays itself; anything
 * else becomes an `AbortedError` with the reason as its cause.
 */
export function abortReason(signal: AbortSignal): EarshotError {
  const reason: unknown = signal.reason;
  if (reason instanceof EarshotError) return reason;
  return new AbortedError('The turn was aborted (barge-in).', { cause: reason });
}
