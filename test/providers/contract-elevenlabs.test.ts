/**
 * Contract: the fake ElevenLabs, driven by the real `@elevenlabs/elevenlabs-js` (HTTP), by `ws`
 * (stream-input and multi-stream-input) and by the adapter, on the common and fault paths; every
 * body and WebSocket message is checked against ElevenLabs' published specs
 * (`test/fixtures/specs/elevenlabs-*.json`, from elevenlabs/elevenlabs-docs `openapi.json` and
 * `asyncapi.yml` 1.1.0).
 *
 * Not in the specs, so checked by shape only: the `{ detail: { status, message } }` error bodies
 * (the OpenAPI document declares only the 422 body) and the in-band `{ message, error, code }`
 * WebSocket errors.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ElevenLabsClient } from '@elevenlabs/elevenlabs-js';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { ELEVENLABS_DEFAULTS, ElevenLabsTextToSpeech } from '../../src/providers/elevenlabs/index.js';
import { type FakeElevenLabs, startFakeElevenLabs } from '../../src/testing/index.js';
import { loadSpec, recordingFetch, SPEC_FIXTURES_DIR, SpecValidator } from './spec-validate.js';

const KEY = 'el-contract-key-9a8b7c6d';
const VOICE = ELEVENLABS_DEFAULTS.voiceId;
const S = (name: string) => `components/schemas/${name}`;
const http = loadSpec('elevenlabs-http');

/**
 * Known spec defect (asyncapi 1.1.0): `AudioOutputMulti.alignment` / `.normalizedAlignment` are
 * `$ref` + OpenAPI's `nullable: true`, which JSON Schema (and ajv) cannot compile without a
 * `type`. Only those two properties are rewritten, to what the spec means: the referenced object
 * or null. Nothing else of the vendored document changes.
 */
function loadElevenLabsWsSpec(): SpecValidator {
  const doc = JSON.parse(readFileSync(join(SPEC_FIXTURES_DIR, 'elevenlabs-ws.json'), 'utf8')) as {
    components: { schemas: Record<string, { properties?: Record<string, Record<string, unknown>> }> };
  };
  const props = doc.components.schemas.AudioOutputMulti?.properties ?? {};
  for (const name of ['alignment', 'normalizedAlignment']) {
    const p = props[name];
    if (p?.nullable === true && typeof p.$ref === 'string')
      props[name] = { anyOf: [{ $ref: p.$ref }, { type: 'null' }] };
  }
  return new SpecValidator(doc as unknown as Record<string, unknown>);
}
const wsSpec = loadElevenLabsWsSpec();

let fake: FakeElevenLabs;
beforeAll(async () => {
  fake = await startFakeElevenLabs({ apiKey: KEY });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.faults.set(undefined);
  fake.faults.clearQueue();
  fake.wsErrorsInBand = false;
  fake.faultAfterChunks = 1;
  fake.requests.clear();
});

async function* pieces(parts: string[]): AsyncGenerator<string> {
  for (const p of parts) {
    await new Promise((r) => setTimeout(r, 5));
    yield p;
  }
}

function recordedMessages(i = 0): Record<string, unknown>[] {
  const r = fake.requests.entries.filter((e) => e.transport === 'ws')[i];
  return (r?.body as { messages?: Record<string, unknown>[] } | undefined)?.messages ?? [];
}

/** The stream-input client schema of each message of one session, by position and shape. */
function checkStreamInputClient(messages: Record<string, unknown>[]): void {
  expect(messages.length).toBeGreaterThan(1);
  messages.forEach((m, i) => {
    const schema =
      i === 0
        ? 'InitializeConnection'
        : m.text === '' && i === messages.length - 1
          ? 'CloseConnection'
          : 'SendText';
    wsSpec.assertValid(S(schema), m, `stream-input client message ${i}`);
  });
  expect(messages[0]?.text).toBe(' ');
  expect(messages.at(-1)).toEqual({ text: '' });
}

/** The multi-stream-input client schema of each message, by shape. */
function checkMultiClient(messages: Record<string, unknown>[]): void {
  const seen = new Set<unknown>();
  for (const [i, m] of messages.entries()) {
    let schema: string;
    if (m.close_socket === true) schema = 'CloseSocket';
    else if (m.close_context === true) schema = 'CloseContext';
    else if (!seen.has(m.context_id)) schema = 'InitializeConnectionMulti';
    else if (m.flush === true) schema = 'FlushContext';
    else if (m.text === '') schema = 'KeepContextAlive';
    else schema = 'SendTextMulti';
    seen.add(m.context_id);
    wsSpec.assertValid(S(schema), m, `multi-stream-input client message ${i} (${schema})`);
    if (schema === 'InitializeConnectionMulti') expect(m.text).toBe(' ');
  }
}

function checkServer(messages: Record<string, unknown>[], multi: boolean): void {
  for (const [i, m] of messages.entries()) {
    if (typeof m.audio === 'string') {
      wsSpec.assertValid(S(multi ? 'AudioOutputMulti' : 'AudioOutput'), m, `server audio ${i}`);
      expect(m.alignment).not.toBeNull();
      expect(m.normalizedAlignment).not.toBeNull();
      if (multi) expect(m.contextId).toEqual(expect.any(String));
    } else {
      wsSpec.assertValid(S(multi ? 'FinalOutputMulti' : 'FinalOutput'), m, `server final ${i}`);
      expect(m.isFinal).toBe(true); // the spec's literal<true>, which JSON Schema does not carry
    }
  }
}

/** Opens a raw WebSocket, runs `send`, collects every server message until `done` or close. */
async function rawSession(
  route: 'stream-input' | 'multi-stream-input',
  send: (ws: WebSocket) => void,
  done: (m: Record<string, unknown>) => boolean,
  headerKey = true,
): Promise<Record<string, unknown>[]> {
  const ws = new WebSocket(
    `${fake.url.replace('http', 'ws')}/v1/text-to-speech/${VOICE}/${route}?output_format=pcm_16000`,
    headerKey ? { headers: { 'xi-api-key': KEY } } : {},
  );
  const messages: Record<string, unknown>[] = [];
  const finished = new Promise<void>((resolve) => {
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as Record<string, unknown>;
      messages.push(m);
      if (done(m)) resolve();
    });
    ws.on('close', () => resolve());
  });
  await new Promise((r) => ws.once('open', r));
  send(ws);
  await finished;
  ws.close();
  return messages;
}

describe('ElevenLabs HTTP contract (POST /v1/text-to-speech/{voice_id}/stream)', () => {
  it('the spec checks are not vacuous', () => {
    expect(wsSpec.isValid(S('AudioOutput'), { audio: 'AAAA', alignment: null })).toBe(false);
    expect(wsSpec.isValid(S('AudioOutputMulti'), { contextId: 'c' })).toBe(false);
    expect(wsSpec.isValid(S('CloseContext'), { close_context: true })).toBe(false);
    expect(
      http.isValid(S('Body_Text_to_speech_streaming_v1_text_to_speech__voice_id__stream_post'), {}),
    ).toBe(false);
  });

  it('the SDK request body (as the adapter builds it) is valid, and the answer is audio', async () => {
    const { fetch, exchanges } = recordingFetch();
    const el = new ElevenLabsClient({ apiKey: KEY, baseUrl: fake.url, maxRetries: 0, fetch });
    const stream = await el.textToSpeech.stream(VOICE, {
      text: 'Load 2314 is in transit.',
      modelId: 'eleven_turbo_v2_5',
      outputFormat: 'pcm_16000',
      voiceSettings: { stability: 0.5, similarityBoost: 0.75 },
    });
    const reader = stream.getReader();
    while (!(await reader.read()).done) {
      // drain
    }
    expect(exchanges[0]?.status).toBe(200);
    expect(exchanges[0]?.contentType).toMatch(/^audio\//);
    http.assertValid(
      S('Body_Text_to_speech_streaming_v1_text_to_speech__voice_id__stream_post'),
      exchanges[0]?.requestBody,
      'text-to-speech stream request',
    );
  });

  it('a missing text answers 422 with a valid HTTPValidationError', async () => {
    const res = await fetch(`${fake.url}/v1/text-to-speech/${VOICE}/stream`, {
      method: 'POST',
      headers: { 'xi-api-key': KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ model_id: 'eleven_turbo_v2_5' }),
    });
    expect(res.status).toBe(422);
    http.assertValid(S('HTTPValidationError'), await res.json(), '422 body');
  });

  it.each([
    ['a rate limit', { kind: 'rateLimit', route: 'stream' } as const, 429, KEY],
    ['an injected server error', { kind: 'error', route: 'stream', status: 500 } as const, 500, KEY],
    ['a wrong key', undefined, 401, 'el-wrong-key-00000000'],
  ])('answers %s with { detail: { status, message } }', async (_n, fault, status, key) => {
    if (fault) fake.faults.enqueue(fault);
    const res = await fetch(`${fake.url}/v1/text-to-speech/${VOICE}/stream`, {
      method: 'POST',
      headers: { 'xi-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'Hi.' }),
    });
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({ detail: { status: expect.any(String), message: expect.any(String) } });
  });
});

describe('ElevenLabs stream-input contract', () => {
  it('the adapter sends valid client messages and the fake answers with valid ones', async () => {
    const tts = new ElevenLabsTextToSpeech({
      apiKey: KEY,
      baseUrl: fake.url,
      monitor: false,
      webSocketRoute: 'stream-input',
    });
    for await (const _ of tts.synthesizeStream(
      pieces(['Load 2314 ', 'is in transit. ', 'It arrives at noon.']),
    )) {
      // drain
    }
    checkStreamInputClient(recordedMessages());
    const server = await rawSession(
      'stream-input',
      (ws) => {
        ws.send(JSON.stringify({ text: ' ' }));
        ws.send(JSON.stringify({ text: 'Load 2314 is in transit and arrives at noon. ', flush: true }));
        ws.send(JSON.stringify({ text: '' }));
      },
      (m) => m.isFinal === true,
    );
    expect(server.some((m) => typeof m.audio === 'string')).toBe(true);
    checkServer(server, false);
  });

  it('accepts the key in the first message, spelled xi-api-key as the spec and SDK spell it', async () => {
    const init = { text: ' ', 'xi-api-key': KEY };
    wsSpec.assertValid(S('InitializeConnection'), init, 'init with key');
    const server = await rawSession(
      'stream-input',
      (ws) => {
        ws.send(JSON.stringify(init));
        ws.send(JSON.stringify({ text: 'Hello there. ', flush: true }));
        ws.send(JSON.stringify({ text: '' }));
      },
      (m) => m.isFinal === true,
      false,
    );
    expect(server.some((m) => typeof m.error === 'string')).toBe(false);
    expect(server.at(-1)).toEqual({ isFinal: true });
    checkServer(server, false);
    expect(JSON.stringify(fake.requests.entries)).not.toContain(KEY);
  });

  it('a malformed frame is not valid against the spec (and the adapter rejects it)', async () => {
    fake.faults.enqueue({ kind: 'malformed', route: 'stream-input' });
    const tts = new ElevenLabsTextToSpeech({
      apiKey: KEY,
      baseUrl: fake.url,
      monitor: false,
      webSocketRoute: 'stream-input',
    });
    await expect(
      (async () => {
        for await (const _ of tts.synthesizeStream(
          pieces(['Load 2314 is in transit and arrives at noon.']),
        )) {
          // drain
        }
      })(),
    ).rejects.toMatchObject({ name: 'ResponseValidationError' });
  });

  it('an in-band error (rate limit) has the { message, error, code } shape', async () => {
    fake.wsErrorsInBand = true;
    fake.faults.enqueue({ kind: 'rateLimit', route: 'stream-input' });
    const server = await rawSession(
      'stream-input',
      () => {},
      () => false,
    );
    expect(server).toEqual([
      { message: expect.any(String), error: 'too_many_concurrent_requests', code: 1008 },
    ]);
  });
});

describe('ElevenLabs multi-stream-input contract', () => {
  it('the adapter sends valid client messages over turns, barge-in and close', async () => {
    const tts = new ElevenLabsTextToSpeech({ apiKey: KEY, baseUrl: fake.url, monitor: false });
    for await (const _ of tts.synthesizeStream(pieces(['Load 2314 ', 'is in transit. ', 'It arrives.']))) {
      // drain
    }
    const ac = new AbortController();
    await (async () => {
      for await (const _ of tts.synthesizeStream(pieces(['A long answer that is cut off. ']), {
        signal: ac.signal,
      }))
        ac.abort();
    })().catch(() => {});
    await tts.close();
    await vi.waitFor(() => expect(recordedMessages().at(-1)).toEqual({ close_socket: true }));
    const messages = recordedMessages();
    expect(new Set(messages.map((m) => m.context_id).filter(Boolean)).size).toBe(2);
    checkMultiClient(messages);
  });

  it('the fake answers with valid audio and final messages per context', async () => {
    const server = await rawSession(
      'multi-stream-input',
      (ws) => {
        for (const id of ['a', 'b']) {
          ws.send(JSON.stringify({ text: ' ', context_id: id }));
          ws.send(JSON.stringify({ text: `Context ${id} speaks now. `, context_id: id, flush: true }));
          ws.send(JSON.stringify({ text: '', context_id: id }));
          ws.send(JSON.stringify({ context_id: id, close_context: true }));
        }
      },
      (m) => m.isFinal === true && m.contextId === 'b',
    );
    expect(new Set(server.filter((m) => typeof m.audio === 'string').map((m) => m.contextId))).toEqual(
      new Set(['a', 'b']),
    );
    checkServer(server, true);
  });

  it('a refused handshake answers with a status (429) and the adapter maps it', async () => {
    fake.faults.enqueue({ kind: 'rateLimit', route: 'multi-stream-input' });
    const tts = new ElevenLabsTextToSpeech({ apiKey: KEY, baseUrl: fake.url, monitor: false });
    await expect(
      (async () => {
        for await (const _ of tts.synthesizeStream(pieces(['Hi.']))) {
          // drain
        }
      })(),
    ).rejects.toMatchObject({ name: 'ProviderError', status: 429, retryable: true });
    await tts.close();
  });
});
