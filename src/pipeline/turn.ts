/**
 * The {@link Turn} handle: an async iterable of typed events plus a `done` promise. The turn
 * runs whether or not anyone iterates; events are kept, so every iterator (and a late one)
 * sees all of them from the start.
 * @module
 */
import type { EarshotError } from '../errors.js';
import { noop } from '../internal/abort.js';
import type { TurnEvent, TurnResult } from './events.js';

/**
 * One conversational turn in flight.
 *
 * - Iterate it for events (`transcript`, `llm-delta`, `tool-call`, `tool-result`, `sentence`,
 *   `audio`, `fallback`, `error`, `interrupted`, `metrics`). Iteration throws the turn's error
 *   if it fails.
 * - `done` resolves with the {@link TurnResult} (also when interrupted: `interrupted: true`)
 *   and rejects with a typed `EarshotError` when the turn fails. A rejection you do not
 *   observe is not reported as unhandled.
 * - `abort()` is a barge-in: same as aborting the `signal` passed to `respond`.
 *
 * @example
 * ```ts
 * const turn = pipeline.respond(audio, { signal });
 * for await (const e of turn) if (e.type === 'audio') speaker.write(e.chunk.data);
 * const { reply, timeline } = await turn.done;
 * ```
 */
export interface Turn extends AsyncIterable<TurnEvent> {
  readonly id: string;
  readonly done: Promise<TurnResult>;
  /** Interrupts the turn (barge-in). No audio is emitted afterwards; `done` resolves as interrupted. */
  abort(reason?: unknown): void;
  /**
   * For apps with their own voice activity detection, on streamed audio: the user finished
   * speaking. The pipeline stops reading the audio, flushes the STT, and takes its next final
   * transcript as the end of turn without waiting for the STT's endpointing. No effect on
   * other input or once the transcript is final.
   *
   * @example
   * ```ts
   * const turn = pipeline.respond(micStream);
   * vad.once('speech-end', () => turn.endOfTurn());
   * ```
   */
  endOfTurn(): void;
}

/** @internal */
export class TurnStream implements Turn {
  readonly id: string;
  readonly done: Promise<TurnResult>;
  readonly #events: TurnEvent[] = [];
  #closed = false;
  #audioStopped = false;
  #error: EarshotError | undefined;
  #waiters: (() => void)[] = [];
  #onAbort: (reason?: unknown) => void = noop;
  #onEndOfTurn: () => void = noop;
  /** Called when an event is first handed out, by event index (what the host got, see `push`). */
  readonly #onHandedOut = new Map<number, () => void>();

  constructor(id: string, done: Promise<TurnResult>) {
    this.id = id;
    // Observed here so that a caller who only iterates never sees an "unhandled rejection".
    done.catch(noop);
    this.done = done;
  }

  /** @internal */
  setAbortHandler(fn: (reason?: unknown) => void): void {
    this.#onAbort = fn;
  }

  abort(reason?: unknown): void {
    this.#onAbort(reason);
  }

  /** @internal */
  setEndOfTurnHandler(fn: () => void): void {
    this.#onEndOfTurn = fn;
  }

  endOfTurn(): void {
    this.#onEndOfTurn();
  }

  /**
   * @internal `onHandedOut` runs when an iterator first hands the event out, or at a close
   * without barge-in (the whole turn's audio is the user's, read or not); never for audio
   * dropped by a barge-in. That is what "heard" means for the history.
   */
  push(event: TurnEvent, onHandedOut?: () => void): void {
    if (this.#closed) return;
    if (onHandedOut) this.#onHandedOut.set(this.#events.length, onHandedOut);
    this.#events.push(event);
    this.#wake();
  }

  /**
   * @internal Barge-in: no iterator hands out another audio event, even one buffered before
   * the interruption that it has not delivered yet (the host would play it).
   */
  stopAudio(): void {
    this.#audioStopped = true;
    this.#onHandedOut.clear();
  }

  /** @internal */
  close(error?: EarshotError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#error = error;
    for (const handedOut of this.#onHandedOut.values()) handedOut();
    this.#onHandedOut.clear();
    this.#wake();
  }

  #wake(): void {
    if (this.#waiters.length === 0) return;
    const ws = this.#waiters;
    this.#waiters = [];
    for (const w of ws) w();
  }

  [Symbol.asyncIterator](): AsyncIterator<TurnEvent> {
    let i = 0;
    let stopped = false;
    const next = (): Promise<IteratorResult<TurnEvent>> => {
      if (stopped) return Promise.resolve({ value: undefined, done: true });
      let ev = this.#events[i];
      while (ev !== undefined && this.#audioStopped && ev.type === 'audio') ev = this.#events[++i];
      if (ev !== undefined) {
        const handedOut = this.#onHandedOut.get(i);
        if (handedOut) {
          this.#onHandedOut.delete(i);
          handedOut();
        }
        i++;
        return Promise.resolve({ value: ev, done: false });
      }
      if (this.#closed) {
        stopped = true;
        return this.#error ? Promise.reject(this.#error) : Promise.resolve({ value: undefined, done: true });
      }
      return new Promise<void>((resolve) => this.#waiters.push(resolve)).then(next);
    };
    return {
      next,
      // Leaving a for-await loop early stops this iterator only; the turn goes on (use abort()).
      return: (): Promise<IteratorResult<TurnEvent>> => {
        stopped = true;
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
