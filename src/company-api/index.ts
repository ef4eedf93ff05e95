/**
 * The company API of the source design (a logistics company's loads, inventory and
 * equipment): a typed client over `fetch` with retries inside a total deadline, zod schemas
 * that host apps can reuse and extend, a cached wrapper over the cache manager, and a generic
 * helper that puts the same caching around any API client. See `docs/company-api.md`.
 * @module
 */
export type { CacheLike, CacheLoaderContext, CacheLoadOptions } from './cached-call.js';
export {
  type AsyncMethodNames,
  type CachedClient,
  type CachedClientOptions,
  type CachedMethodConfig,
  type CachedMethodMap,
  createCachedClient,
} from './cached-client.js';
export {
  type CachedCompanyApi,
  type CachedCompanyApiCallOptions,
  type CachedCompanyApiConfig,
  cachedCompanyApiConfigSchema,
  createCachedCompanyApi,
} from './cached-company-api.js';
export {
  type CompanyApi,
  type CompanyApiCallOptions,
  CompanyApiClient,
  type CompanyApiClientOptions,
  type CompanyApiListMethod,
  type CompanyApiLists,
  type CompanyApiMethod,
  companyApiClientOptionsSchema,
  createCompanyApiClient,
  type MonitorLike,
} from './client.js';
export {
  type PageIterationOptions,
  type PaginatedFilter,
  pageIterationOptionsSchema,
  paginate,
} from './pagination.js';
export * from './schemas.js';
export {
  type CompanyApiLike,
  type CompanyApiToolCallOptions,
  type CompanyApiToolName,
  createCompanyApiTools,
} from './tools.js';
