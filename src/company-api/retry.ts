/**
 * Retry policy of the company-API client: which answers are worth another attempt, how long
 * to back off (exponential, half jittered, `Retry-After` honoured), and the errors that say
 * why a call finally gave up.
 * @module
 */
import { redactedPrefix, TimeoutError, UpstreamError } from '../errors.js';
import { COMPANY_API_PROVIDER } from './contract.js';

/** @internal why the last attempt failed, kept for the final error's message. */
export type Failure =
  | { kind: 'status'; status: number; requestId: string | undefined; retryAfterMs: number | undefined }
  | { kind: 'timeout'; error: TimeoutError }
  | { kind: 'network'; error: unknown };

/** @internal the outcome of one attempt. */
export type AttemptResult =
  | { kind: 'response'; status: number; headers: Headers; body: string }
  | { kind: 'timeout'; total: boolean; error: TimeoutError }
  | { kind: 'network'; error: unknown };

// Statuses worth another attempt: the server may answer differently in a moment.
const RETRYABLE_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);
export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status) || (status >= 500 && status !== 501 && status !== 505);
}

/** @internal a `Retry-After` header (seconds or an HTTP date) in ms. */
export function parseRetryAfterMs(value: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

function describeNetworkError(err: unknown): string {
  const cause = (err as { cause?: unknown })?.cause;
  const code = (cause as { code?: unknown })?.code ?? (err as { code?: unknown })?.code;
  if (typeof code === 'string') return `connection failed (${code})`;
  const msg = cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err);
  // Redact before cutting: a cut through a URL's credentials or a key would hide them.
  return `connection failed (${redactedPrefix(msg, 120)})`;
}

function describeFailure(f: Failure): string {
  if (f.kind === 'status') return `HTTP ${f.status}`;
  if (f.kind === 'timeout') return `no answer within ${f.error.timeoutMs} ms`;
  return describeNetworkError(f.error);
}

/**
 * @internal backoff before the retry after attempt `attempt` (0-based): `min(max, base·2ⁿ)`,
 * half of it jittered by `random`, at least the `Retry-After` of a status failure.
 */
export function backoffDelayMs(
  attempt: number,
  backoffBaseMs: number,
  backoffMaxMs: number,
  random: () => number,
  last: Failure,
): number {
  const cap = Math.min(backoffMaxMs, backoffBaseMs * 2 ** attempt);
  let delay = cap / 2 + (random() * cap) / 2;
  if (last.kind === 'status' && last.retryAfterMs !== undefined) delay = Math.max(delay, last.retryAfterMs);
  return delay;
}

/** @internal the error of a call whose total deadline passed. */
export function deadlineError(
  label: string,
  totalMs: number,
  attempts: number,
  last: Failure | undefined,
): TimeoutError {
  const lastText = last ? `; before that: ${describeFailure(last)}` : '';
  return new TimeoutError(
    `${label} did not finish within its ${totalMs} ms deadline (${attempts} attempt(s)${lastText}). ` +
      'Raise timeoutMs or check the service.',
    totalMs,
  );
}

/** @internal the error of a call that ran out of retries (or of time for one). */
export function upstreamError(label: string, started: number, last: Failure, why: string): UpstreamError {
  const ms = Math.round(performance.now() - started);
  const status = last.kind === 'status' ? last.status : undefined;
  const requestId = last.kind === 'status' ? last.requestId : undefined;
  return new UpstreamError(
    `${label} failed ${why} in ${ms} ms; last: ${describeFailure(last)}. The service may be down or overloaded; try again later.`,
    {
      provider: COMPANY_API_PROVIDER,
      retryable: true,
      ...(status !== undefined ? { status } : {}),
      ...(requestId ? { requestId } : {}),
    },
    last.kind === 'status' ? {} : { cause: last.error },
  );
}
