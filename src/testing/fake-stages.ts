/**
 * Scripted, in-process fake stages for pipeline tests and benchmarks: no network, seeded
 * latencies, honest cancellation (every timer is cleared when the signal aborts).
 *
 * - {@link FakeSpeechToText} reads the transcript out of fake speech (`synthesizeFakeSpeech`),
 *   one-shot or as a streaming session.
 * - {@link FakeLanguageModel} streams scripted replies and tool calls, or follows the built-in
 *   rules (`planFakeReply`: load, inventory and equipment questions call the company-API tools).
 * - {@link FakeTextToSpeech} produces fake speech that carries its text, so TTS → STT round-trips.
 * - {@link FakeDocumentSearch}, {@link FakeEmbedder}, {@link InMemoryVectorIndex}: search without a service.
 *
 * Latencies come from {@link LatencyProfile}s; see `stageLatencyProfiles` for the source
 * design's before/after figures.
 *
 * Each stage lives in its own file (`fake-speech-to-text.ts`, `fake-language-model.ts`,
 * `fake-text-to-speech.ts`, `fake-search.ts`); this module gathers them.
 * @module
 */

export {
  FakeLanguageModel,
  type FakeLanguageModelCall,
  type FakeLanguageModelOptions,
  type FakeLlmReply,
} from './fake-language-model.js';
export {
  FakeDocumentSearch,
  FakeEmbedder,
  type FakeSearchDocument,
  InMemoryVectorIndex,
} from './fake-search.js';
export { FakeSpeechToText, type FakeSpeechToTextOptions } from './fake-speech-to-text.js';
export { FAKE_LOG_LIMIT } from './fake-stage-kit.js';
export { FakeTextToSpeech, type FakeTextToSpeechOptions } from './fake-text-to-speech.js';
