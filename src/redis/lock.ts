import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { DistributedLock } from '../cache/tier.js';

// Deletes the lock only if we still own it (it may have expired and been taken by another process).
const RELEASE =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

type Run = <T>(what: string, fn: () => Promise<T>) => Promise<T>;

/**
 * The distributed single-flight lock: `SET key token NX PX ttl` to take it, a compare-and-delete
 * script to release it. If its holder dies the lock simply expires after `ttlMs`, and a waiter
 * takes over. Every command goes through the tier's deadline and breaker.
 */
export class RedisLock implements DistributedLock {
  constructor(
    private readonly client: Redis | Cluster,
    private readonly prefix: string,
    private readonly run: Run,
  ) {}

  async acquire(id: string, ttlMs: number): Promise<string | undefined> {
    const token = randomUUID();
    const key = this.prefix + id;
    const ok = await this.run('SET NX (lock)', () =>
      this.client.set(key, token, 'PX', Math.ceil(ttlMs), 'NX'),
    );
    return ok === 'OK' ? token : undefined;
  }

  async release(id: string, token: string): Promise<void> {
    const key = this.prefix + id;
    await this.run('EVAL (unlock)', () => this.client.eval(RELEASE, 1, key, token));
  }
}
