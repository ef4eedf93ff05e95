/**
 * Small helpers of the Deepgram adapter: an async queue for streamed events, deadline and
 * abort plumbing, API-key resolution and optional-dependency loading.
 * (The ElevenLabs adapter carries its own copy: provider folders never import each other.)
 * @module
 */
import { AbortedError, ConfigError, MissingDependencyError, registerSecret } from '../../errors.js';

/**
 * A push-based async iterable with a single consumer: producers `push`, `end` or `fail`; the
 * consumer reads with `for await`. Items pushed before a failure are still delivered first.
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

/**
 * An internal AbortController that follows the caller's signal and can also fire on a
 * deadline, remembering why it fired so errors can say "aborted" or "timed out".
 */
export class CallControl {
  readonly controller = new AbortController();
  /** Why the controller fired, if it did. */
  reason: 'aborted' | 'timeout' | 'closed' | undefined;
  #timer: NodeJS.Timeout | undefined;
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

  /** (Re)arms the deadline: the controller fires with reason `timeout` after `ms`. */
  arm(ms: number): void {
    this.disarm();
    this.#timer = setTimeout(() => this.abort('timeout'), ms);
  }

  disarm(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  abort(reason: 'aborted' | 'timeout' | 'closed'): void {
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

/** Throws AbortedError if `signal` already fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new AbortedError(`${what} was aborted before it started.`);
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
  if (control.signal.aborted) return Promise.reject(onAbort());
  return new Promise<T>((resolve, reject) => {
    const listener = () => reject(onAbort());
    control.signal.addEventListener('abort', listener, { once: true });
    promise.then(
      (v) => {
        control.signal.removeEventListener('abort', listener);
        resolve(v);
      },
      (e: unknown) => {
        control.signal.removeEventListener('abort', listener);
        reject(e);
      },
    );
  });
}

/**
 * The API key from options, else from `process.env[envName]`; registered as a secret so no
 * earshot error or report ever prints it. Throws ConfigError naming both places when absent.
 */
export function resolveApiKey(explicit: string | undefined, envName: string, provider: string): string {
  const key = explicit ?? (typeof process !== 'undefined' ? process.env[envName] : undefined);
  if (key === undefined || key.trim() === '') {
    throw new ConfigError(
      [
        {
          path: 'apiKey',
          message: `${provider} API key missing: pass { apiKey } or set the ${envName} environment variable.`,
        },
      ],
      { source: `${provider} adapter` },
    );
  }
  registerSecret(key);
  return key;
}

function isModuleNotFound(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/**
 * Loads an optional peer dependency, turning "module not found" into a MissingDependencyError
 * that names the `npm install` to run. Other load errors are rethrown untouched.
 */
export async function importOptional<T>(
  packageName: string,
  feature: string,
  importer: () => Promise<T>,
): Promise<T> {
  try {
    return await importer();
  } catch (err) {
    if (isModuleNotFound(err)) throw new MissingDependencyError(packageName, feature, { cause: err });
    throw err;
  }
}
