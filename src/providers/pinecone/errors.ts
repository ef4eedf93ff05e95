/**
 * Maps what the Pinecone SDK throws (PineconeArgumentError, the HTTP-status errors,
 * PineconeMaxRetriesExceededError, PineconeConnectionError, JSON parse failures) to earshot
 * errors, using the status and request id the timed fetch noted (the SDK's errors drop them).
 * @module
 */
import { type EarshotError, InvalidArgumentError, redactedPrefix } from '../../errors.js';
import { createProviderErrors, mapStoppedCall, networkCode, providerError } from '../shared/index.js';
import type { PineconeCallState } from './timed-fetch.js';

/** The `provider` of every error and metric of this adapter. */
export const PROVIDER = 'pinecone';

export { isRetryableHttpStatus as isRetryableStatus } from '../shared/index.js';

function adviceFor(status: number, retryAfter: string | null | undefined): string {
  if (status === 401 || status === 403)
    return 'Check the Pinecone API key (apiKey option or PINECONE_API_KEY).';
  if (status === 404) return 'Check the index host (or indexName) and that the index exists.';
  if (status === 400 || status === 422) return 'Check the vector dimension, topK, namespace and filter.';
  if (status === 429) {
    return `Pinecone is rate-limiting this project${retryAfter ? `; retry after ${retryAfter} s` : ''}. Lower concurrency or retry later.`;
  }
  if (status >= 500 || status === 408) return 'Pinecone failed; retrying later may succeed.';
  return 'See the status above.';
}

export const { statusError, malformed } = createProviderErrors({
  provider: PROVIDER,
  name: 'Pinecone',
  advice: adviceFor,
});

function causes(err: unknown): unknown[] {
  const out: unknown[] = [];
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e; depth++) {
    out.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}

/** Turns anything the SDK threw during a call into an EarshotError. */
export function mapPineconeError(err: unknown, state: PineconeCallState, what: string): EarshotError {
  const stopped = mapStoppedCall(err, state.signal?.aborted ? 'aborted' : state.stopped, what, {
    ms: state.timeoutMs,
    message: `${what}: no complete answer within ${state.timeoutMs} ms. Raise timeoutMs, or check the network and the index host.`,
  });
  if (stopped) return stopped;
  const e = (err ?? {}) as { name?: string; message?: string };
  if (e.name === 'PineconeArgumentError') {
    return new InvalidArgumentError(`${what}: ${e.message ?? 'invalid argument'}`, { cause: err });
  }
  const requestId = state.requestId;
  const status = state.status;
  if (status !== undefined && status >= 400) {
    // For 400/409/422 the SDK's message is Pinecone's own explanation; for the others it is
    // boilerplate (with the URL), or "max retries exceeded" for a 5xx: ours says it better.
    // Redact before cutting: a cut through a key the server echoed would hide it.
    const detail =
      status === 400 || status === 409 || status === 422
        ? redactedPrefix(e.message ?? '', 300) || undefined
        : undefined;
    return statusError(status, what, { detail, requestId, retryAfter: state.retryAfter }, err);
  }
  const chain = causes(err);
  if (status !== undefined && chain.some((c) => c instanceof SyntaxError)) {
    return malformed(what, 'body', 'not valid JSON', requestId, { status, cause: err });
  }
  const code = networkCode(err);
  if (e.name === 'PineconeConnectionError' || code) {
    const tls = code !== undefined && /SSL|TLS|EPROTO|CERT/.test(code);
    return providerError(
      PROVIDER,
      tls
        ? `${what} failed: TLS handshake error (${code}). A host without a scheme is reached over https://; a plain-HTTP server (a fake, a local proxy) needs host with http://.`
        : `${what} failed before Pinecone answered (${code ?? 'connection error'}). Check the index host and the network; retrying may succeed.`,
      { retryable: !tls, cause: err },
    );
  }
  return providerError(PROVIDER, `${what} failed: ${e.message ?? String(err)}`, {
    retryable: false,
    status: status || undefined,
    requestId,
    cause: err,
  });
}
