/**
 * The typed company-API client: the six calls over `fetch`, one attempt loop inside a total
 * deadline, typed errors, and one `company_api` sample in the performance monitor per call.
 * Options, retry policy, redirects and response reading live in their own modules.
 * @module
 */
import type { z } from 'zod';
import {
  AbortedError,
  InvalidArgumentError,
  NotFoundError,
  RequestRejectedError,
  ResponseValidationError,
  TimeoutError,
} from '../errors.js';
import { abortableSleep as sleep, throwIfAborted } from '../internal/abort.js';
import { performanceMonitor } from '../perf/index.js';
import {
  type CompanyApiClientOptions,
  type MonitorLike,
  type ResolvedOptions,
  resolveOptions,
} from './client-options.js';
import {
  COMPANY_API_OPERATION,
  COMPANY_API_PROVIDER,
  type CompanyApi,
  type CompanyApiCallOptions,
  type CompanyApiListMethod,
  type CompanyApiLists,
  type CompanyApiMethod,
  pagesOf,
} from './contract.js';
import type { PageIterationOptions } from './pagination.js';
import { fetchFollowingSameOrigin } from './redirects.js';
import { BodyTooLarge, errorMessageOf, parseResponse, readCapped } from './responses.js';
import {
  type AttemptResult,
  backoffDelayMs,
  deadlineError,
  type Failure,
  isRetryableStatus,
  parseRetryAfterMs,
  upstreamError,
} from './retry.js';
import {
  type Equipment,
  type EquipmentFilter,
  equipmentFilterSchema,
  equipmentSchema,
  type InventoryFilter,
  type InventoryItem,
  inventoryFilterSchema,
  inventoryItemSchema,
  type Load,
  type LoadFilter,
  loadFilterSchema,
  loadSchema,
  type Page,
  pageSchema,
  resourceIdSchema,
} from './schemas.js';

export {
  type CompanyApiClientOptions,
  companyApiClientOptionsSchema,
  type MonitorLike,
} from './client-options.js';
export {
  COMPANY_API_OPERATION,
  type CompanyApi,
  type CompanyApiCallOptions,
  type CompanyApiListMethod,
  type CompanyApiLists,
  type CompanyApiMethod,
  pagesOf,
} from './contract.js';

/**
 * The company-API client. Create it with {@link createCompanyApiClient}.
 *
 * Errors: NotFoundError (404), RequestRejectedError (other 4xx: fix the request),
 * UpstreamError (5xx/429/timeouts/connection failures after every retry), TimeoutError (the
 * call's total deadline passed), ResponseValidationError (a body that does not match the
 * schema, naming the bad fields; not retried), AbortedError (the caller's signal),
 * InvalidArgumentError (a bad id or filter; nothing is sent). All carry `provider: 'company_api'`
 * where a response was involved, and never the API key.
 */
export class CompanyApiClient implements CompanyApi {
  readonly #o: ResolvedOptions;
  readonly #base: string;
  readonly #headers: Record<string, string>;
  readonly #fetch: typeof globalThis.fetch;
  readonly #monitor: MonitorLike | undefined;
  readonly #random: () => number;
  readonly #loadSchema: z.ZodType<Load>;
  readonly #itemSchema: z.ZodType<InventoryItem>;
  readonly #equipmentSchema: z.ZodType<Equipment>;
  readonly #loadPage: z.ZodType<Page<Load>>;
  readonly #itemPage: z.ZodType<Page<InventoryItem>>;
  readonly #equipmentPage: z.ZodType<Page<Equipment>>;

  constructor(options: CompanyApiClientOptions) {
    const o = resolveOptions(options);
    this.#o = o;
    this.#base = o.baseUrl.replace(/\/+$/, '');
    this.#headers = { accept: 'application/json', 'user-agent': 'earshot-company-api', ...o.headers };
    if (o.apiKey) this.#headers.authorization = `Bearer ${o.apiKey}`;
    this.#fetch = o.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#monitor = o.monitor === false ? undefined : (o.monitor ?? performanceMonitor);
    this.#random = o.random ?? Math.random;
    this.#loadSchema = o.schemas?.load ?? loadSchema;
    this.#itemSchema = o.schemas?.inventoryItem ?? inventoryItemSchema;
    this.#equipmentSchema = o.schemas?.equipment ?? equipmentSchema;
    this.#loadPage = pageSchema(this.#loadSchema);
    this.#itemPage = pageSchema(this.#itemSchema);
    this.#equipmentPage = pageSchema(this.#equipmentSchema);
  }

  /** The base URL calls go to (without a trailing slash). */
  get baseUrl(): string {
    return this.#base;
  }

  async getLoadStatus(loadId: string, options: CompanyApiCallOptions = {}): Promise<Load> {
    return this.#get(
      'getLoadStatus',
      `/v1/loads/${pathId(loadId, 'loadId')}`,
      undefined,
      this.#loadSchema,
      options,
      {
        what: `load "${loadId}"`,
      },
    );
  }

  async listLoads(filter: LoadFilter = {}, options: CompanyApiCallOptions = {}): Promise<Page<Load>> {
    const query = toQuery(loadFilterSchema, filter, 'listLoads');
    return this.#get('listLoads', '/v1/loads', query, this.#loadPage, options, { what: 'loads' });
  }

  async getInventory(itemIdOrSku: string, options: CompanyApiCallOptions = {}): Promise<InventoryItem> {
    const path = `/v1/inventory/${pathId(itemIdOrSku, 'itemIdOrSku')}`;
    return this.#get('getInventory', path, undefined, this.#itemSchema, options, {
      what: `inventory item or SKU "${itemIdOrSku}"`,
    });
  }

  async listInventory(
    filter: InventoryFilter = {},
    options: CompanyApiCallOptions = {},
  ): Promise<Page<InventoryItem>> {
    const query = toQuery(inventoryFilterSchema, filter, 'listInventory');
    return this.#get('listInventory', '/v1/inventory', query, this.#itemPage, options, { what: 'inventory' });
  }

  async getEquipmentStatus(equipmentId: string, options: CompanyApiCallOptions = {}): Promise<Equipment> {
    const path = `/v1/equipment/${pathId(equipmentId, 'equipmentId')}`;
    return this.#get('getEquipmentStatus', path, undefined, this.#equipmentSchema, options, {
      what: `equipment "${equipmentId}"`,
    });
  }

  async listEquipment(
    filter: EquipmentFilter = {},
    options: CompanyApiCallOptions = {},
  ): Promise<Page<Equipment>> {
    const query = toQuery(equipmentFilterSchema, filter, 'listEquipment');
    return this.#get('listEquipment', '/v1/equipment', query, this.#equipmentPage, options, {
      what: 'equipment',
    });
  }

  pages<M extends CompanyApiListMethod>(
    method: M,
    filter?: CompanyApiLists[M]['filter'],
    options: PageIterationOptions & Omit<CompanyApiCallOptions, 'signal'> = {},
  ): AsyncGenerator<Page<CompanyApiLists[M]['item']>, void, undefined> {
    return pagesOf(this, method, filter, options);
  }

  async #get<T>(
    method: CompanyApiMethod,
    path: string,
    query: URLSearchParams | undefined,
    schema: z.ZodType<T>,
    options: CompanyApiCallOptions,
    ctx: { what: string },
  ): Promise<T> {
    const started = performance.now();
    let outcome = 'error';
    try {
      const value = await this.#execute(method, path, query, schema, options, ctx, started);
      outcome = 'ok';
      return value;
    } catch (err) {
      outcome =
        err instanceof NotFoundError ? 'not_found' : err instanceof AbortedError ? 'aborted' : 'error';
      throw err;
    } finally {
      if (this.#monitor) {
        try {
          this.#monitor.record(COMPANY_API_OPERATION, performance.now() - started, {
            ...options.labels,
            method,
            outcome,
          });
        } catch {
          // A monitor that refuses a sample (cardinality limit in "throw" mode, a bad extra
          // label) must not turn a successful API call into a failure.
        }
      }
    }
  }

  async #execute<T>(
    method: CompanyApiMethod,
    path: string,
    query: URLSearchParams | undefined,
    schema: z.ZodType<T>,
    options: CompanyApiCallOptions,
    ctx: { what: string },
    started: number,
  ): Promise<T> {
    const { signal } = options;
    const label = `company API ${method}`;
    const totalMs = options.timeoutMs ?? this.#o.timeoutMs;
    if (!Number.isFinite(totalMs) || totalMs <= 0) {
      throw new InvalidArgumentError(`timeoutMs must be a positive number of ms, got ${totalMs}.`);
    }
    const deadline = started + totalMs;
    const qs = query?.toString();
    const url = `${this.#base}${path}${qs ? `?${qs}` : ''}`;
    let last: Failure | undefined;
    for (let attempt = 0; ; attempt++) {
      throwIfAborted(signal, label);
      const remaining = deadline - performance.now();
      if (remaining <= 0) throw deadlineError(label, totalMs, attempt, last);
      const attemptMs = Math.min(remaining, this.#o.attemptTimeoutMs ?? Number.POSITIVE_INFINITY);
      const result = await this.#attempt(url, attemptMs, attemptMs >= remaining, signal, label);

      if (result.kind === 'timeout') {
        if (result.total) throw deadlineError(label, totalMs, attempt + 1, last);
        last = { kind: 'timeout', error: result.error };
      } else if (result.kind === 'network') {
        last = { kind: 'network', error: result.error };
      } else {
        const { status, headers, body } = result;
        const requestId = headers.get('x-request-id') ?? undefined;
        if (status >= 200 && status < 300) return parseResponse(method, body, schema, status, requestId);
        const serverMessage = errorMessageOf(body);
        const details = { provider: COMPANY_API_PROVIDER, status, ...(requestId ? { requestId } : {}) };
        if (status === 404) {
          throw new NotFoundError(`The company API has no ${ctx.what} (HTTP 404). Check the id.`, details);
        }
        if (!isRetryableStatus(status)) {
          throw new RequestRejectedError(
            `The company API rejected ${method} with HTTP ${status}${serverMessage ? ` (${serverMessage})` : ''}. ` +
              (status === 401 || status === 403
                ? 'Check the apiKey option.'
                : 'Fix the request; retrying will not help.'),
            { ...details, retryable: false },
          );
        }
        last = {
          kind: 'status',
          status,
          requestId,
          retryAfterMs: parseRetryAfterMs(headers.get('retry-after')),
        };
      }

      const attempts = attempt + 1;
      if (attempt >= this.#o.retries) {
        throw upstreamError(label, started, last, `after ${attempts} attempt(s)`);
      }
      const delay = backoffDelayMs(attempt, this.#o.backoffBaseMs, this.#o.backoffMaxMs, this.#random, last);
      if (performance.now() + delay >= deadline) {
        throw upstreamError(
          label,
          started,
          last,
          `after ${attempts} attempt(s); no time left for another within the ${totalMs} ms deadline`,
        );
      }
      await sleep(delay, signal, label);
    }
  }

  async #attempt(
    url: string,
    timeoutMs: number,
    isTotal: boolean,
    signal: AbortSignal | undefined,
    label: string,
  ): Promise<AttemptResult> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onAbort = (): void => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const res = await fetchFollowingSameOrigin(
        this.#fetch,
        this.#base,
        this.#headers,
        url,
        controller.signal,
        label,
      );
      const body = await readCapped(res, this.#o.maxResponseBytes);
      // Node's fetch pool takes the socket back a tick after the body ends: without this wait a
      // call made right after (a retry, the next tool call) would open a second connection.
      await new Promise((resolve) => setImmediate(resolve));
      return { kind: 'response', status: res.status, headers: res.headers, body };
    } catch (err) {
      if (signal?.aborted) throw new AbortedError(`${label} was aborted.`, { cause: signal.reason });
      if (err instanceof RequestRejectedError) throw err;
      if (err instanceof BodyTooLarge) {
        throw new ResponseValidationError(
          `The company API answered ${label.replace('company API ', '')} with a body over ${this.#o.maxResponseBytes} bytes`,
          [{ path: '', message: `larger than maxResponseBytes (${this.#o.maxResponseBytes})` }],
          { provider: COMPANY_API_PROVIDER, retryable: false },
        );
      }
      if (timedOut) {
        const ms = Math.round(timeoutMs);
        return {
          kind: 'timeout',
          total: isTotal,
          error: new TimeoutError(`${label}: no answer within ${ms} ms`, ms),
        };
      }
      return { kind: 'network', error: err };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }
}

function pathId(id: string, name: string): string {
  const parsed = resourceIdSchema.safeParse(id);
  if (!parsed.success) {
    const shown = typeof id === 'string' ? JSON.stringify(id.slice(0, 80)) : typeof id;
    throw new InvalidArgumentError(
      `${name} ${shown} is invalid: ${parsed.error.issues[0]?.message ?? 'bad value'}.`,
    );
  }
  return encodeURIComponent(parsed.data);
}

function toQuery(
  schema: z.ZodType<Record<string, unknown>>,
  filter: unknown,
  method: string,
): URLSearchParams {
  const parsed = schema.safeParse(filter ?? {});
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join('.') || '(filter)'}: ${i.message}`).join('; ');
    throw new InvalidArgumentError(`Invalid ${method} filter (${why}).`);
  }
  const q = new URLSearchParams();
  for (const key of Object.keys(parsed.data).sort()) {
    const v = parsed.data[key];
    if (v !== undefined) q.set(key, String(v));
  }
  return q;
}

/**
 * Creates a company-API client.
 *
 * @example
 * ```ts
 * import { createCompanyApiClient } from 'earshot';
 * const api = createCompanyApiClient({ baseUrl: 'https://api.example.com', apiKey: process.env.COMPANY_API_KEY });
 * const load = await api.getLoadStatus('2314', { signal: turn.signal });
 * console.log(load.status, load.estimatedDeliveryAt);
 * ```
 */
export function createCompanyApiClient(options: CompanyApiClientOptions): CompanyApiClient {
  return new CompanyApiClient(options);
}
