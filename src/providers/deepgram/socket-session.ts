/**
 * What both of Deepgram's live WebSockets share, as the base of their sessions: `/v1/listen`
 * (`DeepgramLiveSession`, nova models) and Flux's `/v2/listen` (`DeepgramFluxSession`).
 * Opening under a deadline, sending audio with a timeline of when each byte left (so an audio
 * offset the server reports maps back to wall-clock time), `close()` with `CloseStream`, an
 * abort signal, the SDK's reconnects, and the mapping of drops, socket errors and closes to
 * EarshotErrors, with the `stt` sample that a failure owes the monitor. A subclass reads the
 * server's messages and decides what `finalize()` means on its protocol.
 * @module
 */

import { AbortedError, type EarshotError, InvalidArgumentError, TimeoutError } from '../../errors.js';
import type { Labels } from '../../perf/index.js';
import { OP } from '../../perf/operations.js';
import type { SpeechToTextEvent, SpeechToTextSession } from '../../pipeline/contracts.js';
import {
  AsyncQueue,
  CallControl,
  type CallOutcome,
  type LatencyRecorder,
  outcomeOf,
  providerError,
  raceControl,
} from '../shared/index.js';
import { malformed, mapDeepgramError, mapHandshakeError, PROVIDER } from './errors.js';

/** The events of the SDK's live sockets a session listens to (the message is checked at run time). */
interface SessionSocketEvents {
  open?: () => void;
  message?: (message: unknown) => void;
  close?: (event: CloseEventLike) => void;
  error?: (error: Error) => void;
}

/** The part of the SDK's live sockets (`listen.v1` and `listen.v2`) a session drives. */
export interface SessionSocket {
  on<T extends keyof SessionSocketEvents>(event: T, callback: SessionSocketEvents[T]): void;
  connect(): unknown;
  waitForOpen(): Promise<unknown>;
  sendMedia(chunk: Uint8Array): void;
  sendCloseStream(message: { type: 'CloseStream' }): void;
  close(): void;
}

/** The close event the SDK hands to `on('close')`. */
interface CloseEventLike {
  code?: number;
  reason?: string;
}

/** Close codes after which reconnecting and resending the utterance may work. */
const RETRYABLE_CLOSE_CODES = new Set([1001, 1005, 1006, 1011, 1012, 1013, 1014]);
const MAX_TIMELINE = 4096;

/** Everything a session needs from the adapter. */
export interface LiveSessionParams<S extends SessionSocket = SessionSocket> {
  socket: S;
  monitor: LatencyRecorder;
  /** `provider` and `model` labels. */
  labels: Labels;
  /** Bytes of audio per second when the encoding is raw; undefined for containers (WAV, Opus...). */
  bytesPerSecond: number | undefined;
  timeoutMs: number;
  /** Every how long an idle socket is kept open with a KeepAlive, or false (Flux has none). */
  keepAliveMs: number | false;
  /** How long a `finalize()` waits for its reply before what was received so far ends the utterance. */
  finalizeGraceMs: number;
  /** Reconnects allowed after a drop (the SDK reconnects; audio in flight is lost). */
  reconnectAttempts: number;
  signal: AbortSignal | undefined;
}

/**
 * The base of a live Deepgram session (see the module doc). Not exported from `earshot/deepgram`:
 * users see {@link SpeechToTextSession}.
 */
export abstract class DeepgramSocketSession<S extends SessionSocket = SessionSocket>
  implements SpeechToTextSession
{
  protected readonly socket: S;
  protected readonly monitor: LatencyRecorder;
  protected readonly labels: Labels;
  protected readonly timeoutMs: number;
  protected readonly finalizeGraceMs: number;
  protected readonly queue: AsyncQueue<SpeechToTextEvent>;
  protected state: 'connecting' | 'open' | 'reconnecting' | 'closing' | 'closed' = 'connecting';
  /** performance.now() of the first unanswered `finalize()` call: the user stopped then. */
  protected finalizeAt: number | undefined;
  protected lastSendAt = 0;
  protected lastAudioAt: number | undefined;
  protected currentRequestId: string | undefined;
  /** What the session is, in error messages: `Deepgram live transcription`. */
  protected abstract readonly what: string;
  /** What to do when Deepgram closed the socket for want of audio (`NET-0001`). */
  protected abstract readonly idleAdvice: string;
  readonly #bps: number | undefined;
  readonly #keepAliveMs: number | false;
  #finalizeTimer: ReturnType<typeof setTimeout> | undefined;
  #detachSignal: (() => void) | undefined;
  readonly #reconnectAttempts: number;
  #reconnects = 0;
  readonly #control: CallControl;
  #failure: EarshotError | undefined;
  #deadline = '';
  #timeline: { endByte: number; atMs: number }[] = [];
  #bytesSent = 0;
  #keepAlive: ReturnType<typeof setInterval> | undefined;
  #closePromise: Promise<void> | undefined;
  #closedResolve!: () => void;
  readonly #closedEvent = new Promise<void>((r) => {
    this.#closedResolve = r;
  });
  /** performance.now() when open() was called. */
  #startedAt = performance.now();
  /** ms the WebSocket handshake took, once open. */
  connectMs: number | undefined;

  constructor(params: LiveSessionParams<S>) {
    this.socket = params.socket;
    this.monitor = params.monitor;
    this.labels = params.labels;
    this.#bps = params.bytesPerSecond;
    this.timeoutMs = params.timeoutMs;
    this.#keepAliveMs = params.keepAliveMs;
    this.finalizeGraceMs = params.finalizeGraceMs;
    this.#reconnectAttempts = params.reconnectAttempts;
    this.#control = new CallControl(params.signal);
    this.queue = new AsyncQueue<SpeechToTextEvent>(() => this.teardown());
    this.#control.signal.addEventListener('abort', () => this.#onControlAbort(), { once: true });
  }

  /** Deepgram's request id of this session, once a message carried it. */
  get requestId(): string | undefined {
    return this.currentRequestId;
  }

  /** True while the socket is open and the session can take audio. */
  get isOpen(): boolean {
    return this.state === 'open' && this.#failure === undefined;
  }

  /**
   * Makes `signal` abort this session too: for a socket opened ahead of time by `prewarm()` and
   * handed to a later `stream()` call.
   */
  attachSignal(signal: AbortSignal | undefined): void {
    if (!signal) return;
    if (signal.aborted) {
      this.#control.abort('aborted');
      return;
    }
    const onAbort = () => this.#control.abort('aborted');
    signal.addEventListener('abort', onAbort, { once: true });
    this.#detachSignal = () => signal.removeEventListener('abort', onAbort);
  }

  /** Opens the socket; rejects with a mapped error (and leaves nothing open) on failure. */
  async open(): Promise<void> {
    const started = performance.now();
    this.#startedAt = started;
    this.#deadline = `Opening the Deepgram live socket took longer than ${this.timeoutMs} ms`;
    this.#control.arm(this.timeoutMs);
    try {
      this.socket.connect();
      await raceControl(this.socket.waitForOpen(), this.#control, () => this.#controlError());
    } catch (err) {
      const mapped = this.#failure ?? mapHandshakeError(err, this.what);
      this.fail(mapped);
      throw mapped;
    }
    this.#control.disarm();
    this.connectMs = performance.now() - started;
    this.state = 'open';
    this.lastSendAt = performance.now();
    const every = this.#keepAliveMs;
    if (every !== false) {
      this.#keepAlive = setInterval(() => this.#maybeKeepAlive(every), Math.max(50, Math.floor(every / 2)));
      this.#keepAlive.unref?.();
    }
  }

  send(chunk: Uint8Array): void {
    this.assertWritable('send()');
    try {
      this.socket.sendMedia(chunk);
    } catch (err) {
      throw mapDeepgramError(err, { what: 'Sending audio to Deepgram', timeoutMs: this.timeoutMs });
    }
    const now = performance.now();
    this.#bytesSent += chunk.byteLength;
    this.#timeline.push({ endByte: this.#bytesSent, atMs: now });
    if (this.#timeline.length > MAX_TIMELINE) this.#timeline.splice(0, MAX_TIMELINE / 2);
    this.lastAudioAt = now;
    this.lastSendAt = now;
  }

  abstract finalize(): void;

  close(): Promise<void> {
    this.#closePromise ??= (async () => {
      if (this.state === 'open') {
        this.state = 'closing';
        try {
          this.socket.sendCloseStream({ type: 'CloseStream' });
        } catch {
          // Already closing on the server side: the close event ends the session.
        }
        // Deepgram flushes what it holds and closes with 1000; do not wait forever for it.
        const timer = setTimeout(() => this.teardown(), this.timeoutMs);
        await this.#closedEvent;
        clearTimeout(timer);
      }
      this.teardown();
    })();
    return this.#closePromise;
  }

  [Symbol.asyncIterator](): AsyncIterator<SpeechToTextEvent> {
    return this.queue[Symbol.asyncIterator]();
  }

  // ───────────────────────── for subclasses ─────────────────────────

  /** Reads one server message: the protocol's own handling (called with a `type` checked). */
  protected abstract onFrame(msg: { type: string } & Record<string, unknown>, now: number): void;

  /** Sends the protocol's KeepAlive, when it has one (only called with `keepAliveMs` set). */
  protected sendKeepAlive(): void {}

  /** The socket dropped and the SDK reconnects: what was in flight is lost. */
  protected onReconnecting(): void {}

  /**
   * Wires the SDK socket's events to the session; subclasses call it at the end of their
   * constructor. Both SDK sockets (v1 and v2) emit these four events; their messages differ in
   * type only, which `handleMessage` checks at run time.
   */
  protected wireSocketEvents(): void {
    this.socket.on('message', (m: unknown) => this.handleMessage(m));
    this.socket.on('close', (e: CloseEventLike | undefined) => this.handleClose(e));
    this.socket.on('error', (e: Error) => this.handleError(e));
    this.socket.on('open', () => this.handleReopen());
  }

  /** A frame from the socket: a JSON message with a `type`, else the session fails. */
  protected handleMessage(m: unknown): void {
    if (this.state === 'closed') return;
    if (m === null || typeof m !== 'object' || typeof (m as { type?: unknown }).type !== 'string') {
      this.fail(
        malformed(this.what, '(frame)', 'expected a JSON message with a "type"', this.currentRequestId),
      );
      return;
    }
    this.onFrame(m as { type: string } & Record<string, unknown>, performance.now());
  }

  protected assertWritable(what: string): void {
    if (this.#failure) throw this.#failure;
    if (this.state === 'reconnecting') {
      throw providerError(
        PROVIDER,
        `${what}: the Deepgram live socket dropped and is reconnecting; try again shortly.`,
        { retryable: true, requestId: this.currentRequestId },
      );
    }
    if (this.state !== 'open') {
      throw new InvalidArgumentError(
        `${what} called on a Deepgram session that is ${this.state}; open a new one with stream().`,
      );
    }
  }

  /**
   * Wall-clock time (performance.now) at which the audio at offset `seconds` had been sent:
   * the chunk ending at or after it (`edge: 'end'`, for the end of a word) or the chunk holding
   * the sample that starts there (`edge: 'start'`, for the start of speech).
   */
  protected wallTimeOf(seconds: number | undefined, edge: 'start' | 'end' = 'end'): number | undefined {
    if (seconds === undefined || this.#bps === undefined) return this.lastAudioAt;
    const target = seconds * this.#bps + (edge === 'start' ? 1 : 0);
    const t = this.#timeline;
    let lo = 0;
    let hi = t.length - 1;
    let found: number | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (t[mid]!.endByte >= target) {
        found = mid;
        hi = mid - 1;
      } else lo = mid + 1;
    }
    return found === undefined ? this.lastAudioAt : t[found]!.atMs;
  }

  /** Records one `stt` sample of this session (`mode: 'stream'`). */
  protected recordStt(durationMs: number, trigger: string, outcome: CallOutcome): void {
    this.monitor.record(OP.stt, Math.max(0, durationMs), {
      ...this.labels,
      mode: 'stream',
      trigger,
      outcome,
    });
  }

  /** Starts (or restarts) the wait for a `finalize()` answer; `onExpiry` runs if none comes. */
  protected armFinalizeGrace(onExpiry: () => void): void {
    this.clearFinalizeTimer();
    this.#finalizeTimer = setTimeout(() => {
      this.#finalizeTimer = undefined;
      onExpiry();
    }, this.finalizeGraceMs);
    this.#finalizeTimer.unref?.();
  }

  protected clearFinalizeTimer(): void {
    if (this.#finalizeTimer) clearTimeout(this.#finalizeTimer);
    this.#finalizeTimer = undefined;
  }

  /** Records a `finalize()` that will never be answered, with why (see CallOutcome). */
  protected abandonFinalize(outcome: Exclude<CallOutcome, 'ok'>): void {
    this.clearFinalizeTimer();
    if (this.finalizeAt === undefined) return;
    this.recordStt(performance.now() - this.finalizeAt, 'finalize', outcome);
    this.finalizeAt = undefined;
  }

  protected handleClose(e: CloseEventLike | undefined): void {
    // While connecting, open() reports handshake failures (the SDK also emits a close 1000 then).
    if (this.state === 'closed' || this.state === 'connecting') return;
    const code = e?.code;
    if (this.state === 'closing' || code === 1000) {
      this.teardown();
      return;
    }
    const retryable = code === undefined || RETRYABLE_CLOSE_CODES.has(code);
    if (this.state === 'open' && retryable && this.#reconnects < this.#reconnectAttempts) {
      // The SDK reconnects on its own. What was in flight is lost: the open finalize() can
      // never be answered, and audio offsets restart at 0 on the new connection.
      this.#reconnects++;
      this.state = 'reconnecting';
      this.abandonFinalize('error');
      this.onReconnecting();
      this.#deadline = `The Deepgram live socket did not reconnect within ${this.timeoutMs} ms`;
      this.#control.arm(this.timeoutMs);
      return;
    }
    const reason = e?.reason ? `: ${e.reason}` : '';
    this.fail(
      providerError(
        PROVIDER,
        `Deepgram closed the live session unexpectedly (code ${code ?? 'unknown'}${reason}).` +
          (String(e?.reason).includes('NET-0001') ? ` ${this.idleAdvice}` : ''),
        { retryable, requestId: this.currentRequestId },
      ),
    );
  }

  protected handleReopen(): void {
    if (this.state !== 'reconnecting') return;
    this.#control.disarm();
    this.#bytesSent = 0;
    this.#timeline = [];
    this.state = 'open';
  }

  protected handleError(e: Error): void {
    if (this.state !== 'open' && this.state !== 'closing') return;
    // With reconnects allowed, the close event that follows decides between reconnect and failure.
    if (this.state === 'open' && this.#reconnects < this.#reconnectAttempts) return;
    this.fail(
      providerError(PROVIDER, `Deepgram live socket error (${e?.message ?? 'unknown'}).`, {
        retryable: true,
        requestId: this.currentRequestId,
      }),
    );
  }

  protected fail(err: EarshotError): void {
    if (this.state === 'closed') return;
    const outcome = outcomeOf(err);
    if (this.finalizeAt !== undefined) this.abandonFinalize(outcome);
    else if (outcome !== 'aborted') {
      // No finalize() waiting for an answer: without this sample, a refused handshake or a
      // session that died before the user stopped talking would be a provider failure the
      // monitor never counts.
      this.recordStt(
        performance.now() - this.#startedAt,
        this.state === 'connecting' ? 'connect' : 'session',
        outcome,
      );
    }
    this.state = 'closed';
    this.#failure = err;
    this.#cleanup();
    this.queue.fail(err);
    this.#closedResolve();
  }

  /**
   * Ends the session without an error: a normal close, or without waiting for the server
   * (consumer break, close timeout). A `finalize()` still unanswered was cancelled by the caller.
   */
  protected teardown(): void {
    if (this.state !== 'closed') {
      this.abandonFinalize('aborted');
      this.state = 'closed';
      this.#cleanup();
      this.queue.end();
      this.#closedResolve();
    }
  }

  // ───────────────────────── internals ─────────────────────────

  #maybeKeepAlive(every: number): void {
    if (this.state !== 'open' || performance.now() - this.lastSendAt < every) return;
    try {
      this.sendKeepAlive();
      this.lastSendAt = performance.now();
    } catch {
      // The close event reports the problem.
    }
  }

  #controlError(): EarshotError {
    if (this.#control.reason === 'timeout') return new TimeoutError(`${this.#deadline}.`, this.timeoutMs);
    return new AbortedError('The Deepgram live session was aborted.');
  }

  #onControlAbort(): void {
    if (this.state === 'closed' || this.#control.reason === 'closed') return;
    if (this.state === 'connecting') return; // open() is racing the control and reports it
    this.fail(this.#controlError());
  }

  #cleanup(): void {
    this.clearFinalizeTimer();
    this.#detachSignal?.();
    this.#detachSignal = undefined;
    if (this.#keepAlive) clearInterval(this.#keepAlive);
    this.#keepAlive = undefined;
    this.#control.abort('closed');
    this.#control.dispose();
    try {
      this.socket.close();
    } catch {
      // Already closed.
    }
  }
}
