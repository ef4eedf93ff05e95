/**
 * {@link FakeTextToSpeech}: produces fake speech that carries its text, so TTS → STT round-trips.
 * @module
 */
import { InvalidArgumentError } from '../errors.js';
import type { AudioChunk, AudioFormat, SynthesizeOptions, TextToSpeech } from '../pipeline/contracts.js';
import { synthesizeFakeSpeech } from './audio.js';
import { FAKE_LOG_LIMIT, log, Pacer, throwIfAborted } from './fake-stage-kit.js';
import { LatencyModel, type LatencyProfile } from './latency.js';

/** Options of {@link FakeTextToSpeech}. */
export interface FakeTextToSpeechOptions {
  /** Default `fake`. */
  provider?: string;
  /** Voice/model id. Default `fake-voice`. */
  model?: string;
  /** Default `pcm_16000`. The fake makes raw PCM for any `<codec>_<rate>` and RIFF for `wav`. */
  defaultFormat?: AudioFormat;
  /** Time to first byte and delivery rate. Default: instant. */
  latency?: { ttfb?: LatencyProfile; bytesPerSecond?: number };
  seed?: number | string;
  /** Bytes per audio chunk. Default 8192. */
  chunkBytes?: number;
  /** Spoken length per character (ms); smaller is cheaper to generate. Default 55. */
  msPerChar?: number;
  /** Makes call number `call` (from 0, text `text`) fail with the returned error, after the time to first byte. */
  fail?: (text: string, call: number) => Error | undefined;
}

/**
 * A text-to-speech stage that produces fake speech carrying its text.
 *
 * @example
 * ```ts
 * const tts = new FakeTextToSpeech({ latency: { ttfb: 85, bytesPerSecond: 160_000 } });
 * for await (const chunk of tts.synthesize('Hello.')) speaker.write(chunk.data);
 * ```
 */
export class FakeTextToSpeech implements TextToSpeech {
  readonly provider: string;
  readonly model: string;
  readonly defaultFormat: AudioFormat;
  readonly ttfb: LatencyModel;
  readonly bytesPerSecond: number;
  /** The texts synthesized, in call order; the last {@link FAKE_LOG_LIMIT}. */
  readonly texts: string[] = [];
  #calls = 0;
  readonly #chunkBytes: number;
  readonly #msPerChar: number;
  readonly #fail: FakeTextToSpeechOptions['fail'];
  readonly #memo = new Map<string, Uint8Array>();

  constructor(options: FakeTextToSpeechOptions = {}) {
    this.provider = options.provider ?? 'fake';
    this.model = options.model ?? 'fake-voice';
    this.defaultFormat = options.defaultFormat ?? 'pcm_16000';
    this.ttfb = new LatencyModel(options.latency?.ttfb ?? { kind: 'none' }, { seed: options.seed ?? 1 });
    const bps = options.latency?.bytesPerSecond ?? Number.POSITIVE_INFINITY;
    if (!(bps > 0)) throw new InvalidArgumentError('bytesPerSecond must be > 0 (Infinity for no pacing).');
    this.bytesPerSecond = bps;
    this.#chunkBytes = options.chunkBytes ?? 8192;
    if (!Number.isInteger(this.#chunkBytes) || this.#chunkBytes < 2) {
      throw new InvalidArgumentError('chunkBytes must be an integer ≥ 2.');
    }
    this.#msPerChar = options.msPerChar ?? 55;
    this.#fail = options.fail;
  }

  async *synthesize(text: string, options: SynthesizeOptions = {}): AsyncIterable<AudioChunk> {
    const signal = options.signal;
    throwIfAborted(signal);
    const call = this.#calls++;
    log(this.texts, text);
    const format = options.format ?? this.defaultFormat;
    const start = performance.now();
    const ttfb = this.ttfb.sample();
    const pacer = new Pacer(signal);
    try {
      await pacer.wait(ttfb);
      const err = this.#fail?.(text, call);
      if (err) throw err;
      const audio = this.#audio(text, format);
      const paced = Number.isFinite(this.bytesPerSecond);
      for (let o = 0; o < audio.byteLength; o += this.#chunkBytes) {
        if (paced && o > 0) await pacer.until(start + ttfb + (o / this.bytesPerSecond) * 1000);
        throwIfAborted(signal);
        yield { data: audio.subarray(o, Math.min(audio.byteLength, o + this.#chunkBytes)), format };
      }
    } finally {
      pacer.dispose();
    }
  }

  /**
   * Fake speech for `text`, memoized (the last 256 texts): generating the tone costs more CPU
   * than everything a pipeline does with it, and benchmarks should measure the pipeline.
   * Chunks are views of the shared buffer: do not write into them.
   */
  #audio(text: string, format: AudioFormat): Uint8Array {
    const key = `${format}|${text}`;
    const hit = this.#memo.get(key);
    if (hit) return hit;
    const audio = synthesizeFakeSpeech(text, { format, msPerChar: this.#msPerChar });
    if (this.#memo.size >= 256) this.#memo.delete(this.#memo.keys().next().value as string);
    this.#memo.set(key, audio);
    return audio;
  }

  /**
   * Streamed text input, modelled on a streaming provider with one request per stream: the
   * first audio comes the time to first byte after the first piece; each later piece is
   * generated as it arrives (no new time to first byte) and the audio is paced at
   * `bytesPerSecond` across the whole stream. Each piece counts as a call (`texts`, `fail`).
   */
  async *synthesizeStream(
    text: AsyncIterable<string>,
    options: SynthesizeOptions = {},
  ): AsyncIterable<AudioChunk> {
    const signal = options.signal;
    throwIfAborted(signal);
    const format = options.format ?? this.defaultFormat;
    const pacer = new Pacer(signal);
    const paced = Number.isFinite(this.bytesPerSecond);
    // When the next audio byte is due (ms), once the first byte came.
    let due: number | undefined;
    try {
      for await (const piece of text) {
        throwIfAborted(signal);
        // White space at a piece's edges is not spoken (pieces end with the space before the next word).
        const spoken = piece.trim();
        if (spoken.length === 0) continue;
        const call = this.#calls++;
        log(this.texts, spoken);
        if (due === undefined) {
          await pacer.wait(this.ttfb.sample());
          due = performance.now();
        }
        const err = this.#fail?.(spoken, call);
        if (err) throw err;
        const audio = this.#audio(spoken, format);
        due = Math.max(due, performance.now());
        for (let o = 0; o < audio.byteLength; o += this.#chunkBytes) {
          if (paced) await pacer.until(due);
          throwIfAborted(signal);
          const end = Math.min(audio.byteLength, o + this.#chunkBytes);
          if (paced) due += ((end - o) / this.bytesPerSecond) * 1000;
          yield { data: audio.subarray(o, end), format };
        }
      }
    } finally {
      pacer.dispose();
    }
  }
}
