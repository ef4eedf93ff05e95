/**
 * earshot — latency-tracked voice-assistant pipelines.
 *
 * The core entry: errors, configuration and the performance monitor. Everything that needs an
 * optional dependency lives behind a subpath (`earshot/redis`, `earshot/openai`, ...).
 * @packageDocumentation
 */
export * from './config/index.js';
export * from './errors.js';
export * from './perf/index.js';
