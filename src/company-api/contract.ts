/**
 * The company API's contract: the calls (`CompanyApi`), their per-call options, method names
 * and list types, shared by the client and the cached wrapper, plus the one `pages()` helper
 * both use.
 * @module
 */
import { InvalidArgumentError } from '../errors.js';
import type { Labels } from '../perf/index.js';
import { OP } from '../perf/operations.js';
import { type PageIterationOptions, paginate } from './pagination.js';
import type {
  Equipment,
  EquipmentFilter,
  InventoryFilter,
  InventoryItem,
  Load,
  LoadFilter,
  Page,
} from './schemas.js';

/** Provider name carried by every error of the client. */
export const COMPANY_API_PROVIDER = OP.companyApi;
/** Operation name of the client's samples in the performance monitor. */
export const COMPANY_API_OPERATION = OP.companyApi;

/** Per-call options of every client method. */
export interface CompanyApiCallOptions {
  /** Cancels the call: it rejects with AbortedError at once and no retry follows. */
  signal?: AbortSignal | undefined;
  /** Total deadline of this call, overriding the client's `timeoutMs`. */
  timeoutMs?: number | undefined;
  /** Extra labels for this call's `company_api` sample (`method` and `outcome` are always set). */
  labels?: Labels | undefined;
}

/** The client's method names, as they appear in the `method` label. */
export type CompanyApiMethod =
  | 'getLoadStatus'
  | 'listLoads'
  | 'getInventory'
  | 'listInventory'
  | 'getEquipmentStatus'
  | 'listEquipment';

/** The list methods, with their filter and item types. */
export interface CompanyApiLists {
  listLoads: { filter: LoadFilter; item: Load };
  listInventory: { filter: InventoryFilter; item: InventoryItem };
  listEquipment: { filter: EquipmentFilter; item: Equipment };
}
export type CompanyApiListMethod = keyof CompanyApiLists;

/**
 * The company API's calls. Implemented by the client ({@link createCompanyApiClient}) and by
 * the cached wrapper, whose options add `useCache`.
 */
export interface CompanyApi<O extends CompanyApiCallOptions = CompanyApiCallOptions> {
  /** One load by id (`GET /v1/loads/{loadId}`). NotFoundError if there is none. */
  getLoadStatus(loadId: string, options?: O): Promise<Load>;
  /** One page of loads (`GET /v1/loads`), at most `limit` (default 20, max 100). */
  listLoads(filter?: LoadFilter, options?: O): Promise<Page<Load>>;
  /** One inventory item by item id or SKU (`GET /v1/inventory/{itemIdOrSku}`). */
  getInventory(itemIdOrSku: string, options?: O): Promise<InventoryItem>;
  /** One page of inventory items (`GET /v1/inventory`). */
  listInventory(filter?: InventoryFilter, options?: O): Promise<Page<InventoryItem>>;
  /** One piece of equipment by id (`GET /v1/equipment/{equipmentId}`). */
  getEquipmentStatus(equipmentId: string, options?: O): Promise<Equipment>;
  /** One page of equipment (`GET /v1/equipment`). */
  listEquipment(filter?: EquipmentFilter, options?: O): Promise<Page<Equipment>>;
  /**
   * Iterates the pages of a list method, following cursors, bounded by `maxPages` (default 10)
   * and `maxItems`.
   */
  pages<M extends CompanyApiListMethod>(
    method: M,
    filter?: CompanyApiLists[M]['filter'],
    options?: PageIterationOptions & Omit<O, 'signal'>,
  ): AsyncGenerator<Page<CompanyApiLists[M]['item']>, void, undefined>;
}

/** The shared implementation of `pages()` for the client and the cached wrapper. */
export function pagesOf<O extends CompanyApiCallOptions, M extends CompanyApiListMethod>(
  api: CompanyApi<O>,
  method: M,
  filter: CompanyApiLists[M]['filter'] | undefined,
  options: PageIterationOptions & Omit<O, 'signal'>,
): AsyncGenerator<Page<CompanyApiLists[M]['item']>, void, undefined> {
  const { maxPages, maxItems, signal, ...callOptions } = options as PageIterationOptions &
    Record<string, unknown>;
  const iteration: PageIterationOptions = {};
  if (maxPages !== undefined) iteration.maxPages = maxPages;
  if (maxItems !== undefined) iteration.maxItems = maxItems;
  if (signal !== undefined) iteration.signal = signal;
  const fn = api[method] as unknown;
  if (typeof fn !== 'function' || !['listLoads', 'listInventory', 'listEquipment'].includes(method)) {
    throw new InvalidArgumentError(
      `pages() takes listLoads, listInventory or listEquipment, got "${String(method)}".`,
    );
  }
  const list = (f: CompanyApiLists[M]['filter'], o: { signal?: AbortSignal }) =>
    (fn as (f: unknown, o: unknown) => Promise<Page<CompanyApiLists[M]['item']>>).call(api, f, {
      ...callOptions,
      ...o,
    });
  return paginate(list, (filter ?? {}) as CompanyApiLists[M]['filter'], iteration);
}
