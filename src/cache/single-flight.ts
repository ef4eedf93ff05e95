import { AbortedError, CacheError } from '../errors.js';
import { raceAbort } from '../internal/abort.js';
import type { LoaderContext } from './call-options.js';
import { checkSeconds, type Job, type Policy, runLoader } from './loader.js';
import type { CacheMetrics } from './metrics.js';
import type { CacheErrorInfo } from './options.js';
import type { NamespaceState } from './stats.js';
import type { CacheEntry, DistributedLock } from './tier.js';
import type { TierStack, WriteItem } from './tier-stack.js';

/** @internal What {@link SingleFlight} needs from its manager. */
interface SingleFlightDeps {
  readonly tiers: TierStack;
  readonly metrics: CacheMetrics;
  /** Distributed lock settings (`lock` option). */
  readonly lock: { readonly ttlMs: number; readonly pollMs: number };
  /** Builds (and validates) the entry to store; throws a caller error for a bad value. */
  makeEntry(ns: NamespaceState, key: string, value: unknown, policy: Policy): CacheEntry;
  /** Stores a loaded entry (tiers, supersede, publish). */
  store(ns: NamespaceState, items: WriteItem[], from: Job<unknown>): Promise<void>;
  report(error: unknown, info: CacheErrorInfo): void;
  isClosed(): boolean;
}

interface Flight {
  promise: Promise<unknown>;
  job: Job<unknown>;
}

/**
 * @internal Single-flight loading for `getOrSet`: one loader run per key at a time in this
 * process (the in-flight map), and with a shared tier that has a lock, one per key in the fleet
 * (waiters poll the shared tier or are woken by the bus, and take over if the holder's lock
 * lapses). Background refreshes share the map. A load whose key was written, deleted or
 * invalidated meanwhile is *superseded*: its result is returned but not stored.
 */
export class SingleFlight {
  private readonly inflight = new Map<string, Flight>();
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(private readonly deps: SingleFlightDeps) {}

  /** Loads running now. */
  get size(): number {
    return this.inflight.size;
  }

  /** True when a load of `id` is running (a caller would join it). */
  has(id: string): boolean {
    return this.inflight.has(id);
  }

  /** Joins the running load of `job.id` or starts one. The caller's signal only ends its own wait. */
  join<T>(job: Job<T>): Promise<T> {
    let flight = this.inflight.get(job.id)?.promise as Promise<T> | undefined;
    flight ??= this.start(job, false);
    const signal = job.options.signal;
    if (signal === undefined) return flight;
    // Leaving must not cancel the load for the other callers: only this caller stops waiting.
    return raceAbort(
      flight,
      signal,
      () => new AbortedError(`getOrSet("${job.key}") was aborted by its caller.`, { cause: signal.reason }),
    );
  }

  /** Starts a background refresh of a stale entry unless a load of the key is already running. */
  refreshInBackground<T>(job: Job<T>): void {
    if (this.inflight.has(job.id)) return;
    this.start(job, true).catch((err: unknown) =>
      this.deps.report(err, { operation: 'refresh', namespace: job.ns.name }),
    );
  }

  private start<T>(job: Job<T>, background: boolean): Promise<T> {
    const started: Promise<T> = this.load(job, background).finally(() => {
      if (this.inflight.get(job.id)?.promise === started) this.inflight.delete(job.id);
    });
    this.inflight.set(job.id, { promise: started, job: job as Job<unknown> });
    return started;
  }

  // ───────────────────────── supersede & wake ─────────────────────────

  /** The key changed meanwhile: the running load must not store its (older) result. */
  supersede(id: string): void {
    const f = this.inflight.get(id);
    if (f !== undefined) f.job.superseded = true;
  }

  /** Supersedes the loads of `ids` except `from` (the load that is writing them). */
  supersedeWrites(items: readonly { id: string }[], from: Job<unknown> | undefined): void {
    if (this.inflight.size === 0) return;
    for (const item of items) {
      const f = this.inflight.get(item.id);
      if (f !== undefined && f.job !== from) f.job.superseded = true;
    }
  }

  /** Supersedes every load whose id starts with `prefix` (every load when `undefined`). */
  supersedeNamespace(prefix: string | undefined): void {
    for (const [id, f] of this.inflight)
      if (prefix === undefined || id.startsWith(prefix)) f.job.superseded = true;
  }

  /** Wakes the lock waiters of `id` (its value changed elsewhere: re-read now). */
  wake(id: string): void {
    const set = this.waiters.get(id);
    if (set !== undefined) for (const wake of [...set]) wake();
  }

  /** Wakes the lock waiters of every id starting with `prefix`. */
  wakeNamespace(prefix: string): void {
    for (const [id, set] of [...this.waiters]) if (id.startsWith(prefix)) for (const wake of [...set]) wake();
  }

  /** Wakes every waiter (the manager is closing). */
  wakeAll(): void {
    for (const wake of [...this.waiters.values()].flatMap((s) => [...s])) wake();
  }

  // ───────────────────────── loading ─────────────────────────

  /** Runs the loader once for the fleet when the shared tier has a lock, else once for this process. */
  private async load<T>(job: Job<T>, background: boolean): Promise<T> {
    const { tiers, lock: settings } = this.deps;
    const l2 = tiers.l2;
    const lock = job.options.distributed === false ? undefined : l2?.lock;
    if (l2 === undefined || lock === undefined) return this.runAndStore(job);
    const ttlMs = Math.max(settings.ttlMs, (job.timeoutMs ?? 0) + 1000);
    const acquire = async (): Promise<string | undefined | null> => {
      try {
        return await lock.acquire(job.id, ttlMs);
      } catch (err) {
        // Shared tier down: fall back to this process's single-flight.
        this.deps.report(err, { operation: 'lock', namespace: job.ns.name, tier: l2.name });
        return null;
      }
    };
    let token = await acquire();
    if (token === null) return this.runAndStore(job);
    if (token !== undefined) return this.loadHoldingLock(job, lock, token);
    if (background) return job.stale!.value; // another process is refreshing it
    // Another process is loading: wait for its write (bus message or poll), take over if its lock lapses.
    const deadline = performance.now() + ttlMs;
    while (performance.now() < deadline && !this.deps.isClosed()) {
      await this.waitForKey(job.id, settings.pollMs);
      const e = await tiers.readShared(job.ns, job.id);
      if (e !== undefined) return e.value as T;
      token = await acquire();
      if (token === null) return this.runAndStore(job);
      if (token !== undefined) return this.loadHoldingLock(job, lock, token);
    }
    return this.runAndStore(job);
  }

  private async loadHoldingLock<T>(job: Job<T>, lock: DistributedLock, token: string): Promise<T> {
    try {
      // Someone may have filled it between our miss and our lock.
      if (job.options.forceRefresh !== true) {
        const e = await this.deps.tiers.readShared(job.ns, job.id);
        if (e !== undefined) return e.value as T;
      }
      return await this.runAndStore(job);
    } finally {
      lock
        .release(job.id, token)
        .catch((err: unknown) => this.deps.report(err, { operation: 'lock', namespace: job.ns.name }));
    }
  }

  private async runAndStore<T>(job: Job<T>): Promise<T> {
    const { ns, key } = job;
    let policy = job.policy;
    let skip = false;
    const controller = new AbortController();
    const ctx: LoaderContext = {
      signal: controller.signal,
      namespace: ns.name,
      key,
      stale: job.stale?.value,
      setTtl(ttlSeconds: number, graceSeconds?: number) {
        policy = {
          ttlMs: checkSeconds('ttlSeconds', ttlSeconds, false) * 1000,
          graceMs:
            graceSeconds === undefined
              ? policy.graceMs
              : checkSeconds('graceSeconds', graceSeconds, true) * 1000,
        };
      },
      skip() {
        skip = true;
      },
    };
    ns.loads++;
    const t0 = this.deps.metrics.start();
    let value: T;
    try {
      value = await runLoader(job, ctx, controller);
      if (value === undefined) {
        throw new CacheError(
          'EARSHOT_CACHE_LOADER_FAILED',
          `The loader for key "${key}" in namespace "${ns.name}" returned undefined. Return null to cache an absence, or throw.`,
        );
      }
    } catch (err) {
      ns.errors++;
      this.deps.metrics.load(ns, 'error', t0);
      throw err;
    }
    this.deps.metrics.load(ns, 'ok', t0);
    if (value === null && job.options.negativeTtlSeconds !== undefined) {
      policy = { ttlMs: job.options.negativeTtlSeconds * 1000, graceMs: 0 };
    }
    const entry = this.deps.makeEntry(ns, key, value, policy); // validated even when not stored
    if (!skip && !job.superseded)
      await this.deps.store(ns, [{ id: job.id, key, entry }], job as Job<unknown>);
    return value;
  }

  private waitForKey(id: string, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let set = this.waiters.get(id);
      if (set === undefined) {
        set = new Set();
        this.waiters.set(id, set);
      }
      const waiters = set;
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0 && this.waiters.get(id) === waiters) this.waiters.delete(id);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waiters.add(done);
    });
  }
}
