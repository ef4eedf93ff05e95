/**
 * Cuts streamed LLM text into speakable chunks, so each one can go to text-to-speech as soon
 * as it is complete.
 *
 * Every decision depends only on the text, never on how it was split into deltas (except the
 * time-based {@link SentenceChunker.flushStale}): a boundary that needs a look at the next
 * character waits for it. That keeps the output reproducible and makes it property-testable.
 * @module
 */
import { z } from 'zod';
import { ConfigError } from '../errors.js';

/** Options of {@link SentenceChunker}. */
export const sentenceChunkerOptionsSchema = z
  .object({
    /**
     * First-chunk rule: until the first chunk is out, a clause break (`,` `;` `:` `—` `–`
     * followed by a space) at or after this many characters also ends a chunk, so the first
     * audio does not wait for a long sentence. 0 turns the rule off. Default 24.
     */
    firstChunkMinChars: z.number().int().min(0).default(24),
    /**
     * First-chunk rule, continued: a first chunk with no boundary at all is cut at its last
     * clause break or space before this many characters. Default 80.
     */
    firstChunkMaxChars: z.number().int().min(8).max(100_000).default(80),
    /**
     * Longest chunk, in UTF-16 units. A longer sentence is cut at its last clause break or
     * space before the limit (at a grapheme boundary if it has none). Default 220.
     */
    maxChars: z.number().int().min(8).max(100_000).default(220),
    /**
     * Max-wait flush: {@link SentenceChunker.flushStale} emits pending text (up to its last
     * space) once it has waited this long for a boundary. Default 500 ms.
     */
    maxWaitMs: z.number().min(0).default(500),
    /** More abbreviations that never end a sentence, lower case without the final dot (`'approx'`). */
    abbreviations: z.array(z.string().min(1)).default([]),
  })
  .strict();

/** Options of {@link SentenceChunker} (all optional). */
export type SentenceChunkerOptions = z.input<typeof sentenceChunkerOptionsSchema>;
type ResolvedChunkerOptions = z.output<typeof sentenceChunkerOptionsSchema>;

// Option objects already parsed (by the pipeline, once), so per-turn chunkers skip zod.
const resolved = new WeakSet<object>();

/** @internal Marks parsed options so `new SentenceChunker(options)` does not parse them again. */
export function preResolvedChunkerOptions(options: ResolvedChunkerOptions): SentenceChunkerOptions {
  resolved.add(options);
  return options;
}

// How an abbreviation followed by a space decides whether the sentence ends there.
// never: it never ends one (Dr. Smith); upper: it does when the next word starts upper case
// (etc. Then); digit: it does unless a digit follows (No. 5).
type AbbrevRule = 'never' | 'upper' | 'digit';

const ABBREVIATIONS: ReadonlyMap<string, AbbrevRule> = new Map<string, AbbrevRule>([
  ...'mr mrs ms mx dr prof st vs e.g i.e cf approx fig gen gov lt sgt capt col cmdr mt rev hon pres viz resp'
    .split(' ')
    .map((a) => [a, 'never'] as const),
  ...'no nos vol pp ch sec art ex'.split(' ').map((a) => [a, 'digit'] as const),
  ...(
    'etc inc ltd co corp llc jr sr a.m p.m u.s u.k u.s.a e.u ph.d dept est ave blvd rd hwy ft lb lbs oz mi min hr hrs ' +
    'sq approx jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun'
  )
    .split(' ')
    .map((a) => [a, 'upper'] as const),
]);

const TERMINAL = new Set(['.', '!', '?', '…', '‼', '⁇', '⁈', '⁉']);
// Full-width terminals end a sentence without a following space.
const CJK_TERMINAL = new Set(['。', '！', '？', '｡']);
const CLOSER = new Set([
  '"',
  "'",
  '”',
  '’',
  '»',
  '›',
  ')',
  ']',
  '}',
  '」',
  '』',
  '】',
  '》',
  '〉',
  '）',
  '＂',
]);
const CLAUSE = new Set([',', ';', ':', '—', '–']);
const CJK_CLAUSE = new Set(['，', '；', '：', '、']);
const LINE_BREAK = new Set(['\n', '\r', '\u2028', '\u2029', '\u0085']);
// Every character #decide cares about; the scan jumps from one to the next (most text is none).
const SPECIAL = /[.!?…‼⁇⁈⁉。！？｡,;:—–，；：、\n\r\u2028\u2029\u0085]/g;
const WS = /\s/;
const OPENERS = /^[\p{Ps}\p{Pi}"'¿¡*_]+/u;
const DOTTED_ACRONYM = /^(?:\p{L}\.)+\p{L}$/u;
const SINGLE_LETTER = /^\p{L}$/u;
const SHORT_NUMBER = /^\d{1,3}$/;
// A character that may start a sentence after an ambiguous dot: upper case, CJK, quote, bracket.
const SENTENCE_START = /[\p{Lu}\p{Lt}\p{Lo}"'“‘«(¿¡[]/u;
const CJK_CHAR = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;

// What attaches to the character before it (UAX #29 Extend, SpacingMark, ZWJ): full-width
// punctuation ends a sentence without a space, but not when a mark or a ZWJ follows it.
const ATTACHES = /^[\p{Grapheme_Extend}\p{Mc}\u200d]/u;

const EMPTY: ReadonlySet<string> = new Set();
const WAIT = -2;
const NONE = -1;

let segmenter: Intl.Segmenter | undefined;

const isWs = (c: string | undefined): boolean => c !== undefined && WS.test(c);

/**
 * Streaming sentence splitter for LLM output.
 *
 * Handles abbreviations (`Dr.`, `e.g.`, `No. 5`), decimals and versions (`3.5`, `v1.2`),
 * ellipses (`Well... maybe` stays one chunk, `Wait... Then` splits), closing quotes and
 * brackets (`He said "stop." Then`), list items and line breaks, full-width CJK punctuation,
 * a first-chunk rule (see {@link SentenceChunkerOptions}), a length cap, and a max-wait flush.
 * Chunks are trimmed and never empty; joined together they hold every non-space character of
 * the input, in order.
 *
 * @example
 * ```ts
 * const chunker = new SentenceChunker();
 * chunker.push('Load 2314 weighs 3.5 tons. It left Denver at 9 a.m. tod'); // ['Load 2314 weighs 3.5 tons.']
 * chunker.push('ay. Anything else?');   // ['It left Denver at 9 a.m. today.']
 * chunker.flush();                        // ['Anything else?']
 * ```
 */
export class SentenceChunker {
  readonly #firstChunkMinChars: number;
  readonly #maxChars: number;
  readonly #firstChunkMaxChars: number;
  readonly #maxWaitMs: number;
  readonly #extraAbbreviations: ReadonlySet<string>;
  #buf = '';
  #scan = 0;
  // While one grapheme longer than the limit keeps growing (hostile text: thousands of
  // combining marks), look for its end again only once the buffer has doubled: re-segmenting
  // the whole buffer on every delta would be quadratic. Only when a chunk is emitted changes.
  #graphemeRecheckAt = 0;
  #emitted = 0;
  #pendingSince: number | undefined;

  constructor(options: SentenceChunkerOptions = {}) {
    let data: ResolvedChunkerOptions;
    if (resolved.has(options)) data = options as ResolvedChunkerOptions;
    else {
      const parsed = sentenceChunkerOptionsSchema.safeParse(options);
      if (!parsed.success) {
        throw new ConfigError(
          parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
          { source: 'SentenceChunker options' },
        );
      }
      data = parsed.data;
    }
    this.#firstChunkMinChars = data.firstChunkMinChars;
    this.#maxChars = data.maxChars;
    this.#firstChunkMaxChars = Math.min(data.maxChars, data.firstChunkMaxChars);
    this.#maxWaitMs = data.maxWaitMs;
    this.#extraAbbreviations =
      data.abbreviations.length === 0
        ? EMPTY
        : new Set(data.abbreviations.map((a) => a.toLowerCase().replace(/\.$/, '')));
  }

  /** Text received but not emitted yet. */
  get pendingText(): string {
    return this.#buf;
  }

  /** Number of chunks emitted since creation or {@link reset}. */
  get emittedCount(): number {
    return this.#emitted;
  }

  /**
   * When {@link flushStale} will have something to emit (a `performance.now()` time), or
   * `undefined` when nothing is pending.
   */
  get staleAtMs(): number | undefined {
    return this.#pendingSince === undefined ? undefined : this.#pendingSince + this.#maxWaitMs;
  }

  /** Adds streamed text; returns the chunks it completed (often none). */
  push(text: string, nowMs: number = performance.now()): string[] {
    if (text.length === 0) return [];
    if (this.#buf.length === 0) {
      const trimmed = text.trimStart();
      if (trimmed.length === 0) return [];
      this.#buf = trimmed;
      this.#pendingSince = nowMs;
    } else {
      this.#buf += text;
      // Nothing can be cut before the growing grapheme ends (see #graphemeRecheckAt).
      if (this.#buf.length < this.#graphemeRecheckAt) return [];
    }
    const out: string[] = [];
    this.#extract(false, out, nowMs);
    return out;
  }

  /** End of the text: returns every remaining chunk. The chunker is then empty (the first-chunk rule stays spent). */
  flush(): string[] {
    const out: string[] = [];
    this.#extract(true, out, 0);
    const rest = this.#buf.trim();
    if (rest.length > 0) {
      out.push(rest);
      this.#emitted++;
    }
    this.#buf = '';
    this.#scan = 0;
    this.#graphemeRecheckAt = 0;
    this.#pendingSince = undefined;
    return out;
  }

  /**
   * Max-wait flush: when pending text has waited `maxWaitMs` for a boundary, emits it up to its
   * last space (a word may still be arriving), or all of it for CJK text. Returns `[]` otherwise.
   */
  flushStale(nowMs: number = performance.now()): string[] {
    if (this.#pendingSince === undefined || nowMs - this.#pendingSince < this.#maxWaitMs) return [];
    const out: string[] = [];
    if (this.#graphemeRecheckAt > 0) {
      // A long grapheme deferred the cuts (see #graphemeRecheckAt): make them now, first.
      this.#graphemeRecheckAt = 0;
      this.#extract(false, out, nowMs);
      if (out.length > 0) return out;
    }
    const buf = this.#buf;
    let k = buf.length - 1;
    while (k > 0 && !isWs(buf[k])) k--;
    if (k <= 0) {
      if (!CJK_CHAR.test(buf[buf.length - 1] ?? '')) {
        // One growing word: cutting it would garble speech. Wait another period.
        this.#pendingSince = nowMs;
        return [];
      }
      k = this.#graphemeCut(buf.length, false);
      if (k <= 0) {
        this.#pendingSince = nowMs;
        return [];
      }
    }
    this.#cut(k, out, nowMs);
    return out;
  }

  /** Forgets pending text and re-arms the first-chunk rule. */
  reset(): void {
    this.#buf = '';
    this.#scan = 0;
    this.#graphemeRecheckAt = 0;
    this.#emitted = 0;
    this.#pendingSince = undefined;
  }

  /**
   * Splits a whole text at once (same rules as streaming it).
   * @example
   * ```ts
   * SentenceChunker.split('Hi. It is 3.5 km.'); // ['Hi.', 'It is 3.5 km.']
   * ```
   */
  static split(text: string, options: SentenceChunkerOptions = {}): string[] {
    const c = new SentenceChunker(options);
    return [...c.push(text, 0), ...c.flush()];
  }

  #cut(end: number, out: string[], nowMs: number): void {
    const chunk = this.#buf.slice(0, end).trim();
    if (chunk.length > 0) {
      out.push(chunk);
      this.#emitted++;
    }
    this.#buf = this.#buf.slice(end).trimStart();
    this.#scan = 0;
    this.#graphemeRecheckAt = 0;
    this.#pendingSince = this.#buf.length > 0 ? nowMs : undefined;
  }

  #extract(final: boolean, out: string[], nowMs: number): void {
    let i = this.#scan;
    for (;;) {
      const limit = this.#limit;
      if (i >= limit && this.#buf.length > limit) {
        // Whether the limit is a grapheme boundary depends on the whole code point there: wait
        // for the second half of a surrogate pair split across deltas.
        const c = this.#buf.charCodeAt(limit);
        if (!final && c >= 0xd800 && c <= 0xdbff && this.#buf.length <= limit + 1) break;
        const end = this.#forcedCut(final);
        if (end === WAIT) break;
        this.#cut(end, out, nowMs);
        i = 0;
        continue;
      }
      if (i >= this.#buf.length) break;
      SPECIAL.lastIndex = i;
      const next = SPECIAL.exec(this.#buf);
      const at = next ? next.index : this.#buf.length;
      if (at > i) {
        i = at;
        continue;
      }
      const r = this.#decide(i, final);
      if (r === WAIT) break;
      if (r >= 0) {
        this.#cut(r, out, nowMs);
        i = 0;
        continue;
      }
      i = this.#skipTo;
    }
    this.#scan = Math.min(i, this.#buf.length);
  }

  // Index to resume from after a NONE decision (runs of punctuation are skipped whole).
  #skipTo = 0;

  /** Decides position `i`: a cut end (exclusive), NONE (set #skipTo), or WAIT for more text. */
  #decide(i: number, final: boolean): number {
    const buf = this.#buf;
    const c = buf[i] as string;
    this.#skipTo = i + 1;

    if (LINE_BREAK.has(c)) return i + 1;

    if (TERMINAL.has(c) || CJK_TERMINAL.has(c)) {
      let runEnd = i;
      let cjk = CJK_TERMINAL.has(c);
      let dots = c === '.' ? 1 : 0;
      let ellipsis = c === '…';
      while (runEnd + 1 < buf.length) {
        const d = buf[runEnd + 1] as string;
        if (!TERMINAL.has(d) && !CJK_TERMINAL.has(d)) break;
        runEnd++;
        if (d === '.') dots++;
        if (d === '…') ellipsis = true;
        if (CJK_TERMINAL.has(d)) cjk = true;
      }
      let j = runEnd;
      while (j + 1 < buf.length && CLOSER.has(buf[j + 1] as string)) j++;
      this.#skipTo = j + 1;
      // A boundary past the length cap cannot be used: the cap cuts earlier.
      if (j + 1 > this.#limit) return NONE;
      if (j + 1 >= buf.length) return final ? j + 1 : WAIT;
      if (cjk) return this.#cutBefore(j + 1, final);
      if (!isWs(buf[j + 1])) return NONE; // 3.5, e.g, example.com, "...and"
      if (ellipsis || dots >= 2) return this.#upperRule(j, final);
      if (runEnd !== i || c !== '.') return j + 1; // ! ? and mixes end the sentence
      const word = wordBefore(buf, i);
      if (word.length === 0) return j + 1;
      const lower = word.toLowerCase();
      if (this.#extraAbbreviations.has(lower)) return NONE;
      const rule = ABBREVIATIONS.get(lower);
      if (rule === 'never') return NONE;
      if (rule === 'upper') return this.#upperRule(j, final);
      if (rule === 'digit') return this.#digitRule(j, final);
      if (SINGLE_LETTER.test(word)) return NONE; // initials: J. R. Smith; list items a. b.
      if (DOTTED_ACRONYM.test(word)) return this.#upperRule(j, final);
      if (SHORT_NUMBER.test(word) && startsLine(buf, i - word.length)) return NONE; // "1. Open the app"
      return j + 1;
    }

    if (CJK_CLAUSE.has(c) && this.#firstChunkOpen(i)) return this.#cutBefore(i + 1, final);
    if (CLAUSE.has(c) && this.#firstChunkOpen(i)) {
      if (i + 1 >= buf.length) return final ? i + 1 : WAIT;
      if (isWs(buf[i + 1])) return i + 1;
    }
    return NONE;
  }

  /** A cut before `k` unless the character there attaches to the one before (NONE), or WAIT for it. */
  #cutBefore(k: number, final: boolean): number {
    const buf = this.#buf;
    if (k >= buf.length) return final ? k : WAIT;
    const cp = buf.codePointAt(k) as number;
    if (!final && cp >= 0xd800 && cp <= 0xdbff && k + 1 >= buf.length) return WAIT; // half a pair
    return ATTACHES.test(String.fromCodePoint(cp)) ? NONE : k;
  }

  #firstChunkOpen(i: number): boolean {
    return this.#emitted === 0 && this.#firstChunkMinChars > 0 && i + 1 >= this.#firstChunkMinChars;
  }

  /** After an ambiguous dot at `j`: a boundary when the next word starts like a sentence. */
  #upperRule(j: number, final: boolean): number {
    const n = nextNonSpace(this.#buf, j + 1);
    if (n === undefined) return final ? j + 1 : WAIT;
    return SENTENCE_START.test(n) ? j + 1 : NONE;
  }

  #digitRule(j: number, final: boolean): number {
    const n = nextNonSpace(this.#buf, j + 1);
    if (n === undefined) return final ? j + 1 : WAIT;
    return n >= '0' && n <= '9' ? NONE : j + 1;
  }

  /** Longest chunk allowed now: `firstChunkMaxChars` for the first one, `maxChars` after. */
  get #limit(): number {
    return this.#emitted === 0 && this.#firstChunkMinChars > 0 ? this.#firstChunkMaxChars : this.#maxChars;
  }

  /** Where to cut a chunk that reached the cap: last clause break, else last space, else a grapheme boundary. */
  #forcedCut(final: boolean): number {
    const buf = this.#buf;
    const limit = this.#limit;
    let space = -1;
    for (let k = limit - 1; k > 0; k--) {
      if (isWs(buf[k])) {
        const prev = buf[k - 1] as string;
        if (CLAUSE.has(prev) || CJK_CLAUSE.has(prev)) return k;
        if (space < 0) space = k;
        if (k < limit / 2) break;
      }
    }
    if (space > 0) return space;
    return this.#graphemeCut(limit, final);
  }

  /**
   * The last grapheme boundary at or before `limit` (or, when the first grapheme is longer
   * than `limit`, the end of that grapheme). WAIT when that grapheme may still be growing.
   */
  #graphemeCut(limit: number, final: boolean): number {
    if (!final && this.#buf.length < this.#graphemeRecheckAt) return WAIT;
    segmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' });
    let best = 0;
    let after = -1;
    // A boundary is only known once the code point after it is complete.
    const last = this.#buf.charCodeAt(this.#buf.length - 1);
    const known = !final && last >= 0xd800 && last <= 0xdbff ? this.#buf.length - 1 : this.#buf.length;
    for (const seg of segmenter.segment(this.#buf)) {
      if (seg.index === 0) continue;
      if (seg.index >= known) break;
      if (seg.index <= limit) best = seg.index;
      else {
        after = seg.index;
        break;
      }
    }
    if (best > 0) return best;
    if (after > 0) return after;
    if (final) return this.#buf.length;
    this.#graphemeRecheckAt = 2 * this.#buf.length;
    return WAIT;
  }
}

function wordBefore(buf: string, i: number): string {
  let k = i;
  while (k > 0 && !isWs(buf[k - 1])) k--;
  return buf.slice(k, i).replace(OPENERS, '');
}

function nextNonSpace(buf: string, from: number): string | undefined {
  for (let k = from; k < buf.length; k++) if (!isWs(buf[k])) return buf[k];
  return undefined;
}

/** True when only spaces or tabs separate `start` from the start of the text, a line break or a colon. */
function startsLine(buf: string, start: number): boolean {
  let k = start - 1;
  while (k >= 0 && (buf[k] === ' ' || buf[k] === '\t')) k--;
  if (k < 0) return true;
  const c = buf[k] as string;
  return LINE_BREAK.has(c) || c === ':';
}
