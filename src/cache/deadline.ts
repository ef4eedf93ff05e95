import { TimeoutError } from '../errors.js';

/**
 * Resolves or rejects like `promise`, but rejects with a `TimeoutError` after `ms` if it has
 * not settled by then. The timer is cleared as soon as `promise` settles. `promise` keeps running (its
 * late rejection is swallowed): use an AbortSignal as well when the work can be cancelled.
 *
 * @example
 * ```ts
 * const value = await withDeadline(redis.get(key), 50, 'Redis GET');
 * ```
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new TimeoutError(`${what} did not answer within ${ms} ms.`, ms));
    }, ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** A promise resolving after `ms`. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => {
    setTimeout(resolve, ms);
  });
}

/** A deadline being tracked by a {@link DeadlineQueue}: set `done` once the operation settled. */
export interface TrackedDeadline {
  done: boolean;
}

interface Pending extends TrackedDeadline {
  readonly at: number;
  readonly expire: () => void;
}

/**
 * Deadlines for many concurrent operations that share one timeout, with one timer instead of
 * one per operation. Because every operation gets the same `timeoutMs`, deadlines arrive in
 * insertion order: a FIFO queue and a single timer armed for its head are enough. Settled
 * operations are dropped lazily. With nothing pending no timer is armed.
 *
 * @example
 * ```ts
 * const deadlines = new DeadlineQueue(50);
 * const value = await deadlines.wrap(redis.get(key), 'Redis GET');
 * ```
 */
export class DeadlineQueue {
  private queue: Pending[] = [];
  private head = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly timeoutMs: number) {}

  /** Like {@link withDeadline} with this queue's timeout. */
  wrap<T>(promise: Promise<T>, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const item = this.track(() =>
        reject(new TimeoutError(`${what} did not answer within ${this.timeoutMs} ms.`, this.timeoutMs)),
      );
      promise.then(
        (v) => {
          item.done = true;
          resolve(v);
        },
        (e: unknown) => {
          item.done = true;
          reject(e);
        },
      );
    });
  }

  /**
   * Low-level form of {@link wrap} for hot paths that settle their own promise: calls `onExpire`
   * once `timeoutMs` passed unless the caller set `done` on the returned handle first.
   */
  track(onExpire: () => void): TrackedDeadline {
    const item: Pending = { at: performance.now() + this.timeoutMs, done: false, expire: onExpire };
    this.queue.push(item);
    if (this.timer === undefined) this.arm(this.timeoutMs);
    return item;
  }

  /** Operations not yet settled nor expired (for tests). */
  get pending(): number {
    let n = 0;
    for (let i = this.head; i < this.queue.length; i++) if (!this.queue[i]!.done) n++;
    return n;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.fire(), Math.max(0, ms));
  }

  private fire(): void {
    this.timer = undefined;
    const now = performance.now();
    const q = this.queue;
    while (this.head < q.length) {
      const item = q[this.head]!;
      if (!item.done && item.at > now) break;
      this.head++;
      if (!item.done) {
        item.done = true;
        item.expire();
      }
    }
    // Compact once the consumed prefix dominates, so the array does not grow forever.
    if (this.head > 1024 && this.head * 2 > q.length) {
      this.queue = q.slice(this.head);
      this.head = 0;
    }
    // Skip settled items at the head: the next timer aims at the first live deadline.
    while (this.head < this.queue.length && this.queue[this.head]!.done) this.head++;
    if (this.head < this.queue.length) this.arm(this.queue[this.head]!.at - now);
    else {
      this.queue = [];
      this.head = 0;
    }
  }
}
