/**
 * Loads `@deepgram/sdk` on first use, so importing `earshot/deepgram` never fails and a
 * missing SDK gives a MissingDependencyError that says what to install.
 * @module
 */
import { optionalPeerLoader } from '../shared/index.js';

/** The `@deepgram/sdk` module. */
export type DeepgramSdk = typeof import('@deepgram/sdk');

const load = optionalPeerLoader<DeepgramSdk>('@deepgram/sdk', () => import('@deepgram/sdk'));

/**
 * Imports `@deepgram/sdk` (once). `importer` replaces the import, for tests of the
 * missing-package path; leave it out otherwise.
 */
export function loadDeepgramSdk(importer?: () => Promise<DeepgramSdk>): Promise<DeepgramSdk> {
  return load('DeepgramSpeechToText', importer);
}
