/**
 * From the model's text to ordered audio: the sentence chunker (with its max-wait flush), the
 * `sentence` events, the TTS run-ahead queue and the `audio` events, and what the user heard.
 * With streamed TTS input (`ttsInput`), each model call's text goes to one `synthesizeStream`
 * as it is written (see `tts-input.ts`); the chunker then only makes the `sentence` events.
 * @module
 */
import type { AudioChunk } from './contracts.js';
import { SentenceChunker } from './sentence-chunker.js';
import { type SpeechItem, SpeechQueue, type WaitedOn } from './speech-queue.js';
import type { LiveSpan } from './timeline.js';
import { streamsTtsInput, TextFeed, TextPieceSchedule } from './tts-input.js';
import { synthesizeSentence, synthesizeStreamed } from './tts-stage.js';
import type { TurnState } from './turn-state.js';

/** @internal */
export class SpeechOutput {
  /** Every chunk handed to TTS, by index. */
  readonly sentences: string[] = [];
  /** Whether any audio of the chunk was handed out. */
  readonly audioStarted: boolean[] = [];
  /** When the first audio of each chunk played. */
  readonly firstAudioAt: (number | undefined)[] = [];
  /** First chunk of the answer after the last tool round (what the final assistant message holds). */
  answerSentenceStart = 0;
  /** The model call whose text is being chunked (what a flushed chunk waited on). */
  textSpan: LiveSpan | undefined;
  readonly queue: SpeechQueue;
  readonly #state: TurnState;
  readonly #chunker: SentenceChunker;
  #staleTimer: ReturnType<typeof setTimeout> | undefined;
  /** How the current model call's text reaches TTS; decided at its first text. */
  #roundMode: 'stream' | 'sentence' | undefined;
  /** A streamed synthesis failed before any audio: sentence mode for the rest of the answer. */
  #streamFailed = false;
  #schedule = new TextPieceSchedule();
  #feed: TextFeed | undefined;

  constructor(state: TurnState) {
    this.#state = state;
    this.#chunker = new SentenceChunker(state.pipeline.chunkerOptions);
    this.queue = new SpeechQueue(state.options.ttsConcurrency, {
      synthesize: (item, onChunk) =>
        item.feed
          ? synthesizeStreamed(state, item, item.feed, onChunk, () => {
              this.#streamFailed = true;
            })
          : synthesizeSentence(state, item, onChunk),
      emit: (item, chunk) => this.#emitAudio(item, chunk),
      fail: (err) => state.fail(err),
      spanOf: (item) => item.audioSpan,
    });
  }

  /** A piece of the model's text: emitted, added to the reply, chunked. */
  onDelta(text: string, round: number, span: LiveSpan): void {
    this.#state.emit({ type: 'llm-delta', text, round });
    this.#state.reply += text;
    const at = performance.now();
    this.#roundMode ??= this.#canStream() ? 'stream' : 'sentence';
    if (this.#roundMode === 'stream') {
      for (const piece of this.#schedule.push(text)) this.#sendPiece(piece, { spanId: span.id, at });
      for (const sentence of this.#chunker.push(text, at)) this.#recordSentence(sentence);
    } else {
      for (const sentence of this.#chunker.push(text, at))
        this.addSentence(sentence, { spanId: span.id, at });
    }
    this.#armStaleTimer();
  }

  /** Whether this model call's text may be streamed into TTS (while streams work). */
  #canStream(): boolean {
    const state = this.#state;
    return (
      !this.#streamFailed &&
      streamsTtsInput(state.options.ttsInput, state.tts, state.pipeline.ttsCache !== undefined)
    );
  }

  /** A piece of text for the streaming TTS; the first one of a model call opens the stream. */
  #sendPiece(piece: string, waitedOn: WaitedOn | undefined): void {
    if (!this.#feed) {
      const feed = new TextFeed();
      this.#feed = feed;
      this.#state.mark('firstSentence');
      if (waitedOn) waitedOn.reason = 'first text piece';
      this.queue.add(this.sentences.length, '', waitedOn, false, feed);
    }
    this.#feed.push(piece);
  }

  /** A chunk in stream mode: a `sentence` event and the reply's record, no TTS request of its own. */
  #recordSentence(text: string): void {
    const state = this.#state;
    const index = this.sentences.length;
    this.sentences.push(text);
    // A stream's audio may have marked this index before its sentence was cut.
    this.audioStarted[index] ??= false;
    state.emit({ type: 'sentence', index, text });
    state.answer.push({ type: 'sentence', text });
  }

  /** Hands whatever the chunker holds to TTS (end of a model call). */
  flush(): void {
    const span = this.textSpan;
    const at = performance.now();
    if (this.#roundMode === 'stream') {
      for (const piece of this.#schedule.flush())
        this.#sendPiece(piece, span ? { spanId: span.id, at } : undefined);
      for (const sentence of this.#chunker.flush()) this.#recordSentence(sentence);
      this.#feed?.end();
      this.#feed = undefined;
    } else {
      for (const sentence of this.#chunker.flush())
        this.addSentence(sentence, span ? { spanId: span.id, at } : undefined);
    }
    this.#roundMode = undefined;
    this.stopTimer();
  }

  stopTimer(): void {
    if (this.#staleTimer !== undefined) {
      clearTimeout(this.#staleTimer);
      this.#staleTimer = undefined;
    }
  }

  /** One chunk of text on its way to audio. */
  addSentence(text: string, waitedOn: WaitedOn | undefined, phrase = false): void {
    const state = this.#state;
    const index = this.sentences.length;
    this.sentences.push(text);
    // A stream's audio may have marked this index before its sentence was cut.
    this.audioStarted[index] ??= false;
    state.mark('firstSentence');
    state.emit({ type: 'sentence', index, text });
    state.answer.push({ type: 'sentence', text });
    if (waitedOn && waitedOn.reason === undefined) waitedOn.reason = `sentence ${index} complete`;
    this.queue.add(index, text, waitedOn, phrase);
  }

  /** The text of every chunk whose audio was (at least partly) handed out. */
  spokenText(): string {
    return this.#heardFrom(0);
  }

  /**
   * What the user heard of the final answer (after the last tool round): every chunk whose
   * audio started, whole, in order; a prefix of the answer when audio plays in order.
   */
  heardAnswer(): string {
    return this.#heardFrom(this.answerSentenceStart);
  }

  #heardFrom(start: number): string {
    const tail = this.#settleStreams();
    const heard = this.sentences.slice(start).filter((_, i) => this.audioStarted[start + i]);
    if (tail !== undefined) heard.push(tail);
    return heard.join(' ');
  }

  /**
   * Streamed input speaks text that has no chunk of its own yet: which of a stream's chunks
   * its audio reached is only known from how far it got (`SpeechItem.reached`). Marks those
   * chunks as started, and returns the unfinished sentence a cut stream was speaking (the
   * chunker still holds it: the model had not finished it), if its audio started.
   */
  #settleStreams(): string | undefined {
    const items = this.queue.items;
    let tail: string | undefined;
    for (let k = 0; k < items.length; k++) {
      const item = items[k] as SpeechItem;
      const reached = item.reached;
      if (!item.feed || !reached || reached.handedOut === 0) continue;
      // A stream whose audio the host got all of spoke all its text (a transformText may have
      // changed the count).
      const whole = item.done && reached.handedOut === reached.emitted;
      const chars = whole ? Number.POSITIVE_INFINITY : reached.chars;
      const end = (items[k + 1] as SpeechItem | undefined)?.index ?? this.sentences.length;
      let before = 0;
      for (let i = item.index; i < end; i++) {
        // Its first character was reached (the stream's first chunk always is, by its first audio).
        if (before < chars || i === item.index) this.audioStarted[i] = true;
        before += nonSpaceLength(this.sentences[i] as string);
      }
      const pending = this.#chunker.pendingText.trim();
      const tailStarted = before < chars || end === item.index;
      if (item.feed === this.#feed && end === this.sentences.length && pending.length > 0 && tailStarted)
        tail = pending;
    }
    return tail;
  }

  #armStaleTimer(): void {
    if (this.#staleTimer !== undefined) return;
    const at = this.#chunker.staleAtMs;
    if (at === undefined) return;
    this.#staleTimer = setTimeout(
      () => {
        this.#staleTimer = undefined;
        if (this.#state.root.finished) return;
        const flushedAt = performance.now();
        const span = this.textSpan;
        if (this.#roundMode === 'stream') {
          // The model stalls: what it wrote so far goes to the voice now.
          for (const piece of this.#schedule.flush())
            this.#sendPiece(
              piece,
              span ? { spanId: span.id, at: flushedAt, reason: 'max-wait flush' } : undefined,
            );
          for (const sentence of this.#chunker.flushStale(flushedAt)) this.#recordSentence(sentence);
          this.#armStaleTimer();
          return;
        }
        for (const sentence of this.#chunker.flushStale(flushedAt)) {
          this.addSentence(
            sentence,
            span ? { spanId: span.id, at: flushedAt, reason: 'max-wait flush' } : undefined,
          );
        }
        this.#armStaleTimer();
      },
      Math.max(0, at - performance.now()),
    );
  }

  /** Audio plays at once, or when a held (preemptive) answer is released. */
  #emitAudio(item: SpeechItem, chunk: AudioChunk): void {
    const state = this.#state;
    if (state.scope.aborted) return;
    state.deliver(() => {
      if (state.scope.aborted || state.root.finished) return;
      const at = performance.now();
      const timeline = state.timeline;
      if (timeline.marks.firstAudio === undefined) {
        timeline.mark('firstAudio', at);
        timeline.firstAudioSpanId = item.audioSpan?.id;
      }
      timeline.marks.lastAudio = at;
      this.firstAudioAt[item.index] ??= at;
      const reached = item.feed ? this.#streamReached(item, item.feed, chunk) : undefined;
      // Heard once the host got it: audio a barge-in dropped from the buffer never counts.
      state.stream.push({ type: 'audio', sentenceIndex: item.index, chunk }, () => {
        this.audioStarted[item.index] = true;
        reached?.();
      });
    });
  }

  /**
   * A stream's audio chunk, emitted now: what it tells of how far the stream got (see
   * `SpeechItem.reached`), to apply once the host has it.
   */
  #streamReached(item: SpeechItem, feed: TextFeed, chunk: AudioChunk): () => void {
    const spoken = chunk.text === undefined ? undefined : nonSpaceLength(chunk.text);
    // The voice does not say where it is: it cannot be past the text it was sent by now.
    const sent = spoken === undefined ? nonSpaceLength(feed.text()) : 0;
    item.reached ??= { aligned: false, chars: 0, emitted: 0, handedOut: 0 };
    const reached = item.reached;
    reached.emitted++;
    return () => {
      reached.handedOut++;
      if (spoken !== undefined) {
        if (!reached.aligned) reached.chars = 0;
        reached.aligned = true;
        reached.chars += spoken;
      } else if (!reached.aligned) {
        reached.chars = Math.max(reached.chars, sent);
      }
    };
  }

  /**
   * When the first audio of the final answer played: the first chunk after the last tool
   * round (an acknowledgement or the text before a tool call is not the answer).
   */
  firstAnswerAudioAt(): number | undefined {
    for (let i = this.answerSentenceStart; i < this.sentences.length; i++) {
      const at = this.firstAudioAt[i];
      if (at !== undefined) return at;
    }
    return undefined;
  }
}

/**
 * Code units other than white space: what a stream's text and its chunks have in common (both
 * sides are counted alike, so surrogate pairs count twice on each). Runs per audio chunk on the
 * feed's whole text: one native replace, not a test per character.
 */
function nonSpaceLength(text: string): number {
  return text.replace(/\s+/g, '').length;
}
