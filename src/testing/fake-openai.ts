/**
 * A wire-compatible fake of the OpenAI API, close enough that the real `openai` SDK (tested
 * with 6.x) works against it with `baseURL: fake.baseURL`:
 *
 * - `POST /v1/chat/completions`: JSON, or server-sent events with `stream: true` (role chunk,
 *   content or tool-call fragments, a `finish_reason` chunk, the usage chunk when
 *   `stream_options.include_usage` is set, then `data: [DONE]`); `max_tokens` /
 *   `max_completion_tokens` cut the answer with `finish_reason: "length"`.
 * - `GET /v1/models`: the model list (what the adapters' `prewarm()` sends).
 * - `POST /v1/embeddings`: float arrays, or base64 of little-endian float32 when
 *   `encoding_format: "base64"` (what the SDK asks for by default); `dimensions` honoured.
 *
 * Answers follow {@link planFakeReply}: questions about loads, inventory and equipment become
 * tool calls when the request offers the tool, tool results become a short answer that uses
 * them, anything else gets a canned answer of several sentences. Embeddings are
 * {@link fakeEmbed}: similar texts get close vectors.
 *
 * Latency (`latency`) is the delay before the response headers; `tokensPerSecond` paces the
 * streamed tokens after them. Faults (`faults`, routes `chat` and `embeddings`): `error` and
 * `rateLimit` answer with that status and OpenAI's error body (a 429 carries `retry-after`);
 * `slow` adds delay; `timeout` hangs (a stream hangs after `faultAfterChunks` frames); `malformed`
 * sends a body cut short (a stream: a broken `data:` frame after `faultAfterChunks` frames);
 * `reset` drops the connection (a stream: closes it mid-stream, after `faultAfterChunks` frames). With
 * `midStreamErrors`, an `error` fault on a stream arrives in-band instead, as
 * `data: {"error": ...}` after `faultAfterChunks` frames, which the SDK turns into an `APIError`.
 *
 * @example
 * ```ts
 * import OpenAI from 'openai';
 * import { startFakeOpenAI } from 'earshot/testing';
 * const fake = await startFakeOpenAI({ latency: { kind: 'distribution', p50Ms: 250, p90Ms: 400 }, tokensPerSecond: 60 });
 * const client = new OpenAI({ apiKey: fake.apiKey, baseURL: fake.baseURL, maxRetries: 0 });
 * const res = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] });
 * fake.faults.enqueue({ kind: 'rateLimit', route: 'chat' }); // the next chat call gets a 429
 * await fake.close();
 * ```
 *
 * The answers live in `fake-openai-answers.ts`, the SSE writer in `fake-openai-stream.ts` and
 * the wire helpers in `fake-openai-wire.ts`; this module holds the route table.
 * @module
 */
import { buildPlan, embeddings, messageOf } from './fake-openai-answers.js';
import { type StreamState, streamChat } from './fake-openai-stream.js';
import {
  CREATED,
  countPromptTokens,
  isFakeReasoningModel,
  openAIError,
  reasoningTokensFor,
  seedNumber,
  type WireMessage,
} from './fake-openai-wire.js';
import {
  connectionOf,
  fakeServerParts,
  listenOptionsOf,
  type RequestLog,
  readBody,
  sendJson,
  startServer,
  withSettings,
} from './fake-provider-kit.js';
import {
  createRng,
  type FaultInjector,
  type FaultProfile,
  hangThenDrop,
  type LatencyModel,
  type LatencyProfile,
  resetConnection,
  waitUnlessClosed,
} from './latency.js';

/** Options of {@link startFakeOpenAI}. */
export interface FakeOpenAIOptions {
  /** Port to listen on. Default 0 (an ephemeral port). */
  port?: number;
  /** Interface to bind. Default `127.0.0.1`. */
  host?: string;
  /** Delay before the response headers (time to first byte). Default none. */
  latency?: LatencyProfile;
  /** Streaming speed after the headers, in tokens per second. Default `Infinity` (no pacing). */
  tokensPerSecond?: number;
  /** Injected faults; route names are `chat`, `embeddings` and `models`. Default none. */
  faults?: FaultProfile;
  /** Streams: SSE frames sent before a mid-stream fault (`timeout`, `malformed`, `reset`). Default 1. */
  faultAfterChunks?: number;
  /** Streams: an `error` fault arrives in-band as `data: {"error": ...}` instead of an HTTP status. Default false. */
  midStreamErrors?: boolean;
  /** Seed of latency and fault draws, canned answers and tool-call ids. Default 1. */
  seed?: number | string;
  /** When set, only `Authorization: Bearer <apiKey>` is accepted (others get 401). Default: any key. */
  apiKey?: string;
  /** When set, other model ids get a 404 `model_not_found`. Default: every model exists. */
  models?: readonly string[];
  /** Embedding size when a request does not ask for `dimensions`. Default 1536 (text-embedding-3-small). */
  embeddingDimensions?: number;
  /**
   * Cost of a new connection (DNS + TCP + TLS on the real service), paid by the first request
   * on each new connection and not by later requests on a kept-alive one. Default 0.
   */
  connectLatencyMs?: number;
}

/** A running fake OpenAI server. */
export interface FakeOpenAI {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `http://127.0.0.1:<port>/v1`: pass it as the SDK's `baseURL`. */
  readonly baseURL: string;
  readonly port: number;
  /** A key clients can send (the required one, or a placeholder when any key is accepted). */
  readonly apiKey: string;
  /** The latency model in force; `fake.latency.set(...)` switches it at runtime. */
  readonly latency: LatencyModel;
  /** The fault injector; `fake.faults.set(...)` / `fake.faults.enqueue(...)` at runtime. */
  readonly faults: FaultInjector;
  /** Every request received, without credentials (routes `chat`, `embeddings`, `models`, `unknown`). */
  readonly requests: RequestLog;
  /** Streaming speed in tokens per second. Mutable at runtime. */
  tokensPerSecond: number;
  /** Streams: SSE frames sent before a mid-stream fault. Mutable at runtime. */
  faultAfterChunks: number;
  /** Streams: `error` faults arrive in-band. Mutable at runtime. */
  midStreamErrors: boolean;
  /** Cost of a new connection in ms (see {@link FakeOpenAIOptions.connectLatencyMs}). Mutable at runtime. */
  connectLatencyMs: number;
  /** TCP connections accepted since start (a keep-alive client opens few). */
  readonly connections: number;
  /** Closes kept-alive HTTP connections that serve no request (as an idle timeout does; WebSockets stay). Returns how many. */
  dropIdleConnections(): number;
  /** Stops the server and drops every connection. */
  close(): Promise<void>;
}

export { isFakeReasoningModel };

/**
 * Starts a fake OpenAI server (see the module doc).
 *
 * @example
 * ```ts
 * const fake = await startFakeOpenAI({ tokensPerSecond: 50 });
 * fake.faults.enqueue({ kind: 'reset', route: 'chat' }); // the next chat stream is cut after 1 frame
 * ```
 */
export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const { seed, latency, faults, requests } = fakeServerParts(options);
  const ids = createRng(`${seed}:ids`);
  const rulesSeed = seedNumber(seed);
  const models = options.models ? new Set(options.models) : undefined;
  const defaultDims = options.embeddingDimensions ?? 1536;
  const state: StreamState = {
    tokensPerSecond: options.tokensPerSecond ?? Number.POSITIVE_INFINITY,
    faultAfterChunks: options.faultAfterChunks ?? 1,
    midStreamErrors: options.midStreamErrors ?? false,
    connectLatencyMs: options.connectLatencyMs ?? 0,
  };

  const started = await startServer({
    ...listenOptionsOf(options),
    connectLatencyMs: () => state.connectLatencyMs,
    async onRequest(req, res, url) {
      const route =
        url.pathname === '/v1/chat/completions'
          ? 'chat'
          : url.pathname === '/v1/embeddings'
            ? 'embeddings'
            : url.pathname === '/v1/models'
              ? 'models'
              : 'unknown';
      const raw = await readBody(req);
      let body: unknown;
      try {
        body = raw.length > 0 ? JSON.parse(raw.toString('utf8')) : undefined;
      } catch {
        body = undefined;
      }
      const record = requests.add({
        transport: 'http',
        method: req.method ?? 'GET',
        path: url.pathname,
        query: {},
        route,
        body,
        atMs: performance.now(),
        ...connectionOf(req),
      });
      const requestId = `req_${ids
        .int(2 ** 32)
        .toString(16)
        .padStart(8, '0')}${ids
        .int(2 ** 32)
        .toString(16)
        .padStart(8, '0')}`;
      const headers: Record<string, string> = {
        'x-request-id': requestId,
        'openai-version': '2020-10-01',
        'openai-organization': 'fake-org',
        'x-ratelimit-limit-requests': '10000',
        'x-ratelimit-remaining-requests': '9999',
      };
      const reply = (status: number, payload: unknown) => {
        record.status = status;
        sendJson(res, status, payload, headers);
      };

      if (route === 'unknown' || req.method !== (route === 'models' ? 'GET' : 'POST')) {
        reply(404, openAIError(404, `Unknown request URL: ${req.method} ${url.pathname}.`));
        return true;
      }
      const auth = req.headers.authorization;
      if (typeof auth !== 'string' || !/^Bearer\s+\S/i.test(auth)) {
        reply(
          401,
          openAIError(401, 'You did not provide an API key. Send it as "Authorization: Bearer <key>".'),
        );
        return true;
      }
      if (options.apiKey !== undefined && auth !== `Bearer ${options.apiKey}`) {
        // The real API echoes a masked key; echoing it whole is the harsher test of redaction.
        reply(401, openAIError(401, `Incorrect API key provided: ${auth.replace(/^Bearer\s+/i, '')}.`));
        return true;
      }

      const decision = faults.decide(route);
      if (route === 'models') {
        // The cheapest request there is: what an adapter's prewarm sends to open a connection.
        const delay = latency.sample() + (decision.kind === 'slow' ? decision.extraMs : 0);
        if (!(await waitUnlessClosed(delay, res))) return true;
        if (decision.kind === 'error' || decision.kind === 'rateLimit') {
          if (decision.kind === 'rateLimit') headers['retry-after'] = String(decision.retryAfterSeconds);
          reply(decision.status, openAIError(decision.status));
          return true;
        }
        const ids = options.models ?? ['gpt-4o-mini', 'gpt-4o', 'o4-mini', 'text-embedding-3-small'];
        reply(200, {
          object: 'list',
          data: ids.map((id) => ({ id, object: 'model', created: CREATED, owned_by: 'system' })),
        });
        return true;
      }
      const stream = route === 'chat' && (body as { stream?: unknown } | undefined)?.stream === true;
      const delay = latency.sample() + (decision.kind === 'slow' ? decision.extraMs : 0);
      if (!(await waitUnlessClosed(delay, res))) return true;
      headers['openai-processing-ms'] = String(Math.round(delay));

      const inBandError = stream && state.midStreamErrors && decision.kind === 'error';
      if ((decision.kind === 'error' && !inBandError) || decision.kind === 'rateLimit') {
        if (decision.kind === 'rateLimit') headers['retry-after'] = String(decision.retryAfterSeconds);
        reply(decision.status, openAIError(decision.status));
        return true;
      }
      const preHeaders = !stream || state.faultAfterChunks <= 0;
      if (decision.kind === 'reset' && preHeaders) {
        record.status = 0;
        resetConnection(req);
        return true;
      }
      if (decision.kind === 'timeout' && preHeaders) {
        record.status = 0;
        await hangThenDrop(req, res, decision.hangMs);
        return true;
      }
      if (decision.kind === 'malformed' && !stream) {
        record.status = 200;
        res.writeHead(200, { 'content-type': 'application/json', ...headers });
        res.end(
          route === 'chat'
            ? '{"id":"chatcmpl-broken","object":"chat.completion","choices":[{"index":0,'
            : '{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,',
        );
        return true;
      }

      if (!body || typeof body !== 'object') {
        reply(400, openAIError(400, 'We could not parse the JSON body of your request.'));
        return true;
      }
      const params = body as Record<string, unknown>;
      const model = typeof params.model === 'string' ? params.model : '';
      if (!model) {
        reply(400, openAIError(400, 'you must provide a model parameter'));
        return true;
      }
      if (models && !models.has(model)) {
        reply(
          404,
          openAIError(404, `The model \`${model}\` does not exist or you do not have access to it.`),
        );
        return true;
      }
      if (route === 'embeddings') {
        const result = embeddings(params, model, defaultDims);
        reply(result.status, result.body);
        return true;
      }
      const messages = Array.isArray(params.messages) ? (params.messages as WireMessage[]) : [];
      if (messages.length === 0) {
        reply(400, openAIError(400, "'messages' must contain at least one message."));
        return true;
      }
      if (isFakeReasoningModel(model) && params.max_tokens !== undefined) {
        // What the service answers (status, type, param and code as observed on the real API).
        reply(400, {
          error: {
            message:
              "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
            type: 'invalid_request_error',
            param: 'max_tokens',
            code: 'unsupported_parameter',
          },
        });
        return true;
      }
      const promptTokens = countPromptTokens(messages);
      const reasoningTokens = reasoningTokensFor(model, promptTokens);
      const chat = buildPlan(params, messages, rulesSeed, reasoningTokens);
      const completionId = `chatcmpl-${requestId.slice(4)}`;
      const completionTokens = chat.completionTokens + reasoningTokens;
      const usage = {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: {
          reasoning_tokens: reasoningTokens,
          audio_tokens: 0,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0,
        },
      };
      if (!stream) {
        const tps = state.tokensPerSecond;
        const generation = Number.isFinite(tps) && tps > 0 ? (chat.completionTokens / tps) * 1000 : 0;
        if (!(await waitUnlessClosed(generation, res))) return true;
        reply(200, {
          id: completionId,
          object: 'chat.completion',
          created: CREATED,
          model,
          service_tier: 'default',
          system_fingerprint: 'fp_fake',
          choices: [{ index: 0, message: messageOf(chat.plan), finish_reason: chat.finish, logprobs: null }],
          usage,
        });
        return true;
      }
      record.status = 200;
      await streamChat(req, res, {
        chat,
        id: completionId,
        model,
        usage,
        headers,
        includeUsage:
          (params.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true,
        includeObfuscation:
          (params.stream_options as { include_obfuscation?: unknown } | undefined)?.include_obfuscation !==
          false,
        decision,
        state,
      });
      return true;
    },
  });

  return withSettings(
    {
      url: started.url,
      baseURL: `${started.url}/v1`,
      port: started.port,
      apiKey: options.apiKey ?? 'sk-fake-openai-key',
      latency,
      faults,
      requests,
      get connections() {
        return started.connections;
      },
      dropIdleConnections: () => started.dropIdleConnections(),
      close: () => started.close(),
    },
    state,
  );
}
