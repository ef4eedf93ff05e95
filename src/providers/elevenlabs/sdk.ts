/**
 * Loads `@elevenlabs/elevenlabs-js` and `ws` on first use, so importing `earshot/elevenlabs`
 * never fails and a missing package gives a MissingDependencyError that says what to install.
 * @module
 */
import { importOptional } from './support.js';

/** The `@elevenlabs/elevenlabs-js` module. */
export type ElevenLabsSdk = typeof import('@elevenlabs/elevenlabs-js');
/** The `WebSocket` class of the `ws` package. */
export type WsClass = typeof import('ws').WebSocket;

let sdk: Promise<ElevenLabsSdk> | undefined;
let ws: Promise<WsClass> | undefined;

function once<T>(
  get: () => Promise<T> | undefined,
  set: (p: Promise<T> | undefined) => void,
  load: () => Promise<T>,
) {
  let p = get();
  if (!p) {
    p = load().catch((err: unknown) => {
      set(undefined);
      throw err;
    });
    set(p);
  }
  return p;
}

/**
 * Imports `@elevenlabs/elevenlabs-js` (once). `importer` replaces the import, for tests of the
 * missing-package path; leave it out otherwise.
 */
export function loadElevenLabsSdk(importer?: () => Promise<ElevenLabsSdk>): Promise<ElevenLabsSdk> {
  const feature = 'ElevenLabsTextToSpeech';
  if (importer) return importOptional('@elevenlabs/elevenlabs-js', feature, importer);
  return once(
    () => sdk,
    (p) => {
      sdk = p;
    },
    () => importOptional('@elevenlabs/elevenlabs-js', feature, () => import('@elevenlabs/elevenlabs-js')),
  );
}

/**
 * Imports `ws` (once), needed by the stream-input mode: neither ElevenLabs SDK has a client
 * for it. `importer` replaces the import, for tests.
 */
export function loadWs(
  importer?: () => Promise<{ WebSocket?: WsClass; default?: unknown }>,
): Promise<WsClass> {
  const feature = 'ElevenLabsTextToSpeech.synthesizeStream (WebSocket stream-input)';
  const pick = (m: { WebSocket?: WsClass; default?: unknown }): WsClass =>
    m.WebSocket ?? (m.default as { WebSocket?: WsClass } | undefined)?.WebSocket ?? (m.default as WsClass);
  if (importer) return importOptional('ws', feature, importer).then(pick);
  return once(
    () => ws,
    (p) => {
      ws = p;
    },
    () => importOptional('ws', feature, () => import('ws')).then(pick),
  );
}
