/**
 * One live transcription over Deepgram's WebSocket (`/v1/listen`), as a
 * {@link SpeechToTextSession}: audio in with `send()`, events out with `for await`.
 *
 * STT latency is measured the honest way: from the end of speech to the final transcript
 * that answers it, not from socket events the provider controls.
 * - After `finalize()` (the app's own VAD decided the user stopped): from the `finalize()` call
 *   to the final result flushed by it (`from_finalize`). Label `trigger: 'finalize'`. Deepgram
 *   does not answer a Finalize when nothing is buffered (its own endpointing already flushed the
 *   audio), so after `finalizeGraceMs` without a reply the finals received so far end the
 *   utterance and the session lives on (issue 16, item 1).
 * - On Deepgram's own endpointing (`speech_final`): from the moment the audio holding the end
 *   of the last word was handed to the socket to the arrival of the final result, so the
 *   endpointing silence the user waits through is included. Label `trigger: 'endpoint'`.
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
  finiteNumber,
  type LatencyRecorder,
  outcomeOf,
  providerError,
  raceControl,
} from '../shared/index.js';
import { malformed, mapDeepgramError, mapHandshakeError, PROVIDER } from './errors.js';
import type { DeepgramSdk } from './sdk.js';

type DeepgramClient = InstanceType<DeepgramSdk['DeepgramClient']>;
/** The SDK's live socket (`await client.listen.v1.connect(...)`). */
type ListenSocket = Awaited<ReturnType<DeepgramClient['listen']['v1']['connect']>>;

interface CloseEventLike {
  code?: number;
  reason?: string;
}

/** Close codes after which reconnecting and resending the utterance may work. */
const RETRYABLE_CLOSE_CODES = new Set([1001, 1005, 1006, 1011, 1012, 1013, 1014]);
const MAX_TIMELINE = 4096;

/** Everything a session needs from the adapter. */
interface LiveSessionParams {
  socket: ListenSocket;
  monitor: LatencyRecorder;
  /** `provider` and `model` labels. */
  labels: Labels;
  /** Bytes of audio per second when the encoding is raw; undefined for containers (WAV, Opus...). */
  bytesPerSecond: number | undefined;
  timeoutMs: number;
  keepAliveMs: number | false;
  /** How long a `finalize()` waits for its reply before the finals received so far end the utterance. */
  finalizeGraceMs: number;
  /** Reconnects allowed after a drop (the SDK reconnects; audio in flight is lost). */
  reconnectAttempts: number;
  signal: AbortSignal | undefined;
}

interface ResultsMessage {
  type: 'Results';
  start?: unknown;
  duration?: unknown;
  is_final?: unknown;
  speech_final?: unknown;
  from_finalize?: unknown;
  channel?: { alternatives?: { transcript?: unknown; confidence?: unknown; words?: unknown }[] };
  metadata?: { request_id?: unknown };
}

/**
 * A live Deepgram session. Created by `DeepgramSpeechToText.stream()`; not constructed directly.
 *
 * @example
 * ```ts
 * const session = await stt.stream();
 * (async () => { for await (const chunk of mic) session.send(chunk); await session.finalize(); })();
 * for await (const event of session) if (event.type === 'end-of-speech') answer(event.transcript);
 * ```
 */
export class DeepgramLiveSession implements SpeechToTextSession {
  readonly #socket: ListenSocket;
  readonly #monitor: LatencyRecorder;
  readonly #labels: Labels;
  readonly #bps: number | undefined;
  readonly #timeoutMs: number;
  readonly #keepAliveMs: number | false;
  readonly #finalizeGraceMs: number;
  #finalizeTimer: ReturnType<typeof setTimeout> | undefined;
  /** End of the last word of the pending utterance, seconds from the start of the stream. */
  #lastWordEnd: number | undefined;
  #detachSignal: (() => void) | undefined;
  readonly #reconnectAttempts: number;
  #reconnects = 0;
  readonly #control: CallControl;
  readonly #queue: AsyncQueue<SpeechToTextEvent>;
  #state: 'connecting' | 'open' | 'reconnecting' | 'closing' | 'closed' = 'connecting';
  #failure: EarshotError | undefined;
  #deadline = '';
  #timeline: { endByte: number; atMs: number }[] = [];
  #bytesSent = 0;
  #lastSendAt = 0;
  #lastAudioAt: number | undefined;
  #finalizeAt: number | undefined;
  #utterance: string[] = [];
  #requestId: string | undefined;
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

  constructor(params: LiveSessionParams) {
    this.#socket = params.socket;
    this.#monitor = params.monitor;
    this.#labels = params.labels;
    this.#bps = params.bytesPerSecond;
    this.#timeoutMs = params.timeoutMs;
    this.#keepAliveMs = params.keepAliveMs;
    this.#finalizeGraceMs = params.finalizeGraceMs;
    this.#reconnectAttempts = params.reconnectAttempts;
    this.#control = new CallControl(params.signal);
    this.#queue = new AsyncQueue<SpeechToTextEvent>(() => this.#teardown());
    this.#socket.on('message', (m: unknown) => this.#onMessage(m));
    this.#socket.on('close', (e: CloseEventLike) => this.#onClose(e));
    this.#socket.on('error', (e: Error) => this.#onError(e));
    this.#socket.on('open', () => this.#onReopen());
    this.#control.signal.addEventListener('abort', () => this.#onControlAbort(), { once: true });
  }

  /** Deepgram's request id of this session, once a result or the Metadata carried it. */
  get requestId(): string | undefined {
    return this.#requestId;
  }

  /** True while the socket is open and the session can take audio. */
  get isOpen(): boolean {
    return this.#state === 'open' && this.#failure === undefined;
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
    this.#deadline = `Opening the Deepgram live socket took longer than ${this.#timeoutMs} ms`;
    this.#control.arm(this.#timeoutMs);
    try {
      this.#socket.connect();
      await raceControl(this.#socket.waitForOpen(), this.#control, () => this.#controlError());
    } catch (err) {
      const mapped = this.#failure ?? mapHandshakeError(err, 'Deepgram live transcription');
      this.#fail(mapped);
      throw mapped;
    }
    this.#control.disarm();
    this.connectMs = performance.now() - started;
    this.#state = 'open';
    this.#lastSendAt = performance.now();
    const every = this.#keepAliveMs;
    if (every !== false) {
      this.#keepAlive = setInterval(() => this.#maybeKeepAlive(every), Math.max(50, Math.floor(every / 2)));
      this.#keepAlive.unref?.();
    }
  }

  send(chunk: Uint8Array): void {
    this.#assertWritable('send()');
    try {
      this.#socket.sendMedia(chunk);
    } catch (err) {
      throw mapDeepgramError(err, { what: 'Sending audio to Deepgram', timeoutMs: this.#timeoutMs });
    }
    const now = performance.now();
    this.#bytesSent += chunk.byteLength;
    this.#timeline.push({ endByte: this.#bytesSent, atMs: now });
    if (this.#timeline.length > MAX_TIMELINE) this.#timeline.splice(0, MAX_TIMELINE / 2);
    this.#lastAudioAt = now;
    this.#lastSendAt = now;
  }

  finalize(): void {
    this.#assertWritable('finalize()');
    const now = performance.now();
    // A second finalize() before the answer keeps the first anchor: the user stopped then.
    this.#finalizeAt ??= now;
    try {
      this.#socket.sendFinalize({ type: 'Finalize' });
    } catch (err) {
      throw mapDeepgramError(err, { what: 'Sending Finalize to Deepgram', timeoutMs: this.#timeoutMs });
    }
    this.#lastSendAt = now;
    // Not a deadline: Deepgram sends no reply when nothing is buffered, and that is no fault.
    if (this.#finalizeTimer) clearTimeout(this.#finalizeTimer);
    this.#finalizeTimer = setTimeout(() => this.#finalizeUnanswered(), this.#finalizeGraceMs);
    this.#finalizeTimer.unref?.();
  }

  close(): Promise<void> {
    this.#closePromise ??= (async () => {
      if (this.#state === 'open') {
        this.#state = 'closing';
        try {
          this.#socket.sendCloseStream({ type: 'CloseStream' });
        } catch {
          // Already closing on the server side: the close event ends the session.
        }
        // Deepgram flushes, sends Metadata and closes with 1000; do not wait forever for it.
        const timer = setTimeout(() => this.#teardown(), this.#timeoutMs);
        await this.#closedEvent;
        clearTimeout(timer);
      }
      this.#teardown();
    })();
    return this.#closePromise;
  }

  [Symbol.asyncIterator](): AsyncIterator<SpeechToTextEvent> {
    return this.#queue[Symbol.asyncIterator]();
  }

  // ───────────────────────── internals ─────────────────────────

  #assertWritable(what: string): void {
    if (this.#failure) throw this.#failure;
    if (this.#state === 'reconnecting') {
      throw providerError(
        PROVIDER,
        `${what}: the Deepgram live socket dropped and is reconnecting; try again shortly.`,
        { retryable: true, requestId: this.#requestId },
      );
    }
    if (this.#state !== 'open') {
      throw new InvalidArgumentError(
        `${what} called on a Deepgram session that is ${this.#state}; open a new one with stream().`,
      );
    }
  }

  #maybeKeepAlive(every: number): void {
    if (this.#state !== 'open' || performance.now() - this.#lastSendAt < every) return;
    try {
      this.#socket.sendKeepAlive({ type: 'KeepAlive' });
      this.#lastSendAt = performance.now();
    } catch {
      // The close event reports the problem.
    }
  }

  /**
   * Wall-clock time (performance.now) at which the audio at offset `seconds` had been sent:
   * the chunk ending at or after it (`edge: 'end'`, for the end of a word) or the chunk holding
   * the sample that starts there (`edge: 'start'`, for the start of speech).
   */
  #wallTimeOf(seconds: number | undefined, edge: 'start' | 'end' = 'end'): number | undefined {
    if (seconds === undefined || this.#bps === undefined) return this.#lastAudioAt;
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
    return found === undefined ? this.#lastAudioAt : t[found]!.atMs;
  }

  #onMessage(m: unknown): void {
    if (this.#state === 'closed') return;
    if (m === null || typeof m !== 'object' || typeof (m as { type?: unknown }).type !== 'string') {
      this.#fail(
        malformed(
          'Deepgram live transcription',
          '(frame)',
          'expected a JSON message with a "type"',
          this.#requestId,
        ),
      );
      return;
    }
    const msg = m as { type: string } & Record<string, unknown>;
    const now = performance.now();
    switch (msg.type) {
      case 'Results':
        this.#onResults(msg as ResultsMessage, now);
        return;
      case 'UtteranceEnd': {
        const end = finiteNumber(msg.last_word_end) ?? this.#lastWordEnd;
        this.#endOfSpeech(this.#wallTimeOf(end) ?? now, end);
        return;
      }
      case 'SpeechStarted': {
        const ts = finiteNumber(msg.timestamp);
        this.#queue.push({ type: 'speech-started', atMs: this.#wallTimeOf(ts, 'start') ?? now });
        return;
      }
      case 'Metadata':
        if (typeof msg.request_id === 'string') this.#requestId = msg.request_id;
        return;
      default:
        // Newer message types are ignored, as Deepgram's own SDK does.
        return;
    }
  }

  #onResults(m: ResultsMessage, now: number): void {
    const alt = m.channel?.alternatives?.[0];
    if (!alt || typeof alt.transcript !== 'string') {
      this.#fail(
        malformed(
          'Deepgram live transcription',
          'channel.alternatives.0.transcript',
          'expected a string',
          this.#requestId,
        ),
      );
      return;
    }
    if (typeof m.metadata?.request_id === 'string') this.#requestId = m.metadata.request_id;
    const start = finiteNumber(m.start);
    const duration = finiteNumber(m.duration);
    const confidence = finiteNumber(alt.confidence);
    const isFinal = m.is_final === true;
    const text = alt.transcript;
    const speechFinal = typeof m.speech_final === 'boolean' ? m.speech_final : undefined;
    this.#queue.push({
      type: 'transcript',
      transcript: {
        text,
        isFinal,
        ...(confidence === undefined ? {} : { confidence }),
        ...(start === undefined ? {} : { startSeconds: start }),
        ...(duration === undefined ? {} : { durationSeconds: duration }),
        ...(this.#requestId ? { requestId: this.#requestId } : {}),
        ...(isFinal && speechFinal !== undefined ? { speechFinal } : {}),
      },
    });
    if (!isFinal) return;
    if (text.trim()) {
      this.#utterance.push(text.trim());
      const words = Array.isArray(alt.words) ? (alt.words as { end?: unknown }[]) : [];
      this.#lastWordEnd =
        finiteNumber(words[words.length - 1]?.end) ??
        (start !== undefined && duration !== undefined ? start + duration : this.#lastWordEnd);
    }
    // A server that does not tag flushed results (from_finalize absent) answers with its next final.
    const answersFinalize =
      this.#finalizeAt !== undefined && (m.from_finalize === true || m.from_finalize === undefined);
    if (answersFinalize) {
      const at = this.#finalizeAt as number;
      this.#finalizeAt = undefined;
      this.#clearFinalizeTimer();
      this.#monitor.record(OP.stt, now - at, {
        ...this.#labels,
        mode: 'stream',
        trigger: 'finalize',
        outcome: 'ok',
      });
      this.#endOfSpeech(at, this.#lastWordEnd);
    } else if (m.speech_final === true) {
      // Measured from the end of the utterance's last word (an earlier final may have carried it):
      // the endpointing silence the user waits through is part of the figure.
      const speechEnd = this.#lastWordEnd;
      const at = this.#wallTimeOf(speechEnd);
      if (at !== undefined && this.#utterance.length > 0) {
        this.#monitor.record(OP.stt, Math.max(0, now - at), {
          ...this.#labels,
          mode: 'stream',
          trigger: 'endpoint',
          outcome: 'ok',
        });
      }
      this.#endOfSpeech(at ?? now, speechEnd);
    } else if (m.from_finalize === true) {
      // The late reply of a finalize() whose grace ran out: it still closes what it flushed.
      this.#endOfSpeech(now, this.#lastWordEnd);
    }
  }

  /** A finalize() Deepgram did not answer within the grace: the finals so far end the utterance. */
  #finalizeUnanswered(): void {
    this.#finalizeTimer = undefined;
    const at = this.#finalizeAt;
    if (at === undefined || this.#state !== 'open') return;
    this.#finalizeAt = undefined;
    if (this.#utterance.length === 0) return; // already ended (endpointing), or nothing was said
    this.#monitor.record(OP.stt, performance.now() - at, {
      ...this.#labels,
      mode: 'stream',
      trigger: 'finalize',
      outcome: 'ok',
    });
    this.#endOfSpeech(at, this.#lastWordEnd);
  }

  #clearFinalizeTimer(): void {
    if (this.#finalizeTimer) clearTimeout(this.#finalizeTimer);
    this.#finalizeTimer = undefined;
  }

  #endOfSpeech(atMs: number, lastWordEndSeconds: number | undefined): void {
    const transcript = this.#utterance.join(' ').trim();
    this.#utterance = [];
    this.#lastWordEnd = undefined;
    if (transcript) {
      this.#queue.push({
        type: 'end-of-speech',
        atMs,
        transcript,
        ...(lastWordEndSeconds === undefined ? {} : { lastWordEndSeconds }),
      });
    }
  }

  #onClose(e: CloseEventLike | undefined): void {
    // While connecting, open() reports handshake failures (the SDK also emits a close 1000 then).
    if (this.#state === 'closed' || this.#state === 'connecting') return;
    const code = e?.code;
    if (this.#state === 'closing' || code === 1000) {
      this.#teardown();
      return;
    }
    const retryable = code === undefined || RETRYABLE_CLOSE_CODES.has(code);
    if (this.#state === 'open' && retryable && this.#reconnects < this.#reconnectAttempts) {
      // The SDK reconnects on its own. What was in flight is lost: the open finalize() can
      // never be answered, and audio offsets restart at 0 on the new connection.
      this.#reconnects++;
      this.#state = 'reconnecting';
      this.#abandonFinalize('error');
      this.#utterance = [];
      this.#lastWordEnd = undefined;
      this.#deadline = `The Deepgram live socket did not reconnect within ${this.#timeoutMs} ms`;
      this.#control.arm(this.#timeoutMs);
      return;
    }
    const reason = e?.reason ? `: ${e.reason}` : '';
    this.#fail(
      providerError(
        PROVIDER,
        `Deepgram closed the live session unexpectedly (code ${code ?? 'unknown'}${reason}).` +
          (String(e?.reason).includes('NET-0001')
            ? ' Send audio or enable keepAliveMs to keep it open.'
            : ''),
        { retryable, requestId: this.#requestId },
      ),
    );
  }

  #onReopen(): void {
    if (this.#state !== 'reconnecting') return;
    this.#control.disarm();
    this.#bytesSent = 0;
    this.#timeline = [];
    this.#state = 'open';
  }

  /** Records a `finalize()` that will never be answered, with why (see CallOutcome). */
  #abandonFinalize(outcome: Exclude<CallOutcome, 'ok'>): void {
    this.#clearFinalizeTimer();
    if (this.#finalizeAt === undefined) return;
    this.#monitor.record(OP.stt, performance.now() - this.#finalizeAt, {
      ...this.#labels,
      mode: 'stream',
      trigger: 'finalize',
      outcome,
    });
    this.#finalizeAt = undefined;
  }

  #onError(e: Error): void {
    if (this.#state !== 'open' && this.#state !== 'closing') return;
    // With reconnects allowed, the close event that follows decides between reconnect and failure.
    if (this.#state === 'open' && this.#reconnects < this.#reconnectAttempts) return;
    this.#fail(
      providerError(PROVIDER, `Deepgram live socket error (${e?.message ?? 'unknown'}).`, {
        retryable: true,
        requestId: this.#requestId,
      }),
    );
  }

  #controlError(): EarshotError {
    if (this.#control.reason === 'timeout') return new TimeoutError(`${this.#deadline}.`, this.#timeoutMs);
    return new AbortedError('The Deepgram live session was aborted.');
  }

  #onControlAbort(): void {
    if (this.#state === 'closed' || this.#control.reason === 'closed') return;
    if (this.#state === 'connecting') return; // open() is racing the control and reports it
    this.#fail(this.#controlError());
  }

  #fail(err: EarshotError): void {
    if (this.#state === 'closed') return;
    const outcome = outcomeOf(err);
    if (this.#finalizeAt !== undefined) this.#abandonFinalize(outcome);
    else if (outcome !== 'aborted') {
      // No finalize() waiting for an answer: without this sample, a refused handshake or a
      // session that died before the user stopped talking would be a provider failure the
      // monitor never counts.
      this.#monitor.record(OP.stt, performance.now() - this.#startedAt, {
        ...this.#labels,
        mode: 'stream',
        trigger: this.#state === 'connecting' ? 'connect' : 'session',
        outcome,
      });
    }
    this.#state = 'closed';
    this.#failure = err;
    this.#cleanup();
    this.#queue.fail(err);
    this.#closedResolve();
  }

  /**
   * Ends the session without an error: a normal close, or without waiting for the server
   * (consumer break, close timeout). A `finalize()` still unanswered was cancelled by the caller.
   */
  #teardown(): void {
    if (this.#state !== 'closed') {
      this.#abandonFinalize('aborted');
      this.#state = 'closed';
      this.#cleanup();
      this.#queue.end();
      this.#closedResolve();
    }
  }

  #cleanup(): void {
    this.#clearFinalizeTimer();
    this.#detachSignal?.();
    this.#detachSignal = undefined;
    if (this.#keepAlive) clearInterval(this.#keepAlive);
    this.#keepAlive = undefined;
    this.#control.abort('closed');
    this.#control.dispose();
    try {
      this.#socket.close();
    } catch {
      // Already closed.
    }
  }
}
