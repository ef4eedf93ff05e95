/**
 * `earshot/openai`: the OpenAI adapters. `OpenAILanguageModel` (chat completions, streaming,
 * tool calls, usage; the pipeline's `LanguageModel`) and `OpenAIEmbedder` (embeddings; the
 * pipeline's `Embedder`), over the official `openai` SDK (an optional peer: `npm install openai`).
 * @module
 */
export { createOpenAIEmbedder, decodeFloat32Base64, OpenAIEmbedder } from './embedder.js';
export { isRetryableStatus as isRetryableOpenAIStatus } from './errors.js';
export { createOpenAILanguageModel, OpenAILanguageModel } from './language-model.js';
export type { OpenAIChatModel, OpenAIEmbeddingModel } from './models.js';
export {
  OPENAI_EMBEDDER_DEFAULTS,
  OPENAI_LLM_DEFAULTS,
  type OpenAICallMetrics,
  type OpenAIEmbedderOptions,
  type OpenAILanguageModelOptions,
  openAIEmbedderOptionsSchema,
  openAILanguageModelOptionsSchema,
  type ResolvedOpenAIEmbedderOptions,
  type ResolvedOpenAILanguageModelOptions,
} from './options.js';
export { loadOpenAISdk, type OpenAIClient, type OpenAISdk } from './sdk.js';
