import { LRUCache } from 'lru-cache';
import { InvalidArgumentError } from '../errors.js';
import type { CacheEntry, CacheTier, TierHealth } from './tier.js';
import { deepFreeze, measureValue } from './value-size.js';

/**
 * How the memory tier holds values. `reference` (default) stores the object you pass and hands
 * the same object to every reader: treat cached values as immutable. `freeze` deep-freezes
 * values when stored (mutations throw in strict mode). `clone` stores and returns
 * `structuredClone` copies (safe, slower).
 */
export type MemoryValueMode = 'reference' | 'freeze' | 'clone';

/** Options of {@link MemoryTier}. */
export interface MemoryTierOptions {
  /** Most entries kept. Default 10 000. */
  maxEntries?: number;
  /** Most bytes kept, by the estimate of `measureValue`. Default 64 MiB. */
  maxBytes?: number;
  /** See {@link MemoryValueMode}. Default `reference`. */
  valueMode?: MemoryValueMode;
  /** Clock in epoch ms (tests). Default `Date.now`. */
  now?: () => number;
}

interface MemoryEntry extends CacheEntry {
  readonly size: number;
  /** Namespace generation at write time; a bump invalidates the whole namespace in O(1). */
  readonly gen: number;
}

/**
 * The embedded tier: an LRU (lru-cache) bounded by entry count and by estimated bytes. Values
 * are stored without serializing. `get` may return an entry past its grace period (the manager
 * checks times and deletes it); expired entries nobody reads are evicted by LRU pressure.
 * `clearNamespace` is O(1) (a generation bump; old entries age out).
 *
 * @example
 * ```ts
 * const cache = createCacheManager({ l1: new MemoryTier({ maxEntries: 1000, valueMode: 'freeze' }) });
 * ```
 */
export class MemoryTier implements CacheTier {
  readonly name = 'memory';
  readonly shared = false;
  private readonly lru: LRUCache<string, MemoryEntry>;
  private readonly generations = new Map<string, number>();
  private readonly valueMode: MemoryValueMode;
  private readonly now: () => number;

  constructor(options: MemoryTierOptions = {}) {
    const maxEntries = options.maxEntries ?? 10_000;
    const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new InvalidArgumentError(`MemoryTier maxEntries must be a positive integer, got ${maxEntries}.`);
    }
    if (!Number.isInteger(maxBytes) || maxBytes < 1) {
      throw new InvalidArgumentError(`MemoryTier maxBytes must be a positive integer, got ${maxBytes}.`);
    }
    this.valueMode = options.valueMode ?? 'reference';
    this.now = options.now ?? Date.now;
    this.lru = new LRUCache<string, MemoryEntry>({
      max: maxEntries,
      maxSize: maxBytes,
      sizeCalculation: (e) => e.size,
    });
  }

  /** Entries held (including expired ones not yet dropped). */
  get size(): number {
    return this.lru.size;
  }

  /** Estimated bytes held. */
  get bytes(): number {
    return this.lru.calculatedSize;
  }

  health(): TierHealth {
    return { state: 'up', entries: this.lru.size, bytes: this.lru.calculatedSize };
  }

  get(id: string, namespace: string): CacheEntry | undefined {
    const e = this.lru.get(id);
    if (e === undefined) return undefined;
    // Expiry is the manager's call (it deletes entries past grace); the generation is ours.
    if (e.gen !== (this.generations.get(namespace) ?? 0)) {
      this.lru.delete(id);
      return undefined;
    }
    if (this.valueMode === 'clone') {
      return { value: structuredClone(e.value), freshUntil: e.freshUntil, staleUntil: e.staleUntil };
    }
    return e;
  }

  getMany(ids: readonly string[], namespace: string): (CacheEntry | undefined)[] {
    const out = new Array<CacheEntry | undefined>(ids.length);
    for (let i = 0; i < ids.length; i++) out[i] = this.get(ids[i]!, namespace);
    return out;
  }

  set(id: string, namespace: string, entry: CacheEntry): void {
    let value = entry.value;
    if (this.valueMode === 'clone') value = structuredClone(value);
    else if (this.valueMode === 'freeze') deepFreeze(value);
    const size = Math.max(1, Math.ceil(entry.size ?? measureValue(value, false)));
    this.lru.set(id, {
      value,
      freshUntil: entry.freshUntil,
      staleUntil: entry.staleUntil,
      size,
      gen: this.generations.get(namespace) ?? 0,
    });
  }

  setMany(items: readonly { id: string; entry: CacheEntry }[], namespace: string): void {
    for (const { id, entry } of items) this.set(id, namespace, entry);
  }

  delete(id: string, namespace: string): boolean {
    const e = this.lru.peek(id);
    if (e === undefined) return false;
    this.lru.delete(id);
    return e.gen === (this.generations.get(namespace) ?? 0) && e.staleUntil > this.now();
  }

  clearNamespace(namespace: string): undefined {
    this.generations.set(namespace, (this.generations.get(namespace) ?? 0) + 1);
    return undefined;
  }

  clear(): void {
    this.lru.clear();
  }

  async close(): Promise<void> {
    this.lru.clear();
  }
}
