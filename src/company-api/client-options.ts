/**
 * Options of the company-API client: the zod schema with its documented defaults, and the
 * resolution step that registers the API key and credential headers as secrets before
 * anything can print them.
 * @module
 */
import { z } from 'zod';
import { ConfigError, registerSecret } from '../errors.js';
import type { PerformanceMonitor } from '../perf/index.js';
import type { Equipment, InventoryItem, Load } from './schemas.js';

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
/** @internal the options with every default filled in. */
export type ResolvedOptions = z.output<typeof companyApiClientOptionsSchema>;

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

/** @internal validates `options` (secrets registered first); ConfigError naming every bad field. */
export function resolveOptions(options: CompanyApiClientOptions): ResolvedOptions {
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
