/**
 * `earshot/testing`: wire-compatible fake servers for every provider and the company API,
 * scripted fake stages and latency profiles, for earshot's own tests and for yours.
 * Nothing here imports a provider SDK: the fakes speak the wire format, your test brings the SDK.
 * @module
 */
export * from './audio.js';
export * from './fake-company-api.js';
export * from './fake-deepgram.js';
export * from './fake-elevenlabs.js';
export * from './fake-embedding.js';
export * from './fake-llm-rules.js';
export * from './fake-openai.js';
export * from './fake-pinecone.js';
export { type FakeRequestRecord, RequestLog } from './fake-provider-kit.js';
export * from './fake-providers.js';
export * from './fake-stages.js';
export * from './fake-streaming-tts.js';
export * from './latency.js';
export * from './profiles.js';
