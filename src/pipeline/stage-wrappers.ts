/**
 * Wrapping a stage without touching the runner: every stage is a plain object implementing a
 * contract, so a wrapper is just another implementation that delegates.
 * @module
 */
import type { AudioChunk, SynthesizeOptions, TextToSpeech } from './contracts.js';

/**
 * Returns a TTS that rewrites text before synthesis (a normalizer that spells out units,
 * strips markdown, expands abbreviations). Streamed text input is transformed piece by piece.
 *
 * @example
 * ```ts
 * const tts = withTextTransform(elevenlabs, (t) => t.replace(/\blbs\b/g, 'pounds'));
 * ```
 */
export function withTextTransform(tts: TextToSpeech, transform: (text: string) => string): TextToSpeech {
  const wrapped: TextToSpeech = {
    provider: tts.provider,
    ...(tts.model === undefined ? {} : { model: tts.model }),
    defaultFormat: tts.defaultFormat,
    synthesize(text: string, options?: SynthesizeOptions): AsyncIterable<AudioChunk> {
      return tts.synthesize(transform(text), options);
    },
  };
  const stream = tts.synthesizeStream;
  if (stream) {
    wrapped.synthesizeStream = (text: AsyncIterable<string>, options?: SynthesizeOptions) =>
      stream.call(
        tts,
        (async function* () {
          for await (const piece of text) yield transform(piece);
        })(),
        options,
      );
  }
  return wrapped;
}
