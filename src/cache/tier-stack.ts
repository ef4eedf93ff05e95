import { CacheError, type CacheErrorCode } from '../errors.js';
import type { CacheMetrics, ReadOutcome } from './metrics.js';
import type { CacheErrorInfo } from './options.js';
import type { NamespaceState } from './stats.js';
import { type Awaitable, type CacheEntry, type CacheTier, isPromiseLike, type TierHealth } from './tier.js';

/** @internal The best entry found for one id, and whether it is past its TTL (inside grace). */
interface Found {
  entry: CacheEntry;
  stale: boolean;
}

/** @internal One entry to write. */
export interface WriteItem {
  id: string;
  key: string;
  entry: CacheEntry;
}

const CALLER_ERRORS: ReadonlySet<CacheErrorCode> = new Set<CacheErrorCode>([
  'EARSHOT_CACHE_KEY_INVALID',
  'EARSHOT_CACHE_NAMESPACE_UNKNOWN',
  'EARSHOT_CACHE_TTL_INVALID',
  'EARSHOT_CACHE_VALUE_TOO_LARGE',
  'EARSHOT_CACHE_SERIALIZATION',
]);

/** True for errors caused by the caller's input (they propagate instead of degrading to a miss). */
function isCallerError(err: unknown): boolean {
  return err instanceof CacheError && CALLER_ERRORS.has(err.code as CacheErrorCode);
}

type Verdict = 'hit' | 'stale' | 'miss';

/**
 * @internal The L1/L2 stack of a `CacheManager`: every read (`get`, `has`, `getMany`,
 * `getOrSet` and the shared re-read of a lock waiter) goes through {@link readOne} or its batch
 * form, which share one rule for classifying an entry (fresh, stale in grace, gone), one rule for
 * filling L1 from L2 and one rule for tier errors (a miss, counted and reported). Writes go to L2
 * first (it serializes: a value it rejects must not be left in L1), then L1.
 */
export class TierStack {
  /**
   * Bumped by every invalidation the bus delivers: an L2 read that spans a bump may have
   * fetched a value the message made old, so it does not fill L1.
   */
  epoch = 0;

  constructor(
    readonly l1: CacheTier | undefined,
    readonly l2: CacheTier | undefined,
    private readonly now: () => number,
    private readonly metrics: CacheMetrics,
    private readonly report: (error: unknown, info: CacheErrorInfo) => void,
  ) {}

  // ───────────────────────── reads ─────────────────────────

  /**
   * The best entry for `id`: fresh from L1, else fresh from L2 (filling L1), else the freshest
   * stale one still in grace, else `undefined`. Sync all the way for a sync L1 hit.
   */
  lookup(ns: NamespaceState, id: string): Awaitable<Found | undefined> {
    const { l1, l2 } = this;
    const first = l1 === undefined ? undefined : this.readOne(ns, l1, id, undefined);
    if (isPromiseLike(first)) {
      return first.then((f) =>
        l2 === undefined || (f !== undefined && !f.stale) ? f : this.readOne(ns, l2, id, f),
      );
    }
    if (l2 === undefined || (first !== undefined && !first.stale)) return first;
    return this.readOne(ns, l2, id, first);
  }

  /** A fresh entry from the shared tier (filling L1), or `undefined` (miss, stale or tier error). */
  async readShared(ns: NamespaceState, id: string): Promise<CacheEntry | undefined> {
    const found = await this.readOne(ns, this.l2!, id, undefined);
    return found === undefined || found.stale ? undefined : found.entry;
  }

  /** {@link lookup} for several ids of one namespace: one `getMany` per tier for what is still missing. */
  async lookupMany(ns: NamespaceState, ids: readonly string[]): Promise<(Found | undefined)[]> {
    const best = new Array<Found | undefined>(ids.length).fill(undefined);
    let pending: number[] = ids.map((_, i) => i);
    for (const tier of [this.l1, this.l2]) {
      if (tier === undefined || pending.length === 0) continue;
      const batch = pending.map((i) => ids[i]!);
      const epoch = this.epoch;
      const t0 = this.metrics.start();
      let entries: (CacheEntry | undefined)[];
      try {
        const r = tier.getMany(batch, ns.name);
        entries = isPromiseLike(r) ? await r : r;
      } catch (err) {
        this.failed(ns, tier, 'read', err, t0);
        continue;
      }
      const now = this.now();
      const still: number[] = [];
      for (let j = 0; j < pending.length; j++) {
        const i = pending[j]!;
        const e = entries[j];
        const verdict = judge(e, now);
        best[i] = this.take(ns, tier, batch[j]!, e, verdict, epoch, best[i]);
        if (verdict !== 'hit') still.push(i);
      }
      // One sample per tier round trip: a hit only when every id was fresh there.
      this.metrics.read(ns, tier.name, still.length === 0 ? 'hit' : 'miss', t0);
      pending = still;
    }
    return best;
  }

  /** Reads `id` from one tier; keeps the better of what it finds and `best`. A tier error is a miss. */
  private readOne(
    ns: NamespaceState,
    tier: CacheTier,
    id: string,
    best: Found | undefined,
  ): Awaitable<Found | undefined> {
    const epoch = this.epoch;
    const t0 = this.metrics.start();
    let r: Awaitable<CacheEntry | undefined>;
    try {
      r = tier.get(id, ns.name);
    } catch (err) {
      this.failed(ns, tier, 'read', err, t0);
      return best;
    }
    if (isPromiseLike(r)) {
      return r.then(
        (e) => this.settle(ns, tier, id, e, epoch, best, t0),
        (err: unknown) => {
          this.failed(ns, tier, 'read', err, t0);
          return best;
        },
      );
    }
    return this.settle(ns, tier, id, r, epoch, best, t0);
  }

  private settle(
    ns: NamespaceState,
    tier: CacheTier,
    id: string,
    e: CacheEntry | undefined,
    epoch: number,
    best: Found | undefined,
    t0: number,
  ): Found | undefined {
    const verdict = judge(e, this.now());
    this.metrics.read(ns, tier.name, verdict, t0);
    return this.take(ns, tier, id, e, verdict, epoch, best);
  }

  /**
   * The one rule for an entry a tier returned: a fresh one wins; a stale one wins over an older
   * stale one; an L2 winner fills L1 (unless an invalidation arrived during the read); an L1
   * entry past its grace is deleted to free the slot.
   */
  private take(
    ns: NamespaceState,
    tier: CacheTier,
    id: string,
    e: CacheEntry | undefined,
    verdict: Verdict,
    epoch: number,
    best: Found | undefined,
  ): Found | undefined {
    if (e === undefined) return best;
    if (verdict === 'miss') {
      if (tier === this.l1) this.freeL1(ns, id);
      return best;
    }
    if (verdict === 'stale' && best !== undefined && e.staleUntil <= best.entry.staleUntil) return best;
    if (tier !== this.l1 && this.l1 !== undefined && epoch === this.epoch) this.fillL1(ns, id, e);
    return { entry: e, stale: verdict === 'stale' };
  }

  private fillL1(ns: NamespaceState, id: string, e: CacheEntry): void {
    const l1 = this.l1!;
    try {
      const r = l1.set(id, ns.name, e);
      if (isPromiseLike(r))
        r.catch((err: unknown) =>
          this.report(err, { operation: 'write', namespace: ns.name, tier: l1.name }),
        );
    } catch (err) {
      this.report(err, { operation: 'write', namespace: ns.name, tier: l1.name });
    }
  }

  private freeL1(ns: NamespaceState, id: string): void {
    try {
      const r = this.l1!.delete(id, ns.name);
      if (isPromiseLike(r)) r.catch(() => undefined);
    } catch {
      // best effort
    }
  }

  // ───────────────────────── writes ─────────────────────────

  /**
   * Writes `items` to L2 then L1. A caller error (serialization, size) propagates; a failing
   * tier is skipped (counted, reported). Resolves to whether the shared tier took the write.
   */
  async write(ns: NamespaceState, items: readonly WriteItem[]): Promise<boolean> {
    const sharedOk = this.l2 === undefined ? false : await this.writeTo(ns, this.l2, items);
    if (this.l1 !== undefined) await this.writeTo(ns, this.l1, items);
    return sharedOk;
  }

  private async writeTo(ns: NamespaceState, tier: CacheTier, items: readonly WriteItem[]): Promise<boolean> {
    const t0 = this.metrics.start();
    try {
      const r =
        items.length === 1 ? tier.set(items[0]!.id, ns.name, items[0]!.entry) : tier.setMany(items, ns.name);
      if (isPromiseLike(r)) await r;
      this.metrics.write(ns, tier.name, 'ok', t0);
      return true;
    } catch (err) {
      if (isCallerError(err)) {
        this.metrics.write(ns, tier.name, 'error', t0);
        throw err;
      }
      this.failed(ns, tier, 'write', err, t0);
      return false;
    }
  }

  /**
   * Deletes `id` from every tier; resolves to whether a fresh or stale entry existed. Rejects
   * with `CacheError(EARSHOT_CACHE_UNAVAILABLE)` when the shared tier could not be reached.
   */
  async delete(ns: NamespaceState, id: string, key: string): Promise<boolean> {
    let existed = false;
    if (this.l1 !== undefined) {
      const r = this.l1.delete(id, ns.name);
      existed = isPromiseLike(r) ? await r : r;
    }
    const l2 = this.l2;
    if (l2 === undefined) return existed;
    const t0 = this.metrics.start();
    try {
      const r = l2.delete(id, ns.name);
      existed = (isPromiseLike(r) ? await r : r) || existed;
      this.metrics.write(ns, l2.name, 'ok', t0);
    } catch (err) {
      this.failed(ns, l2, 'delete', err, t0);
      throw new CacheError(
        'EARSHOT_CACHE_UNAVAILABLE',
        `Could not delete "${key}" from the ${l2.name} tier of namespace "${ns.name}"; other instances may still serve it until its TTL. Retry, or invalidate once the tier is back.`,
        { cause: err },
      );
    }
    return existed;
  }

  /**
   * Deletes every entry of a namespace in every tier; resolves to the number of shared entries
   * deleted when known. Rejects with `CacheError(EARSHOT_CACHE_UNAVAILABLE)` when the shared
   * tier could not be reached.
   */
  async clearNamespace(ns: NamespaceState): Promise<number | undefined> {
    let count: number | undefined;
    if (this.l1 !== undefined) {
      const r = this.l1.clearNamespace(ns.name);
      count = isPromiseLike(r) ? await r : r;
    }
    const l2 = this.l2;
    if (l2 === undefined) return count;
    const t0 = this.metrics.start();
    try {
      const r = l2.clearNamespace(ns.name);
      count = isPromiseLike(r) ? await r : r;
      this.metrics.write(ns, l2.name, 'ok', t0);
    } catch (err) {
      this.failed(ns, l2, 'invalidate', err, t0);
      throw new CacheError(
        'EARSHOT_CACHE_UNAVAILABLE',
        `Could not invalidate namespace "${ns.name}" in the ${l2.name} tier; other instances may serve old entries until their TTL. Retry once the tier is back.`,
        { cause: err },
      );
    }
    return count;
  }

  // ───────────────────────── local copies (invalidation) ─────────────────────────

  /** Drops L1's copy of one id (another instance changed it). */
  dropLocal(ns: NamespaceState, id: string): void {
    if (this.l1 !== undefined) void this.l1.delete(id, ns.name);
  }

  /** Drops L1's copies of one namespace. */
  dropLocalNamespace(ns: NamespaceState): void {
    if (this.l1 !== undefined) void this.l1.clearNamespace(ns.name);
  }

  /** Drops every L1 copy (messages may have been missed). */
  dropAllLocal(namespaces: Iterable<NamespaceState>): void {
    const l1 = this.l1;
    if (l1 === undefined) return;
    if (l1.clear !== undefined) void l1.clear();
    else for (const ns of namespaces) void l1.clearNamespace(ns.name);
  }

  // ───────────────────────── lifecycle ─────────────────────────

  /** Connects both tiers; a tier that cannot connect is reported, not thrown. */
  async connect(): Promise<void> {
    for (const tier of [this.l1, this.l2]) {
      if (tier?.connect === undefined) continue;
      try {
        await tier.connect();
      } catch (err) {
        this.report(err, { operation: 'connect', tier: tier.name });
      }
    }
  }

  async close(): Promise<void> {
    await this.l1?.close?.();
    await this.l2?.close?.();
  }

  health(): { l1?: { name: string } & Partial<TierHealth>; l2?: { name: string } & Partial<TierHealth> } {
    const out: { l1?: { name: string } & Partial<TierHealth>; l2?: { name: string } & Partial<TierHealth> } =
      {};
    if (this.l1 !== undefined) out.l1 = { name: this.l1.name, ...(this.l1.health?.() ?? { state: 'up' }) };
    if (this.l2 !== undefined) out.l2 = { name: this.l2.name, ...(this.l2.health?.() ?? { state: 'up' }) };
    return out;
  }

  /** A tier failed: counted in the namespace's errors, sampled as an error, reported. */
  private failed(ns: NamespaceState, tier: CacheTier, operation: string, err: unknown, t0: number): void {
    ns.errors++;
    if (operation === 'read') this.metrics.read(ns, tier.name, 'error' satisfies ReadOutcome, t0);
    else this.metrics.write(ns, tier.name, 'error', t0);
    this.report(err, { operation, namespace: ns.name, tier: tier.name });
  }
}

function judge(e: CacheEntry | undefined, now: number): Verdict {
  if (e === undefined) return 'miss';
  if (now < e.freshUntil) return 'hit';
  return now < e.staleUntil ? 'stale' : 'miss';
}
