/**
 * Prewarming a stage that is not a streaming STT (those are warmed for the session a turn
 * opens, see `prewarmStreamingStt`): one call, never a rejection for a provider fault, and a TTS
 * told which transport the next turn will use.
 * @module
 */
import { noop } from '../internal/abort.js';
import type { StageLifecycle, SynthesisPrewarmOptions, TextToSpeech } from './contracts.js';
import { streamsTtsInput } from './tts-input.js';
import type { PipelineContext } from './turn-state.js';

/**
 * @internal Calls `stage.prewarm()` if it has one; resolves when done or failed (a failed
 * prewarm leaves the connection cold and never touches a turn). A text-to-speech stage (the
 * primary or its fallback) also gets `streamedInput`, so an adapter with a WebSocket and an HTTP
 * route warms only the one the pipeline's `ttsInput` will use.
 */
export function prewarmStage(
  stage: StageLifecycle,
  context: PipelineContext,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (typeof stage.prewarm !== 'function') return Promise.resolve();
  const options: SynthesisPrewarmOptions = signal ? { signal } : {};
  const o = context.options;
  if (stage === o.tts || stage === o.fallbacks.tts) {
    options.streamedInput = streamsTtsInput(
      o.ttsInput,
      stage as TextToSpeech,
      context.ttsCache !== undefined,
    );
  }
  return Promise.resolve()
    .then(() => stage.prewarm?.(options))
    .catch(noop);
}
