/**
 * Small AbortSignal helpers that work on Node 20.0+ (no `AbortSignal.any`).
 * @module
 */
import { AbortedError } from '../errors.js';
import { abortableSleep, raceSignal } from '../internal/abort.js';

/** Throws AbortedError if `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new AbortedError(`${what} was aborted.`, { cause: signal.reason });
}

/** Waits `ms`; rejects with AbortedError as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  return abortableSleep(
    ms,
    signal,
    () => new AbortedError(`${what} was aborted.`, { cause: signal?.reason }),
  );
}

/**
 * Settles like `promise`, except that it rejects with AbortedError as soon as `signal` aborts.
 * `promise` itself goes on (its rejection is handled), which is what a caller sharing a
 * single-flight load needs: leaving must not cancel the load for the others.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return promise;
  return raceSignal(
    promise,
    signal,
    () => new AbortedError(`${what} was aborted.`, { cause: signal.reason }),
  );
}
