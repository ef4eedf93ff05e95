/**
 * The `multi-stream-input` WebSocket of the fake ElevenLabs server
 * (`/v1/text-to-speech/:voice_id/multi-stream-input`, ElevenLabs' asyncapi 1.1.0): many
 * independent contexts over one connection, each with its own text buffer and chunk schedule;
 * contexts generate concurrently (one context's audio never waits behind another's).
 *
 * Client messages (`context_id`; absent means the default context `""`):
 * - `{ text: " ", context_id, voice_settings?, generation_config? }` opens (or re-opens) a context;
 *   any text for an unknown context opens it too.
 * - `{ text, context_id, flush? }` appends text; `flush: true` generates the buffer at once.
 * - `{ text: "", context_id }` without `flush` only keeps the context alive.
 * - `{ context_id, close_context: true }` drops the unflushed text and closes the context:
 *   generations already started finish (as the spec says), then `{ isFinal: true, contextId }`.
 * - `{ close_socket: true }` flushes every context, sends their final messages, closes with 1000.
 *
 * Server messages: `{ audio, contextId, normalizedAlignment?, alignment? }` (alignment only on a
 * generation's first chunk, never `null`), `{ isFinal: true, contextId }`, and in-band errors
 * `{ message, error, code }` followed by a close. Socket-level inactivity (`inactivity_timeout`
 * seconds without any message) ends the connection with `input_timeout_exceeded`.
 * @module
 */
import type { RawData, WebSocket } from 'ws';
import { synthesizeFakeSpeech } from './audio.js';
import { chunkAudio, type FakeRequestRecord, pacingMs, sleepWhile } from './fake-provider-kit.js';
import type { FaultDecision, LatencyModel } from './latency.js';

/** The default chunk schedule of ElevenLabs' generation buffer. */
export const DEFAULT_SCHEDULE = [120, 160, 250, 290];

/** Alignment of one generation, spelled as the spec spells it (`charsDurationsMs`). */
export function alignmentOf(text: string, msPerChar: number) {
  const chars = [...text];
  return {
    chars,
    charStartTimesMs: chars.map((_, i) => Math.round(i * msPerChar)),
    charsDurationsMs: chars.map(() => Math.round(msPerChar)),
  };
}

/** The key a first message carries: `xi-api-key` (the spec's and SDK's spelling), `xi_api_key` or a bearer token. */
export function inMessageKey(msg: Record<string, unknown>): string | undefined {
  for (const k of ['xi-api-key', 'xi_api_key'] as const) if (typeof msg[k] === 'string') return msg[k];
  return typeof msg.authorization === 'string' ? msg.authorization.replace(/^Bearer\s+/i, '') : undefined;
}

/** A message as logged: without credentials. */
export function visibleMessage(msg: Record<string, unknown>): Record<string, unknown> {
  const { 'xi-api-key': _h, xi_api_key: _k, authorization: _a, ...visible } = msg;
  return visible;
}

/**
 * What both WebSocket routes of the fake (stream-input, multi-stream-input) share per session:
 * liveness, an in-band failure, ElevenLabs' inactivity timeout (`inactivity_timeout`, default
 * 20 s) and the injected fault due at a chunk.
 */
/**
 * A client frame as both WebSocket routes read it: a JSON object in a text frame, else
 * undefined (the route then fails the session with `invalid_message`, as ElevenLabs does).
 */
export function readClientFrame(data: RawData, isBinary: boolean): Record<string, unknown> | undefined {
  if (isBinary) return undefined;
  try {
    const msg: unknown = JSON.parse(String(data));
    return msg !== null && typeof msg === 'object' && !Array.isArray(msg)
      ? (msg as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

export class FakeSessionBasics {
  /** A `timeout` fault fired: the session sends nothing more. */
  stalled = false;
  /** Audio chunks sent over the session. */
  chunksSent = 0;
  /** Added latency of a `slow` fault. */
  readonly extraMs: number;
  readonly #ws: WebSocket;
  readonly #decision: FaultDecision;
  readonly #inactivityMs: number;
  #idle: NodeJS.Timeout | undefined;

  constructor(ws: WebSocket, query: Record<string, string>, decision: FaultDecision) {
    this.#ws = ws;
    this.#decision = decision;
    this.#inactivityMs = (Number(query.inactivity_timeout ?? 20) || 20) * 1000;
    this.extraMs = decision.kind === 'slow' ? decision.extraMs : 0;
    this.touch();
  }

  /** The socket is open. */
  readonly alive = (): boolean => this.#ws.readyState === this.#ws.OPEN;

  /** Sends an in-band error and closes, as ElevenLabs does. */
  fail(message: string, error: string, code = 1008): void {
    if (!this.alive()) return;
    this.#ws.send(JSON.stringify({ message, error, code }));
    this.#ws.close(code, error);
  }

  /** Restarts the inactivity timer (a message arrived). */
  touch(): void {
    if (this.#idle) clearTimeout(this.#idle);
    const ms = this.#inactivityMs;
    this.#idle = setTimeout(
      () =>
        this.fail(
          `Have not received new text for ${ms / 1000} seconds. Closing the connection.`,
          'input_timeout_exceeded',
        ),
      ms,
    );
    this.#idle.unref();
  }

  /** Stops the inactivity timer (the socket closed). */
  stop(): void {
    if (this.#idle) clearTimeout(this.#idle);
  }

  /**
   * Applies the injected fault due before the next chunk (`faultAfterChunks`): `reset`
   * terminates, `timeout` stalls then terminates, `malformed` sends `brokenFrame`. False when
   * the generation must stop.
   */
  beforeChunk(faultAfterChunks: number, brokenFrame: string): boolean {
    if (this.chunksSent !== faultAfterChunks) return true;
    const decision = this.#decision;
    if (decision.kind === 'reset') {
      this.#ws.terminate();
      return false;
    }
    if (decision.kind === 'timeout') {
      this.stalled = true;
      setTimeout(() => this.#ws.terminate(), decision.hangMs).unref();
      return false;
    }
    if (decision.kind === 'malformed') this.#ws.send(brokenFrame);
    return true;
  }
}

/** What a multi-stream session needs from the fake server. */
export interface MultiStreamDeps {
  latency: LatencyModel;
  settings: { audioRate: number; chunkMs: number; faultAfterChunks: number };
  stats: {
    characters: number;
    audioBytes: number;
    sessions: number;
    open: number;
    contexts: number;
    audioBytesAfterAbandon: number;
  };
  msPerChar: number;
  /** Why a key is refused, or undefined when it is accepted. */
  keyProblem(key: string | undefined): string | undefined;
  keyProblemMessage(problem: string): string;
}

interface Context {
  buffer: string;
  schedule: number[];
  generation: number;
  closed: boolean;
  /** The last message was an end-of-input flush, `{ text: "", flush: true }` (a `close_context` now is a normal end). */
  flushed: boolean;
  /** Closed without a flush right before: the client stopped early (barge-in). */
  abandoned: boolean;
  /** This context's generations, in order (contexts generate concurrently, as ElevenLabs' do). */
  chain: Promise<void>;
}

/** Runs one multi-stream-input connection (see the module doc). */
export function runMultiStreamInput(
  ws: WebSocket,
  query: Record<string, string>,
  headerAuthed: boolean,
  decision: FaultDecision,
  record: FakeRequestRecord,
  format: string,
  deps: MultiStreamDeps,
): void {
  const received: Record<string, unknown>[] = [];
  record.body = { messages: received };
  const { stats, settings } = deps;
  stats.sessions++;
  stats.open++;
  const session = new FakeSessionBasics(ws, query, decision);
  const { alive } = session;
  const fail = (message: string, error: string, code?: number) => session.fail(message, error, code);
  const contexts = new Map<string, Context>();
  let authed = headerAuthed;
  let closing = false;

  const generate = (contextId: string, ctx: Context, text: string) => {
    const spoken = text.trim();
    if (!spoken) return;
    stats.characters += spoken.length;
    const audio = synthesizeFakeSpeech(spoken, { format, msPerChar: deps.msPerChar });
    const chunks = chunkAudio(audio, format, settings.chunkMs);
    ctx.chain = ctx.chain.then(async () => {
      if (!alive() || session.stalled) return;
      if (!(await sleepWhile(deps.latency.sample() + session.extraMs, alive))) return;
      const gap = pacingMs(settings.chunkMs, settings.audioRate);
      for (let i = 0; i < chunks.length; i++) {
        if (!alive() || session.stalled) return;
        if (!session.beforeChunk(settings.faultAfterChunks, '{"audio": "AAAA", "contextId')) return;
        if (i > 0 && gap > 0 && !(await sleepWhile(gap, alive))) return;
        const chunk = chunks[i] as Uint8Array;
        session.chunksSent++;
        stats.audioBytes += chunk.length;
        if (ctx.abandoned) stats.audioBytesAfterAbandon += chunk.length;
        const alignment = i === 0 ? alignmentOf(spoken, deps.msPerChar) : undefined;
        ws.send(
          JSON.stringify({
            audio: Buffer.from(chunk).toString('base64'),
            contextId,
            ...(alignment ? { normalizedAlignment: alignment, alignment } : {}),
          }),
        );
      }
    });
  };

  const maybeGenerate = (contextId: string, ctx: Context, force: boolean) => {
    const threshold = ctx.schedule[Math.min(ctx.generation, ctx.schedule.length - 1)] ?? 50;
    if (!force && ctx.buffer.length < threshold) return;
    let cut = ctx.buffer.length;
    if (!force) {
      const space = ctx.buffer.lastIndexOf(' ');
      if (space > 0) cut = space + 1;
    }
    const text = ctx.buffer.slice(0, cut);
    ctx.buffer = ctx.buffer.slice(cut);
    ctx.generation++;
    generate(contextId, ctx, text);
  };

  const finish = (contextId: string, ctx: Context) => {
    ctx.chain = ctx.chain.then(() => {
      if (!alive() || session.stalled) return;
      ws.send(JSON.stringify({ isFinal: true, contextId }));
    });
  };

  const open = (contextId: string, msg: Record<string, unknown>): Context => {
    const cfg = msg.generation_config as { chunk_length_schedule?: unknown } | undefined;
    const s = cfg?.chunk_length_schedule;
    const valid =
      Array.isArray(s) && s.length > 0 && s.every((n) => typeof n === 'number' && n >= 50 && n <= 500);
    const ctx: Context = {
      buffer: '',
      schedule: valid ? (s as number[]) : DEFAULT_SCHEDULE,
      generation: 0,
      closed: false,
      flushed: false,
      abandoned: false,
      chain: Promise.resolve(),
    };
    contexts.set(contextId, ctx);
    stats.contexts++;
    return ctx;
  };

  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (closing) return;
    session.touch();
    const msg = readClientFrame(data, isBinary);
    if (!msg) {
      fail('Invalid message: expected a JSON text frame.', 'invalid_message');
      return;
    }
    if (received.length < 500) received.push(visibleMessage(msg));
    if (!authed) {
      const problem = deps.keyProblem(inMessageKey(msg));
      if (problem) {
        fail(deps.keyProblemMessage(problem), problem);
        return;
      }
      authed = true;
    }
    if (msg.close_socket === true) {
      closing = true;
      for (const [id, ctx] of contexts) {
        if (ctx.closed) continue;
        ctx.closed = true;
        if (ctx.buffer.trim()) maybeGenerate(id, ctx, true);
        finish(id, ctx);
      }
      void Promise.all([...contexts.values()].map((c) => c.chain)).then(() => {
        if (alive() && !session.stalled) ws.close(1000);
      });
      return;
    }
    const rawId = msg.context_id ?? msg.contextId;
    const contextId = typeof rawId === 'string' ? rawId : '';
    let ctx = contexts.get(contextId);
    if (msg.close_context === true) {
      if (ctx && !ctx.closed) {
        ctx.closed = true;
        ctx.abandoned = !ctx.flushed;
        ctx.buffer = '';
        finish(contextId, ctx);
      } else if (ctx) {
        // A second close: the client stopped listening to audio still being generated.
        ctx.abandoned = true;
      }
      return;
    }
    if (msg.text !== undefined && msg.text !== null && typeof msg.text !== 'string') {
      fail('Invalid message: "text" must be a string.', 'invalid_message');
      return;
    }
    const text = typeof msg.text === 'string' ? msg.text : '';
    if (!ctx || ctx.closed) {
      ctx = open(contextId, msg);
      if (text === ' ' || text === '') {
        if (msg.flush !== true) return; // the init message carries no speech
      }
    }
    if (text.trim() !== '') ctx.buffer += text;
    ctx.flushed = msg.flush === true && text === '';
    const force = msg.flush === true || query.auto_mode === 'true';
    if (force && !ctx.buffer.trim()) return; // a flush of nothing generates nothing
    if (text === '' && !force) return; // keep-alive of the context
    maybeGenerate(contextId, ctx, force);
  });
  ws.on('close', () => {
    stats.open--;
    session.stop();
  });
  ws.on('error', () => {});
  if (decision.kind === 'error' || decision.kind === 'rateLimit') {
    closing = true;
    fail(
      decision.kind === 'rateLimit' ? 'Too many concurrent requests.' : 'Injected fault: the server failed.',
      decision.kind === 'rateLimit' ? 'too_many_concurrent_requests' : 'internal_server_error',
      decision.kind === 'rateLimit' ? 1008 : 1011,
    );
  }
}
