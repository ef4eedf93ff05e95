/**
 * Maps what the `openai` SDK throws (APIError and its subclasses with `status`, `requestID`,
 * `headers`; APIConnectionError; APIConnectionTimeoutError; APIUserAbortError; JSON parse
 * errors of broken stream frames; undici's "terminated" when a stream is cut) to earshot
 * errors: ProviderError (provider, status, retryable, requestId), TimeoutError, AbortedError,
 * ResponseValidationError.
 * @module
 */
import {
  AbortedError,
  type EarshotError,
  isEarshotError,
  ProviderError,
  ResponseValidationError,
  TimeoutError,
} from '../../errors.js';
import { type CallControl, networkCode } from './support.js';

/** The `provider` of every error and metric of this adapter. */
export const PROVIDER = 'openai';

/** Statuses worth retrying: request timeout, lock timeout, rate limit, server errors. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

interface HeadersLike {
  get(name: string): string | null;
}

interface OpenAIErrorLike {
  name?: string;
  message?: string;
  status?: number;
  requestID?: string | null;
  headers?: HeadersLike;
  error?: { message?: unknown; code?: unknown; type?: unknown } | null;
  cause?: unknown;
}

function detailOf(e: OpenAIErrorLike): string | undefined {
  const msg = e.error?.message;
  const code = e.error?.code;
  const parts = [
    typeof code === 'string' ? code : undefined,
    typeof msg === 'string' ? msg : undefined,
  ].filter(Boolean);
  return parts.length > 0
    ? parts
        .join(': ')
        .slice(0, 300)
        .replace(/[.\s]+$/, '')
    : undefined;
}

/**
 * The SDK's error classes do not set `name` (it stays `Error`), so recognise them by the
 * constructor names along the prototype chain, without importing the optional SDK here.
 */
function sdkClasses(err: unknown): Set<string> {
  const names = new Set<string>();
  let proto: unknown = err !== null && typeof err === 'object' ? Object.getPrototypeOf(err) : undefined;
  for (let depth = 0; depth < 8 && proto && proto !== Object.prototype; depth++) {
    const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof name === 'string') names.add(name);
    proto = Object.getPrototypeOf(proto);
  }
  return names;
}

function adviceFor(status: number, retryAfter: string | null | undefined): string {
  if (status === 401) return 'Check the OpenAI API key (apiKey option or OPENAI_API_KEY).';
  if (status === 403) return 'This key, organization or project may not use this model or region.';
  if (status === 404) return 'Check the model id and baseURL.';
  if (status === 400 || status === 422) return 'Check the messages, tools and model options.';
  if (status === 429) {
    return `OpenAI is rate-limiting this key${retryAfter ? `; retry after ${retryAfter} s` : ''}, or the quota is used up. Lower concurrency or retry later.`;
  }
  if (status >= 500 || status === 408 || status === 409) return 'OpenAI failed; retrying later may succeed.';
  return 'See the OpenAI error code above.';
}

/** What was being done, for messages, plus how to tell our deadlines apart. */
export interface MapContext {
  /** E.g. `OpenAI chat completion (gpt-4o-mini)`. */
  what: string;
  /** The call's control (caller abort vs. our idle/whole-call deadline). */
  control?: CallControl | undefined;
  /** The deadline our own control enforces, for TimeoutError messages. */
  deadlineMs?: number | undefined;
  /** What the deadline covers, e.g. `between two stream chunks`. */
  deadlineWhat?: string | undefined;
  /** The SDK's time-to-headers timeout. */
  timeoutMs: number;
  /** Request id already known (stream headers), for errors raised mid-stream. */
  requestId?: string | undefined;
}

/** OpenAI answered 2xx with a body or frame that is not what its API documents. */
export function malformed(
  what: string,
  path: string,
  problem: string,
  requestId?: string,
): ResponseValidationError {
  return new ResponseValidationError(
    `${what}: OpenAI sent an unexpected response`,
    [{ path, message: problem }],
    {
      provider: PROVIDER,
      retryable: false,
      ...(requestId ? { requestId } : {}),
    },
  );
}

/** Turns anything the SDK threw into an EarshotError. */
export function mapOpenAIError(err: unknown, ctx: MapContext): EarshotError {
  if (isEarshotError(err)) return err;
  if (ctx.control?.reason === 'aborted') return new AbortedError(`${ctx.what} was aborted.`, { cause: err });
  if (ctx.control?.reason === 'timeout') {
    const ms = ctx.deadlineMs ?? ctx.timeoutMs;
    return new TimeoutError(
      `${ctx.what}: nothing arrived ${ctx.deadlineWhat ?? 'in time'} (${ms} ms). Check the network, or raise the deadline.`,
      ms,
      { cause: err },
    );
  }
  const e = (err ?? {}) as OpenAIErrorLike;
  const classes = sdkClasses(err);
  if (classes.has('APIUserAbortError')) return new AbortedError(`${ctx.what} was aborted.`, { cause: err });
  if (classes.has('APIConnectionTimeoutError')) {
    return new TimeoutError(
      `${ctx.what}: no response headers within ${ctx.timeoutMs} ms. Raise timeoutMs, or check the network.`,
      ctx.timeoutMs,
      { cause: err },
    );
  }
  const requestId = (typeof e.requestID === 'string' && e.requestID) || ctx.requestId || undefined;
  if (typeof e.status === 'number') {
    const detail = detailOf(e);
    const retryAfter = e.headers?.get('retry-after-ms')
      ? `${Number(e.headers.get('retry-after-ms')) / 1000}`
      : e.headers?.get('retry-after');
    return new ProviderError(
      `${ctx.what} failed with HTTP ${e.status}${detail ? `: ${detail}` : ''}. ${adviceFor(e.status, retryAfter)}`,
      {
        provider: PROVIDER,
        status: e.status,
        retryable: isRetryableStatus(e.status),
        ...(requestId ? { requestId } : {}),
      },
      { cause: err },
    );
  }
  if (classes.has('APIError') && !classes.has('APIConnectionError')) {
    // An in-band `data: {"error": ...}` frame: the stream started, then OpenAI reported a failure.
    const detail = detailOf(e) ?? e.message?.replace(/[.\s]+$/, '') ?? 'unknown error';
    return new ProviderError(
      `${ctx.what} failed mid-stream: ${detail}. Retrying may succeed.`,
      { provider: PROVIDER, retryable: true, ...(requestId ? { requestId } : {}) },
      { cause: err },
    );
  }
  if (err instanceof SyntaxError) {
    return malformed(ctx.what, 'body', `not valid JSON (${err.message.slice(0, 120)})`, requestId);
  }
  const code = networkCode(err);
  const midStream = e.name === 'TypeError' && /terminated/i.test(e.message ?? '');
  if (midStream || classes.has('APIConnectionError') || code) {
    return new ProviderError(
      midStream
        ? `${ctx.what}: the connection was cut mid-stream${code ? ` (${code})` : ''}. Retrying may succeed.`
        : `${ctx.what} failed before OpenAI answered (${code ?? e.message ?? 'connection error'}). Check baseURL and the network; retrying may succeed.`,
      { provider: PROVIDER, retryable: true, ...(requestId ? { requestId } : {}) },
      { cause: err },
    );
  }
  return new ProviderError(
    `${ctx.what} failed: ${e.message ?? String(err)}.`,
    { provider: PROVIDER, retryable: false, ...(requestId ? { requestId } : {}) },
    { cause: err },
  );
}
