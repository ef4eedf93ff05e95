/**
 * AbortSignal plumbing shared by every module that waits on something it did not start:
 * works on Node 20.0+ (no `AbortSignal.any`), removes every listener and timer it adds, and
 * never leaves a rejection unhandled. Internal: each module wraps these with its own error.
 * @module
 */

const ignore = (): void => {};

/**
 * Settles like `promise`, or rejects with `onAbort()` as soon as `signal` fires, whichever
 * comes first. `promise` itself goes on (a single-flight load shared with other callers must
 * not be cancelled by one of them leaving); its late rejection gets a handler so it is never
 * reported as unhandled.
 */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal, onAbort: () => unknown): Promise<T> {
  if (signal.aborted) {
    promise.then(ignore, ignore);
    return Promise.reject(onAbort());
  }
  return new Promise<T>((resolve, reject) => {
    const listener = (): void => {
      promise.then(ignore, ignore);
      reject(onAbort());
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

/** Waits `ms`, or rejects with `onAbort()` when `signal` fires (clearing the timer). */
export function abortableSleep(
  ms: number,
  signal: AbortSignal | undefined,
  onAbort: () => unknown,
): Promise<void> {
  if (signal?.aborted) return Promise.reject(onAbort());
  if (!(ms > 0)) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const listener = (): void => {
      clearTimeout(timer);
      reject(onAbort());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', listener);
      resolve();
    }, ms);
    signal?.addEventListener('abort', listener, { once: true });
  });
}
