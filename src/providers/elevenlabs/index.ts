/**
 * `earshot/elevenlabs`: text-to-speech over ElevenLabs (`@elevenlabs/elevenlabs-js` v2, the
 * maintained successor of the deprecated `elevenlabs` package; an optional peer dependency:
 * `npm install @elevenlabs/elevenlabs-js`, plus `ws` for the WebSocket stream-input mode).
 * @module
 */
export {
  ELEVENLABS_DEFAULTS,
  ELEVENLABS_FLUSH_MODES,
  ELEVENLABS_OUTPUT_FORMATS,
  type ElevenLabsFlushMode,
  type ElevenLabsOutputFormat,
  type ElevenLabsTextToSpeechOptions,
  type ElevenLabsUsage,
  elevenLabsOptionsSchema,
  type ResolvedElevenLabsOptions,
} from './options.js';
export { ElevenLabsTextToSpeech, type ElevenLabsUsageTotals } from './text-to-speech.js';
