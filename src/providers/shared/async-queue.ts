/**
 * A push-based async iterable with one consumer, for adapters that turn socket events into
 * `for await` streams (Deepgram live results, ElevenLabs stream-input audio).
 * @module
 */

/**
 * A push-based async iterable with a single consumer: producers `push`, `end` or `fail`; the
 * consumer reads with `for await`. Items pushed before a failure are still delivered first.
 *
 * @example
 * ```ts
 * const queue = new AsyncQueue<string>(() => socket.close()); // runs if the consumer breaks
 * socket.on('message', (m) => queue.push(String(m)));
 * socket.on('close', () => queue.end());
 * for await (const message of queue) console.log(message);
 * ```
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  #items: T[] = [];
  #waiters: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }[] = [];
  #done = false;
  #error: { value: unknown } | undefined;
  #iterating = false;
  readonly #onReturn: (() => void) | undefined;

  /** `onReturn` runs when the consumer stops early (`break`, `return`, a throw in the loop body). */
  constructor(onReturn?: () => void) {
    this.#onReturn = onReturn;
  }

  /** True once `end` or `fail` was called. */
  get settled(): boolean {
    return this.#done;
  }

  push(item: T): void {
    if (this.#done) return;
    const w = this.#waiters.shift();
    if (w) w.resolve({ value: item, done: false });
    else this.#items.push(item);
  }

  end(): void {
    if (this.#done) return;
    this.#done = true;
    for (const w of this.#waiters.splice(0)) w.resolve({ value: undefined, done: true });
  }

  fail(error: unknown): void {
    if (this.#done) return;
    this.#done = true;
    this.#error = { value: error };
    const waiters = this.#waiters.splice(0);
    if (waiters.length > 0) {
      this.#error = undefined;
      for (const w of waiters) w.reject(error);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.#iterating) throw new TypeError('This stream has one consumer; it is already being iterated.');
    this.#iterating = true;
    return {
      next: () => {
        if (this.#items.length > 0) return Promise.resolve({ value: this.#items.shift() as T, done: false });
        if (this.#error) {
          const e = this.#error.value;
          this.#error = undefined;
          return Promise.reject(e);
        }
        if (this.#done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
      },
      return: () => {
        const wasDone = this.#done;
        this.#done = true;
        this.#items = [];
        this.#error = undefined;
        if (!wasDone) this.#onReturn?.();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
