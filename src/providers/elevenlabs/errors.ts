/**
 * Maps what `@elevenlabs/elevenlabs-js` throws (ElevenLabsError with `statusCode`/`body`/
 * `rawResponse`, ElevenLabsTimeoutError, fetch failures) and what the stream-input WebSocket
 * reports (refused handshakes, in-band `{ message, error }` frames, unexpected closes) to
 * earshot errors: ProviderError (provider, status, retryable, requestId), TimeoutError,
 * AbortedError, ResponseValidationError.
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
export const PROVIDER = 'elevenlabs';

/** Statuses worth retrying: request timeout, rate limit, server errors. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

interface HeadersLike {
  get(name: string): string | null;
}

/** The human part of an ElevenLabs error body (`{ detail: { status, message } }` or a 422 list). */
export function detailOf(body: unknown): string | undefined {
  if (typeof body === 'string') return body.slice(0, 200) || undefined;
  if (!body || typeof body !== 'object') return undefined;
  const d = (body as { detail?: unknown }).detail;
  if (typeof d === 'string') return d.slice(0, 200);
  if (Array.isArray(d)) {
    return d
      .map(
        (x: { loc?: unknown; msg?: unknown }) =>
          `${Array.isArray(x.loc) ? x.loc.join('.') : '?'}: ${String(x.msg)}`,
      )
      .join('; ')
      .slice(0, 200);
  }
  if (d && typeof d === 'object') {
    const { status, message } = d as { status?: unknown; message?: unknown };
    return (
      [status, message]
        .filter((x) => typeof x === 'string')
        .join(': ')
        .slice(0, 200) || undefined
    );
  }
  return undefined;
}

/** The request id ElevenLabs sent (`request-id`; the SDK itself looks at `x-request-id`). */
export function requestIdOf(headers: HeadersLike | undefined): string | undefined {
  return headers?.get('request-id') ?? headers?.get('x-request-id') ?? undefined;
}

/** The error for an HTTP status from ElevenLabs (HTTP answer or refused WebSocket handshake). */
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
  if (status === 401 || status === 403) {
    advice =
      'Check the ElevenLabs API key (apiKey option or ELEVENLABS_API_KEY) and its quota and permissions.';
  } else if (status === 404) advice = 'Check voiceId (and baseUrl).';
  else if (status === 422 || status === 400)
    advice = 'Check the text, modelId, outputFormat and voiceSettings.';
  else if (status === 429) {
    advice = `ElevenLabs is limiting this key (concurrency or rate)${info.retryAfter ? `; retry after ${info.retryAfter} s` : ''}. Lower concurrency or retry later.`;
  } else if (status === 408 || status >= 500) advice = 'ElevenLabs failed; retrying later may succeed.';
  else advice = 'See the ElevenLabs API reference for this status.';
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
 * Turns anything the SDK (or a stream read) threw into an EarshotError. `control` tells an
 * abort by the caller apart from our own deadline.
 */
export function mapElevenLabsError(
  err: unknown,
  ctx: { what: string; timeoutMs: number; control?: CallControl | undefined; requestId?: string | undefined },
): EarshotError {
  if (isEarshotError(err)) return err;
  if (ctx.control?.reason === 'aborted') return new AbortedError(`${ctx.what} was aborted.`, { cause: err });
  const e = (err ?? {}) as {
    name?: string;
    message?: string;
    statusCode?: number;
    body?: unknown;
    rawResponse?: { headers?: HeadersLike };
  };
  if (ctx.control?.reason === 'timeout' || e.name === 'ElevenLabsTimeoutError') {
    return new TimeoutError(
      `${ctx.what}: no audio within ${ctx.timeoutMs} ms (first byte, or the gap between two chunks). Raise timeoutMs or check the network.`,
      ctx.timeoutMs,
      { cause: err },
    );
  }
  if (typeof e.statusCode === 'number') {
    const headers = e.rawResponse?.headers;
    return statusError(
      e.statusCode,
      ctx.what,
      { detail: detailOf(e.body), requestId: requestIdOf(headers), retryAfter: headers?.get('retry-after') },
      err,
    );
  }
  const code = networkCode(err);
  return new ProviderError(
    `${ctx.what} failed: the connection to ElevenLabs broke (${code ?? e.message ?? 'unknown error'}). Retrying may succeed.`,
    { provider: PROVIDER, retryable: true, ...(ctx.requestId ? { requestId: ctx.requestId } : {}) },
    { cause: err },
  );
}

const RETRYABLE_IN_BAND = new Set([
  'too_many_concurrent_requests',
  'rate_limit_exceeded',
  'system_busy',
  'internal_server_error',
  'service_unavailable',
]);

/** An in-band stream-input error frame (`{ message, error, code }`). */
export function inBandError(
  frame: { message?: unknown; error?: unknown; code?: unknown },
  what: string,
): ProviderError {
  const kind = typeof frame.error === 'string' ? frame.error : 'error';
  const message = typeof frame.message === 'string' ? frame.message.slice(0, 300) : 'no message';
  let advice = '';
  if (kind === 'input_timeout_exceeded') advice = ' Send text sooner or raise inactivityTimeoutSeconds.';
  else if (/api_key|authoriz/.test(kind))
    advice = ' Check the ElevenLabs API key (apiKey option or ELEVENLABS_API_KEY).';
  else if (kind === 'quota_exceeded') advice = ' The ElevenLabs account is out of characters.';
  return new ProviderError(`${what}: ElevenLabs reported ${kind}: ${message}.${advice}`, {
    provider: PROVIDER,
    retryable: RETRYABLE_IN_BAND.has(kind) || frame.code === 1011,
  });
}

/** ElevenLabs answered with something that is not audio, or a frame that is not its protocol. */
export function malformed(
  what: string,
  path: string,
  problem: string,
  requestId?: string,
): ResponseValidationError {
  return new ResponseValidationError(
    `${what}: ElevenLabs sent an unexpected response`,
    [{ path, message: problem }],
    {
      provider: PROVIDER,
      retryable: false,
      ...(requestId ? { requestId } : {}),
    },
  );
}
