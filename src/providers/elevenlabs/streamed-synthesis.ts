/**
 * One streamed synthesis, whichever WebSocket route carries it (stream-input or the pooled
 * multi-stream-input): the call's deadline and abort, the audio queue, the text pump and the
 * end of the call (samples, cleanup). The routes differ only in how they open, send a piece
 * and end the input; they pass those in, so both follow one set of rules:
 * - audio is expected (and a stall is a `TimeoutError`) only after a flushed piece or the end
 *   of input; audio before the end of input disarms the deadline;
 * - the final message ends the synthesis only after our end of input;
 * - a text source that fails ends the synthesis with that error;
 * - a consumer that stops early cancels like an abort (outcome `aborted`).
 * @module
 */
import { AbortedError, type EarshotError, isEarshotError, TimeoutError } from '../../errors.js';
import type { Labels } from '../../perf/index.js';
import type { AudioChunk } from '../../pipeline/contracts.js';
import {
  AsyncQueue,
  CallControl,
  type CallOutcome,
  type LatencyRecorder,
  outcomeOf,
} from '../shared/index.js';
import { inBandError, malformed } from './errors.js';
import { type ElevenLabsFlushMode, flushesPiece } from './options.js';
import { StreamedSynthesisClock, textStreamFailure, wirePiece } from './stream-clock.js';

/**
 * A server frame of either WebSocket route as a JSON object, or the error it is: not a JSON
 * object (malformed), or ElevenLabs' in-band error message.
 */
export function readFrame(
  data: unknown,
  isBinary: boolean,
  what: string,
  requestId: string | undefined,
): Record<string, unknown> | EarshotError {
  let msg: Record<string, unknown>;
  try {
    if (isBinary) throw new Error('binary frame');
    const parsed: unknown = JSON.parse(String(data));
    if (parsed === null || typeof parsed !== 'object') throw new Error('not an object');
    msg = parsed as Record<string, unknown>;
  } catch {
    return malformed(what, '(frame)', 'expected a JSON object', requestId);
  }
  if (typeof msg.message === 'string' || typeof msg.error === 'string') return inBandError(msg, what);
  return msg;
}

/**
 * The audio of a frame: its bytes, undefined when it carries none (absent, null, empty), or
 * the error when `audio` is not a base64 string.
 */
export function frameAudio(
  msg: Record<string, unknown>,
  what: string,
  requestId: string | undefined,
): Uint8Array | EarshotError | undefined {
  if (typeof msg.audio === 'string' && msg.audio.length > 0) {
    const bytes = Buffer.from(msg.audio, 'base64');
    return bytes.length > 0 ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : undefined;
  }
  if (msg.audio !== undefined && msg.audio !== null && typeof msg.audio !== 'string')
    return malformed(what, 'audio', 'expected a base64 string or null', requestId);
  return undefined;
}

/** What a route's call gives {@link StreamedSynthesis}: its params as the adapter passed them. */
interface SynthesisCall {
  options: { timeoutMs: number; flush: ElevenLabsFlushMode };
  /** The audio format of the chunks. */
  format: string;
  monitor: LatencyRecorder;
  labels: Labels;
  signal: AbortSignal | undefined;
}

/** How a route carries the text (see {@link StreamedSynthesis.stream}). */
interface SynthesisRoute {
  /** Resolves when the route takes text; its rejection ends the synthesis. */
  open(): Promise<void>;
  /** Before the first piece (e.g. the initial settings message). */
  begin?(): void;
  /** Sends one piece as it goes on the wire; false: the synthesis ended meanwhile, stop. */
  send(piece: string, flush: boolean): boolean | Promise<boolean>;
  /** Sends the end of input. */
  endInput(): void | Promise<void>;
  /** The synthesis completed (after the `ok` samples). */
  done(): void;
}

/** See the module comment. */
export class StreamedSynthesis {
  readonly control: CallControl;
  readonly queue = new AsyncQueue<AudioChunk>();
  readonly clock: StreamedSynthesisClock;
  /** The error the synthesis failed with, once it did. */
  failure: EarshotError | undefined;
  /** Our end of input was sent (or is being sent). */
  inputEnded = false;
  /** Where `tts` is measured from when no text piece went out (unset: nothing is recorded). */
  since: number | undefined;
  readonly #what: string;
  readonly #timeoutMs: number;
  readonly #flush: ElevenLabsFlushMode;
  readonly #format: string;
  readonly #onFail: (() => void) | undefined;
  #deadline: string;
  #pumping = true;
  #textIterator: AsyncIterator<string> | undefined;
  #completed = false;

  /**
   * @param what the call, for messages ("ElevenLabs stream-input synthesis").
   * @param onFail runs after the synthesis failed (e.g. to drop the socket at once).
   */
  constructor(what: string, p: SynthesisCall, onFail?: () => void) {
    this.#what = what;
    this.#timeoutMs = p.options.timeoutMs;
    this.#flush = p.options.flush;
    this.#format = p.format;
    this.#onFail = onFail;
    this.control = new CallControl(p.signal);
    this.clock = new StreamedSynthesisClock(p.monitor, p.labels);
    this.#deadline = `${what}: the WebSocket did not open within ${this.#timeoutMs} ms`;
    this.control.signal.addEventListener(
      'abort',
      () => {
        if (this.control.reason === 'aborted') this.fail(new AbortedError(`${what} was aborted.`));
        else if (this.control.reason === 'timeout')
          this.fail(new TimeoutError(`${this.#deadline}.`, this.#timeoutMs));
      },
      { once: true },
    );
  }

  /** The synthesis ended with its final message (for the caller's cleanup: close gracefully). */
  get completed(): boolean {
    return this.#completed;
  }

  /** Still sending text: not ended, and the consumer has not left. */
  get live(): boolean {
    return this.#pumping && !this.queue.settled;
  }

  /** Ends the synthesis with `err` (the first error wins). */
  fail(err: EarshotError): void {
    if (this.queue.settled) return;
    this.failure = err;
    this.queue.fail(err);
    this.#onFail?.();
  }

  /** Audio is due now: a stall from here on is a `TimeoutError`. */
  expectAudio(): void {
    this.#deadline = `${this.#what}: no audio from ElevenLabs within ${this.#timeoutMs} ms`;
    this.control.arm(this.#timeoutMs);
  }

  /** Audio arrived; `spoken` is the text it speaks, from the frame's alignment (see `alignedText`). */
  audio(data: Uint8Array, spoken?: string): void {
    if (this.queue.settled) return;
    this.clock.audio();
    if (this.inputEnded) this.expectAudio();
    else this.control.disarm();
    this.queue.push({ data, format: this.#format, ...(spoken === undefined ? {} : { text: spoken }) });
  }

  /**
   * The final message. It ends the synthesis by itself after our end of input: a server that
   * then neither closes nor speaks must not hold the caller (no deadline runs after it).
   * Before the end of input it cannot be the answer, and is ignored: a close after it is still
   * "closed before the final message", never a silently shortened reply.
   */
  final(): void {
    if (!this.inputEnded || this.queue.settled) return;
    this.control.disarm();
    this.queue.end();
  }

  async #pump(text: AsyncIterable<string>, route: SynthesisRoute): Promise<void> {
    route.begin?.();
    this.#textIterator = text[Symbol.asyncIterator]();
    let pieces = 0;
    for (;;) {
      const next = await this.#textIterator.next();
      if (!this.live) return;
      if (next.done) break;
      const piece = next.value;
      if (typeof piece !== 'string' || piece.length === 0) continue;
      const flush = flushesPiece(this.#flush, piece, pieces++);
      if (!(await route.send(wirePiece(piece), flush))) return;
      this.clock.sent(piece);
      if (flush && this.clock.firstAudioAt === undefined) this.expectAudio();
    }
    this.inputEnded = true;
    await route.endInput();
    this.expectAudio();
  }

  /**
   * Opens the route, pumps `text` into it and yields the audio until the final message;
   * records `tts`/`tts_ttfb` once, whatever the end. Cleanup of the route's own resources
   * belongs in the caller's `finally`, which runs after this one's.
   */
  async *stream(text: AsyncIterable<string>, route: SynthesisRoute): AsyncGenerator<AudioChunk> {
    const what = this.#what;
    let failed = false;
    const recordEnd = (outcome: CallOutcome) => this.clock.ended(outcome, this.since);
    try {
      await route.open();
      // The text source failed (or a send did): end the synthesis with that error.
      this.#pump(text, route).catch((err: unknown) => this.fail(textStreamFailure(what, err)));
      for await (const chunk of this.queue) yield chunk;
      this.#completed = true;
      this.clock.ended('ok');
      route.done();
    } catch (err) {
      const mapped = this.failure ?? (isEarshotError(err) ? err : malformed(what, '(stream)', String(err)));
      failed = true;
      recordEnd(outcomeOf(mapped));
      throw mapped;
    } finally {
      // Neither completed nor failed: the consumer stopped early, which cancels like an abort.
      if (!this.#completed && !failed) recordEnd('aborted');
      this.#pumping = false;
      this.control.abort('closed');
      this.control.dispose();
      if (!this.#completed) void this.#textIterator?.return?.()?.catch?.(() => {});
    }
  }
}
