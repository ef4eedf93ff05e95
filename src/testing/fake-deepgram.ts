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
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { RawData, WebSocket } from 'ws';
import { transcribeFakeSpeech } from './audio.js';
import {
  type FakeRequestRecord,
  fakeServerParts,
  faultHeaders,
  listenOptionsOf,
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
  createRng,
  type FaultDecision,
  type FaultInjector,
  type FaultProfile,
  hangThenDrop,
  type LatencyModel,
  type LatencyProfile,
  malformJson,
  resetConnection,
  waitUnlessClosed,
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
}

/** Counters of the live endpoint. */
export interface FakeDeepgramLiveStats {
  /** WebSocket sessions accepted. */
  sessions: number;
  /** Sessions open right now. */
  open: number;
  /** Audio bytes received over every session. */
  audioBytes: number;
  keepAlives: number;
  finalizes: number;
  closeStreams: number;
}

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
  /** Counters of the live endpoint. */
  readonly live: Readonly<FakeDeepgramLiveStats>;
  /** Live: messages sent before a mid-stream fault. Mutable at runtime. */
  faultAfterMessages: number;
  /** Live: last final → end of turn, ms (see the option). Mutable at runtime. */
  endOfTurnDelayMs: number;
  /** New connection cost, ms (see the option). Mutable at runtime. */
  connectLatencyMs: number;
  /** Stops the server and drops every connection. */
  close(): Promise<void>;
}

const SILENCE_MIN_BYTES = 32; // ~1 ms at 16 kHz: shorter zero runs are zero crossings of the tone
const MS_PER_CHAR_ESTIMATE = 55; // synthesizeFakeSpeech's default, used to pace interim words
const INTERIM_EVERY_SECONDS = 0.25;
const UNENDPOINTED_FINAL_MS = 300;

function authKey(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (typeof h === 'string') {
    const m = /^(?:token|bearer)\s+(.+)$/i.exec(h.trim());
    if (m?.[1]) return m[1];
  }
  // Browsers and the legacy SDK on runtimes with a global WebSocket send `token, <key>` as subprotocols.
  const proto = req.headers['sec-websocket-protocol'];
  if (typeof proto === 'string') {
    const parts = proto.split(',').map((p) => p.trim());
    const i = parts.findIndex((p) => p.toLowerCase() === 'token' || p.toLowerCase() === 'bearer');
    if (i >= 0 && parts[i + 1]) return parts[i + 1];
  }
  return undefined;
}

function formatTranscript(text: string, query: Record<string, string>): string {
  const t = text.replace(/\s+/g, ' ').trim();
  if (query.smart_format === 'true' || query.punctuate === 'true') return t;
  return t
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s'-]/gu, '')
    .replace(/\s+/g, ' ')
    .trim();
}

function wordsOf(transcript: string, start: number, duration: number) {
  const words = transcript.split(' ').filter(Boolean);
  const span = Math.max(0, duration - 0.1);
  const each = words.length > 0 ? span / words.length : 0;
  return words.map((w, i) => ({
    word: w.toLowerCase().replace(/[^\p{L}\p{N}'-]/gu, '') || w,
    start: round(start + 0.05 + i * each),
    end: round(start + 0.05 + (i + 1) * each),
    confidence: 0.99,
    punctuated_word: w,
  }));
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function bytesPerSecond(query: Record<string, string>): number {
  const rate = Number(query.sample_rate ?? 16_000) || 16_000;
  const channels = Number(query.channels ?? 1) || 1;
  const enc = query.encoding ?? 'linear16';
  const bytes = enc === 'mulaw' || enc === 'alaw' ? 1 : enc === 'linear32' ? 4 : 2;
  return rate * channels * bytes;
}

function wavDurationSeconds(audio: Uint8Array): number | undefined {
  if (audio.length < 44 || String.fromCharCode(...audio.subarray(0, 4)) !== 'RIFF') return undefined;
  const v = new DataView(audio.buffer, audio.byteOffset, audio.byteLength);
  let o = 12;
  let byteRate = 0;
  while (o + 8 <= audio.length) {
    const id = String.fromCharCode(...audio.subarray(o, o + 4));
    const len = v.getUint32(o + 4, true);
    if (id === 'fmt ') byteRate = v.getUint32(o + 16, true);
    if (id === 'data' && byteRate > 0) return Math.min(len, audio.length - o - 8) / byteRate;
    o += 8 + len + (len % 2);
  }
  return undefined;
}

function modelInfo(model: string) {
  return { name: `2-general-${model}`, version: '2026-01-01.fake', arch: model };
}

function errorBody(status: number, message: string, requestId: string) {
  const code =
    status === 401
      ? 'INVALID_AUTH'
      : status === 429
        ? 'TOO_MANY_REQUESTS'
        : status === 400
          ? 'Bad Request'
          : status >= 500
            ? 'INTERNAL_SERVER_ERROR'
            : 'REQUEST_REJECTED';
  return { err_code: code, err_msg: message, request_id: requestId };
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
  /** Sockets that already paid the connection cost. */
  const connected = new WeakSet<object>();
  const payConnection = async (socket: object): Promise<void> => {
    if (connected.has(socket)) return;
    connected.add(socket);
    if (state.connectLatencyMs > 0) await new Promise((r) => setTimeout(r, state.connectLatencyMs));
  };

  const checkAuth = (req: IncomingMessage): string | undefined => {
    const key = authKey(req);
    if (!key) return 'Missing credentials: send "Authorization: Token <key>".';
    if (options.apiKey !== undefined && key !== options.apiKey) return 'Invalid credentials.';
    return undefined;
  };

  const started = await startServer({
    ...listenOptionsOf(options),
    async onRequest(req, res, url) {
      if (url.pathname !== '/v1/listen' && url.pathname !== '/v1/listen/') return false;
      await payConnection(req.socket);
      const query = parseQuery(url);
      const record = requests.add({
        transport: 'http',
        method: req.method ?? 'GET',
        path: url.pathname,
        query,
        route: 'transcribe',
        atMs: performance.now(),
      });
      if (req.method !== 'POST') {
        record.status = 405;
        sendJson(res, 405, { err_code: 'METHOD_NOT_ALLOWED', err_msg: 'Use POST (or a WebSocket upgrade).' });
        return true;
      }
      await handlePrerecorded(req, res, query, record);
      return true;
    },
    async onUpgrade(req, socket, url, accept) {
      if (url.pathname !== '/v1/listen' && url.pathname !== '/v1/listen/') return false;
      await payConnection(socket);
      const query = parseQuery(url);
      const record = requests.add({
        transport: 'ws',
        method: 'GET',
        path: url.pathname,
        query,
        route: 'live',
        atMs: performance.now(),
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
      const decision = faults.decide('live');
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
      runLiveSession(ws, query, requestId, decision);
      return true;
    },
  });

  async function handlePrerecorded(
    req: IncomingMessage,
    res: ServerResponse,
    query: Record<string, string>,
    record: FakeRequestRecord,
  ): Promise<void> {
    const requestId = randomUUID();
    const ids = { 'dg-request-id': requestId };
    const body = await readBody(req);
    const authProblem = checkAuth(req);
    if (authProblem) {
      record.status = 401;
      sendJson(res, 401, errorBody(401, authProblem, requestId), ids);
      return;
    }
    const decision = faults.decide('transcribe');
    if (decision.kind === 'error' || decision.kind === 'rateLimit') {
      record.status = decision.status;
      sendJson(
        res,
        decision.status,
        errorBody(decision.status, 'Injected fault.', requestId),
        faultHeaders(decision, ids),
      );
      return;
    }
    if (decision.kind === 'reset') {
      record.status = 0;
      resetConnection(req);
      return;
    }
    if (decision.kind === 'timeout') {
      record.status = 0;
      await hangThenDrop(req, res, decision.hangMs);
      return;
    }
    let audio: Uint8Array = body;
    const type = String(req.headers['content-type'] ?? '');
    if (type.includes('application/json')) {
      let parsed: { url?: unknown };
      try {
        parsed = JSON.parse(body.toString('utf8')) as { url?: unknown };
      } catch {
        record.status = 400;
        sendJson(res, 400, errorBody(400, 'Could not parse the JSON body.', requestId), ids);
        return;
      }
      record.body = parsed;
      const fetched = typeof parsed.url === 'string' ? await fetchAudio(parsed.url) : undefined;
      if (!fetched) {
        record.status = 400;
        sendJson(
          res,
          400,
          {
            err_code: 'REMOTE_CONTENT_ERROR',
            err_msg: 'Could not fetch the audio at the given URL.',
            request_id: requestId,
          },
          ids,
        );
        return;
      }
      audio = fetched;
    } else {
      record.body = { bytes: body.length, contentType: type };
    }
    const text = formatTranscript(transcribeFakeSpeech(audio), query);
    const duration = round(wavDurationSeconds(audio) ?? audio.length / bytesPerSecond(query));
    const model = query.model ?? 'base';
    const modelUuid = randomUUID();
    const response = {
      metadata: {
        transaction_key: 'deprecated',
        request_id: requestId,
        sha256: 'fake',
        created: new Date().toISOString(),
        duration,
        channels: 1,
        models: [modelUuid],
        model_info: { [modelUuid]: modelInfo(model) },
      },
      results: {
        channels: [
          {
            alternatives: [
              { transcript: text, confidence: text ? 0.99 : 0, words: wordsOf(text, 0, duration) },
            ],
          },
        ],
      },
    };
    const delay = latency.sample() + (decision.kind === 'slow' ? decision.extraMs : 0);
    if (!(await waitUnlessClosed(delay, res))) return;
    record.status = 200;
    if (decision.kind === 'malformed') {
      sendJson(res, 200, malformJson(response, rng), ids);
      return;
    }
    sendJson(res, 200, response, ids);
  }

  function runLiveSession(
    ws: WebSocket,
    query: Record<string, string>,
    requestId: string,
    decision: FaultDecision,
  ): void {
    live.sessions++;
    live.open++;
    const model = query.model ?? 'base';
    const modelUuid = randomUUID();
    const bps = bytesPerSecond(query);
    const interim = query.interim_results === 'true';
    const vad = query.vad_events === 'true';
    const endpointingMs = query.endpointing === 'false' ? undefined : Number(query.endpointing ?? 10);
    const utteranceEndMs = query.utterance_end_ms ? Number(query.utterance_end_ms) : undefined;
    const extraMs = decision.kind === 'slow' ? decision.extraMs : 0;

    let totalBytes = 0;
    let segment: Buffer[] = [];
    let segmentBytes = 0;
    let segmentStartSec = 0;
    let speechInSegment = false;
    let silenceBytes = 0; // trailing silence in the current segment (or since the last word)
    let lastInterimAt = 0;
    let lastInterimText = '';
    let lastWordEndSec: number | undefined; // set by a final with words, cleared by UtteranceEnd
    let sent = 0;
    let stalled = false;
    let closing = false;
    let chain: Promise<void> = Promise.resolve();
    const alive = () => ws.readyState === ws.OPEN;

    const resultMessage = (
      text: string,
      flags: { isFinal: boolean; speechFinal: boolean; fromFinalize: boolean },
      start: number,
      duration: number,
      speechDuration = duration,
    ) => ({
      type: 'Results',
      channel_index: [0, 1],
      duration: round(duration),
      start: round(start),
      is_final: flags.isFinal,
      speech_final: flags.speechFinal,
      from_finalize: flags.fromFinalize,
      channel: {
        alternatives: [
          { transcript: text, confidence: text ? 0.99 : 0, words: wordsOf(text, start, speechDuration) },
        ],
      },
      metadata: { request_id: requestId, model_info: modelInfo(model), model_uuid: modelUuid },
    });

    // Every outgoing message goes through one chain so order is kept whatever the delays.
    const emit = (message: object, delayed = true): Promise<void> => {
      chain = chain.then(async () => {
        if (!alive() || stalled) return;
        if (delayed && !(await sleepWhile(latency.sample() + extraMs, alive))) return;
        if (stalled) return;
        if (sent >= state.faultAfterMessages) {
          if (decision.kind === 'reset') {
            ws.terminate();
            return;
          }
          if (decision.kind === 'timeout') {
            stalled = true;
            setTimeout(() => ws.terminate(), decision.hangMs).unref();
            return;
          }
          if (decision.kind === 'malformed' && sent === state.faultAfterMessages) {
            sent++;
            ws.send(JSON.stringify(message).slice(0, 25));
            return;
          }
        }
        sent++;
        ws.send(JSON.stringify(message));
      });
      return chain;
    };

    const emitFinal = (flags: { speechFinal: boolean; fromFinalize: boolean }) => {
      const audio = Buffer.concat(segment, segmentBytes);
      const text = formatTranscript(transcribeFakeSpeech(audio), query);
      const duration = segmentBytes / bps;
      const speechDuration = (segmentBytes - silenceBytes) / bps;
      emit(resultMessage(text, { isFinal: true, ...flags }, segmentStartSec, duration, speechDuration));
      if (text) lastWordEndSec = segmentStartSec + (segmentBytes - silenceBytes) / bps;
      segment = [];
      segmentBytes = 0;
      segmentStartSec = totalBytes / bps;
      speechInSegment = false;
      silenceBytes = 0;
      lastInterimText = '';
    };

    // The end of turn, held back by endOfTurnDelayMs after the last final (cancelled by new speech).
    let endOfTurn: NodeJS.Timeout | undefined;
    const cancelEndOfTurn = () => {
      if (endOfTurn) clearTimeout(endOfTurn);
      endOfTurn = undefined;
    };
    const endUtterance = () => {
      const delay = state.endOfTurnDelayMs;
      if (delay <= 0) {
        emitFinal({ speechFinal: true, fromFinalize: false });
        return;
      }
      const at = totalBytes / bps;
      emitFinal({ speechFinal: false, fromFinalize: false });
      cancelEndOfTurn();
      endOfTurn = setTimeout(() => {
        endOfTurn = undefined;
        emit(resultMessage('', { isFinal: true, speechFinal: true, fromFinalize: false }, at, 0));
        if (utteranceEndMs !== undefined && lastWordEndSec !== undefined) {
          emit({ type: 'UtteranceEnd', channel: [0, 1], last_word_end: round(lastWordEndSec) });
          lastWordEndSec = undefined;
        }
      }, delay);
      endOfTurn.unref();
    };

    let idle: NodeJS.Timeout | undefined;
    const touch = () => {
      if (idle) clearTimeout(idle);
      idle = setTimeout(() => {
        if (alive()) ws.close(1011, 'NET-0001: no audio or KeepAlive received within the timeout window');
      }, idleTimeoutMs);
      idle.unref();
    };
    touch();

    const onAudio = (chunk: Buffer) => {
      live.audioBytes += chunk.length;
      const chunkStartSec = totalBytes / bps;
      totalBytes += chunk.length;
      let trailingZeros = 0;
      for (let i = chunk.length - 1; i >= 0 && chunk[i] === 0; i--) trailingZeros++;
      const allSilent = trailingZeros === chunk.length;
      if (allSilent) {
        if (speechInSegment) {
          segment.push(chunk);
          segmentBytes += chunk.length;
          silenceBytes += chunk.length;
          if (endpointingMs !== undefined && (silenceBytes / bps) * 1000 >= endpointingMs) {
            endUtterance();
          } else if (
            endpointingMs === undefined &&
            utteranceEndMs !== undefined &&
            (silenceBytes / bps) * 1000 >= UNENDPOINTED_FINAL_MS
          ) {
            // Without endpointing Deepgram still finalizes segments (never speech_final); the end
            // of the utterance then comes from UtteranceEnd alone.
            emitFinal({ speechFinal: false, fromFinalize: false });
          }
        } else {
          segmentStartSec = totalBytes / bps;
        }
        if (
          utteranceEndMs !== undefined &&
          lastWordEndSec !== undefined &&
          !speechInSegment &&
          (totalBytes / bps - lastWordEndSec) * 1000 >= utteranceEndMs
        ) {
          emit({ type: 'UtteranceEnd', channel: [0, 1], last_word_end: round(lastWordEndSec) });
          lastWordEndSec = undefined;
        }
        return;
      }
      if (!speechInSegment) {
        speechInSegment = true;
        cancelEndOfTurn();
        if (vad) emit({ type: 'SpeechStarted', channel: [0, 1], timestamp: round(chunkStartSec) });
      }
      segment.push(chunk);
      segmentBytes += chunk.length;
      silenceBytes = trailingZeros >= SILENCE_MIN_BYTES ? trailingZeros : 0;
      if (interim && (totalBytes - lastInterimAt) / bps >= INTERIM_EVERY_SECONDS) {
        lastInterimAt = totalBytes;
        const full = formatTranscript(transcribeFakeSpeech(Buffer.concat(segment, segmentBytes)), query);
        const words = full.split(' ').filter(Boolean);
        const expectedSec = (full.length * MS_PER_CHAR_ESTIMATE) / 1000;
        const share = expectedSec > 0 ? Math.min(1, segmentBytes / bps / expectedSec) : 1;
        const partial = words.slice(0, Math.ceil(share * words.length)).join(' ');
        if (partial && partial !== lastInterimText) {
          lastInterimText = partial;
          emit(
            resultMessage(
              partial,
              { isFinal: false, speechFinal: false, fromFinalize: false },
              segmentStartSec,
              segmentBytes / bps,
            ),
          );
        }
      }
    };

    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (closing) return;
      touch();
      if (isBinary) {
        onAudio(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer));
        return;
      }
      let msg: { type?: unknown };
      try {
        msg = JSON.parse(String(data)) as { type?: unknown };
      } catch {
        return; // Deepgram ignores text frames it cannot read
      }
      if (msg.type === 'KeepAlive') {
        live.keepAlives++;
      } else if (msg.type === 'Finalize') {
        live.finalizes++;
        // Deepgram does not guarantee a reply when nothing significant is buffered: the fake
        // replies only when speech is waiting to be transcribed.
        if (speechInSegment && segmentBytes > silenceBytes)
          emitFinal({ speechFinal: false, fromFinalize: true });
      } else if (msg.type === 'CloseStream') {
        live.closeStreams++;
        closing = true;
        if (segmentBytes > 0 && speechInSegment) emitFinal({ speechFinal: true, fromFinalize: false });
        emit({
          type: 'Metadata',
          transaction_key: 'deprecated',
          request_id: requestId,
          sha256: 'fake',
          created: new Date().toISOString(),
          duration: round(totalBytes / bps),
          channels: Number(query.channels ?? 1) || 1,
          models: [modelUuid],
          model_info: { [modelUuid]: modelInfo(model) },
        }).then(() => {
          if (alive() && !stalled) ws.close(1000);
        });
      }
    });
    ws.on('close', () => {
      live.open--;
      if (idle) clearTimeout(idle);
      cancelEndOfTurn();
    });
    ws.on('error', () => {});
  }

  async function fetchAudio(url: string): Promise<Uint8Array | undefined> {
    if (url.startsWith('data:')) {
      const comma = url.indexOf(',');
      if (comma < 0) return undefined;
      const meta = url.slice(5, comma);
      const data = url.slice(comma + 1);
      return meta.endsWith(';base64') ? Buffer.from(data, 'base64') : Buffer.from(decodeURIComponent(data));
    }
    try {
      const u = new URL(url);
      if (!['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)) return undefined;
      const res = await fetch(u);
      if (!res.ok) return undefined;
      return new Uint8Array(await res.arrayBuffer());
    } catch {
      return undefined;
    }
  }

  return withSettings(
    {
      url: started.url,
      port: started.port,
      latency,
      faults,
      requests,
      live,
      close: () => started.close(),
    },
    state,
  );
}
