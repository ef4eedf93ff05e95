/**
 * {@link FakeStreamingTextToSpeech}: the fake TTS with streamed text input
 * (`synthesizeStream`), a scripted first-byte latency and a log of every stream.
 * @module
 */
import { abortReason } from '../internal/abort.js';
import type { AudioChunk, SynthesizeOptions } from '../pipeline/contracts.js';
import { FakeTextToSpeech, type FakeTextToSpeechOptions } from './fake-stages.js';

/** Options of {@link FakeStreamingTextToSpeech}. */
export interface FakeStreamingTextToSpeechOptions extends FakeTextToSpeechOptions {
  /** Time from the first text piece of a stream to its first audio (ms). Default 0. */
  streamFirstByteMs?: number;
  /** Makes stream number `call` (from 0) fail before any audio with the returned error. */
  failStream?: (call: number) => Error | undefined;
}

/** What one `synthesizeStream` call received, and how it ended. */
export interface FakeTtsStreamRecord {
  /** The text pieces, in order. */
  pieces: string[];
  /** `open` while it runs; `ended` when the text ended; `aborted` when its signal aborted. */
  state: 'open' | 'ended' | 'aborted' | 'failed';
  /** Audio chunks handed out. */
  chunks: number;
}

/**
 * A {@link FakeTextToSpeech} that also takes streamed text: each piece is spoken as it arrives
 * (fake speech carrying the piece), after `streamFirstByteMs` for the first one. The first
 * audio chunk of each piece carries the piece's text (`AudioChunk.text`), as a provider's
 * alignment would.
 *
 * @example
 * ```ts
 * const tts = new FakeStreamingTextToSpeech({ streamFirstByteMs: 40 });
 * const pipeline = createVoicePipeline({ llm, tts, ttsInput: 'stream', systemPrompt: '' });
 * ```
 */
export class FakeStreamingTextToSpeech extends FakeTextToSpeech {
  /** Every stream, in call order. */
  readonly streams: FakeTtsStreamRecord[] = [];
  readonly #firstByteMs: number;
  readonly #failStream: FakeStreamingTextToSpeechOptions['failStream'];

  constructor(options: FakeStreamingTextToSpeechOptions = {}) {
    super(options);
    this.#firstByteMs = options.streamFirstByteMs ?? 0;
    this.#failStream = options.failStream;
  }

  override async *synthesizeStream(
    text: AsyncIterable<string>,
    options: SynthesizeOptions = {},
  ): AsyncIterable<AudioChunk> {
    const signal = options.signal;
    const record: FakeTtsStreamRecord = { pieces: [], state: 'open', chunks: 0 };
    const call = this.streams.length;
    this.streams.push(record);
    const onAbort = (): void => {
      if (record.state === 'open') record.state = 'aborted';
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      let first = true;
      for await (const piece of text) {
        if (signal?.aborted) throw abortReason(signal);
        record.pieces.push(piece);
        if (first) {
          first = false;
          await sleep(this.#firstByteMs, signal);
          const err = this.#failStream?.(call);
          if (err) {
            record.state = 'failed';
            throw err;
          }
        }
        const inner: SynthesizeOptions = { format: options.format ?? this.defaultFormat };
        if (signal) inner.signal = signal;
        // White space at a piece's edges is not spoken.
        const spoken = piece.trim();
        if (spoken.length === 0) continue;
        let firstChunk = true;
        for await (const chunk of this.synthesize(spoken, inner)) {
          record.chunks++;
          // Like a provider's alignment: the piece's text rides on its first audio chunk.
          yield firstChunk ? { ...chunk, text: spoken } : chunk;
          firstChunk = false;
        }
      }
      if (signal?.aborted) throw abortReason(signal);
      if (record.state === 'open') record.state = 'ended';
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (record.state === 'open') record.state = 'aborted';
    }
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  if (!(ms >= 1)) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
