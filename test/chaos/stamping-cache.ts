/**
 * A test oracle for "no value is served past its TTL (+ grace)": a cache wrapper that stores
 * every value in an envelope stamped with its write time and its lifetimes, and checks the age
 * of every value it hands back. It sits where the application's code meets the cache (the
 * pipeline's `get`/`set`, the company-API wrapper's `getOrSet`), so whatever the tiers do
 * underneath (L1, Redis, an L2 hit filling L1, stale-while-revalidate, fail-safe during an
 * outage), a value that comes back too old is caught.
 */
import type { CacheManager } from '../../src/cache/index.js';
import type { CacheLike, CacheLoaderContext, CacheLoadOptions } from '../../src/company-api/cached-call.js';
import type { PipelineCache } from '../../src/pipeline/index.js';

interface Envelope {
  /** Date.now() when the value was produced (a little before the cache stamps its entry). */
  w: number;
  /** TTL, ms: `get` serves fresh values only. */
  t: number;
  /** TTL + grace, ms: `getOrSet` may serve a stale value up to here. */
  b: number;
  v: unknown;
}

function isEnvelope(x: unknown): x is Envelope {
  return typeof x === 'object' && x !== null && typeof (x as Envelope).w === 'number' && 'v' in x;
}

/** A value served older than allowed. */
export interface AgeViolation {
  namespace: string;
  key: string;
  via: 'get' | 'getOrSet';
  /** Age when the call started, ms (a lower bound of the age when the cache decided). */
  ageMs: number;
  allowedMs: number;
}

/** Date.now() has 1 ms resolution and the entry is stamped a moment after `w`. */
const CLOCK_SLACK_MS = 2;

export class StampingCache implements PipelineCache, CacheLike {
  readonly violations: AgeViolation[] = [];
  /** Values served (by `get` hits and `getOrSet`). */
  served = 0;
  /** Largest age / allowed ratio seen, to show how close the cache came to its limits. */
  maxAgeRatio = 0;
  /** Calls of `get`/`set` with their durations, for the deadline check. */
  readonly calls: { startedAt: number; ms: number; op: 'get' | 'set' }[] = [];

  constructor(readonly inner: CacheManager) {}

  #policy(namespace: string, ttlSeconds?: number, graceSeconds?: number): { t: number; b: number } {
    const p = this.inner.namespacePolicy(namespace);
    const ttl = ttlSeconds ?? p?.ttlSeconds ?? 0;
    const grace = graceSeconds ?? p?.graceSeconds ?? 0;
    return { t: ttl * 1000, b: (ttl + grace) * 1000 };
  }

  #check(namespace: string, key: string, env: Envelope, via: 'get' | 'getOrSet', startedAt: number): void {
    this.served++;
    const ageMs = startedAt - env.w;
    const allowedMs = via === 'get' ? env.t : env.b;
    if (allowedMs > 0) this.maxAgeRatio = Math.max(this.maxAgeRatio, ageMs / allowedMs);
    if (ageMs > allowedMs + CLOCK_SLACK_MS) this.violations.push({ namespace, key, via, ageMs, allowedMs });
  }

  async get<T = unknown>(key: string, namespace: string): Promise<T | undefined> {
    const startedAt = Date.now();
    const t0 = performance.now();
    try {
      const env = await this.inner.get<unknown>(key, namespace);
      if (env === undefined) return undefined;
      if (!isEnvelope(env)) throw new Error(`unstamped value under ${namespace}:${key}`);
      this.#check(namespace, key, env, 'get', startedAt);
      return env.v as T;
    } finally {
      this.calls.push({ startedAt: t0, ms: performance.now() - t0, op: 'get' });
    }
  }

  async set(
    key: string,
    value: unknown,
    namespace: string,
    options?: { ttlSeconds?: number; graceSeconds?: number },
  ): Promise<void> {
    const { t, b } = this.#policy(namespace, options?.ttlSeconds, options?.graceSeconds);
    const env: Envelope = { w: Date.now(), t, b, v: value };
    const t0 = performance.now();
    try {
      await this.inner.set(key, env, namespace, options);
    } finally {
      this.calls.push({ startedAt: t0, ms: performance.now() - t0, op: 'set' });
    }
  }

  async getOrSet<T>(
    key: string,
    namespace: string,
    loader: (ctx: CacheLoaderContext) => Promise<T>,
    options?: CacheLoadOptions,
  ): Promise<T> {
    const startedAt = Date.now();
    let { t, b } = this.#policy(namespace, options?.ttlSeconds, options?.graceSeconds);
    const env = await this.inner.getOrSet<Envelope>(
      key,
      namespace,
      async (ctx) => {
        const v = await loader({
          signal: ctx.signal,
          setTtl: (ttlSeconds: number, graceSeconds?: number) => {
            ctx.setTtl(ttlSeconds, graceSeconds);
            const grace = graceSeconds ?? (b - t) / 1000;
            t = ttlSeconds * 1000;
            b = (ttlSeconds + grace) * 1000;
          },
        });
        return { w: Date.now(), t, b, v };
      },
      options,
    );
    if (!isEnvelope(env)) throw new Error(`unstamped value under ${namespace}:${key}`);
    this.#check(namespace, key, env, 'getOrSet', startedAt);
    return env.v as T;
  }

  delete(key: string, namespace: string): Promise<boolean> {
    return this.inner.delete(key, namespace);
  }

  invalidateNamespace(namespace: string): Promise<number | undefined> {
    return this.inner.invalidateNamespace(namespace);
  }
}
