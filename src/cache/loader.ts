import { MAX_TTL_SECONDS } from '../config/schema.js';
import { CacheError, TimeoutError } from '../errors.js';
import type { CacheLoader, GetOrSetOptions, LoaderContext } from './call-options.js';
import type { NamespaceState } from './stats.js';
import type { CacheEntry } from './tier.js';

/** @internal TTL and grace of an entry being written, in ms. */
export interface Policy {
  ttlMs: number;
  graceMs: number;
}

/** @internal Validates a number of seconds, throwing `CacheError(EARSHOT_CACHE_TTL_INVALID)`. */
export function checkSeconds(
  what: 'ttlSeconds' | 'graceSeconds' | 'negativeTtlSeconds',
  v: unknown,
  allowZero: boolean,
): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || (allowZero ? v < 0 : v <= 0) || v > MAX_TTL_SECONDS) {
    throw new CacheError(
      'EARSHOT_CACHE_TTL_INVALID',
      `${what} must be a finite number of seconds ${allowZero ? '≥ 0' : '> 0'} and at most one year (${MAX_TTL_SECONDS}), got ${String(v)}.`,
    );
  }
  return v;
}

/** @internal One `getOrSet` load: what to run and where to store it. */
export interface Job<T> {
  ns: NamespaceState;
  key: string;
  id: string;
  loader: CacheLoader<T>;
  policy: Policy;
  options: GetOrSetOptions;
  timeoutMs: number | undefined;
  stale: CacheEntry<T> | undefined;
  /** Set when the key was written, deleted or invalidated while the loader ran: its result is then returned but not stored. */
  superseded: boolean;
}

function loaderError(err: unknown, job: Job<unknown>): unknown {
  if (err instanceof Error) return err;
  return new CacheError(
    'EARSHOT_CACHE_LOADER_FAILED',
    `The loader for key "${job.key}" in namespace "${job.ns.name}" threw a non-Error value (${typeof err}). Throw Error objects.`,
    { cause: err },
  );
}

/** @internal Runs the loader with its timeout; normalizes what it throws. */
export function runLoader<T>(job: Job<T>, ctx: LoaderContext, controller: AbortController): Promise<T> {
  let p: Promise<T>;
  try {
    p = Promise.resolve(job.loader(ctx));
  } catch (err) {
    return Promise.reject(loaderError(err, job as Job<unknown>));
  }
  const timeoutMs = job.timeoutMs;
  if (timeoutMs === undefined) {
    return p.catch((err: unknown) => {
      throw loaderError(err, job as Job<unknown>);
    });
  }
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      const err = new TimeoutError(
        `The loader for key "${job.key}" in namespace "${job.ns.name}" did not finish within ${timeoutMs} ms; its signal was aborted.`,
        timeoutMs,
      );
      controller.abort(err);
      reject(err);
    }, timeoutMs);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(loaderError(err, job as Job<unknown>));
      },
    );
  });
}
