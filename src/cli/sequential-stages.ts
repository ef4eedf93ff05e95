/**
 * The source design's "before" pipeline for `earshot demo`'s comparison: stages one after
 * another. The language model's answer is held until it is complete (no sentence streaming),
 * so the first audio waits for STT + the whole answer + the first byte of TTS — the source
 * design's End-to-End sum (150 + 400 + 150 ≈ 700 ms).
 * @module
 */
import type {
  ChatMessage,
  GenerateOptions,
  LanguageModel,
  LanguageModelEvent,
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
