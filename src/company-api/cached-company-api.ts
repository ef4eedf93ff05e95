/**
 * The company-API client behind earshot's cache: same methods, answers served from the
 * `company_api:*` namespaces (load 300 s, inventory 600 s, equipment 300 s by default),
 * single-flight and stale-while-revalidate from the cache manager, "not found" remembered for
 * a short while, and hits recorded as `company_api` with `cached: true`.
 * @module
 */
import { z } from 'zod';
import { stableStringify } from '../cache/index.js';
import { AbortedError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { performanceMonitor } from '../perf/index.js';
import {
  CachedCallFailure,
  type CacheLike,
  type CacheLoadOptions,
  cachedCall,
  isNotFoundMarker,
} from './cached-call.js';
import {
  COMPANY_API_OPERATION,
  type CompanyApi,
  type CompanyApiCallOptions,
  type CompanyApiListMethod,
  type CompanyApiLists,
  type CompanyApiMethod,
  type MonitorLike,
  pagesOf,
} from './client.js';
import type { PageIterationOptions } from './pagination.js';
import {
  type Equipment,
  type EquipmentFilter,
  equipmentFilterSchema,
  type InventoryFilter,
  type InventoryItem,
  inventoryFilterSchema,
  type Load,
  type LoadFilter,
  loadFilterSchema,
  type Page,
  resourceIdSchema,
} from './schemas.js';

const ttl = z
  .number()
  .finite()
  .positive()
  .max(365 * 24 * 3600);
const grace = z
  .number()
  .finite()
  .min(0)
  .max(365 * 24 * 3600);
const perKind = <T extends z.ZodType>(s: T) =>
  z.object({ load: s.optional(), inventory: s.optional(), equipment: s.optional() }).strict().prefault({});

/**
 * Options of {@link createCachedCompanyApi}.
 *
 * | option | default | |
 * | --- | --- | --- |
 * | `namespaces` | `company_api:load`, `company_api:inventory`, `company_api:equipment` | cache namespaces per kind |
 * | `ttlSeconds` | the namespace's TTL in the cache config (300 / 600 / 300) | per kind override |
 * | `graceSeconds` | the namespace's grace | serve stale this long past the TTL while one refresh runs |
 * | `negativeTtlSeconds` | 30 | remember a 404 this long, so a burst of questions about a load that does not exist reaches the API once; 0 turns it off |
 * | `cacheLists` | true | cache list pages too (keyed by their filter) |
 * | `monitor` | the client's default, the shared `performanceMonitor` | where hits are recorded; `false` for nowhere |
 */
export const cachedCompanyApiConfigSchema = z
  .object({
    namespaces: z
      .object({
        load: z.string().min(1).default('company_api:load'),
        inventory: z.string().min(1).default('company_api:inventory'),
        equipment: z.string().min(1).default('company_api:equipment'),
      })
      .strict()
      .prefault({}),
    ttlSeconds: perKind(ttl),
    graceSeconds: perKind(grace),
    negativeTtlSeconds: z.number().finite().min(0).max(3600).default(30),
    cacheLists: z.boolean().default(true),
    monitor: z
      .union([
        z.literal(false),
        z.custom<MonitorLike>(
          (v) => typeof v === 'object' && v !== null && typeof (v as MonitorLike).record === 'function',
          'must have a record() method',
        ),
      ])
      .optional(),
  })
  .strict();
export type CachedCompanyApiConfig = z.input<typeof cachedCompanyApiConfigSchema>;

/** Per-call options of the cached wrapper. */
export interface CachedCompanyApiCallOptions extends CompanyApiCallOptions {
  /** `false` skips the cache for this call: no read, no write (the source design's `use_cache=False`). Default true. */
  useCache?: boolean | undefined;
}

type Kind = 'load' | 'inventory' | 'equipment';

/** The cached company API. Create it with {@link createCachedCompanyApi}. */
export interface CachedCompanyApi extends CompanyApi<CachedCompanyApiCallOptions> {
  /** The client underneath (every call on it skips the cache). */
  readonly client: CompanyApi;
  /** Drops the cached load (and a remembered "not found"). List pages keep their entries until their TTL. */
  invalidateLoad(loadId: string): Promise<void>;
  /** Drops the cached item, under both its item id and its SKU when the cache knows both. */
  invalidateInventory(itemIdOrSku: string): Promise<void>;
  /** Drops the cached equipment. */
  invalidateEquipment(equipmentId: string): Promise<void>;
  /** Drops every cached answer of one kind (entities and list pages), or of all kinds. */
  invalidateAll(kind?: Kind): Promise<void>;
}

function checkId(id: string, name: string): void {
  const parsed = resourceIdSchema.safeParse(id);
  if (!parsed.success) {
    const shown = typeof id === 'string' ? JSON.stringify(id.slice(0, 80)) : typeof id;
    throw new InvalidArgumentError(
      `${name} ${shown} is invalid: ${parsed.error.issues[0]?.message ?? 'bad value'}.`,
    );
  }
}

function canonicalFilter(schema: z.ZodType, filter: unknown, method: string): string {
  const parsed = schema.safeParse(filter ?? {});
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join('.') || '(filter)'}: ${i.message}`).join('; ');
    throw new InvalidArgumentError(`Invalid ${method} filter (${why}).`);
  }
  return stableStringify(parsed.data);
}

// Keys inside a namespace. Ids cannot hold ':' or '{', so entity and list keys never collide.
const entityKey = (id: string): string => `id:${id}`;
const listKey = (canonical: string): string => `list:${canonical}`;

/**
 * Wraps a company-API client with the cache.
 *
 * @example
 * ```ts
 * import { createCompanyApiClient, createCachedCompanyApi, CacheManager } from 'earshot';
 * const cache = new CacheManager();
 * const api = createCachedCompanyApi(createCompanyApiClient({ baseUrl }), cache);
 * await api.getLoadStatus('2314');                      // miss: ~100 ms, one request
 * await api.getLoadStatus('2314');                      // hit: well under 1 ms, recorded with cached: true
 * await api.getLoadStatus('2314', { useCache: false }); // straight to the API
 * await api.invalidateLoad('2314');                     // e.g. from a webhook
 * ```
 */
export function createCachedCompanyApi(
  client: CompanyApi,
  cache: CacheLike,
  config: CachedCompanyApiConfig = {},
): CachedCompanyApi {
  const parsed = cachedCompanyApiConfigSchema.safeParse(config);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`).join('; ');
    throw new InvalidArgumentError(`Invalid createCachedCompanyApi config (${why}).`);
  }
  const cfg = parsed.data;
  const monitor = cfg.monitor === false ? undefined : (cfg.monitor ?? performanceMonitor);
  const cacheOptions = (kind: Kind): CacheLoadOptions => {
    const o: CacheLoadOptions = {};
    const t = cfg.ttlSeconds[kind];
    const g = cfg.graceSeconds[kind];
    if (t !== undefined) o.ttlSeconds = t;
    if (g !== undefined) o.graceSeconds = g;
    return o;
  };

  const record = (
    method: CompanyApiMethod,
    started: number,
    outcome: string,
    options: CompanyApiCallOptions,
  ) => {
    if (!monitor) return;
    try {
      monitor.record(COMPANY_API_OPERATION, performance.now() - started, {
        ...options.labels,
        method,
        outcome,
        cached: true,
      });
    } catch {
      // Recording must never fail the call.
    }
  };

  /**
   * The client records the calls that reach the API (with `cached: false`); this records the
   * rest: hits, stale hits, single-flight joiners, remembered "not found" answers.
   */
  async function run<T>(
    method: CompanyApiMethod,
    kind: Kind,
    key: string,
    options: CachedCompanyApiCallOptions,
    load: (o: CompanyApiCallOptions) => Promise<T>,
    afterLoad?: (value: T) => void,
  ): Promise<T> {
    const { useCache = true, ...callOptions } = options;
    const uncachedOptions: CompanyApiCallOptions = {
      ...callOptions,
      labels: { ...callOptions.labels, cached: false },
    };
    if (!useCache) return load(uncachedOptions);
    const started = performance.now();
    try {
      const { value, fromCache } = await cachedCall<T>({
        cache,
        namespace: cfg.namespaces[kind],
        key,
        load: async (signal) => {
          // The shared load follows the cache's signal, not the first caller's: one caller
          // leaving must not fail the others waiting on the same request.
          const value = await load({ ...uncachedOptions, signal });
          afterLoad?.(value);
          return value;
        },
        cacheOptions: cacheOptions(kind),
        negativeTtlSeconds: cfg.negativeTtlSeconds,
        isNotFound: (err) => err instanceof NotFoundError,
        signal: options.signal,
        what: `company API ${method}`,
      });
      if (fromCache) record(method, started, 'ok', callOptions);
      return value;
    } catch (failure) {
      if (!(failure instanceof CachedCallFailure)) throw failure;
      const err = failure.error;
      const clientRecorded = failure.loaderRan && failure.loaderDone;
      if (!clientRecorded) {
        const outcome =
          err instanceof NotFoundError ? 'not_found' : err instanceof AbortedError ? 'aborted' : 'error';
        record(method, started, outcome, callOptions);
      }
      throw err;
    }
  }

  function runList<F, T>(
    method: CompanyApiListMethod,
    kind: Kind,
    schema: z.ZodType,
    filter: F | undefined,
    options: CachedCompanyApiCallOptions,
    load: (o: CompanyApiCallOptions) => Promise<Page<T>>,
  ): Promise<Page<T>> {
    if (!cfg.cacheLists) return run(method, kind, '', { ...options, useCache: false }, load);
    return run(method, kind, listKey(canonicalFilter(schema, filter, method)), options, load);
  }

  const api: CachedCompanyApi = {
    client,
    async getLoadStatus(loadId: string, options: CachedCompanyApiCallOptions = {}): Promise<Load> {
      checkId(loadId, 'loadId');
      return run('getLoadStatus', 'load', entityKey(loadId), options, (o) => client.getLoadStatus(loadId, o));
    },
    async listLoads(filter?: LoadFilter, options: CachedCompanyApiCallOptions = {}): Promise<Page<Load>> {
      return runList('listLoads', 'load', loadFilterSchema, filter, options, (o) =>
        client.listLoads(filter, o),
      );
    },
    async getInventory(
      itemIdOrSku: string,
      options: CachedCompanyApiCallOptions = {},
    ): Promise<InventoryItem> {
      checkId(itemIdOrSku, 'itemIdOrSku');
      const ns = cfg.namespaces.inventory;
      return run(
        'getInventory',
        'inventory',
        entityKey(itemIdOrSku),
        options,
        (o) => client.getInventory(itemIdOrSku, o),
        (item) => {
          // Also cache it under its other name (id ↔ SKU), so either finds it and
          // invalidateInventory(either) can drop both.
          for (const alias of [item.id, item.sku]) {
            if (alias !== itemIdOrSku && resourceIdSchema.safeParse(alias).success) {
              const ttlSeconds = cfg.ttlSeconds.inventory;
              cache.set(entityKey(alias), item, ns, ttlSeconds ? { ttlSeconds } : undefined).catch(() => {});
            }
          }
        },
      );
    },
    async listInventory(
      filter?: InventoryFilter,
      options: CachedCompanyApiCallOptions = {},
    ): Promise<Page<InventoryItem>> {
      return runList('listInventory', 'inventory', inventoryFilterSchema, filter, options, (o) =>
        client.listInventory(filter, o),
      );
    },
    async getEquipmentStatus(
      equipmentId: string,
      options: CachedCompanyApiCallOptions = {},
    ): Promise<Equipment> {
      checkId(equipmentId, 'equipmentId');
      return run('getEquipmentStatus', 'equipment', entityKey(equipmentId), options, (o) =>
        client.getEquipmentStatus(equipmentId, o),
      );
    },
    async listEquipment(
      filter?: EquipmentFilter,
      options: CachedCompanyApiCallOptions = {},
    ): Promise<Page<Equipment>> {
      return runList('listEquipment', 'equipment', equipmentFilterSchema, filter, options, (o) =>
        client.listEquipment(filter, o),
      );
    },
    pages<M extends CompanyApiListMethod>(
      method: M,
      filter?: CompanyApiLists[M]['filter'],
      options: PageIterationOptions & Omit<CachedCompanyApiCallOptions, 'signal'> = {},
    ): AsyncGenerator<Page<CompanyApiLists[M]['item']>, void, undefined> {
      return pagesOf<CachedCompanyApiCallOptions, M>(api, method, filter, options);
    },
    async invalidateLoad(loadId: string): Promise<void> {
      checkId(loadId, 'loadId');
      await cache.delete(entityKey(loadId), cfg.namespaces.load);
    },
    async invalidateInventory(itemIdOrSku: string): Promise<void> {
      checkId(itemIdOrSku, 'itemIdOrSku');
      const ns = cfg.namespaces.inventory;
      const cached = await cache.get<InventoryItem>(entityKey(itemIdOrSku), ns).catch(() => undefined);
      const keys = new Set([itemIdOrSku]);
      if (cached && !isNotFoundMarker(cached)) {
        if (typeof cached.id === 'string') keys.add(cached.id);
        if (typeof cached.sku === 'string') keys.add(cached.sku);
      }
      await Promise.all([...keys].map((k) => cache.delete(entityKey(k), ns)));
    },
    async invalidateEquipment(equipmentId: string): Promise<void> {
      checkId(equipmentId, 'equipmentId');
      await cache.delete(entityKey(equipmentId), cfg.namespaces.equipment);
    },
    async invalidateAll(kind?: Kind): Promise<void> {
      const kinds: Kind[] = kind ? [kind] : ['load', 'inventory', 'equipment'];
      for (const k of kinds) await cache.invalidateNamespace(cfg.namespaces[k]);
    },
  };
  return api;
}
