/**
 * The source design's "before" pipeline for `earshot demo`'s comparison: stages one after
 * another. The language model's answer is held until it is complete (no sentence streaming),
 * and each synthesis is held until its audio is complete (no audio streaming), so the first
 * audio waits for STT + the whole answer + the whole synthesis of its first sentence.
 * @module
 */
import type {
  AudioChunk,
  AudioFormat,
  ChatMessage,
  GenerateOptions,
  LanguageModel,
  LanguageModelEvent,
  SynthesizeOptions,
  TextToSpeech,
} from '../pipeline/contracts.js';

/**
 * A language model whose events arrive only once the answer is complete: the text as one
 * delta, then the tool calls, usage and finish.
 */
export class WholeAnswerLanguageModel implements LanguageModel {
  readonly provider: string;
  readonly model?: string;
  constructor(private readonly inner: LanguageModel) {
    this.provider = inner.provider;
    if (inner.model !== undefined) this.model = inner.model;
  }

  async *stream(
    messages: readonly ChatMessage[],
    options?: GenerateOptions,
  ): AsyncIterable<LanguageModelEvent> {
    const held: LanguageModelEvent[] = [];
    let text = '';
    for await (const e of this.inner.stream(messages, options)) {
      if (e.type === 'text-delta') text += e.text;
      else held.push(e);
    }
    if (text) yield { type: 'text-delta', text };
    yield* held;
  }
}

/** A text-to-speech stage that returns the audio of a text only once it is all synthesized. */
export class WholeAudioTextToSpeech implements TextToSpeech {
  readonly provider: string;
  readonly model?: string;
  readonly defaultFormat: AudioFormat;
  constructor(private readonly inner: TextToSpeech) {
    this.provider = inner.provider;
    if (inner.model !== undefined) this.model = inner.model;
    this.defaultFormat = inner.defaultFormat;
  }

  async *synthesize(text: string, options?: SynthesizeOptions): AsyncIterable<AudioChunk> {
    const held: AudioChunk[] = [];
    for await (const chunk of this.inner.synthesize(text, options)) held.push(chunk);
    yield* held;
  }
}
