import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { type CacheManager, createCacheManager } from '../../src/cache/index.js';
import { createCachedClient } from '../../src/company-api/index.js';
import { InvalidArgumentError, NotFoundError } from '../../src/errors.js';
import { PerformanceMonitor } from '../../src/perf/index.js';

class CustomerMissing extends Error {}

interface Customer {
  id: string;
  name: string;
  tier: 'gold' | 'silver';
}

/** A host app's own API client: plain async methods, its own error for "not found". */
class CrmClient {
  calls: Record<string, number> = {};
  customers = new Map<string, Customer>([
    ['c-1', { id: 'c-1', name: 'Acme Freight', tier: 'gold' }],
    ['c-2', { id: 'c-2', name: 'Borealis Foods', tier: 'silver' }],
  ]);
  #count(name: string) {
    this.calls[name] = (this.calls[name] ?? 0) + 1;
  }
  async getCustomer(id: string): Promise<Customer> {
    this.#count('getCustomer');
    await new Promise((r) => setTimeout(r, 20));
    const c = this.customers.get(id);
    if (!c) throw new CustomerMissing(`no customer ${id}`);
    return { ...c };
  }
  async search(query: { term: string; page?: number }): Promise<string[]> {
    this.#count('search');
    return [...this.customers.values()]
      .filter((c) => c.name.toLowerCase().includes(query.term))
      .map((c) => c.id);
  }
  async ping(): Promise<'pong'> {
    this.#count('ping');
    return 'pong';
  }
  version = '1.0';
}

const caches: CacheManager[] = [];
afterEach(async () => {
  while (caches.length) await caches.pop()!.close();
});
function newCache(now?: () => number): CacheManager {
  const cache = createCacheManager({
    monitor: false,
    namespaces: { 'crm:customer': { ttlSeconds: 60 }, 'crm:search': { ttlSeconds: 30 } },
    ...(now ? { now } : {}),
  });
  caches.push(cache);
  return cache;
}

describe('createCachedClient', () => {
  it('returns the configured methods with their original types, served from the cache', async () => {
    const crm = new CrmClient();
    const cached = createCachedClient(crm, newCache(), {
      getCustomer: { namespace: 'crm:customer', key: (id) => id },
      search: { namespace: 'crm:search' },
    });
    expectTypeOf(cached.getCustomer).toEqualTypeOf<CrmClient['getCustomer']>();
    expectTypeOf(cached.search).toEqualTypeOf<CrmClient['search']>();
    expect(await cached.getCustomer('c-1')).toEqual({ id: 'c-1', name: 'Acme Freight', tier: 'gold' });
    await cached.getCustomer('c-1');
    expect(crm.calls.getCustomer).toBe(1);
    expect('ping' in cached).toBe(false);
    expect(await cached.uncached.ping()).toBe('pong');
  });

  it('builds a stable default key, so argument key order does not matter', async () => {
    const crm = new CrmClient();
    const cached = createCachedClient(crm, newCache(), { search: { namespace: 'crm:search' } });
    await cached.search({ term: 'acme', page: 1 });
    await cached.search({ page: 1, term: 'acme' });
    await cached.search({ term: 'acme', page: 2 });
    expect(crm.calls.search).toBe(2);
  });

  it('runs 100 concurrent identical calls once', async () => {
    const crm = new CrmClient();
    const cached = createCachedClient(crm, newCache(), { getCustomer: { namespace: 'crm:customer' } });
    const all = await Promise.all(Array.from({ length: 100 }, () => cached.getCustomer('c-2')));
    expect(all.every((c) => c.name === 'Borealis Foods')).toBe(true);
    expect(crm.calls.getCustomer).toBe(1);
  });

  it('remembers the host client\'s own "not found" error for negativeTtlSeconds', async () => {
    let clock = Date.now();
    const crm = new CrmClient();
    const cached = createCachedClient(
      crm,
      newCache(() => clock),
      {
        getCustomer: {
          namespace: 'crm:customer',
          negativeTtlSeconds: 5,
          isNotFound: (e) => e instanceof CustomerMissing,
          notFoundError: (message) => new CustomerMissing(message),
        },
      },
    );
    await expect(cached.getCustomer('c-404')).rejects.toBeInstanceOf(CustomerMissing);
    const remembered = await cached.getCustomer('c-404').catch((e: unknown) => e);
    expect(remembered).toBeInstanceOf(CustomerMissing);
    expect((remembered as Error).message).toMatch(/no customer c-404 \(remembered for 5 s\)/);
    expect(crm.calls.getCustomer).toBe(1);
    clock += 6000;
    await expect(cached.getCustomer('c-404')).rejects.toBeInstanceOf(CustomerMissing);
    expect(crm.calls.getCustomer).toBe(2);
  });

  it('serves a remembered "not found" as earshot\'s NotFoundError by default', async () => {
    const crm = new CrmClient();
    const cached = createCachedClient(crm, newCache(), {
      getCustomer: {
        namespace: 'crm:customer',
        negativeTtlSeconds: 5,
        isNotFound: (e) => e instanceof CustomerMissing,
      },
    });
    await expect(cached.getCustomer('c-404')).rejects.toBeInstanceOf(CustomerMissing);
    await expect(cached.getCustomer('c-404')).rejects.toBeInstanceOf(NotFoundError);
    expect(crm.calls.getCustomer).toBe(1);
  });

  it('does not cache errors without negative caching', async () => {
    const crm = new CrmClient();
    const cached = createCachedClient(crm, newCache(), { getCustomer: { namespace: 'crm:customer' } });
    await expect(cached.getCustomer('c-404')).rejects.toBeInstanceOf(CustomerMissing);
    await expect(cached.getCustomer('c-404')).rejects.toBeInstanceOf(CustomerMissing);
    expect(crm.calls.getCustomer).toBe(2);
  });

  it('applies a per-method ttlSeconds over the namespace TTL', async () => {
    let clock = Date.now();
    const crm = new CrmClient();
    const cached = createCachedClient(
      crm,
      newCache(() => clock),
      {
        getCustomer: { namespace: 'crm:customer', ttlSeconds: 2 },
      },
    );
    await cached.getCustomer('c-1');
    clock += 3000;
    await cached.getCustomer('c-1');
    expect(crm.calls.getCustomer).toBe(2);
  });

  it('drops one answer with invalidate and all with invalidateAll', async () => {
    const crm = new CrmClient();
    const cached = createCachedClient(crm, newCache(), {
      getCustomer: { namespace: 'crm:customer', key: (id) => id },
      search: { namespace: 'crm:search' },
    });
    await cached.getCustomer('c-1');
    await cached.getCustomer('c-2');
    crm.customers.set('c-1', { id: 'c-1', name: 'Acme Logistics', tier: 'gold' });
    await cached.invalidate('getCustomer', 'c-1');
    expect((await cached.getCustomer('c-1')).name).toBe('Acme Logistics');
    await cached.getCustomer('c-2');
    expect(crm.calls.getCustomer).toBe(3);
    await cached.search({ term: 'a' });
    await cached.invalidateAll();
    await cached.getCustomer('c-2');
    await cached.search({ term: 'a' });
    expect(crm.calls.getCustomer).toBe(4);
    expect(crm.calls.search).toBe(2);
  });

  it('records every call under the operation with method, outcome and cached labels', async () => {
    const crm = new CrmClient();
    const monitor = new PerformanceMonitor();
    const cached = createCachedClient(
      crm,
      newCache(),
      {
        getCustomer: {
          namespace: 'crm:customer',
          negativeTtlSeconds: 5,
          isNotFound: (e) => e instanceof CustomerMissing,
        },
      },
      { operation: 'crm', monitor, labels: { app: 'dispatch' } },
    );
    await cached.getCustomer('c-1');
    await cached.getCustomer('c-1');
    await cached.getCustomer('c-9').catch(() => {});
    await cached.getCustomer('c-9').catch(() => {});
    const count = (labels: Record<string, string>) =>
      monitor.stats('crm', { labels: { app: 'dispatch', ...labels } })?.count;
    expect(count({ method: 'getCustomer', outcome: 'ok', cached: 'false' })).toBe(1);
    expect(count({ method: 'getCustomer', outcome: 'ok', cached: 'true' })).toBe(1);
    expect(count({ outcome: 'not_found', cached: 'false' })).toBe(1);
    expect(count({ outcome: 'not_found', cached: 'true' })).toBe(1);
  });

  it('rejects a configured method the client does not have, or one without a namespace', () => {
    const crm = new CrmClient();
    expect(() => createCachedClient(crm, newCache(), { nope: { namespace: 'x' } } as never)).toThrow(
      InvalidArgumentError,
    );
    expect(() => createCachedClient(crm, newCache(), { getCustomer: { namespace: '' } })).toThrow(
      InvalidArgumentError,
    );
  });

  it('only accepts async methods of the client, with key functions typed by their parameters', () => {
    const crm = new CrmClient();
    const notAMethod = { version: { namespace: 'crm:customer' } };
    const badKey = { getCustomer: { namespace: 'crm:customer', key: (n: number) => String(n) } };
    // @ts-expect-error version is not an async method
    expect(() => createCachedClient(crm, newCache(), notAMethod)).toThrow(InvalidArgumentError);
    // @ts-expect-error the key function must take the method's arguments (a string id)
    void (() => createCachedClient(crm, newCache(), badKey));
  });
});
