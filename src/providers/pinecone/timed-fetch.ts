/**
 * The `fetchApi` handed to the Pinecone SDK: it times every HTTP attempt into the monitor,
 * enforces a deadline on headers and body (the SDK has none), follows the caller's
 * AbortSignal, and notes the status and request id of the last attempt (the SDK's errors
 * drop them: a 5xx with retries off becomes `PineconeMaxRetriesExceededError`).
 *
 * The SDK's methods take no signal, so the per-call state travels in an AsyncLocalStorage:
 * the adapter runs each SDK call inside {@link runPineconeCall}, and this fetch finds it there.
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { CallControl, type CallOutcome, type LatencyRecorder, type StopReason } from '../shared/index.js';
import type { FetchLike } from './options.js';

/** State of one adapter call, shared with the fetches the SDK makes for it. */
export interface PineconeCallState {
  /** The caller's signal. */
  signal?: AbortSignal | undefined;
  /** Deadline of each HTTP attempt, in ms. */
  timeoutMs: number;
  /** HTTP attempts made (more than one with SDK retries). */
  attempts: number;
  /** Status of the last response. */
  status?: number;
  /** Request id of the last response, when Pinecone sent one. */
  requestId?: string;
  /** `retry-after` of the last response. */
  retryAfter?: string;
  /** Why the last attempt was cut, when it was. */
  stopped?: StopReason;
  /**
   * Records the last attempt's sample. Held until the call settles (see
   * {@link settlePineconeCall}): a 2xx whose body the SDK then rejects is a failed call, not an
   * `ok` one.
   */
  lastAttempt?: ((failure?: CallOutcome) => void) | undefined;
  /** The call has settled: later attempts (a call abandoned on abort) record at once. */
  settled?: boolean;
  /** Not a user's call (a prewarm): its attempts are not recorded. */
  unrecorded?: boolean;
}

const storage = new AsyncLocalStorage<PineconeCallState>();

/** Runs `fn` (an SDK call) with `state` visible to the fetches it makes. */
export function runPineconeCall<T>(state: PineconeCallState, fn: () => Promise<T>): Promise<T> {
  return storage.run(state, fn);
}

/**
 * Records the call's last attempt once the call has settled: with its own outcome, or with
 * `failure` when the attempt got a 2xx but the call failed anyway (a body the SDK could not
 * parse), so every failed call counts once as an error in the monitor.
 */
export function settlePineconeCall(state: PineconeCallState, failure?: CallOutcome): void {
  state.settled = true;
  const record = state.lastAttempt;
  state.lastAttempt = undefined;
  record?.(failure);
}

// Statuses whose Response may not carry a body.
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/** Operation name of a Pinecone URL, for metrics: `query`, `upsert`, `delete`, `stats`, `describe_index`... */
function operationOf(url: string, method: string): string {
  let path = url;
  try {
    path = new URL(url).pathname;
  } catch {
    // keep the raw string
  }
  if (path.endsWith('/query')) return 'query';
  if (path.endsWith('/vectors/upsert')) return 'upsert';
  if (path.endsWith('/vectors/delete')) return 'delete';
  if (path.endsWith('/vectors/fetch')) return 'fetch';
  if (path.endsWith('/describe_index_stats')) return 'stats';
  if (/\/indexes\/[^/]+$/.test(path) && method.toUpperCase() === 'GET') return 'describe_index';
  return 'other';
}

/**
 * Wraps `base` for the SDK: each attempt is recorded as `vector_<operation>` (labels
 * `provider: 'pinecone'`, `index`, `outcome`) and cut after `timeoutMs` (headers and body).
 */
export function createTimedFetch(options: {
  base: FetchLike;
  monitor: LatencyRecorder;
  index: string;
  defaultTimeoutMs: number;
}): FetchLike {
  const { base, monitor, index, defaultTimeoutMs } = options;
  return async (input, init) => {
    const state = storage.getStore();
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const op = operationOf(
      url,
      init?.method ?? (typeof input === 'object' && 'method' in input ? input.method : 'GET'),
    );
    const control = new CallControl(state?.signal);
    const sdkSignal = init?.signal ?? undefined;
    const onSdkAbort = () => control.abort('aborted');
    if (sdkSignal?.aborted) onSdkAbort();
    else sdkSignal?.addEventListener('abort', onSdkAbort, { once: true });
    control.arm(state?.timeoutMs ?? defaultTimeoutMs);
    if (state) {
      state.attempts += 1;
      delete state.stopped;
    }
    const started = performance.now();
    let outcome: CallOutcome = 'error';
    try {
      const res = await base(input, { ...init, signal: control.signal });
      // Read the body here, under the same deadline: a stall after the headers is still a stall.
      const body = await res.arrayBuffer();
      if (state) {
        state.status = res.status;
        const requestId = res.headers.get('x-pinecone-request-id') ?? res.headers.get('x-request-id');
        if (requestId) state.requestId = requestId;
        else delete state.requestId;
        const retryAfter = res.headers.get('retry-after');
        if (retryAfter) state.retryAfter = retryAfter;
        else delete state.retryAfter;
      }
      outcome = res.ok ? 'ok' : 'error';
      return new Response(NULL_BODY.has(res.status) ? null : body, {
        status: res.status,
        statusText: res.statusText,
        headers: res.headers,
      });
    } catch (err) {
      const stop = control.stop;
      if (stop) {
        outcome = stop;
        if (state) state.stopped = stop;
      }
      throw err;
    } finally {
      sdkSignal?.removeEventListener('abort', onSdkAbort);
      control.dispose();
      const ms = performance.now() - started;
      const record = (failure?: CallOutcome): void => {
        if (state?.unrecorded === true) return;
        monitor.record(`vector_${op}`, ms, {
          provider: 'pinecone',
          index,
          outcome: outcome === 'ok' && failure !== undefined ? failure : outcome,
        });
      };
      if (state !== undefined && state.settled !== true) {
        // An earlier attempt (SDK retries) is final now: it failed, or there would be no retry.
        state.lastAttempt?.();
        state.lastAttempt = record;
      } else {
        record();
      }
    }
  };
}
