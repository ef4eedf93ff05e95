/**
 * The typed company-API client: `fetch`, retries with backoff and jitter inside one total
 * deadline, zod-validated answers, typed errors, and one `company_api` sample in the
 * performance monitor per call.
 * @module
 */
import { z } from 'zod';
import {
  AbortedError,
  ConfigError,
  type ConfigIssue,
  InvalidArgumentError,
  NotFoundError,
  RequestRejectedError,
  ResponseValidationError,
  redactedPrefix,
  registerSecret,
  TimeoutError,
  UpstreamError,
} from '../errors.js';
import { abortableSleep as sleep, throwIfAborted } from '../internal/abort.js';
import { type Labels, type PerformanceMonitor, performanceMonitor } from '../perf/index.js';
import { type PageIterationOptions, paginate } from './pagination.js';
import {
  apiErrorBodySchema,
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

/** Provider name carried by every error of the client. */
export const COMPANY_API_PROVIDER = 'company_api';
/** Operation name of the client's samples in the performance monitor. */
export const COMPANY_API_OPERATION = 'company_api';

/** What the client needs of a monitor: `record()`. A {@link PerformanceMonitor} fits. */
export type MonitorLike = Pick<PerformanceMonitor, 'record'>;

const isFunction = (v: unknown): boolean => typeof v === 'function';
const isMonitor = (v: unknown): boolean =>
  typeof v === 'object' && v !== null && typeof (v as { record?: unknown }).record === 'function';
const isZodType = (v: unknown): boolean => v instanceof z.ZodType;

/**
 * Options of {@link createCompanyApiClient}.
 *
 * | option | default | |
 * | --- | --- | --- |
 * | `baseUrl` | (required) | `http(s)://host[:port][/prefix]`; the client appends `/v1/...` |
 * | `apiKey` | none | sent as `Authorization: Bearer <key>`; registered as a secret, never in an error |
 * | `timeoutMs` | 2000 | **total** deadline of one call, every retry and backoff included |
 * | `attemptTimeoutMs` | `timeoutMs` | deadline of one attempt; smaller values leave time to retry a hung request |
 * | `retries` | 2 | extra attempts after a 5xx, 408, 429, timeout or connection failure (0–10) |
 * | `backoffBaseMs` / `backoffMaxMs` | 50 / 1000 | backoff before retry n is `min(max, base·2ⁿ)`, half of it jittered; a `Retry-After` is honoured when it fits the deadline |
 * | `maxResponseBytes` | 4 MiB | larger bodies are refused (ResponseValidationError) |
 * | `headers` | none | extra request headers |
 * | `fetch` | `globalThis.fetch` | a fetch to use instead (a proxy agent, a recorder) |
 * | `monitor` | the shared `performanceMonitor` | where `company_api` samples go; `false` for none |
 * | `schemas` | the exported schemas | stricter or extended schemas for `load`, `inventoryItem`, `equipment` |
 * | `random` | `Math.random` | the jitter source (tests pass a seeded one) |
 */
export const companyApiClientOptionsSchema = z
  .object({
    baseUrl: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
    apiKey: z.string().min(1, 'must not be empty').optional(),
    timeoutMs: z.number().int().positive().max(600_000).default(2000),
    attemptTimeoutMs: z.number().int().positive().max(600_000).optional(),
    retries: z.number().int().min(0).max(10).default(2),
    backoffBaseMs: z.number().finite().min(0).max(60_000).default(50),
    backoffMaxMs: z.number().finite().min(0).max(60_000).default(1000),
    maxResponseBytes: z
      .number()
      .int()
      .positive()
      .default(4 * 1024 * 1024),
    headers: z.record(z.string(), z.string()).optional(),
    fetch: z.custom<typeof globalThis.fetch>(isFunction, 'must be a fetch function').optional(),
    monitor: z
      .union([z.literal(false), z.custom<MonitorLike>(isMonitor, 'must have a record() method')])
      .optional(),
    schemas: z
      .object({
        load: z.custom<z.ZodType<Load>>(isZodType, 'must be a zod schema').optional(),
        inventoryItem: z.custom<z.ZodType<InventoryItem>>(isZodType, 'must be a zod schema').optional(),
        equipment: z.custom<z.ZodType<Equipment>>(isZodType, 'must be a zod schema').optional(),
      })
      .strict()
      .optional(),
    random: z.custom<() => number>(isFunction, 'must be a function returning [0, 1)').optional(),
  })
  .strict();

/** What you pass to {@link createCompanyApiClient}. */
export type CompanyApiClientOptions = z.input<typeof companyApiClientOptionsSchema>;
type ResolvedOptions = z.output<typeof companyApiClientOptionsSchema>;

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

type Failure =
  | { kind: 'status'; status: number; requestId: string | undefined; retryAfterMs: number | undefined }
  | { kind: 'timeout'; error: TimeoutError }
  | { kind: 'network'; error: unknown };

type AttemptResult =
  | { kind: 'response'; status: number; headers: Headers; body: string }
  | { kind: 'timeout'; total: boolean; error: TimeoutError }
  | { kind: 'network'; error: unknown };

// Statuses worth another attempt: the server may answer differently in a moment.
const RETRYABLE_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);
function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status) || (status >= 500 && status !== 501 && status !== 505);
}

class BodyTooLarge extends Error {}

async function readCapped(res: Response, maxBytes: number): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw new BodyTooLarge();
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLarge();
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

function parseRetryAfterMs(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

function describeNetworkError(err: unknown): string {
  const cause = (err as { cause?: unknown })?.cause;
  const code = (cause as { code?: unknown })?.code ?? (err as { code?: unknown })?.code;
  if (typeof code === 'string') return `connection failed (${code})`;
  const msg = cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err);
  // Redact before cutting: a cut through a URL's credentials or a key would hide them.
  return `connection failed (${redactedPrefix(msg, 120)})`;
}

function describeFailure(f: Failure): string {
  if (f.kind === 'status') return `HTTP ${f.status}`;
  if (f.kind === 'timeout') return `no answer within ${f.error.timeoutMs} ms`;
  return describeNetworkError(f.error);
}

function zodIssuesToFields(error: z.ZodError, max = 10): ConfigIssue[] {
  const fields = error.issues
    .slice(0, max)
    .map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
  if (error.issues.length > max) fields.push({ path: '', message: `and ${error.issues.length - max} more` });
  return fields;
}

/** Header names that carry a credential: their values are registered as secrets. */
const CREDENTIAL_HEADER = /auth|key|token|secret|password|passwd|cookie|credential|session|signature/i;

/**
 * Registers the values of credential-bearing `headers` (authorization, x-api-key, anything
 * named like a key, token, secret or cookie) as secrets, with the token of `Bearer <token>`
 * and each cookie value on their own, so an error body echoing one never prints it.
 */
function registerHeaderSecrets(headers: unknown): void {
  if (!headers || typeof headers !== 'object') return;
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
    if (typeof value !== 'string' || !CREDENTIAL_HEADER.test(name)) continue;
    registerSecret(value);
    const scheme = /^\s*[A-Za-z][\w-]*\s+(\S+)\s*$/.exec(value);
    if (scheme?.[1]) registerSecret(scheme[1]);
    // Cookie-style `name=value; name2=value2`: each value on its own.
    for (const pair of value.split(';')) {
      const eq = pair.indexOf('=');
      if (eq > 0) registerSecret(pair.slice(eq + 1).trim());
    }
  }
}

/** Statuses of a redirect fetch would follow. */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Same-origin redirects followed per attempt. */
const MAX_REDIRECTS = 5;

function resolveOptions(options: CompanyApiClientOptions): ResolvedOptions {
  // Register before validating, so that even a rejected key can never be printed.
  if (options && typeof options === 'object' && typeof options.apiKey === 'string')
    registerSecret(options.apiKey);
  if (options && typeof options === 'object') registerHeaderSecrets(options.headers);
  const parsed = companyApiClientOptionsSchema.safeParse(options);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
      { source: 'createCompanyApiClient options' },
    );
  }
  return parsed.data;
}

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
      if (remaining <= 0) throw this.#timeout(label, totalMs, attempt, last);
      const attemptMs = Math.min(remaining, this.#o.attemptTimeoutMs ?? Number.POSITIVE_INFINITY);
      const result = await this.#attempt(url, attemptMs, attemptMs >= remaining, signal, label);

      if (result.kind === 'timeout') {
        if (result.total) throw this.#timeout(label, totalMs, attempt + 1, last);
        last = { kind: 'timeout', error: result.error };
      } else if (result.kind === 'network') {
        last = { kind: 'network', error: result.error };
      } else {
        const { status, headers, body } = result;
        const requestId = headers.get('x-request-id') ?? undefined;
        if (status >= 200 && status < 300) return this.#parse(method, body, schema, status, requestId);
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
        throw this.#upstream(label, started, last, `after ${attempts} attempt(s)`);
      }
      const cap = Math.min(this.#o.backoffMaxMs, this.#o.backoffBaseMs * 2 ** attempt);
      let delay = cap / 2 + (this.#random() * cap) / 2;
      if (last.kind === 'status' && last.retryAfterMs !== undefined)
        delay = Math.max(delay, last.retryAfterMs);
      if (performance.now() + delay >= deadline) {
        throw this.#upstream(
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
      const res = await this.#fetchFollowingSameOrigin(url, controller.signal, label);
      const body = await readCapped(res, this.#o.maxResponseBytes);
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

  /**
   * GET `url` with redirects handled here, not by fetch: a redirect within the base URL's origin
   * is followed (at most {@link MAX_REDIRECTS}); one to another origin (scheme, host or port)
   * is refused with RequestRejectedError, so the API key and custom headers never leave the
   * configured service and another origin's body is never returned as the company's data.
   */
  async #fetchFollowingSameOrigin(url: string, signal: AbortSignal, label: string): Promise<Response> {
    const origin = new URL(this.#base).origin;
    let current = url;
    for (let hop = 0; ; hop++) {
      const res = await this.#fetch(current, {
        method: 'GET',
        headers: this.#headers,
        signal,
        redirect: 'manual',
      });
      // A custom fetch may follow redirects itself: judge where the answer really came from.
      if (res.redirected && res.url && new URL(res.url).origin !== origin) {
        await res.body?.cancel().catch(() => {});
        throw this.#crossOrigin(label, res.status, new URL(res.url).origin);
      }
      if (!REDIRECT_STATUSES.has(res.status)) return res;
      const location = res.headers.get('location');
      await res.body?.cancel().catch(() => {});
      if (!location) return new Response(null, { status: res.status, headers: res.headers });
      let next: URL;
      try {
        next = new URL(location, current);
      } catch {
        throw this.#crossOrigin(label, res.status, 'an invalid URL');
      }
      if (next.origin !== origin) throw this.#crossOrigin(label, res.status, next.origin);
      if (hop >= MAX_REDIRECTS) {
        throw new RequestRejectedError(
          `${label}: more than ${MAX_REDIRECTS} redirects. Point baseUrl at the final address.`,
          { provider: COMPANY_API_PROVIDER, status: res.status, retryable: false },
        );
      }
      current = next.href;
    }
  }

  #crossOrigin(label: string, status: number, target: string): RequestRejectedError {
    return new RequestRejectedError(
      `${label}: the company API redirected (HTTP ${status}) to another origin (${target}). ` +
        'earshot does not follow cross-origin redirects, so the API key and headers are not sent ' +
        'there; point baseUrl at the service that should answer.',
      { provider: COMPANY_API_PROVIDER, status, retryable: false },
    );
  }

  #parse<T>(
    method: string,
    body: string,
    schema: z.ZodType<T>,
    status: number,
    requestId: string | undefined,
  ): T {
    const details = {
      provider: COMPANY_API_PROVIDER,
      status,
      retryable: false,
      ...(requestId ? { requestId } : {}),
    };
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw new ResponseValidationError(
        `The company API answered ${method} with a body that is not JSON`,
        [{ path: '', message: `not valid JSON (${body.length} characters)` }],
        details,
      );
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new ResponseValidationError(
        `The company API answered ${method} with a body that does not match its schema`,
        zodIssuesToFields(parsed.error),
        details,
      );
    }
    return parsed.data;
  }

  #timeout(label: string, totalMs: number, attempts: number, last: Failure | undefined): TimeoutError {
    const lastText = last ? `; before that: ${describeFailure(last)}` : '';
    return new TimeoutError(
      `${label} did not finish within its ${totalMs} ms deadline (${attempts} attempt(s)${lastText}). ` +
        'Raise timeoutMs or check the service.',
      totalMs,
    );
  }

  #upstream(label: string, started: number, last: Failure, why: string): UpstreamError {
    const ms = Math.round(performance.now() - started);
    const status = last.kind === 'status' ? last.status : undefined;
    const requestId = last.kind === 'status' ? last.requestId : undefined;
    return new UpstreamError(
      `${label} failed ${why} in ${ms} ms; last: ${describeFailure(last)}. The service may be down or overloaded; try again later.`,
      {
        provider: COMPANY_API_PROVIDER,
        retryable: true,
        ...(status !== undefined ? { status } : {}),
        ...(requestId ? { requestId } : {}),
      },
      last.kind === 'status' ? {} : { cause: last.error },
    );
  }
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

function errorMessageOf(body: string): string | undefined {
  try {
    const parsed = apiErrorBodySchema.safeParse(JSON.parse(body));
    if (parsed.success) return redactedPrefix(`${parsed.data.error.code}: ${parsed.data.error.message}`, 200);
  } catch {
    // not JSON: the status says enough
  }
  return undefined;
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
