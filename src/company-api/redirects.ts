/**
 * Redirect policy of the company-API client: same-origin redirects are followed by hand (at
 * most a few), cross-origin ones are refused, so the API key and headers never leave the
 * configured service.
 * @module
 */
import { RequestRejectedError } from '../errors.js';
import { COMPANY_API_PROVIDER } from './contract.js';

/** Statuses of a redirect fetch would follow. */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Same-origin redirects followed per attempt. */
const MAX_REDIRECTS = 5;

/**
 * GET `url` with redirects handled here, not by fetch: a redirect within `baseUrl`'s origin
 * is followed (at most {@link MAX_REDIRECTS}); one to another origin (scheme, host or port)
 * is refused with RequestRejectedError, so the API key and custom headers never leave the
 * configured service and another origin's body is never returned as the company's data.
 * @internal
 */
export async function fetchFollowingSameOrigin(
  fetchFn: typeof globalThis.fetch,
  baseUrl: string,
  headers: Record<string, string>,
  url: string,
  signal: AbortSignal,
  label: string,
): Promise<Response> {
  const origin = new URL(baseUrl).origin;
  let current = url;
  for (let hop = 0; ; hop++) {
    const res = await fetchFn(current, {
      method: 'GET',
      headers,
      signal,
      redirect: 'manual',
    });
    // A custom fetch may follow redirects itself: judge where the answer really came from.
    if (res.redirected && res.url && new URL(res.url).origin !== origin) {
      await res.body?.cancel().catch(() => {});
      throw crossOriginError(label, res.status, new URL(res.url).origin);
    }
    if (!REDIRECT_STATUSES.has(res.status)) return res;
    const location = res.headers.get('location');
    await res.body?.cancel().catch(() => {});
    if (!location) return new Response(null, { status: res.status, headers: res.headers });
    let next: URL;
    try {
      next = new URL(location, current);
    } catch {
      throw crossOriginError(label, res.status, 'an invalid URL');
    }
    if (next.origin !== origin) throw crossOriginError(label, res.status, next.origin);
    if (hop >= MAX_REDIRECTS) {
      throw new RequestRejectedError(
        `${label}: more than ${MAX_REDIRECTS} redirects. Point baseUrl at the final address.`,
        { provider: COMPANY_API_PROVIDER, status: res.status, retryable: false },
      );
    }
    current = next.href;
  }
}

function crossOriginError(label: string, status: number, target: string): RequestRejectedError {
  return new RequestRejectedError(
    `${label}: the company API redirected (HTTP ${status}) to another origin (${target}). ` +
      'earshot does not follow cross-origin redirects, so the API key and headers are not sent ' +
      'there; point baseUrl at the service that should answer.',
    { provider: COMPANY_API_PROVIDER, status, retryable: false },
  );
}
