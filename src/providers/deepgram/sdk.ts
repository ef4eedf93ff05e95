/**
 * Loads `@deepgram/sdk` on first use, so importing `earshot/deepgram` never fails and a
 * missing SDK gives a MissingDependencyError that says what to install.
 * @module
 */
import { importOptional } from './support.js';

/** The `@deepgram/sdk` module. */
export type DeepgramSdk = typeof import('@deepgram/sdk');

let cached: Promise<DeepgramSdk> | undefined;

/**
 * Imports `@deepgram/sdk` (once). `importer` replaces the import, for tests of the
 * missing-package path; leave it out otherwise.
 */
export function loadDeepgramSdk(importer?: () => Promise<DeepgramSdk>): Promise<DeepgramSdk> {
  if (importer) return importOptional('@deepgram/sdk', 'DeepgramSpeechToText', importer);
  cached ??= importOptional('@deepgram/sdk', 'DeepgramSpeechToText', () => import('@deepgram/sdk')).catch(
    (err: unknown) => {
      cached = undefined;
      throw err;
    },
  );
  return cached;
}
