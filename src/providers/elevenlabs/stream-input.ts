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

import type { EarshotError } from '../../errors.js';
import { AbortedError, isEarshotError, TimeoutError } from '../../errors.js';
import type { Labels } from '../../perf/index.js';
import type { AudioChunk } from '../../pipeline/contracts.js';
import {
  AsyncQueue,
  CallControl,
  type CallOutcome,
  type LatencyRecorder,
  outcomeOf,
  providerError,
} from '../shared/index.js';
import { detailOf, inBandError, malformed, PROVIDER, statusError } from './errors.js';
import { initSettings, readSome, webSocketUrl } from './multi-stream.js';
import { type ElevenLabsUsage, flushesPiece, type ResolvedElevenLabsOptions } from './options.js';
import type { WsClass } from './sdk.js';
import { alignedText, StreamedSynthesisClock, textStreamFailure, wirePiece } from './stream-clock.js';

const RETRYABLE_CLOSE_CODES = new Set([1001, 1005, 1006, 1011, 1012, 1013, 1014]);

/** Everything one stream-input call needs from the adapter. */
export interface StreamInputParams {
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
  const control = new CallControl(p.signal);
  const queue = new AsyncQueue<AudioChunk>();
  let failure: EarshotError | undefined;
  let requestId: string | undefined;
  let inputEnded = false;
  const clock = new StreamedSynthesisClock(p.monitor, p.labels);
  let deadline = `${what}: the WebSocket did not open within ${o.timeoutMs} ms`;

  const ws = new p.WebSocket(webSocketUrl(p.baseUrl, o, p.format, 'stream-input'), {
    headers: { 'xi-api-key': p.apiKey },
    handshakeTimeout: o.timeoutMs,
    perMessageDeflate: false,
  });

  const fail = (err: EarshotError) => {
    if (queue.settled) return;
    failure = err;
    queue.fail(err);
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.terminate();
  };
  control.signal.addEventListener(
    'abort',
    () => {
      if (control.reason === 'aborted') fail(new AbortedError(`${what} was aborted.`));
      else if (control.reason === 'timeout') fail(new TimeoutError(`${deadline}.`, o.timeoutMs));
    },
    { once: true },
  );

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
      () => reject(failure ?? new AbortedError(`${what} was aborted.`)),
      {
        once: true,
      },
    );
  });

  // Audio is expected (and a stall is an error) only after a flush or the end of input.
  const expectAudio = () => {
    deadline = `${what}: no audio from ElevenLabs within ${o.timeoutMs} ms`;
    control.arm(o.timeoutMs);
  };

  // Registered before the socket opens: a frame can arrive in the same packet as the handshake.
  const onMessage = (data: unknown, isBinary: boolean) => {
    if (queue.settled) return;
    let msg: Record<string, unknown>;
    try {
      if (isBinary) throw new Error('binary frame');
      const parsed: unknown = JSON.parse(String(data));
      if (parsed === null || typeof parsed !== 'object') throw new Error('not an object');
      msg = parsed as Record<string, unknown>;
    } catch {
      fail(malformed(what, '(frame)', 'expected a JSON object', requestId));
      return;
    }
    if (typeof msg.message === 'string' || typeof msg.error === 'string') {
      fail(inBandError(msg, what));
      return;
    }
    if (typeof msg.audio === 'string' && msg.audio.length > 0) {
      const bytes = Buffer.from(msg.audio, 'base64');
      if (bytes.length > 0) {
        clock.audio();
        if (inputEnded) expectAudio();
        else control.disarm();
        const spoken = alignedText(msg);
        queue.push({
          data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
          format: p.format,
          ...(spoken === undefined ? {} : { text: spoken }),
        });
      }
    } else if (msg.audio !== undefined && msg.audio !== null && typeof msg.audio !== 'string') {
      fail(malformed(what, 'audio', 'expected a base64 string or null', requestId));
      return;
    }
    // The final message answers our end of input. It ends the synthesis by itself: a server
    // that then neither closes nor speaks must not hold the caller (no deadline runs after it).
    // Before the end of input it cannot be the answer, and is ignored: a close after it is
    // still "closed before the final message", never a silently shortened reply.
    if (msg.isFinal === true && inputEnded) {
      control.disarm();
      queue.end();
    }
  };

  const onClose = (code: number, reason: Buffer) => {
    if (queue.settled || ws.readyState === ws.CONNECTING) return;
    control.disarm();
    if (code === 1000 && inputEnded) {
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

  let pumping = true;
  let textIterator: AsyncIterator<string> | undefined;
  const pump = async () => {
    ws.send(JSON.stringify({ text: ' ', ...initSettings(o) }));
    textIterator = text[Symbol.asyncIterator]();
    let pieces = 0;
    for (;;) {
      const next = await textIterator.next();
      if (!pumping || queue.settled) return;
      if (next.done) break;
      const piece = next.value;
      if (typeof piece !== 'string' || piece.length === 0) continue;
      const flush = flushesPiece(o.flush, piece, pieces++);
      const sent = wirePiece(piece);
      ws.send(JSON.stringify(flush ? { text: sent, flush: true } : { text: sent }));
      clock.sent(piece);
      if (flush && clock.firstAudioAt === undefined) expectAudio();
    }
    inputEnded = true;
    ws.send(JSON.stringify({ text: '' }));
    expectAudio();
  };

  let completed = false;
  let failed = false;
  let started = 0;
  // Measured from the first text piece (or, before one was sent, from the open socket).
  const recordEnd = (outcome: CallOutcome) => clock.ended(outcome, started);
  try {
    control.arm(o.timeoutMs);
    ws.on('message', onMessage);
    ws.on('close', onClose);
    await opened;
    control.disarm();
    ws.on('error', (err) =>
      fail(
        providerError(PROVIDER, `${what}: WebSocket error (${err.message}).`, { retryable: true, requestId }),
      ),
    );
    started = performance.now();
    // The text source failed (or a send did): end the synthesis with that error.
    pump().catch((err: unknown) => fail(textStreamFailure(what, err)));
    for await (const chunk of queue) yield chunk;
    completed = true;
    clock.ended('ok');
    p.onUsage?.({ mode: 'websocket', characters: clock.characters, ...(requestId ? { requestId } : {}) });
  } catch (err) {
    const mapped = isEarshotError(err) ? err : (failure ?? malformed(what, '(stream)', String(err)));
    failed = true;
    recordEnd(outcomeOf(mapped));
    throw mapped;
  } finally {
    // Neither completed nor failed: the consumer stopped early, which cancels like an abort.
    if (!completed && !failed) recordEnd('aborted');
    pumping = false;
    control.abort('closed');
    control.dispose();
    if (!completed) void textIterator?.return?.()?.catch?.(() => {});
    if (ws.readyState === ws.OPEN) {
      if (completed) ws.close(1000);
      else ws.terminate();
    } else if (ws.readyState === ws.CONNECTING) ws.terminate();
  }
}
