/**
 * Loads `@pinecone-database/pinecone` on first use, so importing `earshot/pinecone` never fails
 * and a missing SDK gives a MissingDependencyError that says what to install.
 * @module
 */
import { optionalPeerLoader } from '../shared/index.js';

/** The `@pinecone-database/pinecone` module. */
export type PineconeSdk = typeof import('@pinecone-database/pinecone');

const load = optionalPeerLoader<PineconeSdk>(
  '@pinecone-database/pinecone',
  () => import('@pinecone-database/pinecone'),
);

/**
 * Imports `@pinecone-database/pinecone` (once). `importer` replaces the import, for tests of
 * the missing-package path; leave it out otherwise.
 */
export function loadPineconeSdk(importer?: () => Promise<PineconeSdk>): Promise<PineconeSdk> {
  return load('PineconeVectorIndex', importer);
}
