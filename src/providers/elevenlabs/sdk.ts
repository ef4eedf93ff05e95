/**
 * Loads `@elevenlabs/elevenlabs-js` and `ws` on first use, so importing `earshot/elevenlabs`
 * never fails and a missing package gives a MissingDependencyError that says what to install.
 * @module
 */
import { optionalPeerLoader } from '../shared/index.js';

/** The `@elevenlabs/elevenlabs-js` module. */
export type ElevenLabsSdk = typeof import('@elevenlabs/elevenlabs-js');
/** The `WebSocket` class of the `ws` package. */
export type WsClass = typeof import('ws').WebSocket;

type WsModule = { WebSocket?: WsClass; default?: unknown };

const loadSdk = optionalPeerLoader<ElevenLabsSdk>(
  '@elevenlabs/elevenlabs-js',
  () => import('@elevenlabs/elevenlabs-js'),
);
const loadWsModule = optionalPeerLoader<WsModule>('ws', () => import('ws'));

/**
 * Imports `@elevenlabs/elevenlabs-js` (once). `importer` replaces the import, for tests of the
 * missing-package path; leave it out otherwise.
 */
export function loadElevenLabsSdk(importer?: () => Promise<ElevenLabsSdk>): Promise<ElevenLabsSdk> {
  return loadSdk('ElevenLabsTextToSpeech', importer);
}

/**
 * Imports `ws` (once), needed by the stream-input mode: neither ElevenLabs SDK has a client
 * for it. `importer` replaces the import, for tests.
 */
export function loadWs(importer?: () => Promise<WsModule>): Promise<WsClass> {
  const pick = (m: WsModule): WsClass =>
    m.WebSocket ?? (m.default as { WebSocket?: WsClass } | undefined)?.WebSocket ?? (m.default as WsClass);
  return loadWsModule('ElevenLabsTextToSpeech.synthesizeStream (WebSocket stream-input)', importer).then(
    pick,
  );
}
