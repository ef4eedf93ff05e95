/**
 * Small helpers of the Pinecone adapter: deadline and abort plumbing, API-key resolution and
 * optional-dependency loading. (Every provider folder carries its own copy: provider folders
 * never import each other.)
 * @module
 */
import { AbortedError, ConfigError, MissingDependencyError, registerSecret } from '../../errors.js';

/**
 * An internal AbortController that follows the caller's signal and can also fire on a
 * deadline, remembering why it fired so errors can say "aborted" or "timed out".
 */
export class CallControl {
  readonly controller = new AbortController();
  /** Why the controller fired, if it did. */
  reason: 'aborted' | 'timeout' | undefined;
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

  /** (Re)arms the deadline: the controller fires with reason `timeout` after `ms`. */
  arm(ms: number): void {
    this.disarm();
    this.#timer = setTimeout(() => this.abort('timeout'), ms);
  }

  disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  abort(reason: 'aborted' | 'timeout'): void {
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
  if (signal?.aborted)
    throw new AbortedError(`${what} was aborted before it started.`, { cause: signal.reason });
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

/** The error code of `err` or of one of its causes (`ECONNREFUSED`, `UND_ERR_SOCKET`...). */
export function networkCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z_]+$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
