/**
 * Building blocks of the adapters' error mapping: every provider turns what its SDK throws into
 * ProviderError (provider, status, retryable, requestId), ResponseValidationError, TimeoutError
 * or AbortedError with these; the provider-specific part (advice, where the request id hides)
 * stays in each adapter's `errors.ts`.
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
import type { StopReason } from './call-control.js';

/** The part of `Headers` the mappers read. */
export interface HeadersLike {
  get(name: string): string | null;
}

/** Statuses worth retrying: request timeout, rate limit, server errors. */
export function isRetryableHttpStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * The error code of `err` or of one of its causes (`ECONNREFUSED`, `UND_ERR_SOCKET`,
 * `ERR_SSL_WRONG_VERSION_NUMBER`...). Only system-style codes count: a provider's own
 * lower-case codes (`invalid_api_key`) say nothing about the connection.
 */
export function networkCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** What a ProviderError says about the remote call besides its message. */
interface ProviderErrorInfo {
  retryable: boolean;
  status?: number | undefined;
  /** Left out when empty. */
  requestId?: string | undefined;
  cause?: unknown;
}

/**
 * A ProviderError of `provider`, leaving out the fields that are unknown.
 *
 * @example
 * ```ts
 * throw providerError('deepgram', 'Deepgram live socket error (ECONNRESET).', { retryable: true, requestId });
 * ```
 */
export function providerError(provider: string, message: string, info: ProviderErrorInfo): ProviderError {
  return new ProviderError(
    message,
    {
      provider,
      retryable: info.retryable,
      ...(info.status === undefined ? {} : { status: info.status }),
      ...(info.requestId ? { requestId: info.requestId } : {}),
    },
    info.cause === undefined ? {} : { cause: info.cause },
  );
}

/** What is known about an HTTP error answer besides its status. */
export interface StatusInfo {
  /** The provider's explanation (its trailing period is dropped). */
  detail?: string | undefined;
  requestId?: string | undefined;
  /** The `retry-after` header, for the advice of a 429. */
  retryAfter?: string | null | undefined;
}

/**
 * The ProviderError of an HTTP error status: `<what> failed with HTTP <status>: <detail>. <advice>`.
 * `retryable` defaults to {@link isRetryableHttpStatus}.
 *
 * @example
 * ```ts
 * throw httpStatusError('deepgram', 'Deepgram transcription', 401, { advice: 'Check the API key.' });
 * ```
 */
function httpStatusError(
  provider: string,
  what: string,
  status: number,
  info: StatusInfo & { advice: string; retryable?: boolean; cause?: unknown },
): ProviderError {
  const detail = info.detail?.replace(/[.\s]+$/, '');
  return providerError(
    provider,
    `${what} failed with HTTP ${status}${detail ? `: ${detail}` : ''}. ${info.advice}`,
    {
      retryable: info.retryable ?? isRetryableHttpStatus(status),
      status,
      requestId: info.requestId,
      cause: info.cause,
    },
  );
}

/**
 * The provider answered with a body or frame that is not what its API documents.
 * `providerName` is the human name (`Deepgram`), `provider` the label (`deepgram`).
 */
function unexpectedResponse(
  provider: string,
  providerName: string,
  info: {
    what: string;
    path: string;
    problem: string;
    status?: number | undefined;
    requestId?: string | undefined;
    cause?: unknown;
  },
): ResponseValidationError {
  return new ResponseValidationError(
    `${info.what}: ${providerName} sent an unexpected response`,
    [{ path: info.path, message: info.problem }],
    {
      provider,
      retryable: false,
      ...(info.status === undefined ? {} : { status: info.status }),
      ...(info.requestId ? { requestId: info.requestId } : {}),
    },
    info.cause === undefined ? {} : { cause: info.cause },
  );
}

/**
 * The first steps of every adapter's mapping: an EarshotError passes through unchanged; a call
 * that was stopped becomes AbortedError (the caller's signal) or TimeoutError (our deadline,
 * with `timeout.message`). Returns undefined when the provider's own mapping must decide.
 */
export function mapStoppedCall(
  err: unknown,
  stop: StopReason | undefined,
  what: string,
  timeout: { ms: number; message: string },
): EarshotError | undefined {
  if (isEarshotError(err)) return err;
  if (stop === 'aborted') return new AbortedError(`${what} was aborted.`, { cause: err });
  if (stop === 'timeout') return new TimeoutError(timeout.message, timeout.ms, { cause: err });
  return undefined;
}

/** What {@link createProviderErrors} needs to know about a provider. */
interface ProviderErrorsSpec {
  /** The `provider` field and metric label, e.g. `deepgram`. */
  provider: string;
  /** The name in messages, e.g. `Deepgram`. */
  name: string;
  /** What to do about an HTTP status (`retryAfter`: the `retry-after` header, when sent). */
  advice: (status: number, retryAfter: string | null | undefined) => string;
  /** Default {@link isRetryableHttpStatus}. */
  isRetryable?: (status: number) => boolean;
}

/** The error builders of one provider; see {@link createProviderErrors}. */
export interface ProviderErrors {
  /** The `provider` field and metric label. */
  readonly provider: string;
  /** The name in messages. */
  readonly name: string;
  /** The error for an HTTP error status (an HTTP answer or a refused WebSocket handshake). */
  statusError(status: number, what: string, info?: StatusInfo, cause?: unknown): ProviderError;
  /** The provider answered 2xx with a body or frame that is not what its API documents. */
  malformed(
    what: string,
    path: string,
    problem: string,
    requestId?: string,
    more?: { status?: number | undefined; cause?: unknown },
  ): ResponseValidationError;
}

/**
 * The status and malformed-answer errors of one provider, so every adapter words them the same
 * way and only says what is its own (the advice per status).
 *
 * @example
 * ```ts
 * export const { statusError, malformed } = createProviderErrors({
 *   provider: 'deepgram',
 *   name: 'Deepgram',
 *   advice: (status) => (status === 401 ? 'Check the Deepgram API key.' : 'See the status above.'),
 * });
 * ```
 */
export function createProviderErrors(spec: ProviderErrorsSpec): ProviderErrors {
  const isRetryable = spec.isRetryable ?? isRetryableHttpStatus;
  return {
    provider: spec.provider,
    name: spec.name,
    statusError: (status, what, info = {}, cause) =>
      httpStatusError(spec.provider, what, status, {
        ...info,
        advice: spec.advice(status, info.retryAfter),
        retryable: isRetryable(status),
        cause,
      }),
    malformed: (what, path, problem, requestId, more = {}) =>
      unexpectedResponse(spec.provider, spec.name, { what, path, problem, requestId, ...more }),
  };
}
