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

import { finiteNumber } from '../shared/index.js';
import { malformed, mapDeepgramError } from './errors.js';
import type { DeepgramSdk } from './sdk.js';
import { DeepgramSocketSession, type LiveSessionParams } from './socket-session.js';

type DeepgramClient = InstanceType<DeepgramSdk['DeepgramClient']>;
/** The SDK's live socket (`await client.listen.v1.connect(...)`). */
type ListenSocket = Awaited<ReturnType<DeepgramClient['listen']['v1']['connect']>>;

// A type alias, not an interface: every field is `unknown` and checked where it is read, and the
// alias stays comparable with the frame's `Record<string, unknown>` (one plain `as`).
type ResultsMessage = {
  type: 'Results';
  start?: unknown;
  duration?: unknown;
  is_final?: unknown;
  speech_final?: unknown;
  from_finalize?: unknown;
  channel?: { alternatives?: { transcript?: unknown; confidence?: unknown; words?: unknown }[] };
  metadata?: { request_id?: unknown };
};

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
export class DeepgramLiveSession extends DeepgramSocketSession<ListenSocket> {
  protected readonly what = 'Deepgram live transcription';
  protected readonly idleAdvice = 'Send audio or enable keepAliveMs to keep it open.';
  /** End of the last word of the pending utterance, seconds from the start of the stream. */
  #lastWordEnd: number | undefined;
  #utterance: string[] = [];

  constructor(params: LiveSessionParams<ListenSocket>) {
    super(params);
    this.wireSocketEvents();
  }

  finalize(): void {
    this.assertWritable('finalize()');
    const now = performance.now();
    // A second finalize() before the answer keeps the first anchor: the user stopped then.
    this.finalizeAt ??= now;
    try {
      this.socket.sendFinalize({ type: 'Finalize' });
    } catch (err) {
      throw mapDeepgramError(err, { what: 'Sending Finalize to Deepgram', timeoutMs: this.timeoutMs });
    }
    this.lastSendAt = now;
    // Not a deadline: Deepgram sends no reply when nothing is buffered, and that is no fault.
    this.armFinalizeGrace(() => this.#finalizeUnanswered());
  }

  protected override sendKeepAlive(): void {
    this.socket.sendKeepAlive({ type: 'KeepAlive' });
  }

  protected override onReconnecting(): void {
    this.#utterance = [];
    this.#lastWordEnd = undefined;
  }

  protected onFrame(msg: { type: string } & Record<string, unknown>, now: number): void {
    switch (msg.type) {
      case 'Results':
        this.#onResults(msg as ResultsMessage, now);
        return;
      case 'UtteranceEnd': {
        const end = finiteNumber(msg.last_word_end) ?? this.#lastWordEnd;
        this.#endOfSpeech(this.wallTimeOf(end) ?? now, end);
        return;
      }
      case 'SpeechStarted': {
        const ts = finiteNumber(msg.timestamp);
        this.queue.push({ type: 'speech-started', atMs: this.wallTimeOf(ts, 'start') ?? now });
        return;
      }
      case 'Metadata':
        if (typeof msg.request_id === 'string') this.currentRequestId = msg.request_id;
        return;
      default:
        // Newer message types are ignored, as Deepgram's own SDK does.
        return;
    }
  }

  #onResults(m: ResultsMessage, now: number): void {
    const alt = m.channel?.alternatives?.[0];
    if (!alt || typeof alt.transcript !== 'string') {
      this.fail(
        malformed(
          'Deepgram live transcription',
          'channel.alternatives.0.transcript',
          'expected a string',
          this.currentRequestId,
        ),
      );
      return;
    }
    if (typeof m.metadata?.request_id === 'string') this.currentRequestId = m.metadata.request_id;
    const start = finiteNumber(m.start);
    const duration = finiteNumber(m.duration);
    const confidence = finiteNumber(alt.confidence);
    const isFinal = m.is_final === true;
    const text = alt.transcript;
    const speechFinal = typeof m.speech_final === 'boolean' ? m.speech_final : undefined;
    this.queue.push({
      type: 'transcript',
      transcript: {
        text,
        isFinal,
        ...(confidence === undefined ? {} : { confidence }),
        ...(start === undefined ? {} : { startSeconds: start }),
        ...(duration === undefined ? {} : { durationSeconds: duration }),
        ...(this.currentRequestId ? { requestId: this.currentRequestId } : {}),
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
      this.finalizeAt !== undefined && (m.from_finalize === true || m.from_finalize === undefined);
    if (answersFinalize) {
      const at = this.finalizeAt as number;
      this.finalizeAt = undefined;
      this.clearFinalizeTimer();
      this.recordStt(now - at, 'finalize', 'ok');
      this.#endOfSpeech(at, this.#lastWordEnd);
    } else if (m.speech_final === true) {
      // Measured from the end of the utterance's last word (an earlier final may have carried it):
      // the endpointing silence the user waits through is part of the figure.
      const speechEnd = this.#lastWordEnd;
      const at = this.wallTimeOf(speechEnd);
      if (at !== undefined && this.#utterance.length > 0) {
        this.recordStt(now - at, 'endpoint', 'ok');
      }
      this.#endOfSpeech(at ?? now, speechEnd);
    } else if (m.from_finalize === true) {
      // The late reply of a finalize() whose grace ran out: it still closes what it flushed.
      this.#endOfSpeech(now, this.#lastWordEnd);
    }
  }

  /** A finalize() Deepgram did not answer within the grace: the finals so far end the utterance. */
  #finalizeUnanswered(): void {
    const at = this.finalizeAt;
    if (at === undefined || this.state !== 'open') return;
    this.finalizeAt = undefined;
    if (this.#utterance.length === 0) return; // already ended (endpointing), or nothing was said
    this.recordStt(performance.now() - at, 'finalize', 'ok');
    this.#endOfSpeech(at, this.#lastWordEnd);
  }

  #endOfSpeech(atMs: number, lastWordEndSeconds: number | undefined): void {
    const transcript = this.#utterance.join(' ').trim();
    this.#utterance = [];
    this.#lastWordEnd = undefined;
    if (transcript) {
      this.queue.push({
        type: 'end-of-speech',
        atMs,
        transcript,
        ...(lastWordEndSeconds === undefined ? {} : { lastWordEndSeconds }),
      });
    }
  }
}
