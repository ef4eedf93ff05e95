/**
 * Reading the errors of the Fern-generated SDKs (`@deepgram/sdk` v5, `@elevenlabs/elevenlabs-js`
 * v2): `<Name>Error` carries `statusCode`, `body` and `rawResponse.headers`; `<Name>TimeoutError`
 * means the SDK's own timeout fired. Read by shape, so the optional SDKs are not imported here.
 * @module
 */
import type { EarshotError } from '../../errors.js';
import type { CallControl } from './call-control.js';
import {
  type HeadersLike,
  mapStoppedCall,
  networkCode,
  type ProviderErrors,
  providerError,
  type StatusInfo,
} from './error-mapping.js';

interface FernErrorLike {
  name?: unknown;
  statusCode?: unknown;
  body?: unknown;
  rawResponse?: { headers?: HeadersLike };
}

/** The HTTP answer behind a Fern SDK error. */
interface FernHttpFailure {
  status: number;
  /** The parsed error body (JSON) or its text. */
  body: unknown;
  headers: HeadersLike | undefined;
}

/**
 * The status, body and headers of a Fern SDK error that carries an HTTP status; undefined for
 * anything else (a connection failure, a timeout).
 *
 * @example
 * ```ts
 * const http = fernHttpFailure(err);
 * if (http) return statusError(http.status, what, { retryAfter: http.headers?.get('retry-after') });
 * ```
 */
function fernHttpFailure(err: unknown): FernHttpFailure | undefined {
  const e = (err ?? {}) as FernErrorLike;
  if (typeof e.statusCode !== 'number') return undefined;
  return { status: e.statusCode, body: e.body, headers: e.rawResponse?.headers };
}

/** True when `err` is the SDK's own timeout (`DeepgramTimeoutError`, `ElevenLabsTimeoutError`). */
function isFernTimeout(err: unknown, sdkName: string): boolean {
  return (err as FernErrorLike | null)?.name === `${sdkName}TimeoutError`;
}

/** The call a Fern SDK error came from. */
interface FernCallContext {
  /** What was being done, for messages. */
  what: string;
  /** The deadline our control (or the SDK's own timeout) enforces. */
  timeoutMs: number;
  /** The call's control: tells the caller's abort apart from our deadline. */
  control?: CallControl | undefined;
  /** A request id already known (stream headers), for a connection that broke mid-stream. */
  requestId?: string | undefined;
}

/** The provider's own part of {@link mapFernSdkError}. */
interface FernWording {
  /** The message of the TimeoutError. */
  timeout: string;
  /** The provider's explanation and request id in an HTTP error answer. */
  statusInfo: (http: FernHttpFailure) => Omit<StatusInfo, 'retryAfter'>;
  /** The message of a failure before any answer; `why` is the network code or the SDK's message. */
  connection: (why: string) => string;
}

/**
 * Turns anything a Fern SDK threw into an EarshotError: AbortedError or TimeoutError when the
 * call was stopped (our control, or the SDK's own `<Name>TimeoutError`, `<Name>` being
 * `errors.name`), the provider's status error for an HTTP answer, else a retryable
 * ProviderError for the broken connection.
 */
export function mapFernSdkError(
  err: unknown,
  errors: ProviderErrors,
  ctx: FernCallContext,
  wording: FernWording,
): EarshotError {
  const stop = ctx.control?.stop ?? (isFernTimeout(err, errors.name) ? 'timeout' : undefined);
  const stopped = mapStoppedCall(err, stop, ctx.what, { ms: ctx.timeoutMs, message: wording.timeout });
  if (stopped) return stopped;
  const http = fernHttpFailure(err);
  if (http) {
    const info = { ...wording.statusInfo(http), retryAfter: http.headers?.get('retry-after') };
    return errors.statusError(http.status, ctx.what, info, err);
  }
  const why = networkCode(err) ?? (err as { message?: string } | null)?.message ?? 'unknown error';
  return providerError(errors.provider, wording.connection(why), {
    retryable: true,
    requestId: ctx.requestId,
    cause: err,
  });
}
