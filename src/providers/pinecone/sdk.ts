/**
 * Loads `@pinecone-database/pinecone` on first use, so importing `earshot/pinecone` never fails
 * and a missing SDK gives a MissingDependencyError that says what to install.
 * @module
 */
import { importOptional } from './support.js';

/** The `@pinecone-database/pinecone` module. */
export type PineconeSdk = typeof import('@pinecone-database/pinecone');

let cached: Promise<PineconeSdk> | undefined;

/**
 * Imports `@pinecone-database/pinecone` (once). `importer` replaces the import, for tests of
 * the missing-package path; leave it out otherwise.
 */
export function loadPineconeSdk(importer?: () => Promise<PineconeSdk>): Promise<PineconeSdk> {
  const feature = 'PineconeVectorIndex';
  if (importer) return importOptional('@pinecone-database/pinecone', feature, importer);
  cached ??= importOptional(
    '@pinecone-database/pinecone',
    feature,
    () => import('@pinecone-database/pinecone'),
  ).catch((err: unknown) => {
    cached = undefined;
    throw err;
  });
  return cached;
}
