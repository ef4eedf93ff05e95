/**
 * Maps what `@deepgram/sdk` throws (DeepgramError with `statusCode`/`body`/`rawResponse`,
 * DeepgramTimeoutError, fetch failures, WebSocket handshake errors) to earshot errors:
 * ProviderError (provider, status, retryable, requestId), TimeoutError, AbortedError.
 * @module
 */
import { type EarshotError, isEarshotError, redactedPrefix } from '../../errors.js';
import {
  type CallControl,
  createProviderErrors,
  type HeadersLike,
  mapFernSdkError,
  networkCode,
  providerError,
} from '../shared/index.js';

/** The `provider` of every error and metric of this adapter. */
export const PROVIDER = 'deepgram';

// Redact before cutting: a cut through a key the server echoed would hide it.
function detailOf(body: unknown): string | undefined {
  if (typeof body === 'string') return redactedPrefix(body, 200) || undefined;
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    const msg = b.err_msg ?? b.message ?? b.reason;
    const code = b.err_code;
    const parts = [
      typeof code === 'string' ? code : undefined,
      typeof msg === 'string' ? msg : undefined,
    ].filter(Boolean);
    if (parts.length > 0) return redactedPrefix(parts.join(': '), 200);
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

function adviceFor(status: number, retryAfter: string | null | undefined): string {
  if (status === 401 || status === 403)
    return 'Check the Deepgram API key (apiKey option or DEEPGRAM_API_KEY).';
  if (status === 402) return 'The Deepgram project is out of credits.';
  if (status === 429) {
    return `Deepgram is rate-limiting this key${retryAfter ? `; retry after ${retryAfter} s` : ''}. Lower concurrency or retry later.`;
  }
  if (status === 408 || status >= 500) return 'Deepgram failed; retrying later may succeed.';
  if (status === 404) return 'Check baseUrl and the model name.';
  return 'Check the model, language and audio format options.';
}

/** The errors for an HTTP status (REST answer or refused handshake) and for a malformed answer. */
const errors = createProviderErrors({ provider: PROVIDER, name: 'Deepgram', advice: adviceFor });
export const { statusError, malformed } = errors;

/**
 * Turns anything the SDK threw into an EarshotError. `control` tells an abort by the caller
 * apart from our own deadline.
 */
export function mapDeepgramError(
  err: unknown,
  ctx: { what: string; timeoutMs: number; control?: CallControl | undefined },
): EarshotError {
  return mapFernSdkError(err, errors, ctx, {
    timeout: `${ctx.what} did not finish within ${ctx.timeoutMs} ms. Raise timeoutMs if the audio is long, or check the network.`,
    statusInfo: ({ body, headers }) => ({ detail: detailOf(body), requestId: requestIdOf(body, headers) }),
    connection: (why) => `${ctx.what} failed before Deepgram answered (${why}). Retrying may succeed.`,
  });
}

/** A WebSocket handshake failure (`Unexpected server response: 401`) or a connect error. */
export function mapHandshakeError(err: unknown, what: string): EarshotError {
  if (isEarshotError(err)) return err;
  const message = String((err as { message?: unknown } | null)?.message ?? err);
  const m = /Unexpected server response: (\d{3})/.exec(message);
  if (m) return statusError(Number(m[1]), what, {}, err);
  return providerError(
    PROVIDER,
    `${what}: the WebSocket could not be opened (${networkCode(err) ?? message}). Check baseUrl and the network.`,
    { retryable: true, cause: err },
  );
}
