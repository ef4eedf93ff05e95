/**
 * A wire-compatible fake of ElevenLabs' text-to-speech API, close enough that the real
 * `@elevenlabs/elevenlabs-js` (and the legacy `elevenlabs` package) works against it:
 *
 * - `POST /v1/text-to-speech/:voice_id/stream` and `POST /v1/text-to-speech/:voice_id`: a JSON
 *   body (`text`, `model_id`, `voice_settings`...), query `output_format` (default
 *   `mp3_44100_128`, as ElevenLabs) and `optimize_streaming_latency`; the answer is a chunked
 *   audio body paced at `audioRate` × real time after a time-to-first-byte drawn from `latency`,
 *   with `request-id`, `character-cost` and `x-character-count` headers.
 * - `GET /v1/text-to-speech/:voice_id/stream-input` upgraded to a WebSocket: the stream-input
 *   protocol (an init message with `text: " "`, text messages with `flush` /
 *   `try_trigger_generation`, `chunk_length_schedule`, `{"text": ""}` to end), answered with
 *   `{ audio: <base64>, normalizedAlignment, alignment }` messages (alignment, spelled
 *   `charsDurationsMs` as in the spec, on a generation's first chunk only; never `null`), then
 *   `{ isFinal: true }` and close 1000. The key may come in the header or in the first message
 *   (`xi-api-key`, the spec's and SDK's spelling, or `xi_api_key`). Errors arrive in-band as
 *   `{ message, error, code }` followed by close 1008 (missing key, `inactivity_timeout`).
 * - `GET /v1/text-to-speech/:voice_id/multi-stream-input`: many contexts over one connection
 *   (`context_id`, `flush`, `close_context`, `close_socket`, a final message per context); see
 *   `fake-elevenlabs-multi.ts`.
 * - `GET /v1/models`: the models list (the cheapest authenticated request, which
 *   `ElevenLabsTextToSpeech.prewarm()` sends to open a kept-alive HTTP connection).
 * - `connectLatencyMs` delays every new connection (WebSocket upgrade, or the first HTTP request
 *   on a socket): the TCP/TLS cost a kept-alive connection or a reused WebSocket does not pay.
 *
 * The audio is made by `synthesizeFakeSpeech(text, { format })` (for `mp3_*`/`opus_*` formats it
 * is fake: marked PCM at that sample rate), so it carries its text and the fake Deepgram reads it
 * back: a TTS → STT round trip works.
 *
 * Faults (`faults`; routes `stream`, `convert`, `stream-input`, `multi-stream-input`): `error` / `rateLimit` answer
 * with that status (WebSocket: refuse the handshake, or send an in-band error when
 * `wsErrorsInBand` is set), `slow` adds delay before the first byte, `timeout` stalls after
 * `faultAfterChunks` audio chunks (0: before the headers), `reset` drops the connection after
 * `faultAfterChunks` chunks, `malformed` answers 200 with an HTML error page (WebSocket: one
 * frame that is not JSON).
 *
 * @example
 * ```ts
 * import { ElevenLabsClient } from '@elevenlabs/elevenlabs-js';
 * const fake = await startFakeElevenLabs({ latency: 80, audioRate: 4 });
 * const el = new ElevenLabsClient({ apiKey: 'test-key', baseUrl: fake.url, maxRetries: 0 });
 * const audio = await el.textToSpeech.stream('voice1', { text: 'Hello.', outputFormat: 'pcm_16000' });
 * ```
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { synthesizeFakeSpeech } from './audio.js';
import { runMultiStreamInput } from './fake-elevenlabs-multi.js';
import { runStreamInput, type StreamInputDeps } from './fake-elevenlabs-stream-input.js';
import {
  chunkAudio,
  connectionOf,
  type FakeRequestRecord,
  fakeServerParts,
  faultHeaders,
  listenOptionsOf,
  pacingMs,
  parseQuery,
  type RequestLog,
  readBody,
  rejectUpgrade,
  sendJson,
  sleepWhile,
  startServer,
  withSettings,
} from './fake-provider-kit.js';
import {
  type FaultInjector,
  type FaultProfile,
  type LatencyModel,
  type LatencyProfile,
  resetConnection,
  waitUnlessClosed,
} from './latency.js';

/** Options of {@link startFakeElevenLabs}. */
export interface FakeElevenLabsOptions {
  /** Port to listen on. Default 0 (an ephemeral port). */
  port?: number;
  /** Interface to bind. Default `127.0.0.1`. */
  host?: string;
  /** Time to first audio byte of each answer (WebSocket: of each generation). Default none. */
  latency?: LatencyProfile;
  /** Injected faults; routes `stream`, `convert`, `stream-input`. Default none. */
  faults?: FaultProfile;
  /** Seed of the latency and fault draws. Default 1. */
  seed?: number | string;
  /** When set, only this key is accepted (others get 401). Default: any non-empty key. */
  apiKey?: string;
  /** Known voice ids; others get 404 `voice_not_found`. Default: every voice id exists. */
  voices?: readonly string[];
  /** Audio sent per wall-clock second, as a multiple of real time. Default `Infinity` (no pacing). */
  audioRate?: number;
  /** Audio per chunk, in ms. Default 100. */
  chunkMs?: number;
  /** Spoken ms per character of the fake audio. Default 55. */
  msPerChar?: number;
  /** Audio chunks sent before a mid-stream fault (`timeout`, `reset`, WebSocket `malformed`). Default 1. */
  faultAfterChunks?: number;
  /** WebSocket `error`/`rateLimit` faults as in-band error messages instead of a refused handshake. Default false. */
  wsErrorsInBand?: boolean;
  /**
   * Cost of a new connection in ms: each WebSocket upgrade and the first HTTP request on a new
   * socket wait this long first; requests on a kept-alive socket and messages on an open
   * WebSocket do not. Default 0.
   */
  connectLatencyMs?: number;
}

/** Counters of a fake ElevenLabs server. */
export interface FakeElevenLabsStats {
  /** Characters synthesized (every route). */
  characters: number;
  /** Audio bytes sent (every route). */
  audioBytes: number;
  /** WebSocket sessions accepted (stream-input and multi-stream-input). */
  sessions: number;
  /** WebSocket sessions open right now. */
  open: number;
  /** multi-stream-input contexts opened. */
  contexts: number;
  /**
   * Audio bytes of abandoned multi-stream-input contexts (a `close_context` not right after an
   * end-of-input flush `{ text: "", flush: true }`, or a second `close_context`: the client
   * stopped early, e.g. barge-in) sent after that `close_context`:
   * generations already started finish, as ElevenLabs' protocol says, and the client drops them.
   */
  audioBytesAfterAbandon: number;
}

/** A running fake ElevenLabs server. */
export interface FakeElevenLabs {
  /** `http://127.0.0.1:<port>`: pass it as `baseUrl`. */
  readonly url: string;
  readonly port: number;
  /** Time-to-first-byte model; `fake.latency.set(...)` switches it at runtime. */
  readonly latency: LatencyModel;
  /** The fault injector; `fake.faults.set(...)` / `fake.faults.enqueue(...)` at runtime. */
  readonly faults: FaultInjector;
  /** Every request received, without credentials. */
  readonly requests: RequestLog;
  readonly stats: Readonly<FakeElevenLabsStats>;
  /** Mutable at runtime: pacing, chunk size, fault position, in-band WebSocket errors. */
  audioRate: number;
  chunkMs: number;
  faultAfterChunks: number;
  wsErrorsInBand: boolean;
  connectLatencyMs: number;
  /** TCP connections accepted since start (a keep-alive client opens few). */
  readonly connections: number;
  /** Closes kept-alive HTTP connections that serve no request (as an idle timeout does; WebSockets stay). Returns how many. */
  dropIdleConnections(): number;
  /** Stops the server and drops every connection. */
  close(): Promise<void>;
}

/** What `GET /v1/models` answers (a subset of ElevenLabs' list, in its wire shape). */
const FAKE_MODELS = [
  { model_id: 'eleven_turbo_v2_5', name: 'Eleven Turbo v2.5', can_do_text_to_speech: true },
  { model_id: 'eleven_flash_v2_5', name: 'Eleven Flash v2.5', can_do_text_to_speech: true },
  { model_id: 'eleven_multilingual_v2', name: 'Eleven Multilingual v2', can_do_text_to_speech: true },
];

const FORMAT = /^(mp3_\d+_\d+|pcm_\d+|ulaw_8000|alaw_8000|opus_48000_\d+)$/;

function contentTypeOf(format: string): string {
  if (format.startsWith('mp3')) return 'audio/mpeg';
  if (format.startsWith('pcm')) return 'audio/pcm';
  if (format.startsWith('ulaw')) return 'audio/basic';
  if (format.startsWith('alaw')) return 'audio/alaw';
  return 'audio/opus';
}

function detail(status: string, message: string) {
  return { detail: { status, message } };
}

function faultBody(status: number) {
  if (status === 429) {
    return detail(
      'too_many_concurrent_requests',
      'Too many concurrent requests: this request exceeds your concurrency limit.',
    );
  }
  if (status === 401) return detail('invalid_api_key', 'Invalid API key');
  if (status >= 500) return detail('internal_server_error', 'Injected fault: the server failed.');
  return detail('bad_request', 'Injected fault.');
}

/**
 * Starts a fake ElevenLabs server (see the module doc).
 *
 * @example
 * ```ts
 * const fake = await startFakeElevenLabs({ latency: { kind: 'distribution', p50Ms: 80, p90Ms: 120 }, audioRate: 4 });
 * fake.faults.enqueue({ kind: 'reset', route: 'stream' }); // the next stream drops after one chunk
 * ```
 */
export async function startFakeElevenLabs(options: FakeElevenLabsOptions = {}): Promise<FakeElevenLabs> {
  const { latency, faults, requests } = fakeServerParts(options);
  const stats: FakeElevenLabsStats = {
    characters: 0,
    audioBytes: 0,
    sessions: 0,
    open: 0,
    contexts: 0,
    audioBytesAfterAbandon: 0,
  };
  const msPerChar = options.msPerChar ?? 55;
  const voices = options.voices ? new Set(options.voices) : undefined;
  const state = {
    audioRate: options.audioRate ?? Number.POSITIVE_INFINITY,
    chunkMs: options.chunkMs ?? 100,
    faultAfterChunks: options.faultAfterChunks ?? 1,
    wsErrorsInBand: options.wsErrorsInBand ?? false,
    connectLatencyMs: options.connectLatencyMs ?? 0,
  };

  const keyProblem = (key: string | undefined): string | undefined => {
    if (!key) return 'needs_authorization';
    if (options.apiKey !== undefined && key !== options.apiKey) return 'invalid_api_key';
    return undefined;
  };
  const keyProblemBody = (problem: string) =>
    problem === 'needs_authorization'
      ? detail(problem, 'Neither authorization header nor xi-api-key received, please provide one.')
      : detail(problem, 'Invalid API key');

  const sessionDeps: StreamInputDeps = {
    latency,
    settings: state,
    stats,
    msPerChar,
    keyProblem,
    keyProblemMessage: (problem) => keyProblemBody(problem).detail.message,
    faultDetail: (status) => faultBody(status).detail,
  };

  type RouteName = 'stream' | 'convert' | 'stream-input' | 'multi-stream-input';
  const route = (url: URL): { name: RouteName; voice: string } | undefined => {
    const m = /^\/v1\/text-to-speech\/([^/]+)(\/stream|\/stream-input|\/multi-stream-input)?\/?$/.exec(
      url.pathname,
    );
    if (!m?.[1]) return undefined;
    const voice = decodeURIComponent(m[1]);
    if (m[2] === '/stream-input') return { name: 'stream-input', voice };
    if (m[2] === '/multi-stream-input') return { name: 'multi-stream-input', voice };
    return { name: m[2] === '/stream' ? 'stream' : 'convert', voice };
  };

  const started = await startServer({
    ...listenOptionsOf(options),
    connectLatencyMs: () => state.connectLatencyMs,
    async onRequest(req, res, url) {
      if (url.pathname === '/v1/models' || url.pathname === '/v1/models/') {
        const record = requests.add({
          transport: 'http',
          method: req.method ?? 'GET',
          path: url.pathname,
          query: parseQuery(url),
          route: 'models',
          atMs: performance.now(),
          ...connectionOf(req),
        });
        const key = req.headers['xi-api-key'];
        const problem = keyProblem(typeof key === 'string' ? key : undefined);
        record.status = problem ? 401 : req.method === 'GET' ? 200 : 405;
        if (problem) sendJson(res, 401, keyProblemBody(problem));
        else if (req.method !== 'GET') sendJson(res, 405, { detail: 'Method Not Allowed' });
        else sendJson(res, 200, FAKE_MODELS);
        return true;
      }
      const r = route(url);
      if (!r || r.name === 'stream-input' || r.name === 'multi-stream-input') return false;
      const record = requests.add({
        transport: 'http',
        method: req.method ?? 'GET',
        path: url.pathname,
        query: parseQuery(url),
        route: r.name,
        atMs: performance.now(),
        ...connectionOf(req),
      });
      if (req.method !== 'POST') {
        record.status = 405;
        sendJson(res, 405, { detail: 'Method Not Allowed' });
        return true;
      }
      await handleHttp(req, res, r.voice, r.name, record);
      return true;
    },
    async onUpgrade(req, socket, url, accept) {
      const r = route(url);
      if (r?.name !== 'stream-input' && r?.name !== 'multi-stream-input') return false;
      const query = parseQuery(url);
      const record = requests.add({
        transport: 'ws',
        method: 'GET',
        path: url.pathname,
        query,
        route: r.name,
        atMs: performance.now(),
        ...connectionOf(req),
      });
      const requestId = randomUUID();
      const headerKey = req.headers['xi-api-key'];
      if (typeof headerKey === 'string') {
        const problem = keyProblem(headerKey);
        if (problem) {
          record.status = 401;
          rejectUpgrade(socket as Socket, 401, keyProblemBody(problem), { 'request-id': requestId });
          return true;
        }
      }
      if (voices && !voices.has(r.voice)) {
        record.status = 404;
        rejectUpgrade(
          socket as Socket,
          404,
          detail('voice_not_found', `A voice with voice_id ${r.voice} was not found.`),
        );
        return true;
      }
      const decision = faults.decide(r.name);
      if ((decision.kind === 'error' || decision.kind === 'rateLimit') && !state.wsErrorsInBand) {
        record.status = decision.status;
        rejectUpgrade(
          socket as Socket,
          decision.status,
          faultBody(decision.status),
          faultHeaders(decision, { 'request-id': requestId }),
        );
        return true;
      }
      const ws = await accept();
      record.status = 101;
      if (r.name === 'multi-stream-input') {
        const format = FORMAT.test(query.output_format ?? '')
          ? (query.output_format as string)
          : 'mp3_44100_128';
        runMultiStreamInput(ws, query, typeof headerKey === 'string', decision, record, format, sessionDeps);
      } else {
        const format = FORMAT.test(query.output_format ?? '')
          ? (query.output_format as string)
          : 'mp3_44100_128';
        runStreamInput(ws, query, typeof headerKey === 'string', decision, record, format, sessionDeps);
      }
      return true;
    },
  });

  async function handleHttp(
    req: IncomingMessage,
    res: ServerResponse,
    voice: string,
    name: 'stream' | 'convert',
    record: FakeRequestRecord,
  ): Promise<void> {
    const requestId = randomUUID();
    const ids = { 'request-id': requestId };
    const raw = await readBody(req);
    const key = req.headers['xi-api-key'];
    const problem = keyProblem(typeof key === 'string' ? key : undefined);
    if (problem) {
      record.status = 401;
      sendJson(res, 401, keyProblemBody(problem), ids);
      return;
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      record.status = 400;
      sendJson(res, 400, detail('invalid_json', 'The request body is not valid JSON.'), ids);
      return;
    }
    record.body = body;
    if (voices && !voices.has(voice)) {
      record.status = 404;
      sendJson(res, 404, detail('voice_not_found', `A voice with voice_id ${voice} was not found.`), ids);
      return;
    }
    const text = body.text;
    if (typeof text !== 'string' || text.length === 0) {
      record.status = 422;
      sendJson(
        res,
        422,
        { detail: [{ type: 'missing', loc: ['body', 'text'], msg: 'Field required' }] },
        ids,
      );
      return;
    }
    const format = record.query.output_format ?? 'mp3_44100_128';
    if (!FORMAT.test(format)) {
      record.status = 422;
      sendJson(res, 422, detail('invalid_output_format', `Unknown output_format ${format}.`), ids);
      return;
    }
    const decision = faults.decide(name);
    if (decision.kind === 'error' || decision.kind === 'rateLimit') {
      record.status = decision.status;
      sendJson(res, decision.status, faultBody(decision.status), faultHeaders(decision, ids));
      return;
    }
    const faultAt = state.faultAfterChunks;
    if ((decision.kind === 'reset' || decision.kind === 'timeout') && faultAt <= 0) {
      record.status = 0;
      if (decision.kind === 'reset') resetConnection(req);
      else if (await waitUnlessClosed(decision.hangMs, res)) resetConnection(req);
      return;
    }
    const ttfb = latency.sample() + (decision.kind === 'slow' ? decision.extraMs : 0);
    if (!(await waitUnlessClosed(ttfb, res))) return;
    if (decision.kind === 'malformed') {
      record.status = 200;
      const page = '<html><body><h1>502 Bad Gateway</h1></body></html>';
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...ids });
      res.end(page);
      return;
    }
    stats.characters += text.length;
    const audio = synthesizeFakeSpeech(text, { format, msPerChar });
    record.status = 200;
    res.writeHead(200, {
      'content-type': contentTypeOf(format),
      'transfer-encoding': 'chunked',
      'character-cost': String(text.length),
      'x-character-count': String(text.length),
      'history-item-id': randomUUID().replace(/-/g, '').slice(0, 20),
      'tts-latency-ms': String(Math.round(ttfb)),
      ...ids,
    });
    const chunks = chunkAudio(audio, format, state.chunkMs);
    const gap = pacingMs(state.chunkMs, state.audioRate);
    const alive = () => !res.destroyed && !res.writableEnded;
    for (let i = 0; i < chunks.length; i++) {
      if (i === faultAt && decision.kind === 'reset') {
        resetConnection(req);
        return;
      }
      if (i === faultAt && decision.kind === 'timeout') {
        if (await waitUnlessClosed(decision.hangMs, res)) resetConnection(req);
        return;
      }
      if (i > 0 && gap > 0 && !(await sleepWhile(gap, alive))) return;
      if (!alive()) return;
      const chunk = chunks[i]!;
      stats.audioBytes += chunk.length;
      res.write(chunk);
    }
    res.end();
  }

  return withSettings(
    {
      url: started.url,
      port: started.port,
      latency,
      faults,
      requests,
      stats,
      get connections() {
        return started.connections;
      },
      dropIdleConnections: () => started.dropIdleConnections(),
      close: () => started.close(),
    },
    state,
  );
}
