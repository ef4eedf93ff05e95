/**
 * What the fake stages share: capped call logs, the abort check, and the {@link Pacer} that
 * paces one streamed call with a single abort listener.
 * @module
 */
import { abortReason } from '../internal/abort.js';

/** Call logs (`calls`, `texts`, `queries`) keep the last this many entries, so long runs do not grow without bound. */
export const FAKE_LOG_LIMIT = 1000;

/** Appends to a call log, dropping the oldest entry past {@link FAKE_LOG_LIMIT}. */
export function log<T>(list: T[], entry: T): void {
  list.push(entry);
  if (list.length > FAKE_LOG_LIMIT) list.shift();
}

/** Throws the signal's reason when it has aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

/**
 * Paces one streamed call: waits until given times, with one abort listener for the whole
 * call (a reply has dozens of tokens; a listener per wait would cost more than the fake).
 */
export class Pacer {
  readonly #signal: AbortSignal | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #reject: ((err: unknown) => void) | undefined;
  readonly #onAbort = (): void => {
    clearTimeout(this.#timer);
    this.#reject?.(abortReason(this.#signal as AbortSignal));
  };

  constructor(signal: AbortSignal | undefined) {
    this.#signal = signal;
    signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /**
   * Waits `ms` (nothing below 1 ms, which timers cannot honour), never less; throws when
   * aborted.
   */
  wait(ms: number): Promise<void> | undefined {
    throwIfAborted(this.#signal);
    if (!(ms >= 1)) return undefined;
    return this.#sleepUntil(performance.now() + ms);
  }

  /** Waits until `performance.now()` reaches `due`, never returning before it; throws when aborted. */
  until(due: number): Promise<void> | undefined {
    throwIfAborted(this.#signal);
    if (!(performance.now() < due)) return undefined;
    return this.#sleepUntil(due);
  }

  /**
   * A timer may fire up to about a millisecond before its delay (the event loop keeps time in
   * whole milliseconds), and a delay under 1 ms cannot be asked for: wait again, at least 1 ms,
   * while the time has not come. A paced fake is then never early, only up to ~1 ms late.
   */
  async #sleepUntil(due: number): Promise<void> {
    for (let left = due - performance.now(); left > 0; left = due - performance.now()) {
      await new Promise<void>((resolve, reject) => {
        this.#reject = reject;
        this.#timer = setTimeout(
          () => {
            this.#reject = undefined;
            resolve();
          },
          Math.max(1, left),
        );
      });
    }
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#signal?.removeEventListener('abort', this.#onAbort);
  }
}
