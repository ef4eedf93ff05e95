/**
 * Text-to-speech run-ahead: chunks are synthesized with bounded concurrency while their audio
 * is handed out strictly in chunk order (the head chunk streams live; later ones buffer until
 * it is done).
 * @module
 */
import type { EarshotError } from '../errors.js';
import type { AudioChunk } from './contracts.js';
import type { LiveSpan } from './timeline.js';
import type { TextFeed } from './tts-input.js';

/** @internal What a queued chunk waited on before its TTS request could start. */
export interface WaitedOn {
  spanId: number;
  at: number;
  reason?: string;
}

/** @internal One chunk of text on its way to audio. */
export interface SpeechItem {
  index: number;
  text: string;
  waitedOn: WaitedOn | undefined;
  chunks: AudioChunk[];
  /** Chunks handed out so far (only the head hands out). */
  emitted: number;
  /** Chunks received from TTS (including replays from the cache). */
  received: number;
  done: boolean;
  /** The span whose output the audio is (tts or cache:tts). */
  audioSpan: LiveSpan | undefined;
  /** A stock phrase (an acknowledgement): its audio is kept for the next turns. */
  phrase: boolean;
  /** Streamed TTS input: the text pieces of one model call, spoken by one `synthesizeStream`. */
  feed?: TextFeed;
  /**
   * Streamed input, once its audio is emitted: how far into the feed's text the audio the
   * host got reached, in non-space characters. `aligned` when the TTS said (chunk `text`);
   * else the text sent to the voice by the time of the last such audio (an upper bound).
   * `emitted` / `handedOut`: its audio events pushed / handed to the host.
   */
  reached?: { aligned: boolean; chars: number; emitted: number; handedOut: number };
}

/** @internal The synthesis of one item; receives chunks through `onChunk`. */
type Synthesize = (item: SpeechItem, onChunk: (chunk: AudioChunk) => void) => Promise<void>;

/** @internal */
interface SpeechQueueHooks {
  synthesize: Synthesize;
  /** Hands one audio chunk out (in order). */
  emit(item: SpeechItem, chunk: AudioChunk): void;
  /** A synthesis failed: the turn fails. */
  fail(error: unknown): void;
  /** The span that ends last among finished items, for `free TTS slot` attribution. */
  spanOf(item: SpeechItem): LiveSpan | undefined;
}

/** @internal */
export class SpeechQueue {
  readonly items: SpeechItem[] = [];
  readonly #concurrency: number;
  readonly #hooks: SpeechQueueHooks;
  #nextToStart = 0;
  #active = 0;
  #head = 0;
  #closed = false;
  #failed = false;
  #resolveDrained!: () => void;
  #rejectDrained!: (err: unknown) => void;
  /** Settles when the queue is closed and every item's audio is out; rejects on a failure. */
  readonly drained: Promise<void>;
  readonly tasks: Promise<void>[] = [];

  constructor(concurrency: number, hooks: SpeechQueueHooks) {
    this.#concurrency = concurrency;
    this.#hooks = hooks;
    this.drained = new Promise<void>((resolve, reject) => {
      this.#resolveDrained = resolve;
      this.#rejectDrained = reject;
    });
    this.drained.catch(() => {});
  }

  add(index: number, text: string, waitedOn: WaitedOn | undefined, phrase = false, feed?: TextFeed): void {
    const item: SpeechItem = {
      index,
      text,
      waitedOn,
      chunks: [],
      emitted: 0,
      received: 0,
      done: false,
      audioSpan: undefined,
      phrase,
    };
    if (feed) item.feed = feed;
    this.items.push(item);
    this.#pump(undefined);
  }

  /** No more items will be added. */
  close(): void {
    this.#closed = true;
    this.#advance();
  }

  /** Stops starting work (the turn is over); in-flight syntheses end through their signal. */
  abandon(error: EarshotError): void {
    this.#failed = true;
    this.#rejectDrained(error);
  }

  #pump(freedBy: SpeechItem | undefined): void {
    while (!this.#failed && this.#active < this.#concurrency && this.#nextToStart < this.items.length) {
      const item = this.items[this.#nextToStart++] as SpeechItem;
      if (freedBy) {
        // The item was ready earlier but had to wait for a slot: that wait is what bound it.
        const span = this.#hooks.spanOf(freedBy);
        const at = performance.now();
        if (span && (item.waitedOn === undefined || item.waitedOn.at < at - 0.05)) {
          item.waitedOn = { spanId: span.id, at, reason: 'free TTS slot' };
        }
      }
      this.#active++;
      const task = this.#hooks
        .synthesize(item, (chunk) => this.#onChunk(item, chunk))
        .then(
          () => {
            item.done = true;
            this.#active--;
            this.#advance();
            this.#pump(item);
          },
          (err: unknown) => {
            this.#active--;
            if (!this.#failed) {
              this.#failed = true;
              this.#hooks.fail(err);
              this.#rejectDrained(err);
            }
          },
        );
      this.tasks.push(task);
    }
  }

  #onChunk(item: SpeechItem, chunk: AudioChunk): void {
    item.chunks.push(chunk);
    item.received++;
    if (item.index === this.items[this.#head]?.index) this.#flush(item);
  }

  #flush(item: SpeechItem): void {
    while (item.emitted < item.chunks.length) {
      const chunk = item.chunks[item.emitted] as AudioChunk;
      item.emitted++;
      this.#hooks.emit(item, chunk);
    }
    // Handed out: drop references so a long reply does not hold all its audio twice.
    item.chunks.length = 0;
    item.emitted = 0;
  }

  #advance(): void {
    if (this.#failed) return;
    for (;;) {
      const head = this.items[this.#head];
      if (!head) break;
      this.#flush(head);
      if (!head.done) return;
      this.#head++;
    }
    if (this.#closed && this.#head >= this.items.length) this.#resolveDrained();
  }
}
