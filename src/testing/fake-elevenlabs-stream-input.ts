/**
 * The fake ElevenLabs server's `stream-input` WebSocket session (one synthesis per connection):
 * the init message, in-message or header authentication, the chunk-length schedule and
 * `flush` / `try_trigger_generation`, the end-of-input message, `isFinal`, the inactivity
 * timeout and the injected faults. Split from `fake-elevenlabs.ts`; `multi-stream-input` lives in
 * `fake-elevenlabs-multi.ts`.
 * @module
 */
import type { RawData, WebSocket } from 'ws';
import { synthesizeFakeSpeech } from './audio.js';
import {
  alignmentOf,
  DEFAULT_SCHEDULE,
  FakeSessionBasics,
  inMessageKey,
  type MultiStreamDeps,
  readClientFrame,
  visibleMessage,
} from './fake-elevenlabs-multi.js';
import { chunkAudio, type FakeRequestRecord, pacingMs, sleepWhile } from './fake-provider-kit.js';
import type { FaultDecision } from './latency.js';

/** What a stream-input session needs from the fake server. */
export interface StreamInputDeps extends MultiStreamDeps {
  /** The error body's `detail` of an injected error fault, sent in band. */
  faultDetail(status: number): { status: string; message: string };
}

/** Runs one `stream-input` session on an accepted WebSocket. */
export function runStreamInput(
  ws: WebSocket,
  query: Record<string, string>,
  headerAuthed: boolean,
  decision: FaultDecision,
  record: FakeRequestRecord,
  format: string,
  deps: StreamInputDeps,
): void {
  const { latency, stats, msPerChar, keyProblem } = deps;
  const state = deps.settings;
  // Messages received, without credentials, for tests to inspect (`requests.entries[i].body.messages`).
  const received: Record<string, unknown>[] = [];
  record.body = { messages: received };
  stats.sessions++;
  stats.open++;
  const session = new FakeSessionBasics(ws, query, decision);
  const { alive } = session;
  const fail = (message: string, error: string, code?: number) => session.fail(message, error, code);
  let authed = headerAuthed;
  let initialized = false;
  let schedule = DEFAULT_SCHEDULE;
  let generation = 0;
  let buffer = '';
  let ended = false;
  let chain: Promise<void> = Promise.resolve();

  const generate = (text: string) => {
    const spoken = text.trim();
    if (!spoken) return;
    stats.characters += spoken.length;
    const audio = synthesizeFakeSpeech(spoken, { format, msPerChar });
    const chunks = chunkAudio(audio, format, state.chunkMs);
    chain = chain.then(async () => {
      if (!alive() || session.stalled) return;
      if (!(await sleepWhile(latency.sample() + session.extraMs, alive))) return;
      const gap = pacingMs(state.chunkMs, state.audioRate);
      for (let i = 0; i < chunks.length; i++) {
        if (!alive() || session.stalled) return;
        if (!session.beforeChunk(state.faultAfterChunks, '{"audio": "AAAA", "isFin')) return;
        if (i > 0 && gap > 0 && !(await sleepWhile(gap, alive))) return;
        const chunk = chunks[i]!;
        session.chunksSent++;
        stats.audioBytes += chunk.length;
        // Alignment rides on a generation's first chunk only; later chunks leave it out (never null).
        const alignment = i === 0 ? alignmentOf(spoken, msPerChar) : undefined;
        ws.send(
          JSON.stringify({
            audio: Buffer.from(chunk).toString('base64'),
            ...(alignment ? { normalizedAlignment: alignment, alignment } : {}),
          }),
        );
      }
    });
  };

  const maybeGenerate = (force: boolean) => {
    const threshold = schedule[Math.min(generation, schedule.length - 1)] ?? 50;
    if (!force && buffer.length < threshold) return;
    // Without a flush, ElevenLabs generates up to the last word boundary and keeps the rest.
    let cut = buffer.length;
    if (!force) {
      const space = buffer.lastIndexOf(' ');
      if (space > 0) cut = space + 1;
    }
    const text = buffer.slice(0, cut);
    buffer = buffer.slice(cut);
    generation++;
    generate(text);
  };

  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (ended) return;
    session.touch();
    const msg = readClientFrame(data, isBinary);
    if (!msg) {
      fail('Invalid message: expected a JSON text frame.', 'invalid_message');
      return;
    }
    if (received.length < 500) received.push(visibleMessage(msg));
    if (!authed) {
      const problem = keyProblem(inMessageKey(msg));
      if (problem) {
        fail(deps.keyProblemMessage(problem), problem);
        return;
      }
      authed = true;
    }
    if (typeof msg.text !== 'string') {
      fail('Invalid message: "text" must be a string.', 'invalid_message');
      return;
    }
    if (!initialized) {
      initialized = true;
      const cfg = msg.generation_config as { chunk_length_schedule?: unknown } | undefined;
      const s = cfg?.chunk_length_schedule;
      if (Array.isArray(s) && s.every((n) => typeof n === 'number' && n >= 50 && n <= 500) && s.length > 0) {
        schedule = s as number[];
      }
      if (msg.text === ' ' || msg.text === '') return; // the init message carries no speech
    }
    if (msg.text === '') {
      ended = true;
      if (buffer.trim()) maybeGenerate(true);
      chain = chain.then(() => {
        if (!alive() || session.stalled) return;
        ws.send(JSON.stringify({ isFinal: true }));
        ws.close(1000);
      });
      return;
    }
    buffer += msg.text;
    const force = msg.flush === true || msg.try_trigger_generation === true || query.auto_mode === 'true';
    maybeGenerate(force);
  });
  ws.on('close', () => {
    stats.open--;
    session.stop();
  });
  ws.on('error', () => {});
  if (decision.kind === 'error' || decision.kind === 'rateLimit') {
    // In-band form of an error fault (wsErrorsInBand).
    const b = deps.faultDetail(decision.status);
    ended = true;
    fail(b.message, b.status, decision.kind === 'rateLimit' ? 1008 : 1011);
  }
}
