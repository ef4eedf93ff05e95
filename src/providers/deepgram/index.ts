/**
 * `earshot/deepgram`: speech-to-text over Deepgram (`@deepgram/sdk` v5, an optional peer
 * dependency: `npm install @deepgram/sdk`).
 * @module
 */
export { DeepgramFluxSession } from './flux-session.js';
export { DeepgramLiveSession } from './live-session.js';
export {
  DEEPGRAM_DEFAULTS,
  type DeepgramSpeechToTextOptions,
  deepgramOptionsSchema,
  isFluxModel,
  type ResolvedDeepgramOptions,
} from './options.js';
export { DeepgramSpeechToText, deepgramFormat } from './speech-to-text.js';
