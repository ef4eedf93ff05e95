/**
 * ElevenLabs' WebSocket stream-input mode (`/v1/text-to-speech/{voice}/stream-input`): text
 * goes in while the language model is still writing, audio comes out as soon as ElevenLabs
 * has enough text. Neither `@elevenlabs/elevenlabs-js` nor the legacy `elevenlabs` package
 * has a client for it, so this speaks the protocol over `ws` directly.
 *
 * Measured (labels `provider`, `model`, `mode: 'websocket'`):
 * - `tts_ttfb`: first text piece sent → first audio byte received. With the default
 *   `flush: 'first-and-sentence'` the first piece is generated at once (then each complete
 *   sentence); with `sentence` the first complete sentence; with `never` ElevenLabs waits for
 *   `chunkLengthSchedule[0]` characters, and that wait is counted.
 * - `tts`: first text piece sent → the final message.
 * @module
 */

import { AbortedError, type EarshotError, isEarshotError } from '../../errors.js';
import type { Labels } from '../../perf/index.js';
import type { AudioChunk } from '../../pipeline/contracts.js';
import { type LatencyRecorder, providerError } from '../shared/index.js';
import { detailOf, PROVIDER, statusError } from './errors.js';
import { initSettings, readSome, webSocketUrl } from './multi-stream.js';
import type { ElevenLabsUsage, ResolvedElevenLabsOptions } from './options.js';
import type { WsClass } from './sdk.js';
import { alignedText } from './stream-clock.js';
import { frameAudio, readFrame, StreamedSynthesis } from './streamed-synthesis.js';

const RETRYABLE_CLOSE_CODES = new Set([1001, 1005, 1006, 1011, 1012, 1013, 1014]);

/** Everything one stream-input call needs from the adapter. */
interface StreamInputParams {
  WebSocket: WsClass;
  apiKey: string;
  baseUrl: string;
  options: Omit<ResolvedElevenLabsOptions, 'apiKey'>;
  format: string;
  monitor: LatencyRecorder;
  labels: Labels;
  signal: AbortSignal | undefined;
  onUsage: ((usage: ElevenLabsUsage) => void) | undefined;
}

/**
 * Runs one stream-input synthesis: yields audio chunks while `text` is still being written.
 * Ends after ElevenLabs' final message; throws a mapped EarshotError otherwise.
 */
export async function* streamInput(
  text: AsyncIterable<string>,
  p: StreamInputParams,
): AsyncGenerator<AudioChunk> {
  const o = p.options;
  const what = 'ElevenLabs stream-input synthesis';
  let requestId: string | undefined;

  const ws = new p.WebSocket(webSocketUrl(p.baseUrl, o, p.format, 'stream-input'), {
    headers: { 'xi-api-key': p.apiKey },
    handshakeTimeout: o.timeoutMs,
    perMessageDeflate: false,
  });
  const run = new StreamedSynthesis(what, p, () => {
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.terminate();
  });
  const { control, queue } = run;
  const fail = (err: EarshotError) => run.fail(err);

  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (req, res) => {
      requestId = typeof res.headers['request-id'] === 'string' ? res.headers['request-id'] : undefined;
      const retryAfter =
        typeof res.headers['retry-after'] === 'string' ? res.headers['retry-after'] : undefined;
      const status = res.statusCode ?? 0;
      void readSome(res).then((body) => {
        let parsed: unknown = body;
        try {
          parsed = JSON.parse(body);
        } catch {
          // keep the text
        }
        reject(statusError(status, what, { detail: detailOf(parsed), requestId, retryAfter }));
        req.destroy();
      });
    });
    ws.once('error', (err) => {
      reject(
        providerError(
          PROVIDER,
          `${what}: the WebSocket could not be opened (${(err as { code?: string }).code ?? err.message}). Check baseUrl and the network.`,
          { retryable: true, cause: err },
        ),
      );
    });
    control.signal.addEventListener(
      'abort',
      () => reject(run.failure ?? new AbortedError(`${what} was aborted.`)),
      {
        once: true,
      },
    );
  });

  // Registered before the socket opens: a frame can arrive in the same packet as the handshake.
  const onMessage = (data: unknown, isBinary: boolean) => {
    if (queue.settled) return;
    const msg = readFrame(data, isBinary, what, requestId);
    if (isEarshotError(msg)) {
      fail(msg);
      return;
    }
    const audio = frameAudio(msg, what, requestId);
    if (isEarshotError(audio)) {
      fail(audio);
      return;
    }
    if (audio) run.audio(audio, alignedText(msg));
    if (msg.isFinal === true) run.final();
  };

  const onClose = (code: number, reason: Buffer) => {
    if (queue.settled || ws.readyState === ws.CONNECTING) return;
    control.disarm();
    if (code === 1000 && run.inputEnded) {
      queue.end();
      return;
    }
    const why = reason.length > 0 ? `: ${reason.toString('utf8').slice(0, 120)}` : '';
    fail(
      providerError(
        PROVIDER,
        `${what}: ElevenLabs closed the WebSocket before the final message (code ${code}${why}).`,
        { retryable: RETRYABLE_CLOSE_CODES.has(code), requestId },
      ),
    );
  };

  try {
    yield* run.stream(text, {
      open: async () => {
        control.arm(o.timeoutMs);
        ws.on('message', onMessage);
        ws.on('close', onClose);
        await opened;
        control.disarm();
        ws.on('error', (err) =>
          fail(
            providerError(PROVIDER, `${what}: WebSocket error (${err.message}).`, {
              retryable: true,
              requestId,
            }),
          ),
        );
        // Measured from the first text piece (or, before one was sent, from the open socket).
        run.since = performance.now();
      },
      begin: () => ws.send(JSON.stringify({ text: ' ', ...initSettings(o) })),
      send: (piece, flush) => {
        ws.send(JSON.stringify(flush ? { text: piece, flush: true } : { text: piece }));
        return true;
      },
      endInput: () => ws.send(JSON.stringify({ text: '' })),
      done: () =>
        p.onUsage?.({
          mode: 'websocket',
          characters: run.clock.characters,
          ...(requestId ? { requestId } : {}),
        }),
    });
  } finally {
    if (ws.readyState === ws.OPEN) {
      if (run.completed) ws.close(1000);
      else ws.terminate();
    } else if (ws.readyState === ws.CONNECTING) ws.terminate();
  }
}
