/**
 * An HTTP endpoint of the host app as a load-test target (the source design load-tested its
 * backend): one request per iteration over `fetch`, timed to the first byte and to the end of
 * the body.
 * @module
 */
import { connect } from 'node:net';
import { z } from 'zod';
import { InvalidArgumentError, TimeoutError, UpstreamError } from '../errors.js';
import { raceAbort } from '../internal/abort.js';
import { parseLoadOptions } from './options.js';
import { waterfallSchema } from './run-file.js';
import type { Scenario, ScenarioResult } from './types.js';

/** Options of {@link httpScenario}. */
export const httpTargetOptionsSchema = z
  .object({
    /** `http://` or `https://` URL. */
    url: z.string().regex(/^https?:\/\//i, 'must start with http:// or https://'),
    /** Default `GET`, or `POST` when a body is given. */
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']).optional(),
    /** Request body (sent as is; set `content-type` in `headers`). */
    body: z.string().optional(),
    headers: z.record(z.string(), z.string()).default({}),
    /** Per-request deadline. Default 10 000 ms. */
    timeoutMs: z.number().finite().positive().default(10_000),
    /** Scenario name in reports. Default `http`. */
    name: z.string().min(1).default('http'),
    weight: z.number().positive().default(1),
  })
  .strict();

export type HttpTargetOptionsInput = z.input<typeof httpTargetOptionsSchema>;

/** Operation names the HTTP target records: time to response headers, and to the end of the body. */
export const HTTP_OPERATIONS = { ttfb: 'http_ttfb', total: 'http' } as const;

/**
 * A scenario that sends one request per iteration. Records `http_ttfb` and `http` (labels:
 * `status`, `outcome`); a non-2xx status or a network error fails the iteration with an
 * `UpstreamError` (provider `http`, the status, `retryable`). When the response is JSON with a
 * `timeline` field shaped like a pipeline turn timeline, it becomes the iteration's waterfall,
 * so a host app can expose its turns' waterfalls to the report.
 *
 * @example
 * ```ts
 * await runClosedModel({ users: 10, spawnRate: 2, runTimeMs: 30_000,
 *   scenarios: [httpScenario({ url: 'http://localhost:8000/api/turn', method: 'POST', body: '{}' })] });
 * ```
 */
export function httpScenario(input: HttpTargetOptionsInput): Scenario {
  const o = parseLoadOptions(httpTargetOptionsSchema, input, 'HTTP target');
  const method = o.method ?? (o.body === undefined ? 'GET' : 'POST');
  const where = safeUrl(o.url);
  return {
    name: o.name,
    weight: o.weight,
    async run(ctx): Promise<ScenarioResult | undefined> {
      const t0 = performance.now();
      // One controller per request, aborted by a timer this closure holds (a strong reference:
      // `AbortSignal.any([…, AbortSignal.timeout(ms)])` lets the timeout signal be garbage
      // collected on Node 20, and the deadline then never fires) or by the run's stop signal.
      // Both waits also race the abort (src/internal/abort.ts), so a body that ignores it
      // cannot outlive the deadline.
      const controller = new AbortController();
      const timedOut = new TimeoutError(`${where} did not answer within ${o.timeoutMs} ms.`, o.timeoutMs);
      const timer = setTimeout(() => controller.abort(timedOut), o.timeoutMs);
      const onStop = (): void => controller.abort(ctx.signal.reason);
      if (ctx.signal.aborted) onStop();
      else ctx.signal.addEventListener('abort', onStop, { once: true });
      const abortReason = (): unknown => controller.signal.reason;
      try {
        let res: Response;
        try {
          const init: RequestInit = { method, headers: o.headers, signal: controller.signal };
          if (o.body !== undefined) init.body = o.body;
          res = await raceAbort(fetch(o.url, init), controller.signal, abortReason);
        } catch (err) {
          ctx.monitor.record(HTTP_OPERATIONS.total, performance.now() - t0, { status: 0, outcome: 'error' });
          throw networkError(err, where, o.timeoutMs, ctx.signal, controller.signal);
        }
        const ttfb = performance.now() - t0;
        let text: string;
        try {
          text = await raceAbort(res.text(), controller.signal, abortReason);
        } catch (err) {
          ctx.monitor.record(HTTP_OPERATIONS.total, performance.now() - t0, {
            status: res.status,
            outcome: 'error',
          });
          throw networkError(err, where, o.timeoutMs, ctx.signal, controller.signal);
        }
        const outcome = res.ok ? 'ok' : 'error';
        ctx.monitor.record(HTTP_OPERATIONS.ttfb, ttfb, { status: res.status, outcome });
        ctx.monitor.record(HTTP_OPERATIONS.total, performance.now() - t0, { status: res.status, outcome });
        if (!res.ok) {
          throw new UpstreamError(`${method} ${where} answered HTTP ${res.status}.`, {
            provider: 'http',
            status: res.status,
            retryable: res.status === 429 || res.status >= 500,
          });
        }
        return waterfallFrom(text, res.headers.get('content-type'));
      } finally {
        clearTimeout(timer);
        ctx.signal.removeEventListener('abort', onStop);
      }
    },
  };
}

function waterfallFrom(text: string, contentType: string | null): ScenarioResult | undefined {
  if (!contentType?.includes('json') || !text.includes('"timeline"')) return undefined;
  try {
    const body = JSON.parse(text) as { timeline?: unknown };
    const w = waterfallSchema.safeParse(body.timeline);
    return w.success ? { waterfall: w.data } : undefined;
  } catch {
    return undefined;
  }
}

function networkError(
  err: unknown,
  where: string,
  timeoutMs: number,
  stop: AbortSignal,
  request: AbortSignal,
): Error {
  if (stop.aborted) return err as Error;
  const e = err as Error & { cause?: { code?: string } };
  if (err instanceof TimeoutError || request.reason instanceof TimeoutError || e.name === 'TimeoutError') {
    return new UpstreamError(
      `${where} did not answer within ${timeoutMs} ms.`,
      { provider: 'http', retryable: true },
      { cause: err },
    );
  }
  const code = e.cause?.code ?? (e as NodeJS.ErrnoException).code;
  return new UpstreamError(
    `Request to ${where} failed${code ? ` (${code})` : ''}: ${e.message}`,
    { provider: 'http', retryable: true },
    { cause: err },
  );
}

/** The URL without credentials or query, for messages and reports. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * Checks that something accepts TCP connections at `url`'s host and port (no request is
 * sent, so nothing in the app runs). Call it before a run to fail fast with a clear message.
 * @throws InvalidArgumentError for a malformed URL, UpstreamError when nothing answers.
 */
export async function probeUrl(url: string, timeoutMs = 3000): Promise<void> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InvalidArgumentError(`"${url}" is not a URL. Pass --url http://host:port/path.`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new InvalidArgumentError(`--url must be http:// or https://, got ${u.protocol}//.`);
  }
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
  const host = u.hostname.replace(/^\[|\]$/g, '');
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host, port });
    const fail = (why: string, cause?: unknown) => {
      socket.destroy();
      reject(
        new UpstreamError(
          `Cannot reach ${safeUrl(url)} (${why}). Is the app running and listening there? Check --url.`,
          { provider: 'http', retryable: true },
          cause === undefined ? {} : { cause },
        ),
      );
    };
    socket.setTimeout(timeoutMs, () => fail(`no answer within ${timeoutMs} ms`));
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', (err: NodeJS.ErrnoException) =>
      fail(err.code === 'ECONNREFUSED' ? 'connection refused' : (err.code ?? err.message), err),
    );
  });
}
