/**
 * Maps what the `openai` SDK throws (APIError and its subclasses with `status`, `requestID`,
 * `headers`; APIConnectionError; APIConnectionTimeoutError; APIUserAbortError; JSON parse
 * errors of broken stream frames; undici's "terminated" when a stream is cut) to earshot
 * errors: ProviderError (provider, status, retryable, requestId), TimeoutError, AbortedError,
 * ResponseValidationError.
 * @module
 */
import { AbortedError, type EarshotError, redactedPrefix, TimeoutError } from '../../errors.js';
import {
  type CallControl,
  createProviderErrors,
  type HeadersLike,
  isRetryableHttpStatus,
  mapStoppedCall,
  networkCode,
  providerError,
} from '../shared/index.js';

/** The `provider` of every error and metric of this adapter. */
export const PROVIDER = 'openai';

/** Statuses worth retrying: request timeout, lock timeout (409), rate limit, server errors. */
export function isRetryableStatus(status: number): boolean {
  return status === 409 || isRetryableHttpStatus(status);
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
  // Redact before cutting: a cut through a key the server echoed would hide it.
  return parts.length > 0 ? redactedPrefix(parts.join(': '), 300).replace(/[.\s]+$/, '') : undefined;
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
interface MapContext {
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

/** The errors for an HTTP status and for an answer that is not what OpenAI documents. */
export const { statusError, malformed } = createProviderErrors({
  provider: PROVIDER,
  name: 'OpenAI',
  advice: adviceFor,
  isRetryable: isRetryableStatus,
});

/** Turns anything the SDK threw into an EarshotError. */
export function mapOpenAIError(err: unknown, ctx: MapContext): EarshotError {
  const ms = ctx.deadlineMs ?? ctx.timeoutMs;
  const stopped = mapStoppedCall(err, ctx.control?.stop, ctx.what, {
    ms,
    message: `${ctx.what}: nothing arrived ${ctx.deadlineWhat ?? 'in time'} (${ms} ms). Check the network, or raise the deadline.`,
  });
  if (stopped) return stopped;
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
    return statusError(e.status, ctx.what, { detail, requestId, retryAfter }, err);
  }
  if (classes.has('APIError') && !classes.has('APIConnectionError')) {
    // An in-band `data: {"error": ...}` frame: the stream started, then OpenAI reported a failure.
    const detail = detailOf(e) ?? e.message?.replace(/[.\s]+$/, '') ?? 'unknown error';
    return providerError(PROVIDER, `${ctx.what} failed mid-stream: ${detail}. Retrying may succeed.`, {
      retryable: true,
      requestId,
      cause: err,
    });
  }
  if (err instanceof SyntaxError) {
    return malformed(ctx.what, 'body', `not valid JSON (${redactedPrefix(err.message, 120)})`, requestId);
  }
  const code = networkCode(err);
  const midStream = e.name === 'TypeError' && /terminated/i.test(e.message ?? '');
  if (midStream || classes.has('APIConnectionError') || code) {
    return providerError(
      PROVIDER,
      midStream
        ? `${ctx.what}: the connection was cut mid-stream${code ? ` (${code})` : ''}. Retrying may succeed.`
        : `${ctx.what} failed before OpenAI answered (${code ?? e.message ?? 'connection error'}). Check baseURL and the network; retrying may succeed.`,
      { retryable: true, requestId, cause: err },
    );
  }
  return providerError(PROVIDER, `${ctx.what} failed: ${e.message ?? String(err)}.`, {
    retryable: false,
    requestId,
    cause: err,
  });
}
