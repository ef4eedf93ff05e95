/**
 * From the model's text to ordered audio: the sentence chunker (with its max-wait flush), the
 * `sentence` events, the TTS run-ahead queue and the `audio` events, and what the user heard.
 * @module
 */
import type { AudioChunk } from './contracts.js';
import { SentenceChunker } from './sentence-chunker.js';
import { type SpeechItem, SpeechQueue, type WaitedOn } from './speech-queue.js';
import type { LiveSpan } from './timeline.js';
import { synthesizeSentence } from './tts-stage.js';
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

  constructor(state: TurnState) {
    this.#state = state;
    this.#chunker = new SentenceChunker(state.pipeline.chunkerOptions);
    this.queue = new SpeechQueue(state.options.ttsConcurrency, {
      synthesize: (item, onChunk) => synthesizeSentence(state, item, onChunk),
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
    for (const sentence of this.#chunker.push(text, at)) this.addSentence(sentence, { spanId: span.id, at });
    this.#armStaleTimer();
  }

  /** Hands whatever the chunker holds to TTS (end of a model call). */
  flush(): void {
    const span = this.textSpan;
    const at = performance.now();
    for (const sentence of this.#chunker.flush())
      this.addSentence(sentence, span ? { spanId: span.id, at } : undefined);
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
    this.audioStarted.push(false);
    state.mark('firstSentence');
    state.emit({ type: 'sentence', index, text });
    state.answer.push({ type: 'sentence', text });
    if (waitedOn && waitedOn.reason === undefined) waitedOn.reason = `sentence ${index} complete`;
    this.queue.add(index, text, waitedOn, phrase);
  }

  /** The text of every chunk whose audio was (at least partly) handed out. */
  spokenText(): string {
    return this.sentences.filter((_, i) => this.audioStarted[i]).join(' ');
  }

  /** What the user heard of the final answer (after the last tool round). */
  heardAnswer(): string {
    const start = this.answerSentenceStart;
    return this.sentences
      .slice(start)
      .filter((_, i) => this.audioStarted[start + i])
      .join(' ');
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
      if (!this.audioStarted[item.index]) {
        this.audioStarted[item.index] = true;
        this.firstAudioAt[item.index] = at;
      }
      state.stream.push({ type: 'audio', sentenceIndex: item.index, chunk });
    });
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
