/**
 * Streamed TTS input (`ttsInput: 'stream'`): the schedule that cuts the model's text into the
 * pieces sent to `TextToSpeech.synthesizeStream`, and the replayable feed that carries them.
 * @module
 */
import { abortReason } from '../internal/abort.js';

/**
 * @internal Whether a model call's text goes to `synthesizeStream` (streamed input): `stream`
 * always, `auto` only without a TTS cache (streamed audio is never cached, and whoever
 * configured the cache asked for its hits), never without `synthesizeStream`.
 */
export function streamsTtsInput(
  mode: 'sentence' | 'stream' | 'auto',
  tts: { synthesizeStream?: unknown },
  ttsCacheConfigured: boolean,
): boolean {
  if (mode === 'sentence' || typeof tts.synthesizeStream !== 'function') return false;
  return mode === 'stream' || !ttsCacheConfigured;
}

/** Words the first piece waits for before it goes out (the rest waits for a clause break). */
const FIRST_PIECE_WORDS = 3;
/** A later piece with no clause break goes out at its last space past this many characters. */
const LONG_PIECE_CHARS = 120;
// A clause or sentence break: punctuation followed by white space.
const BREAK = /[.!?…,;:—–)"”’。！？]\s/g;

/**
 * @internal Cuts streamed text into pieces for a streaming TTS. The first piece goes out as
 * soon as it holds {@link FIRST_PIECE_WORDS} whole words (the TTS can start speaking while the
 * sentence is still being written); later pieces go out at clause or sentence breaks, so the
 * voice gets whole phrases to intonate. Only whole words ever go out.
 */
export class TextPieceSchedule {
  #pending = '';
  #sent = false;

  /** Adds model text; returns the pieces ready to send (maybe none). */
  push(text: string): string[] {
    this.#pending += text;
    const cut = this.#sent ? this.#laterCut() : this.#firstCut();
    if (cut <= 0) return [];
    const piece = this.#pending.slice(0, cut);
    this.#pending = this.#pending.slice(cut);
    if (piece.trim().length === 0) return [];
    this.#sent = true;
    return [piece];
  }

  /** The rest (end of a model call). */
  flush(): string[] {
    const rest = this.#pending;
    this.#pending = '';
    if (rest.trim().length === 0) return [];
    this.#sent = true;
    return [rest];
  }

  /** After the `FIRST_PIECE_WORDS`-th word's trailing space, or at a clause break if sooner. */
  #firstCut(): number {
    const text = this.#pending;
    const clause = this.#lastBreak();
    let words = 0;
    let inWord = false;
    for (let i = 0; i < text.length; i++) {
      const space = /\s/.test(text[i] as string);
      if (space && inWord) {
        words++;
        if (words >= FIRST_PIECE_WORDS) return Math.max(i + 1, clause);
      }
      inWord = !space;
    }
    return clause;
  }

  #laterCut(): number {
    const clause = this.#lastBreak();
    if (clause > 0) return clause;
    if (this.#pending.length < LONG_PIECE_CHARS) return 0;
    const space = this.#pending.search(/\s\S*$/);
    return space > 0 ? space + 1 : 0;
  }

  /** Index just past the last clause break's white space, 0 when there is none. */
  #lastBreak(): number {
    let end = 0;
    for (const match of this.#pending.matchAll(BREAK)) end = (match.index ?? 0) + match[0].length;
    return end;
  }
}

/**
 * @internal The text pieces of one streamed synthesis. Replayable: every reader gets every
 * piece from the first, so a retry (a fallback voice, sentence mode after a failed stream)
 * hears the whole text. A reader ends at {@link TextFeed.end}, and throws the abort reason when
 * its signal aborts: an aborted text must not look like a finished one, or a streaming TTS
 * would flush (generate and send) the rest of a text nobody will hear.
 */
export class TextFeed {
  readonly pieces: string[] = [];
  #ended = false;
  #waiters: (() => void)[] = [];

  get ended(): boolean {
    return this.#ended;
  }

  push(piece: string): void {
    if (this.#ended) return;
    this.pieces.push(piece);
    this.#wake();
  }

  end(): void {
    this.#ended = true;
    this.#wake();
  }

  /** The whole text so far. */
  text(): string {
    return this.pieces.join('');
  }

  async *read(signal: AbortSignal): AsyncGenerator<string, void, undefined> {
    let next = 0;
    const onAbort = (): void => this.#wake();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        if (signal.aborted) throw abortReason(signal);
        if (next < this.pieces.length) {
          yield this.pieces[next++] as string;
          continue;
        }
        if (this.#ended) return;
        await new Promise<void>((resolve) => this.#waiters.push(resolve));
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
