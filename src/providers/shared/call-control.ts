/**
 * Deadline and abort plumbing of one provider call: an internal AbortController that follows
 * the caller's signal and our own deadline, and races that stop waiting on SDK promises that
 * ignore signals. Written for Node 20.0+ (no `AbortSignal.any`).
 * @module
 */

import { raceAbort } from '../../internal/abort.js';

/** Why a call was stopped: the caller's AbortSignal, or our deadline. */
export type StopReason = 'aborted' | 'timeout';

/**
 * An internal AbortController that follows the caller's signal and can also fire on a
 * deadline, remembering why it fired so errors can say "aborted" or "timed out". `closed`
 * is for an adapter that stops a call itself (cleanup after the consumer left or the call
 * ended), which is neither.
 *
 * @example
 * ```ts
 * const control = new CallControl(options.signal);
 * control.arm(timeoutMs); // fires with reason 'timeout' unless disarmed first
 * try {
 *   return await sdk.call({ signal: control.signal });
 * } finally {
 *   control.dispose();
 * }
 * ```
 */
export class CallControl {
  readonly controller = new AbortController();
  /** Why the controller fired, if it did. */
  reason: StopReason | 'closed' | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #parent: AbortSignal | undefined;
  readonly #onParentAbort = () => this.abort('aborted');

  constructor(parent?: AbortSignal) {
    this.#parent = parent;
    if (parent?.aborted) this.abort('aborted');
    else parent?.addEventListener('abort', this.#onParentAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The reason when it is the caller's abort or our deadline; undefined otherwise. */
  get stop(): StopReason | undefined {
    return this.reason === 'closed' ? undefined : this.reason;
  }

  /** (Re)arms the deadline: the controller fires with reason `timeout` after `ms`. */
  arm(ms: number): void {
    this.disarm();
    this.#timer = setTimeout(() => this.abort('timeout'), ms);
  }

  disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  abort(reason: StopReason | 'closed'): void {
    if (this.controller.signal.aborted) return;
    this.reason = reason;
    this.disarm();
    this.controller.abort(reason);
  }

  /** Releases the timer and the listener on the caller's signal. */
  dispose(): void {
    this.disarm();
    this.#parent?.removeEventListener('abort', this.#onParentAbort);
  }
}

/**
 * Resolves `promise`, or rejects when `control` fires (with whatever `onAbort` returns), so a
 * wait on an SDK promise that ignores signals still ends promptly.
 */
export function raceControl<T>(
  promise: Promise<T>,
  control: CallControl,
  onAbort: () => unknown,
): Promise<T> {
  return raceAbort(promise, control.signal, onAbort);
}
