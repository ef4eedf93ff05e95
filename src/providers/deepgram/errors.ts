/**
 * Maps what `@deepgram/sdk` throws (DeepgramError with `statusCode`/`body`/`rawResponse`,
 * DeepgramTimeoutError, fetch failures, WebSocket handshake errors) to earshot errors:
 * ProviderError (provider, status, retryable, requestId), TimeoutError, AbortedError.
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
import type { CallControl } from './support.js';

/** The `provider` of every error and metric of this adapter. */
export const PROVIDER = 'deepgram';

/** Statuses worth retrying: request timeout, rate limit, server errors. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

interface HeadersLike {
  get(name: string): string | null;
}

interface DeepgramErrorLike {
  name?: string;
  message?: string;
  statusCode?: number;
  body?: unknown;
  rawResponse?: { headers?: HeadersLike };
  cause?: unknown;
}

function detailOf(body: unknown): string | undefined {
  if (typeof body === 'string') return body.slice(0, 200) || undefined;
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    const msg = b.err_msg ?? b.message ?? b.reason;
    const code = b.err_code;
    const parts = [
      typeof code === 'string' ? code : undefined,
      typeof msg === 'string' ? msg : undefined,
    ].filter(Boolean);
    if (parts.length > 0) return parts.join(': ').slice(0, 200);
  }
  return undefined;
}

function requestIdOf(body: unknown, headers: HeadersLike | undefined): string | undefined {
  const fromBody =
    body && typeof body === 'object' ? (body as Record<string, unknown>).request_id : undefined;
  if (typeof fromBody === 'string' && fromBody) return fromBody;
  return (
    headers?.get('dg-request-id') ?? headers?.get('x-request-id') ?? headers?.get('request-id') ?? undefined
  );
}

/** The error for an HTTP status from Deepgram (REST answer or refused WebSocket handshake). */
export function statusError(
  status: number,
  what: string,
  info: {
    detail?: string | undefined;
    requestId?: string | undefined;
    retryAfter?: string | null | undefined;
  } = {},
  cause?: unknown,
): ProviderError {
  const detail = info.detail ? `: ${info.detail.replace(/[.\s]+$/, '')}` : '';
  let advice: string;
  if (status === 401 || status === 403)
    advice = 'Check the Deepgram API key (apiKey option or DEEPGRAM_API_KEY).';
  else if (status === 402) advice = 'The Deepgram project is out of credits.';
  else if (status === 429) {
    advice = `Deepgram is rate-limiting this key${info.retryAfter ? `; retry after ${info.retryAfter} s` : ''}. Lower concurrency or retry later.`;
  } else if (status === 408 || status >= 500) advice = 'Deepgram failed; retrying later may succeed.';
  else if (status === 404) advice = 'Check baseUrl and the model name.';
  else advice = 'Check the model, language and audio format options.';
  return new ProviderError(
    `${what} failed with HTTP ${status}${detail}. ${advice}`,
    {
      provider: PROVIDER,
      status,
      retryable: isRetryableStatus(status),
      ...(info.requestId ? { requestId: info.requestId } : {}),
    },
    cause === undefined ? {} : { cause },
  );
}

function networkCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Turns anything the SDK threw into an EarshotError. `control` tells an abort by the caller
 * apart from our own deadline.
 */
export function mapDeepgramError(
  err: unknown,
  ctx: { what: string; timeoutMs: number; control?: CallControl | undefined },
): EarshotError {
  if (isEarshotError(err)) return err;
  if (ctx.control?.reason === 'aborted') return new AbortedError(`${ctx.what} was aborted.`, { cause: err });
  const e = (err ?? {}) as DeepgramErrorLike;
  if (ctx.control?.reason === 'timeout' || e.name === 'DeepgramTimeoutError') {
    return new TimeoutError(
      `${ctx.what} did not finish within ${ctx.timeoutMs} ms. Raise timeoutMs if the audio is long, or check the network.`,
      ctx.timeoutMs,
      { cause: err },
    );
  }
  if (typeof e.statusCode === 'number') {
    const headers = e.rawResponse?.headers;
    return statusError(
      e.statusCode,
      ctx.what,
      {
        detail: detailOf(e.body),
        requestId: requestIdOf(e.body, headers),
        retryAfter: headers?.get('retry-after'),
      },
      err,
    );
  }
  const code = networkCode(err);
  return new ProviderError(
    `${ctx.what} failed before Deepgram answered (${code ?? e.message ?? 'unknown error'}). Retrying may succeed.`,
    { provider: PROVIDER, retryable: true },
    { cause: err },
  );
}

/** A WebSocket handshake failure (`Unexpected server response: 401`) or a connect error. */
export function mapHandshakeError(err: unknown, what: string): EarshotError {
  if (isEarshotError(err)) return err;
  const message = String((err as { message?: unknown } | null)?.message ?? err);
  const m = /Unexpected server response: (\d{3})/.exec(message);
  if (m) return statusError(Number(m[1]), what, {}, err);
  return new ProviderError(
    `${what}: the WebSocket could not be opened (${networkCode(err) ?? message}). Check baseUrl and the network.`,
    { provider: PROVIDER, retryable: true },
    { cause: err },
  );
}

/** Deepgram answered 2xx with a body or frame that is not what its API documents. */
export function malformed(
  what: string,
  path: string,
  problem: string,
  requestId?: string,
): ResponseValidationError {
  return new ResponseValidationError(
    `${what}: Deepgram sent an unexpected response`,
    [{ path, message: problem }],
    {
      provider: PROVIDER,
      retryable: false,
      ...(requestId ? { requestId } : {}),
    },
  );
}
