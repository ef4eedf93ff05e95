/**
 * A wire-compatible fake of Deepgram's speech-to-text API, close enough that the real
 * `@deepgram/sdk` (v5, and the legacy v4) works against it:
 *
 * - `POST /v1/listen`: prerecorded transcription of an `application/octet-stream` (or any
 *   `audio/*`) body, or of a JSON `{ "url": ... }` body (`data:` URLs and http URLs on
 *   127.0.0.1/localhost are fetched; anything else gets Deepgram's `REMOTE_CONTENT_ERROR`).
 * - `GET /v1/listen` upgraded to a WebSocket: live transcription with interim and final
 *   `Results` (`is_final`, `speech_final`, `from_finalize`), `SpeechStarted` (`vad_events`),
 *   `UtteranceEnd` (`utterance_end_ms`), `KeepAlive` / `Finalize` / `CloseStream` text frames,
 *   and `Metadata` followed by close code 1000 after `CloseStream`.
 * - `GET /v2/listen` upgraded to a WebSocket: Deepgram Flux (`model=flux-general-en`), with
 *   `Connected`, `TurnInfo` (`StartOfTurn`, `Update`, `EagerEndOfTurn` when
 *   `eager_eot_threshold` is set, `TurnResumed`, `EndOfTurn`), `Configure` and the fatal `Error`
 *   message; turn timing from `flux` ({@link FakeDeepgramFluxSettings}, see
 *   `fake-deepgram-flux.ts`). Fault route `flux`.
 *
 * Transcripts come from the audio itself: audio made by `synthesizeFakeSpeech()` carries its
 * text, which {@link transcribeFakeSpeech} reads back, so a TTS → STT round trip works.
 * Without `smart_format` or `punctuate`, transcripts are lower-cased and unpunctuated, as
 * Deepgram's are. Live endpointing works on the audio, as Deepgram's does: `endpointing` ms of
 * silence (all-zero samples) after speech ends the utterance with `speech_final: true`.
 * A `Finalize` is answered (a final with `from_finalize: true`) only when speech is buffered:
 * like Deepgram, the fake sends no reply when its endpointing already flushed the audio.
 * `endOfTurnDelayMs` separates the last final from the end of turn (an empty final with
 * `speech_final: true`, then `UtteranceEnd` when asked for), the way a slower endpointer would;
 * `connectLatencyMs` delays every new connection (WebSocket upgrade or first HTTP request on a
 * socket), the cost of a TCP/TLS handshake that a prewarmed or kept-alive connection skips.
 *
 * Latency (`latency`) is the processing delay before the prerecorded answer and before each
 * live message. Faults (`faults`, routes `transcribe` and `live`): `error` / `rateLimit`
 * answer the request (or refuse the WebSocket handshake) with that status, `slow` adds delay,
 * `timeout` hangs (live: stops sending after `faultAfterMessages` messages), `malformed` sends
 * a broken JSON body (live: one broken text frame), `reset` drops the connection (live:
 * mid-stream, after `faultAfterMessages` messages).
 *
 * @example
 * ```ts
 * import { DeepgramClient } from '@deepgram/sdk';
 * const fake = await startFakeDeepgram();
 * const dg = new DeepgramClient({ apiKey: 'test-key', baseUrl: fake.url, maxRetries: 0 });
 * const audio = synthesizeFakeSpeech('Where is load 2314?');
 * const res = await dg.listen.v1.media.transcribeFile(audio, { model: 'nova-2', smart_format: true });
 * await fake.close();
 * ```
 *
 * The routes live in `fake-deepgram-prerecorded.ts` and `fake-deepgram-live.ts`, over the wire
 * helpers of `fake-deepgram-wire.ts`; this module starts the server and routes to them.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { FAKE_FLUX_DEFAULTS, type FakeDeepgramFluxSettings, runFluxSession } from './fake-deepgram-flux.js';
import { type FakeDeepgramLiveStats, runLiveSession } from './fake-deepgram-live.js';
import { handlePrerecorded } from './fake-deepgram-prerecorded.js';
import { authKey, errorBody } from './fake-deepgram-wire.js';
import {
  connectionOf,
  fakeServerParts,
  faultHeaders,
  listenOptionsOf,
  parseQuery,
  type RequestLog,
  rejectUpgrade,
  sendJson,
  startServer,
  withSettings,
} from './fake-provider-kit.js';
import {
  createRng,
  type FaultInjector,
  type FaultProfile,
  type LatencyModel,
  type LatencyProfile,
} from './latency.js';

/** Options of {@link startFakeDeepgram}. */
export interface FakeDeepgramOptions {
  /** Port to listen on. Default 0 (an ephemeral port). */
  port?: number;
  /** Interface to bind. Default `127.0.0.1`. */
  host?: string;
  /** Processing delay before the prerecorded answer and before each live message. Default none. */
  latency?: LatencyProfile;
  /** Injected faults; route names are `transcribe` (REST) and `live` (WebSocket). Default none. */
  faults?: FaultProfile;
  /** Seed of the latency and fault draws. Default 1. */
  seed?: number | string;
  /** When set, only this API key is accepted (others get 401). Default: any non-empty key. */
  apiKey?: string;
  /**
   * Live sessions are closed (code 1011, `NET-0001`) after this long without audio or a
   * KeepAlive, as Deepgram does after 10 s. Default 10 000 ms.
   */
  idleTimeoutMs?: number;
  /** Live: how many messages are sent before a mid-stream fault (`timeout`, `malformed`, `reset`). Default 1. */
  faultAfterMessages?: number;
  /**
   * Live: wall-clock ms between the final that ends an utterance on endpointing silence and the
   * end of turn (`speech_final: true` on an empty final, then `UtteranceEnd` when
   * `utterance_end_ms` is set). New speech in between cancels it. Default 0: `speech_final` rides
   * on the last final, as today.
   */
  endOfTurnDelayMs?: number;
  /**
   * Cost of a new connection in ms: each WebSocket upgrade and the first HTTP request on a new
   * socket wait this long first; requests on a kept-alive socket do not. Default 0.
   */
  connectLatencyMs?: number;
  /** Flux (`/v2/listen`): when the eager end of turn and the end of turn come, and scripted misses. */
  flux?: Partial<FakeDeepgramFluxSettings>;
}

export type { FakeDeepgramFluxSettings, FakeDeepgramLiveStats };

/** A running fake Deepgram server. */
export interface FakeDeepgram {
  /** `http://127.0.0.1:<port>`: pass it as `baseUrl` (it serves REST and WebSocket). */
  readonly url: string;
  readonly port: number;
  /** The latency model in force; `fake.latency.set(...)` switches it at runtime. */
  readonly latency: LatencyModel;
  /** The fault injector; `fake.faults.set(...)` / `fake.faults.enqueue(...)` at runtime. */
  readonly faults: FaultInjector;
  /** Every request received (REST and WebSocket upgrades), without credentials. */
  readonly requests: RequestLog;
  /** Counters of the live endpoints (`/v1/listen` and Flux's `/v2/listen` together). */
  readonly live: Readonly<FakeDeepgramLiveStats>;
  /** Flux turn timing and scripted misses; change its fields at runtime (`fake.flux.endOfTurnDelayMs = 500`). */
  readonly flux: FakeDeepgramFluxSettings;
  /** Live: messages sent before a mid-stream fault. Mutable at runtime. */
  faultAfterMessages: number;
  /** Live: last final → end of turn, ms (see the option). Mutable at runtime. */
  endOfTurnDelayMs: number;
  /** New connection cost, ms (see the option). Mutable at runtime. */
  connectLatencyMs: number;
  /** TCP connections accepted since start (a keep-alive client opens few). */
  readonly connections: number;
  /** Closes kept-alive HTTP connections that serve no request (as an idle timeout does; WebSockets stay). Returns how many. */
  dropIdleConnections(): number;
  /** Stops the server and drops every connection. */
  close(): Promise<void>;
}

/**
 * Starts a fake Deepgram server (see the module doc).
 *
 * @example
 * ```ts
 * const fake = await startFakeDeepgram({ latency: { kind: 'distribution', p50Ms: 60, p90Ms: 90 } });
 * fake.faults.enqueue({ kind: 'rateLimit', route: 'transcribe' }); // the next REST call gets a 429
 * ```
 */
export async function startFakeDeepgram(options: FakeDeepgramOptions = {}): Promise<FakeDeepgram> {
  const { seed, latency, faults, requests } = fakeServerParts(options);
  const rng = createRng(`${seed}:bodies`);
  const live: FakeDeepgramLiveStats = {
    sessions: 0,
    open: 0,
    audioBytes: 0,
    keepAlives: 0,
    finalizes: 0,
    closeStreams: 0,
  };
  const idleTimeoutMs = options.idleTimeoutMs ?? 10_000;
  const state = {
    faultAfterMessages: options.faultAfterMessages ?? 1,
    endOfTurnDelayMs: options.endOfTurnDelayMs ?? 0,
    connectLatencyMs: options.connectLatencyMs ?? 0,
  };
  const flux: FakeDeepgramFluxSettings = { ...FAKE_FLUX_DEFAULTS, ...options.flux };

  const checkAuth = (req: IncomingMessage): string | undefined => {
    const key = authKey(req);
    if (!key) return 'Missing credentials: send "Authorization: Token <key>".';
    if (options.apiKey !== undefined && key !== options.apiKey) return 'Invalid credentials.';
    return undefined;
  };

  const started = await startServer({
    ...listenOptionsOf(options),
    connectLatencyMs: () => state.connectLatencyMs,
    async onRequest(req, res, url) {
      if (url.pathname !== '/v1/listen' && url.pathname !== '/v1/listen/') return false;
      const query = parseQuery(url);
      const record = requests.add({
        transport: 'http',
        method: req.method ?? 'GET',
        path: url.pathname,
        query,
        route: 'transcribe',
        atMs: performance.now(),
        ...connectionOf(req),
      });
      if (req.method !== 'POST') {
        record.status = 405;
        sendJson(res, 405, { err_code: 'METHOD_NOT_ALLOWED', err_msg: 'Use POST (or a WebSocket upgrade).' });
        return true;
      }
      await handlePrerecorded({ faults, latency, rng, checkAuth }, req, res, query, record);
      return true;
    },
    async onUpgrade(req, socket, url, accept) {
      const path = url.pathname.replace(/\/$/, '');
      if (path !== '/v1/listen' && path !== '/v2/listen') return false;
      const route = path === '/v2/listen' ? 'flux' : 'live';
      const query = parseQuery(url);
      const record = requests.add({
        transport: 'ws',
        method: 'GET',
        path: url.pathname,
        query,
        route,
        atMs: performance.now(),
        ...connectionOf(req),
      });
      const requestId = randomUUID();
      const authProblem = checkAuth(req);
      if (authProblem) {
        record.status = 401;
        rejectUpgrade(socket as Socket, 401, errorBody(401, authProblem, requestId), {
          'dg-request-id': requestId,
        });
        return true;
      }
      const decision = faults.decide(route);
      if (decision.kind === 'error' || decision.kind === 'rateLimit') {
        record.status = decision.status;
        rejectUpgrade(
          socket as Socket,
          decision.status,
          errorBody(decision.status, 'Injected fault.', requestId),
          faultHeaders(decision, { 'dg-request-id': requestId }),
        );
        return true;
      }
      const ws = await accept();
      record.status = 101;
      if (route === 'flux')
        runFluxSession({ latency, live, state, flux, idleTimeoutMs }, ws, query, requestId, decision);
      else runLiveSession({ latency, live, state, idleTimeoutMs }, ws, query, requestId, decision);
      return true;
    },
  });

  return withSettings(
    {
      url: started.url,
      port: started.port,
      latency,
      faults,
      requests,
      live,
      flux,
      get connections() {
        return started.connections;
      },
      dropIdleConnections: () => started.dropIdleConnections(),
      close: () => started.close(),
    },
    state,
  );
}
