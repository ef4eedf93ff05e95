/**
 * One live transcription over Deepgram Flux (`/v2/listen`, `flux-*` models), as a
 * {@link SpeechToTextSession}. Flux detects turns itself and reports them as `TurnInfo`
 * messages; they map to earshot's events:
 *
 * | Flux `event`     | earshot                                                              |
 * |------------------|----------------------------------------------------------------------|
 * | `StartOfTurn`    | `speech-started`                                                     |
 * | `Update`         | an interim transcript (only with `interimResults`)                  |
 * | `EagerEndOfTurn` | a preflight transcript (`isFinal: false, preflight: true`)          |
 * | `TurnResumed`    | `turn-resumed` (after an eager end of turn): drop work started on it |
 * | `EndOfTurn`      | a final transcript (`speechFinal: true`), then `end-of-speech`       |
 *
 * Flux has no `Finalize` and no `KeepAlive`. `finalize()` (the app's VAD says the user
 * stopped) waits up to `finalizeGraceMs` for Flux's `EndOfTurn`; without one, the turn's latest
 * transcript ends it (a final and `end-of-speech`), as an unanswered Finalize does on
 * `/v1/listen`. STT latency (`stt`, `mode: 'stream'`): `trigger: 'finalize'` from the
 * `finalize()` call, else `trigger: 'endpoint'` from when the audio holding the turn's last word
 * was sent to the `EndOfTurn`'s arrival (the end-of-turn wait the user sits through).
 * @module
 */

import { redactedPrefix } from '../../errors.js';
import type { Transcript } from '../../pipeline/contracts.js';
import { finiteNumber, providerError } from '../shared/index.js';
import { malformed, PROVIDER } from './errors.js';
import type { DeepgramSdk } from './sdk.js';
import { DeepgramSocketSession, type LiveSessionParams } from './socket-session.js';

type DeepgramClient = InstanceType<DeepgramSdk['DeepgramClient']>;
/** The SDK's Flux socket (`await client.listen.v2.connect(...)`). */
type FluxSocket = Awaited<ReturnType<DeepgramClient['listen']['v2']['connect']>>;

/** Parameters of a Flux session: those of every live session, and whether to pass `Update`s on. */
interface FluxSessionParams extends LiveSessionParams<FluxSocket> {
  /** Emit an interim transcript for every `Update` (the pipeline reads only finals and preflights). */
  interimResults: boolean;
}

const TURN_EVENTS = new Set(['StartOfTurn', 'Update', 'EagerEndOfTurn', 'TurnResumed', 'EndOfTurn']);
/** Fatal error codes that a retry of the same request will not fix. */
const CLIENT_FAULT = /UNPARSABLE|INVALID|BAD_REQUEST|UNSUPPORTED|UNAUTHORI[SZ]ED/i;

interface TurnInfo {
  event: string;
  turn_index: number;
  transcript: string;
  audio_window_start?: unknown;
  audio_window_end?: unknown;
  words?: unknown;
}

const normalized = (text: string) => text.trim().replace(/\s+/g, ' ');

/**
 * A live Deepgram Flux session. Created by `DeepgramSpeechToText.stream()` for a `flux-*` model;
 * not constructed directly.
 *
 * @example
 * ```ts
 * const stt = new DeepgramSpeechToText({ model: 'flux-general-en', eagerEotThreshold: 0.5 });
 * const session = await stt.stream();
 * for await (const e of session) {
 *   if (e.type === 'transcript' && e.transcript.preflight) startDraft(e.transcript.text);
 *   if (e.type === 'turn-resumed') dropDraft();
 *   if (e.type === 'end-of-speech') answer(e.transcript);
 * }
 * ```
 */
export class DeepgramFluxSession extends DeepgramSocketSession<FluxSocket> {
  protected readonly what = 'Deepgram Flux transcription';
  protected readonly idleAdvice =
    'Flux has no KeepAlive: keep sending audio (silence too) while the session is open.';
  readonly #interim: boolean;
  /** The turn in progress: its index and latest transcript, until its end. */
  #turn: { index: number; text: string; lastWordEnd: number | undefined; eager: boolean } | undefined;
  /** A turn that `finalize()` ended before Flux did: its index and the text given for it. */
  #endedEarly: { index: number; text: string } | undefined;

  constructor(params: FluxSessionParams) {
    super(params);
    this.#interim = params.interimResults;
    this.wireSocketEvents();
  }

  finalize(): void {
    this.assertWritable('finalize()');
    // A second finalize() before the end of turn keeps the first anchor: the user stopped then.
    this.finalizeAt ??= performance.now();
    // Flux has no Finalize message: its EndOfTurn answers, or the grace ends the turn here.
    this.armFinalizeGrace(() => this.#finalizeUnanswered());
  }

  protected override onReconnecting(): void {
    this.#turn = undefined;
    this.#endedEarly = undefined;
  }

  protected onFrame(msg: { type: string } & Record<string, unknown>, now: number): void {
    if (typeof msg.request_id === 'string') this.currentRequestId = msg.request_id;
    switch (msg.type) {
      case 'TurnInfo':
        this.#onTurnInfo(msg, now);
        return;
      case 'Error': {
        const code = typeof msg.code === 'string' ? msg.code : 'UNKNOWN';
        const description = typeof msg.description === 'string' ? redactedPrefix(msg.description, 200) : '';
        this.fail(
          providerError(
            PROVIDER,
            `Deepgram Flux ended the session with a fatal error (${redactedPrefix(code, 60)}${description ? `: ${description}` : ''}).` +
              (CLIENT_FAULT.test(code) ? ' Check the model and the Flux options.' : ' Retrying may succeed.'),
            { retryable: !CLIENT_FAULT.test(code), requestId: this.currentRequestId },
          ),
        );
        return;
      }
      default:
        // Connected (its request id is read above), ConfigureSuccess/Failure, newer types: nothing to do.
        return;
    }
  }

  #onTurnInfo(msg: Record<string, unknown>, now: number): void {
    const { event, transcript } = msg;
    const turnIndex = finiteNumber(msg.turn_index);
    if (typeof event !== 'string' || typeof transcript !== 'string' || turnIndex === undefined) {
      const [field, problem] =
        typeof event !== 'string'
          ? ['event', 'expected a string']
          : typeof transcript !== 'string'
            ? ['transcript', 'expected a string']
            : ['turn_index', 'expected a number'];
      this.fail(malformed(this.what, field, problem, this.currentRequestId));
      return;
    }
    // A newer event is ignored, as Deepgram's SDK does.
    if (!TURN_EVENTS.has(event)) return;
    const info: TurnInfo = {
      event,
      transcript,
      turn_index: turnIndex,
      audio_window_start: msg.audio_window_start,
      audio_window_end: msg.audio_window_end,
      words: msg.words,
    };
    const lastWordEnd = this.#lastWordEnd(info);
    if (this.#endedEarly?.index === info.turn_index && info.event !== 'EndOfTurn') return;
    if (this.#turn?.index !== info.turn_index) {
      this.#turn = { index: info.turn_index, text: '', lastWordEnd: undefined, eager: false };
    }
    const turn = this.#turn;
    if (info.transcript) turn.text = info.transcript;
    if (lastWordEnd !== undefined) turn.lastWordEnd = lastWordEnd;
    switch (info.event) {
      case 'StartOfTurn': {
        const start = finiteNumber(info.audio_window_start);
        this.queue.push({ type: 'speech-started', atMs: this.wallTimeOf(start, 'start') ?? now });
        if (this.#interim && info.transcript) this.#push(info, false);
        return;
      }
      case 'Update':
        if (this.#interim) this.#push(info, false);
        return;
      case 'EagerEndOfTurn':
        turn.eager = true;
        this.#push(info, false, { preflight: true });
        return;
      case 'TurnResumed':
        if (turn.eager) this.queue.push({ type: 'turn-resumed', atMs: now });
        turn.eager = false;
        if (this.#interim) this.#push(info, false);
        return;
      default:
        this.#onEndOfTurn(info, now);
    }
  }

  #onEndOfTurn(info: TurnInfo, now: number): void {
    const turn = this.#turn;
    this.#turn = undefined;
    const early = this.#endedEarly;
    if (early?.index === info.turn_index) {
      this.#endedEarly = undefined;
      // finalize() already ended this turn; Flux's own end says the same, or adds words after it.
      if (normalized(info.transcript) === normalized(early.text)) return;
    }
    const text = info.transcript;
    this.#push(info, true);
    const lastWordEnd = turn?.lastWordEnd;
    const finalizeAt = this.finalizeAt;
    let atMs: number;
    if (finalizeAt !== undefined) {
      this.finalizeAt = undefined;
      this.clearFinalizeTimer();
      atMs = finalizeAt;
      this.recordStt(now - finalizeAt, 'finalize', 'ok');
    } else {
      atMs = this.wallTimeOf(lastWordEnd) ?? now;
      if (text.trim()) this.recordStt(now - atMs, 'endpoint', 'ok');
    }
    this.#endOfSpeech(atMs, text, lastWordEnd);
  }

  /** A finalize() Flux did not answer within the grace: the turn's latest transcript ends it. */
  #finalizeUnanswered(): void {
    const at = this.finalizeAt;
    if (at === undefined || this.state !== 'open') return;
    this.finalizeAt = undefined;
    const turn = this.#turn;
    if (!turn?.text.trim()) return; // Flux already ended the turn, or nothing was said
    this.#turn = undefined;
    this.#endedEarly = { index: turn.index, text: turn.text };
    this.recordStt(performance.now() - at, 'finalize', 'ok');
    this.queue.push({
      type: 'transcript',
      transcript: {
        text: turn.text,
        isFinal: true,
        speechFinal: true,
        ...(this.currentRequestId ? { requestId: this.currentRequestId } : {}),
      },
    });
    this.#endOfSpeech(at, turn.text, turn.lastWordEnd);
  }

  #push(info: TurnInfo, isFinal: boolean, extra: Partial<Transcript> = {}): void {
    const start = finiteNumber(info.audio_window_start);
    const end = finiteNumber(info.audio_window_end);
    const confidence = this.#confidenceOf(info);
    this.queue.push({
      type: 'transcript',
      transcript: {
        text: info.transcript,
        isFinal,
        ...(confidence === undefined ? {} : { confidence }),
        ...(start === undefined ? {} : { startSeconds: start }),
        ...(start === undefined || end === undefined ? {} : { durationSeconds: Math.max(0, end - start) }),
        ...(this.currentRequestId ? { requestId: this.currentRequestId } : {}),
        ...(isFinal ? { speechFinal: true } : {}),
        ...extra,
      },
    });
  }

  #endOfSpeech(atMs: number, text: string, lastWordEndSeconds: number | undefined): void {
    const transcript = text.trim();
    if (!transcript) return;
    this.queue.push({
      type: 'end-of-speech',
      atMs,
      transcript,
      ...(lastWordEndSeconds === undefined ? {} : { lastWordEndSeconds }),
    });
  }

  /** Mean word confidence: Flux reports confidence per word, not per transcript. */
  #confidenceOf(info: TurnInfo): number | undefined {
    if (!Array.isArray(info.words) || info.words.length === 0) return undefined;
    let sum = 0;
    for (const w of info.words as { confidence?: unknown }[]) {
      const c = finiteNumber(w?.confidence);
      if (c === undefined) return undefined;
      sum += c;
    }
    return sum / info.words.length;
  }

  #lastWordEnd(info: TurnInfo): number | undefined {
    const words = Array.isArray(info.words) ? (info.words as { end?: unknown }[]) : [];
    return finiteNumber(words[words.length - 1]?.end);
  }
}
