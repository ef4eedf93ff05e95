/**
 * {@link FakeSpeechToText}: reads the transcript out of fake speech (`synthesizeFakeSpeech`),
 * one-shot or as a streaming session with optional endpointing delay.
 * @module
 */
import { InvalidArgumentError } from '../errors.js';
import { abortableSleep, abortReason } from '../internal/abort.js';
import type {
  AudioInput,
  SpeechToText,
  SpeechToTextEvent,
  SpeechToTextSession,
  TranscribeOptions,
  Transcript,
} from '../pipeline/contracts.js';
import { transcribeFakeSpeech } from './audio.js';
import { throwIfAborted } from './fake-stage-kit.js';
import { LatencyModel, type LatencyProfile } from './latency.js';

async function collect(audio: AudioInput, signal: AbortSignal | undefined): Promise<Uint8Array> {
  if (audio instanceof Uint8Array) return audio;
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of audio) {
    throwIfAborted(signal);
    parts.push(chunk);
    n += chunk.byteLength;
  }
  throwIfAborted(signal);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}
/** Options of {@link FakeSpeechToText}. */
export interface FakeSpeechToTextOptions {
  /** `provider` label. Default `fake`. */
  provider?: string;
  /** Default `fake-stt`. */
  model?: string;
  /** End of audio (or `finalize()`) → final transcript. Default none. */
  latency?: LatencyProfile;
  seed?: number | string;
  /** Replaces the transcript read from the audio. */
  transcript?: string | ((audio: Uint8Array) => string);
  /** Makes call number `call` (from 0) fail with the returned error, after the latency. */
  fail?: (call: number) => Error | undefined;
  /** Offer `stream()` sessions. Default true. */
  streaming?: boolean;
  /**
   * Streaming sessions: the endpointing delay. With it, the final transcript after
   * `finalize()` says `speechFinal: false` and the `end-of-speech` event (with
   * `lastWordEndSeconds`) follows this much later, the way a provider confirms the end of a
   * turn only after a stretch of silence. Default none (both at once, as before).
   */
  endOfTurnDelayMs?: LatencyProfile;
  /**
   * Streaming sessions: a preflight transcript (`isFinal: false, preflight: true`) carrying the
   * final text this long after `finalize()` (the end of the audio), before the final itself,
   * the way Deepgram's last interim result usually equals the final (or Deepgram Flux's
   * `EagerEndOfTurn`). Drawn independently of `latency`; when a draw is not earlier than the
   * final's, no preflight is sent for that utterance (the fake is never faster than `latency`
   * for the final). Default: no preflight.
   */
  preflightMs?: LatencyProfile;
  /** The preflight's text from the final's (default: the same text). Use it to script a miss. */
  preflightText?: (finalText: string) => string;
}

/**
 * A speech-to-text stage that reads fake speech back to text.
 *
 * @example
 * ```ts
 * const stt = new FakeSpeechToText({ latency: stageLatencyProfiles.sourceDesignAfter.stt, seed: 1 });
 * (await stt.transcribe(synthesizeFakeSpeech('Where is load 2314?'))).text; // 'Where is load 2314?'
 * ```
 */
export class FakeSpeechToText implements SpeechToText {
  readonly provider: string;
  readonly model: string;
  /** Opens a streaming session (absent with `streaming: false`). */
  readonly stream?: (
    options?: TranscribeOptions & { interimResults?: boolean },
  ) => Promise<SpeechToTextSession>;
  readonly latency: LatencyModel;
  /** The endpointing delay of streaming sessions, when set. */
  readonly endOfTurnDelay: LatencyModel | undefined;
  /** End of audio → preflight transcript of streaming sessions, when set. */
  readonly preflight: LatencyModel | undefined;
  #calls = 0;
  readonly #options: FakeSpeechToTextOptions;

  constructor(options: FakeSpeechToTextOptions = {}) {
    this.provider = options.provider ?? 'fake';
    this.model = options.model ?? 'fake-stt';
    this.latency = new LatencyModel(options.latency ?? { kind: 'none' }, { seed: options.seed ?? 1 });
    this.#options = options;
    this.endOfTurnDelay =
      options.endOfTurnDelayMs === undefined
        ? undefined
        : new LatencyModel(options.endOfTurnDelayMs, { seed: `${options.seed ?? 1}:eot` });
    this.preflight =
      options.preflightMs === undefined
        ? undefined
        : new LatencyModel(options.preflightMs, { seed: `${options.seed ?? 1}:preflight` });
    if (options.streaming !== false) {
      this.stream = async (o = {}) => {
        throwIfAborted(o.signal);
        return new FakeSpeechToTextSession(this, o);
      };
    }
  }

  /** Number of transcriptions (one-shot and finalized session segments) so far. */
  get calls(): number {
    return this.#calls;
  }

  /** @internal */
  textOf(audio: Uint8Array): string {
    const t = this.#options.transcript;
    if (typeof t === 'string') return t;
    if (typeof t === 'function') return t(audio);
    return transcribeFakeSpeech(audio);
  }

  /** @internal The preflight text for a final text. */
  preflightTextOf(finalText: string): string {
    return this.#options.preflightText?.(finalText) ?? finalText;
  }

  /** @internal Next call number; throws the scripted failure if any. */
  nextCall(): number {
    return this.#calls++;
  }

  /** @internal */
  failure(call: number): Error | undefined {
    return this.#options.fail?.(call);
  }

  async transcribe(audio: AudioInput, options: TranscribeOptions = {}): Promise<Transcript> {
    const bytes = await collect(audio, options.signal);
    const call = this.nextCall();
    await abortableSleep(this.latency.sample(), options.signal, abortReason);
    const err = this.failure(call);
    if (err) throw err;
    return {
      text: this.textOf(bytes),
      isFinal: true,
      confidence: 0.99,
      durationSeconds: bytes.byteLength / 32_000,
      requestId: `fake-stt-${call}`,
    };
  }
}

/** A streaming session of {@link FakeSpeechToText}: a final transcript after each `finalize()`. */
class FakeSpeechToTextSession implements SpeechToTextSession {
  readonly #stt: FakeSpeechToText;
  readonly #signal: AbortSignal | undefined;
  readonly #interim: boolean;
  #chunks: Uint8Array[] = [];
  readonly #queue: SpeechToTextEvent[] = [];
  #waiter: (() => void) | undefined;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #closing = false;
  #ended = false;
  #error: Error | undefined;
  #started = false;
  readonly #t0 = performance.now();
  readonly #onAbort = (): void => {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#error = abortReason(this.#signal as AbortSignal);
    this.#ended = true;
    this.#wake();
  };

  constructor(stt: FakeSpeechToText, options: TranscribeOptions & { interimResults?: boolean }) {
    this.#stt = stt;
    this.#signal = options.signal;
    this.#interim = options.interimResults ?? false;
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  #push(ev: SpeechToTextEvent): void {
    this.#queue.push(ev);
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }

  #endIfIdle(): void {
    if (this.#closing && this.#timers.size === 0 && !this.#ended) {
      this.#ended = true;
      this.#signal?.removeEventListener('abort', this.#onAbort);
      this.#wake();
    }
  }

  send(chunk: Uint8Array): void {
    if (this.#ended || this.#closing)
      throw new InvalidArgumentError('send() after close(): open a new session.');
    if (!this.#started) {
      this.#started = true;
      this.#push({ type: 'speech-started', atMs: performance.now() - this.#t0 });
    }
    this.#chunks.push(chunk);
    if (this.#interim) {
      const text = transcribeFakeSpeech(concat(this.#chunks));
      if (text) this.#push({ type: 'transcript', transcript: { text, isFinal: false } });
    }
  }

  finalize(): void {
    if (this.#ended) return;
    const bytes = concat(this.#chunks);
    this.#chunks = [];
    const call = this.#stt.nextCall();
    const finalMs = this.#stt.latency.sample();
    const preflightMs = this.#stt.preflight?.sample();
    if (preflightMs !== undefined && preflightMs < finalMs) {
      const early = setTimeout(() => {
        this.#timers.delete(early);
        const text = this.#stt.preflightTextOf(this.#stt.textOf(bytes));
        if (text) this.#push({ type: 'transcript', transcript: { text, isFinal: false, preflight: true } });
      }, preflightMs);
      this.#timers.add(early);
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      const err = this.#stt.failure(call);
      if (err) {
        this.#error = err;
        this.#ended = true;
        this.#wake();
        return;
      }
      const text = this.#stt.textOf(bytes);
      const delay = this.#stt.endOfTurnDelay;
      const transcript: Transcript = { text, isFinal: true, confidence: 0.99, requestId: `fake-stt-${call}` };
      if (delay) transcript.speechFinal = false;
      this.#push({ type: 'transcript', transcript });
      if (!delay) {
        this.#push({ type: 'end-of-speech', atMs: performance.now() - this.#t0, transcript: text });
        this.#endIfIdle();
        return;
      }
      const lastWordEndSeconds = bytes.byteLength / 32_000;
      const endpoint = setTimeout(() => {
        this.#timers.delete(endpoint);
        this.#push({
          type: 'end-of-speech',
          atMs: performance.now() - this.#t0,
          transcript: text,
          lastWordEndSeconds,
        });
        this.#endIfIdle();
      }, delay.sample());
      this.#timers.add(endpoint);
    }, finalMs);
    this.#timers.add(timer);
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#endIfIdle();
  }

  [Symbol.asyncIterator](): AsyncIterator<SpeechToTextEvent> {
    const next = async (): Promise<IteratorResult<SpeechToTextEvent>> => {
      for (;;) {
        const ev = this.#queue.shift();
        if (ev) return { value: ev, done: false };
        if (this.#error) throw this.#error;
        if (this.#ended) return { value: undefined, done: true };
        await new Promise<void>((resolve) => {
          this.#waiter = resolve;
        });
      }
    };
    return {
      next,
      return: async () => {
        this.#closing = true;
        for (const t of this.#timers) clearTimeout(t);
        this.#timers.clear();
        this.#endIfIdle();
        return { value: undefined, done: true };
      },
    };
  }
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.byteLength;
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}
