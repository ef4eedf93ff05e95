/**
 * The clock of one streamed synthesis, shared by the stream-input and multi-stream-input routes:
 * when the first text piece went out, when the first audio came back and how many characters
 * were sent; it records `tts_ttfb` and `tts` (both measured from the first text piece).
 * @module
 */
import { type EarshotError, isEarshotError } from '../../errors.js';
import type { Labels } from '../../perf/index.js';
import { OP } from '../../perf/operations.js';
import { type CallOutcome, type LatencyRecorder, providerError } from '../shared/index.js';
import { PROVIDER } from './errors.js';

/** A text piece as ElevenLabs wants it: ending with white space, so words are not glued together. */
export function wirePiece(piece: string): string {
  return /\s$/.test(piece) ? piece : `${piece} `;
}

/**
 * The text an audio message speaks, from its character alignment (`alignment`, else
 * `normalizedAlignment`; `chars` is spelled the same in every revision of the spec), or
 * undefined when the message has none. The pipeline uses it to tell how far a stream that a
 * barge-in cut had got.
 */
export function alignedText(msg: Record<string, unknown>): string | undefined {
  for (const key of ['alignment', 'normalizedAlignment', 'normalized_alignment']) {
    const chars = (msg[key] as { chars?: unknown } | null | undefined)?.chars;
    if (Array.isArray(chars) && chars.every((c) => typeof c === 'string')) return chars.join('');
  }
  return undefined;
}

/** The error a synthesis ends with when its text source (or a send) failed. */
export function textStreamFailure(what: string, err: unknown): EarshotError {
  return isEarshotError(err)
    ? err
    : providerError(
        PROVIDER,
        `${what}: the text stream failed (${String((err as Error)?.message ?? err)}).`,
        {
          retryable: false,
        },
      );
}

/** See the module comment. */
export class StreamedSynthesisClock {
  firstTextAt: number | undefined;
  firstAudioAt: number | undefined;
  characters = 0;
  /** Labels of the samples (may change once the connection is known). */
  labels: Labels;
  readonly #monitor: LatencyRecorder;

  constructor(monitor: LatencyRecorder, labels: Labels) {
    this.#monitor = monitor;
    this.labels = labels;
  }

  /** A text piece went out. */
  sent(piece: string): void {
    this.characters += piece.length;
    this.firstTextAt ??= performance.now();
  }

  /** Audio arrived: the first records `tts_ttfb`. */
  audio(): void {
    if (this.firstAudioAt !== undefined) return;
    const now = performance.now();
    this.firstAudioAt = now;
    if (this.firstTextAt !== undefined)
      this.#monitor.record(OP.ttsTtfb, now - this.firstTextAt, { ...this.labels, outcome: 'ok' });
  }

  /**
   * The synthesis ended now with `outcome`: records `tts`, and `tts_ttfb` too when no audio
   * came (a failure or a cut before the first byte). Measured from the first text piece, or
   * from `since` before one was sent; nothing when neither is known.
   */
  ended(outcome: CallOutcome, since?: number): void {
    const at = this.firstTextAt ?? since;
    if (at === undefined || at <= 0) return;
    const now = performance.now();
    if (this.firstAudioAt === undefined && outcome !== 'ok')
      this.#monitor.record(OP.ttsTtfb, now - at, { ...this.labels, outcome });
    this.#monitor.record(OP.tts, now - at, { ...this.labels, outcome });
  }
}
