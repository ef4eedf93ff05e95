/**
 * `earshot/pinecone`: `PineconeVectorIndex`, the pipeline's `VectorIndex` over the official
 * `@pinecone-database/pinecone` SDK (an optional peer: `npm install @pinecone-database/pinecone`).
 * @module
 */
export { isRetryableStatus as isRetryablePineconeStatus } from './errors.js';
export {
  type FetchLike,
  normalizeHost as normalizePineconeHost,
  PINECONE_DEFAULTS,
  type PineconeVectorIndexOptions,
  pineconeVectorIndexOptionsSchema,
  type ResolvedPineconeVectorIndexOptions,
} from './options.js';
export { loadPineconeSdk, type PineconeSdk } from './sdk.js';
export { createPineconeVectorIndex, type PineconeIndexStats, PineconeVectorIndex } from './vector-index.js';
