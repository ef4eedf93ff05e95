/**
 * What `respond()` accepts, normalized, and the tap that reads a streamed utterance for the
 * speech-to-text stage (keeping a copy for a fallback, noticing the end of speech).
 * @module
 */
import { InvalidArgumentError } from '../errors.js';
import { abortReason, noop, raceAbort } from '../internal/abort.js';
import type { AudioFormat } from './contracts.js';
import { closeIterator, concatBytes } from './streams.js';

/** @internal The input of a turn, normalized. */
export type NormalizedInput =
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; bytes: Uint8Array; format: AudioFormat | undefined }
  | { kind: 'stream'; audio: AsyncIterable<Uint8Array>; format: AudioFormat | undefined };

/** @internal Normalizes what `respond()` accepts. */
export function normalizeInput(input: unknown): NormalizedInput {
  if (input instanceof Uint8Array) return { kind: 'bytes', bytes: input, format: undefined };
  if (typeof input === 'object' && input !== null) {
    const fields = input as { text?: unknown; audio?: unknown; format?: unknown };
    if (typeof fields.text === 'string') return { kind: 'text', text: fields.text };
    if (fields.audio !== undefined) {
      const format = typeof fields.format === 'string' ? fields.format : undefined;
      if (fields.audio instanceof Uint8Array) return { kind: 'bytes', bytes: fields.audio, format };
      if (isAsyncIterable(fields.audio)) return { kind: 'stream', audio: fields.audio, format };
    }
    if (isAsyncIterable(input)) return { kind: 'stream', audio: input, format: undefined };
  }
  throw new InvalidArgumentError(
    'respond() takes audio (a Uint8Array or an async iterable of Uint8Array chunks), { audio, format }, or { text }.',
  );
}

function isAsyncIterable(x: unknown): x is AsyncIterable<Uint8Array> {
  return typeof (x as AsyncIterable<Uint8Array> | null)?.[Symbol.asyncIterator] === 'function';
}

/**
 * @internal Reads the caller's audio stream for a stage, keeping a copy when a fallback may
 * need it, and noticing when it ends (the end of speech).
 */
export class AudioTap implements AsyncIterable<Uint8Array> {
  /** Every chunk read so far, when kept for a fallback. */
  readonly chunks: Uint8Array[] | undefined;
  ended = false;
  readonly #source: AsyncIterator<Uint8Array>;
  readonly #signal: AbortSignal;
  /** Called once when the source ends: the end of the user's speech. */
  onEnd: () => void = noop;

  constructor(source: AsyncIterable<Uint8Array>, keep: boolean, signal: AbortSignal) {
    this.#source = source[Symbol.asyncIterator]();
    this.chunks = keep ? [] : undefined;
    this.#signal = signal;
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    if (this.ended) return { value: undefined, done: true };
    const result = await raceAbort(this.#source.next(), this.#signal, abortReason);
    if (result.done) {
      this.ended = true;
      this.onEnd();
    } else {
      this.chunks?.push(result.value);
    }
    return result;
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    // A stage that stops reading early does not close the source: a fallback may still need it.
    return { next: () => this.next(), return: async () => ({ value: undefined, done: true }) };
  }

  /** Reads the rest and returns everything (for a fallback stage). */
  async drain(): Promise<Uint8Array> {
    while (!this.ended) await this.next();
    return concatBytes(this.chunks ?? []);
  }

  close(): void {
    if (!this.ended) closeIterator(this.#source);
  }
}
