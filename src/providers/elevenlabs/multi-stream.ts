/**
 * ElevenLabs' `multi-stream-input` WebSocket (`/v1/text-to-speech/{voice}/multi-stream-input`):
 * one connection kept open and reused across turns, one context (`context_id`) per synthesis.
 * A turn then pays no TCP/TLS/WebSocket handshake, and text goes in while the model writes it.
 *
 * Per synthesis: an init message opens the context, text pieces follow (`flush` on the first
 * piece and on sentence ends by default), then `flush` + `close_context` at the end of input; the context's final message
 * (`isFinal`) ends it. A consumer that stops early (barge-in, abort) sends `close_context` and
 * drops any audio that still arrives for that context; the connection stays for the next turn.
 * An idle connection is closed after `idleConnectionMs` (below the server's inactivity timeout,
 * so no keep-alive traffic is needed). A connection that dies before a synthesis yielded audio
 * is replaced once, within the same deadline, and the text sent so far is replayed.
 *
 * Measured (labels `provider`, `model`, `mode: 'websocket'`, `connection: 'warm' | 'new'`):
 * `tts_ttfb` first text piece → first audio, and `tts` first text piece → the final message.
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { type EarshotError, isEarshotError, TimeoutError } from '../../errors.js';
import { raceAbort } from '../../internal/abort.js';
import type { Labels } from '../../perf/index.js';
import type { AudioChunk } from '../../pipeline/contracts.js';
import { type LatencyRecorder, providerError } from '../shared/index.js';
import { detailOf, malformed, PROVIDER, statusError } from './errors.js';
import type { ElevenLabsUsage, ResolvedElevenLabsOptions } from './options.js';
import type { WsClass } from './sdk.js';
import { alignedText } from './stream-clock.js';
import { frameAudio, readFrame, StreamedSynthesis } from './streamed-synthesis.js';

type Options = Omit<ResolvedElevenLabsOptions, 'apiKey'>;
type Ws = InstanceType<WsClass>;

const RETRYABLE_CLOSE_CODES = new Set([1001, 1005, 1006, 1011, 1012, 1013, 1014]);
const WHAT = 'ElevenLabs multi-stream synthesis';

/** `http(s)://host` → `ws(s)://host/v1/text-to-speech/<voice>/<route>?...` */
export function webSocketUrl(
  baseUrl: string,
  o: Options,
  format: string,
  route: 'stream-input' | 'multi-stream-input',
): string {
  const url = new URL(baseUrl);
  url.protocol = url.protocol === 'http:' || url.protocol === 'ws:' ? 'ws:' : 'wss:';
  url.pathname = `${url.pathname.replace(/\/$/, '')}/v1/text-to-speech/${encodeURIComponent(o.voiceId)}/${route}`;
  url.searchParams.set('model_id', o.modelId);
  url.searchParams.set('output_format', format);
  url.searchParams.set('inactivity_timeout', String(o.inactivityTimeoutSeconds));
  if (o.optimizeStreamingLatency !== undefined) {
    url.searchParams.set('optimize_streaming_latency', String(o.optimizeStreamingLatency));
  }
  if (o.autoMode) url.searchParams.set('auto_mode', 'true');
  if (o.languageCode) url.searchParams.set('language_code', o.languageCode);
  return url.toString();
}

/** The voice settings and chunk schedule, as ElevenLabs' first message of a context spells them. */
export function initSettings(o: Options) {
  const s = o.voiceSettings;
  return {
    voice_settings: {
      stability: s.stability,
      similarity_boost: s.similarityBoost,
      ...(s.style === undefined ? {} : { style: s.style }),
      ...(s.useSpeakerBoost === undefined ? {} : { use_speaker_boost: s.useSpeakerBoost }),
      ...(s.speed === undefined ? {} : { speed: s.speed }),
    },
    generation_config: { chunk_length_schedule: o.chunkLengthSchedule },
  };
}

/** Reads the start of a refused handshake's body (for the error detail). */
export function readSome(res: IncomingMessage, limit = 2048): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const done = () => resolve(text);
    res.setEncoding('utf8');
    res.on('data', (d: string) => {
      if (text.length < limit) text += d;
    });
    res.once('end', done);
    res.once('error', done);
    res.once('close', done);
    setTimeout(done, 1000).unref();
  });
}

/** Where a connection delivers what it receives for one context. */
interface ContextSink {
  /** `text`: what the audio speaks, from the message's alignment (see `alignedText`). */
  audio(bytes: Uint8Array, text: string | undefined): void;
  final(): void;
  fail(err: EarshotError): void;
}

/** Everything a connection needs. */
interface ConnectionParams {
  WebSocket: WsClass;
  url: string;
  apiKey: string;
  timeoutMs: number;
  idleMs: number;
}

/**
 * One multi-stream-input WebSocket shared by every synthesis of an adapter (see the module doc).
 * Internal: created and pooled by `ElevenLabsTextToSpeech`.
 */
export class MultiStreamConnection {
  readonly #ws: Ws;
  readonly #contexts = new Map<string, ContextSink>();
  readonly #opened: Promise<void>;
  readonly #idleMs: number;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #dead = false;
  /** Takes no new contexts; closes once its last context is released. */
  #retired = false;
  #closed: Promise<void>;
  #seq = 0;
  requestId: string | undefined;

  constructor(p: ConnectionParams) {
    this.#idleMs = p.idleMs;
    this.#ws = new p.WebSocket(p.url, {
      headers: { 'xi-api-key': p.apiKey },
      handshakeTimeout: p.timeoutMs,
      perMessageDeflate: false,
    });
    const ws = this.#ws;
    this.#closed = new Promise((resolve) => ws.once('close', () => resolve()));
    this.#opened = new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (req, res) => {
        const requestId =
          typeof res.headers['request-id'] === 'string' ? res.headers['request-id'] : undefined;
        this.requestId = requestId;
        const retryAfter =
          typeof res.headers['retry-after'] === 'string' ? res.headers['retry-after'] : undefined;
        void readSome(res).then((body) => {
          let parsed: unknown = body;
          try {
            parsed = JSON.parse(body);
          } catch {
            // keep the text
          }
          reject(statusError(res.statusCode ?? 0, WHAT, { detail: detailOf(parsed), requestId, retryAfter }));
          req.destroy();
        });
      });
      ws.once('error', (err) => {
        const timedOut = /handshake has timed out/i.test(err.message);
        reject(
          timedOut
            ? new TimeoutError(`${WHAT}: the WebSocket did not open within ${p.timeoutMs} ms.`, p.timeoutMs)
            : providerError(
                PROVIDER,
                `${WHAT}: the WebSocket could not be opened (${(err as { code?: string }).code ?? err.message}). Check baseUrl and the network.`,
                { retryable: true, cause: err },
              ),
        );
      });
    });
    // A failed open is reported to whoever awaits ready(); never an unhandled rejection.
    this.#opened.catch(() => {
      this.#dead = true;
    });
    ws.on('message', (data: unknown, isBinary: boolean) => this.#onMessage(data, isBinary));
    ws.on('close', (code: number, reason: Buffer) => this.#onClose(code, reason));
    ws.on('error', () => {}); // the close event that follows reports it
  }

  /** Resolves once the socket is open (rejects with a mapped error, or AbortedError on `signal`). */
  ready(signal?: AbortSignal): Promise<void> {
    return raceAbort(this.#opened, signal, WHAT);
  }

  /** True while the socket is open (or opening) and takes new contexts. */
  get usable(): boolean {
    return (
      !this.#dead &&
      !this.#retired &&
      (this.#ws.readyState === this.#ws.OPEN || this.#ws.readyState === this.#ws.CONNECTING)
    );
  }

  /** True once the socket is open. */
  get isOpen(): boolean {
    return !this.#dead && this.#ws.readyState === this.#ws.OPEN;
  }

  /** Starts a context: returns its id; `sink` gets its audio, final message or failure. */
  openContext(sink: ContextSink): string {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    const id = `earshot-${++this.#seq}-${Math.random().toString(36).slice(2, 8)}`;
    this.#contexts.set(id, sink);
    return id;
  }

  /**
   * Stops handing this connection to new syntheses: a synthesis on it missed its deadline, so
   * the socket may be stalled (a silent server, a half-open TCP connection) and reusing it would
   * make every later turn wait out the same deadline. Syntheses still on it finish; the socket
   * closes when the last one is released. Idempotent.
   */
  retire(): void {
    this.#retired = true;
    if (this.#contexts.size === 0) void this.close();
  }

  /** Stops delivering a context's messages (audio still in flight for it is dropped). */
  releaseContext(id: string): void {
    this.#contexts.delete(id);
    if (this.#contexts.size === 0 && this.#retired) {
      void this.close();
    } else if (this.#contexts.size === 0 && !this.#dead) {
      if (this.#idleTimer) clearTimeout(this.#idleTimer);
      this.#idleTimer = setTimeout(() => void this.close(), this.#idleMs);
      this.#idleTimer.unref?.();
    }
  }

  /** Sends one protocol message; a socket that is not open drops it (its close event reports why). */
  send(message: Record<string, unknown>): void {
    if (this.#ws.readyState !== this.#ws.OPEN) return;
    try {
      this.#ws.send(JSON.stringify(message));
    } catch {
      // The close event reports the problem.
    }
  }

  /** Closes the connection gracefully (`close_socket`, then a normal close). Idempotent. */
  async close(): Promise<void> {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    this.#dead = true;
    const ws = this.#ws;
    if (ws.readyState === ws.CONNECTING) {
      ws.terminate();
    } else if (ws.readyState === ws.OPEN) {
      this.send({ close_socket: true });
      ws.close(1000);
      const timer = setTimeout(() => ws.terminate(), 2000);
      timer.unref?.();
      await this.#closed;
      clearTimeout(timer);
      return;
    }
    if (ws.readyState !== ws.CLOSED) await this.#closed;
  }

  #failAll(err: EarshotError): void {
    this.#dead = true;
    const sinks = [...this.#contexts.values()];
    this.#contexts.clear();
    for (const s of sinks) s.fail(err);
    if (this.#ws.readyState === this.#ws.OPEN || this.#ws.readyState === this.#ws.CONNECTING)
      this.#ws.terminate();
  }

  #onMessage(data: unknown, isBinary: boolean): void {
    const msg = readFrame(data, isBinary, WHAT, this.requestId);
    if (isEarshotError(msg)) {
      this.#failAll(msg);
      return;
    }
    const rawId = msg.contextId ?? msg.context_id;
    const sink = typeof rawId === 'string' ? this.#contexts.get(rawId) : undefined;
    if (!sink) return; // a context we closed (barge-in) or never opened: its audio is dropped
    const audio = frameAudio(msg, WHAT, this.requestId);
    if (isEarshotError(audio)) {
      this.#failAll(audio);
      return;
    }
    if (audio) sink.audio(audio, alignedText(msg));
    if (msg.isFinal === true || msg.is_final === true) sink.final();
  }

  #onClose(code: number, reason: Buffer): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    const wasDead = this.#dead;
    this.#dead = true;
    if (this.#contexts.size === 0) return;
    const why = reason.length > 0 ? `: ${reason.toString('utf8').slice(0, 120)}` : '';
    this.#failAll(
      providerError(
        PROVIDER,
        `${WHAT}: ElevenLabs closed the WebSocket before the final message (code ${code}${why}).`,
        { retryable: !wasDead || RETRYABLE_CLOSE_CODES.has(code), requestId: this.requestId },
      ),
    );
  }
}

/** What one synthesis needs from the adapter. */
interface MultiStreamSynthesisParams {
  /** The pooled connection (`fresh`: never the current one, after it died). */
  connect(fresh: boolean): { connection: MultiStreamConnection; warm: boolean };
  options: Options;
  format: string;
  monitor: LatencyRecorder;
  labels: Labels;
  signal: AbortSignal | undefined;
  onUsage: ((usage: ElevenLabsUsage) => void) | undefined;
}

interface Attempt {
  connection: MultiStreamConnection;
  contextId: string;
  ended: boolean;
}

/**
 * One synthesis over the pooled connection: yields audio while `text` is still being written.
 * Ends after the context's final message; throws a mapped EarshotError otherwise.
 */
export async function* multiStreamSynthesis(
  text: AsyncIterable<string>,
  p: MultiStreamSynthesisParams,
): AsyncGenerator<AudioChunk> {
  const o = p.options;
  const run = new StreamedSynthesis(WHAT, p);
  const { control, queue, clock } = run;
  const fail = (err: EarshotError) => run.fail(err);
  const sent: { text: string; flush: boolean }[] = [];
  let retried = false;

  const endInput = (a: Attempt) => {
    if (a.ended) return;
    a.ended = true;
    // flush generates what is buffered; close_context then makes ElevenLabs send the final message.
    a.connection.send({ text: '', context_id: a.contextId, flush: true });
    a.connection.send({ context_id: a.contextId, close_context: true });
  };

  let current: Promise<Attempt>;
  const start = async (fresh: boolean): Promise<Attempt> => {
    const { connection, warm } = p.connect(fresh);
    clock.labels = { ...p.labels, connection: warm ? 'warm' : 'new' };
    const a: Attempt = { connection, contextId: '', ended: false };
    a.contextId = connection.openContext({
      audio: (data, spoken) => run.audio(data, spoken),
      final: () => run.final(),
      fail: (err) => {
        // A connection that died before any audio of this synthesis: once, a fresh one.
        const retryable = err instanceof Error && (err as { retryable?: boolean }).retryable === true;
        if (clock.firstAudioAt === undefined && retryable && !retried && !queue.settled) {
          retried = true;
          current = start(true);
          current.catch((e: unknown) =>
            fail(isEarshotError(e) ? e : malformed(WHAT, '(reconnect)', String(e))),
          );
          return;
        }
        fail(err);
      },
    });
    control.arm(o.timeoutMs);
    await connection.ready(control.signal);
    control.disarm();
    connection.send({ text: ' ', context_id: a.contextId, ...initSettings(o) });
    for (const piece of sent) {
      connection.send({ text: piece.text, context_id: a.contextId, ...(piece.flush ? { flush: true } : {}) });
    }
    if (run.inputEnded) {
      endInput(a);
      run.expectAudio();
    } else if (sent.some((s) => s.flush)) run.expectAudio();
    return a;
  };

  current = start(false);
  current.catch((err: unknown) => fail(isEarshotError(err) ? err : malformed(WHAT, '(open)', String(err))));
  try {
    yield* run.stream(text, {
      open: async () => {
        await current;
      },
      send: async (piece, flush) => {
        const a = await current;
        if (!run.live) return false;
        sent.push({ text: piece, flush });
        a.connection.send({ text: piece, context_id: a.contextId, ...(flush ? { flush: true } : {}) });
        return true;
      },
      endInput: async () => endInput(await current),
      done: () => p.onUsage?.({ mode: 'websocket', characters: clock.characters }),
    });
  } finally {
    // Stop this context (no more audio for it); the connection stays for the next turn.
    const a = await current.catch(() => undefined);
    if (a) {
      if (!run.completed) a.connection.send({ context_id: a.contextId, close_context: true });
      // A missed deadline leaves the socket's health unknown: the next turn gets a fresh one.
      if (run.failure instanceof TimeoutError) a.connection.retire();
      a.connection.releaseContext(a.contextId);
    }
  }
}
