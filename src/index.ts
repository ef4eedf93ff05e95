/**
 * earshot — latency-tracked voice-assistant pipelines.
 *
 * The core entry: errors, configuration, the performance monitor, the cache, the company-API
 * client and the pipeline. Everything that needs an optional dependency lives behind a subpath
 * (`earshot/redis`, `earshot/openai`, `earshot/deepgram`, `earshot/elevenlabs`,
 * `earshot/pinecone`, `earshot/exporters`); test doubles are in `earshot/testing`.
 * @packageDocumentation
 */
export * from './cache/index.js';
export * from './company-api/index.js';
export * from './config/index.js';
export * from './errors.js';
export * from './perf/index.js';
export * from './pipeline/index.js';
