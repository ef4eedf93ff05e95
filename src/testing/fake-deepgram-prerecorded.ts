/**
 * The prerecorded route of the fake Deepgram server: `POST /v1/listen` with an audio body or
 * a JSON `{ "url": ... }` body.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { transcribeFakeSpeech } from './audio.js';
import {
  bytesPerSecond,
  errorBody,
  fetchAudio,
  formatTranscript,
  modelInfo,
  round,
  wavDurationSeconds,
  wordsOf,
} from './fake-deepgram-wire.js';
import { type FakeRequestRecord, faultHeaders, readBody, sendJson } from './fake-provider-kit.js';
import {
  type FaultInjector,
  hangThenDrop,
  type LatencyModel,
  malformJson,
  type Rng,
  resetConnection,
  waitUnlessClosed,
} from './latency.js';

/** What the prerecorded route needs from its server. */
interface PrerecordedContext {
  faults: FaultInjector;
  latency: LatencyModel;
  /** Seeds the broken bodies of `malformed` faults. */
  rng: Rng;
  /** A problem with the request's credentials, or `undefined` when they pass. */
  checkAuth(req: IncomingMessage): string | undefined;
}

/**
 * Answers one `POST /v1/listen`: checks credentials, applies the fault, transcribes the body
 * (or the audio at its `url`) and replies after the sampled latency.
 */
export async function handlePrerecorded(
  context: PrerecordedContext,
  req: IncomingMessage,
  res: ServerResponse,
  query: Record<string, string>,
  record: FakeRequestRecord,
): Promise<void> {
  const { faults, latency, rng, checkAuth } = context;
  const requestId = randomUUID();
  const ids = { 'dg-request-id': requestId };
  const body = await readBody(req);
  const authProblem = checkAuth(req);
  if (authProblem) {
    record.status = 401;
    sendJson(res, 401, errorBody(401, authProblem, requestId), ids);
    return;
  }
  const decision = faults.decide('transcribe');
  if (decision.kind === 'error' || decision.kind === 'rateLimit') {
    record.status = decision.status;
    sendJson(
      res,
      decision.status,
      errorBody(decision.status, 'Injected fault.', requestId),
      faultHeaders(decision, ids),
    );
    return;
  }
  if (decision.kind === 'reset') {
    record.status = 0;
    resetConnection(req);
    return;
  }
  if (decision.kind === 'timeout') {
    record.status = 0;
    await hangThenDrop(req, res, decision.hangMs);
    return;
  }
  let audio: Uint8Array = body;
  const type = String(req.headers['content-type'] ?? '');
  if (type.includes('application/json')) {
    let parsed: { url?: unknown };
    try {
      parsed = JSON.parse(body.toString('utf8')) as { url?: unknown };
    } catch {
      record.status = 400;
      sendJson(res, 400, errorBody(400, 'Could not parse the JSON body.', requestId), ids);
      return;
    }
    record.body = parsed;
    const fetched = typeof parsed.url === 'string' ? await fetchAudio(parsed.url) : undefined;
    if (!fetched) {
      record.status = 400;
      sendJson(
        res,
        400,
        {
          err_code: 'REMOTE_CONTENT_ERROR',
          err_msg: 'Could not fetch the audio at the given URL.',
          request_id: requestId,
        },
        ids,
      );
      return;
    }
    audio = fetched;
  } else {
    record.body = { bytes: body.length, contentType: type };
  }
  const text = formatTranscript(transcribeFakeSpeech(audio), query);
  const duration = round(wavDurationSeconds(audio) ?? audio.length / bytesPerSecond(query));
  const model = query.model ?? 'base';
  const modelUuid = randomUUID();
  const response = {
    metadata: {
      transaction_key: 'deprecated',
      request_id: requestId,
      sha256: 'fake',
      created: new Date().toISOString(),
      duration,
      channels: 1,
      models: [modelUuid],
      model_info: { [modelUuid]: modelInfo(model) },
    },
    results: {
      channels: [
        {
          alternatives: [
            { transcript: text, confidence: text ? 0.99 : 0, words: wordsOf(text, 0, duration) },
          ],
        },
      ],
    },
  };
  const delay = latency.sample() + (decision.kind === 'slow' ? decision.extraMs : 0);
  if (!(await waitUnlessClosed(delay, res))) return;
  record.status = 200;
  if (decision.kind === 'malformed') {
    sendJson(res, 200, malformJson(response, rng), ids);
    return;
  }
  sendJson(res, 200, response, ids);
}
