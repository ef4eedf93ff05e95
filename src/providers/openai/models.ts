/**
 * Model ids the OpenAI adapter is documented with. Any other id the API accepts works too
 * (`(string & {})` keeps editor completion without closing the list).
 * @module
 */

/**
 * Chat models. `gpt-4o-mini` is the default: fast and cheap, with tool calling. The source
 * design names `gpt-4-turbo-preview` (accuracy) and `gpt-3.5-turbo` (speed); both still
 * answer, but the 4o / 4.1 families are faster at the same quality.
 */
export type OpenAIChatModel =
  | 'gpt-4o-mini'
  | 'gpt-4o'
  | 'gpt-4.1-mini'
  | 'gpt-4.1-nano'
  | 'gpt-4.1'
  | 'gpt-4-turbo'
  | 'gpt-4-turbo-preview'
  | 'gpt-3.5-turbo'
  | (string & {});

/** Embedding models. `text-embedding-3-small` (1536 dimensions, or fewer with `dimensions`) is the default. */
export type OpenAIEmbeddingModel =
  | 'text-embedding-3-small'
  | 'text-embedding-3-large'
  | 'text-embedding-ada-002'
  | (string & {});
