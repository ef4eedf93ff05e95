/**
 * The fleet's Redis plumbing shared by publisher and reader: the client type, window key
 * names, and the deadline every fleet command runs under.
 * @module
 */
import type { Cluster, Redis } from 'ioredis';
import { EarshotError, redact, TimeoutError, UpstreamError } from '../errors.js';

/** The Redis client the fleet uses (an ioredis `Redis` or `Cluster`). */
export type FleetRedis = Redis | Cluster;

const ignore = (): void => {};

/**
 * Settles like `promise`, or rejects with a `TimeoutError` after `ms`: a Redis that accepts the
 * connection and never answers must not hang a read, a publish or a shutdown.
 * @internal
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      promise.then(ignore, ignore);
      reject(
        new TimeoutError(
          `earshot fleet: ${what} got no reply from Redis within ${ms} ms. Check that Redis is up and answering, or raise commandTimeoutMs.`,
          ms,
        ),
      );
    }, ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(
          err instanceof EarshotError
            ? err
            : new UpstreamError(
                `earshot fleet: ${what} failed: ${redact(err instanceof Error ? err.message : String(err))}`,
                { provider: 'redis', retryable: true },
                { cause: err },
              ),
        );
      },
    );
  });
}

/** @internal the hash holding every instance's blob for the window starting at `start`. */
export function windowKey(prefix: string, windowMs: number, start: number): string {
  return `${prefix}:w:${windowMs}:${start}`;
}
