/**
 * Maps what `@elevenlabs/elevenlabs-js` throws (ElevenLabsError with `statusCode`/`body`/
 * `rawResponse`, ElevenLabsTimeoutError, fetch failures) and what the stream-input WebSocket
 * reports (refused handshakes, in-band `{ message, error }` frames, unexpected closes) to
 * earshot errors: ProviderError (provider, status, retryable, requestId), TimeoutError,
 * AbortedError, ResponseValidationError.
 * @module
 */
import { type EarshotError, type ProviderError, redactedPrefix } from '../../errors.js';
import {
  type CallControl,
  createProviderErrors,
  type HeadersLike,
  mapFernSdkError,
  providerError,
} from '../shared/index.js';

/** The `provider` of every error and metric of this adapter. */
export const PROVIDER = 'elevenlabs';

/**
 * The human part of an ElevenLabs error body (`{ detail: { status, message } }` or a 422 list),
 * redacted before it is cut (a cut through a key the server echoed would hide it).
 */
export function detailOf(body: unknown): string | undefined {
  if (typeof body === 'string') return redactedPrefix(body, 200) || undefined;
  if (!body || typeof body !== 'object') return undefined;
  const d = (body as { detail?: unknown }).detail;
  if (typeof d === 'string') return redactedPrefix(d, 200);
  if (Array.isArray(d)) {
    return redactedPrefix(
      d
        .map(
          (x: { loc?: unknown; msg?: unknown }) =>
            `${Array.isArray(x.loc) ? x.loc.join('.') : '?'}: ${String(x.msg)}`,
        )
        .join('; '),
      200,
    );
  }
  if (d && typeof d === 'object') {
    const { status, message } = d as { status?: unknown; message?: unknown };
    return (
      redactedPrefix([status, message].filter((x) => typeof x === 'string').join(': '), 200) || undefined
    );
  }
  return undefined;
}

/** The request id ElevenLabs sent (`request-id`; the SDK itself looks at `x-request-id`). */
export function requestIdOf(headers: HeadersLike | undefined): string | undefined {
  return headers?.get('request-id') ?? headers?.get('x-request-id') ?? undefined;
}

function adviceFor(status: number, retryAfter: string | null | undefined): string {
  if (status === 401 || status === 403) {
    return 'Check the ElevenLabs API key (apiKey option or ELEVENLABS_API_KEY) and its quota and permissions.';
  }
  if (status === 404) return 'Check voiceId (and baseUrl).';
  if (status === 422 || status === 400) return 'Check the text, modelId, outputFormat and voiceSettings.';
  if (status === 429) {
    return `ElevenLabs is limiting this key (concurrency or rate)${retryAfter ? `; retry after ${retryAfter} s` : ''}. Lower concurrency or retry later.`;
  }
  if (status === 408 || status >= 500) return 'ElevenLabs failed; retrying later may succeed.';
  return 'See the ElevenLabs API reference for this status.';
}

/**
 * The errors for an HTTP status (HTTP answer or refused handshake) and for an answer that is
 * not audio, or a frame that is not ElevenLabs' protocol.
 */
const errors = createProviderErrors({ provider: PROVIDER, name: 'ElevenLabs', advice: adviceFor });
export const { statusError, malformed } = errors;

/**
 * Turns anything the SDK (or a stream read) threw into an EarshotError. `control` tells an
 * abort by the caller apart from our own deadline.
 */
export function mapElevenLabsError(
  err: unknown,
  ctx: { what: string; timeoutMs: number; control?: CallControl | undefined; requestId?: string | undefined },
): EarshotError {
  return mapFernSdkError(err, errors, ctx, {
    timeout: `${ctx.what}: no audio within ${ctx.timeoutMs} ms (first byte, or the gap between two chunks). Raise timeoutMs or check the network.`,
    statusInfo: ({ body, headers }) => ({ detail: detailOf(body), requestId: requestIdOf(headers) }),
    connection: (why) =>
      `${ctx.what} failed: the connection to ElevenLabs broke (${why}). Retrying may succeed.`,
  });
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
  const message = typeof frame.message === 'string' ? redactedPrefix(frame.message, 300) : 'no message';
  let advice = '';
  if (kind === 'input_timeout_exceeded') advice = ' Send text sooner or raise inactivityTimeoutSeconds.';
  else if (/api_key|authoriz/.test(kind))
    advice = ' Check the ElevenLabs API key (apiKey option or ELEVENLABS_API_KEY).';
  else if (kind === 'quota_exceeded') advice = ' The ElevenLabs account is out of characters.';
  return providerError(PROVIDER, `${what}: ElevenLabs reported ${kind}: ${message}.${advice}`, {
    retryable: RETRYABLE_IN_BAND.has(kind) || frame.code === 1011,
  });
}
