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
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fakeEmbed } from './fake-embedding.js';
import {
  type FakeReplyPlan,
  type FakeRulesMessage,
  type FakeRulesTool,
  fakeTokens,
  planFakeReply,
} from './fake-llm-rules.js';
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
  type FaultDecision,
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
  /** Stops the server and drops every connection. */
  close(): Promise<void>;
}

interface WireMessage {
  role?: string;
  content?: unknown;
  name?: string;
  tool_call_id?: string;
  tool_calls?: { id?: string; function?: { name?: string } }[];
}

interface WireTool {
  type?: string;
  function?: { name?: string; parameters?: Record<string, unknown> };
}

interface StreamState {
  tokensPerSecond: number;
  faultAfterChunks: number;
  midStreamErrors: boolean;
  connectLatencyMs: number;
}

const CREATED = 1_700_000_000;

/**
 * Reasoning models (o-series, gpt-5 family): they refuse the deprecated `max_tokens` and spend
 * hidden reasoning tokens, counted in `completion_tokens` but never streamed.
 */
export function isFakeReasoningModel(model: string): boolean {
  return /^(o\d|gpt-5|codex-)/i.test(model);
}

/** Hidden reasoning tokens a reasoning model spends on a request (deterministic). */
function reasoningTokensFor(model: string, promptTokens: number): number {
  return isFakeReasoningModel(model) ? 16 + (promptTokens % 48) : 0;
}

/** Random-looking padding the service adds to each stream chunk (`obfuscation`), length varying. */
function obfuscationOf(i: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  for (let k = 0; k < 4 + ((i * 7) % 12); k++) out += alphabet[(i * 31 + k * 17) % alphabet.length];
  return out;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((p) =>
        p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string'
          ? (p as { text: string }).text
          : '',
      )
      .join('');
  }
  return '';
}

function toRulesMessages(messages: readonly WireMessage[]): FakeRulesMessage[] {
  return messages.map((m) => {
    const out: FakeRulesMessage = { role: m.role ?? 'user', content: textOf(m.content) };
    if (m.tool_call_id) out.toolCallId = m.tool_call_id;
    if (m.name) out.name = m.name;
    if (Array.isArray(m.tool_calls)) {
      out.toolCalls = m.tool_calls.map((c) => ({ id: c.id ?? '', name: c.function?.name ?? '' }));
    }
    return out;
  });
}

function countPromptTokens(messages: readonly WireMessage[]): number {
  let chars = 0;
  for (const m of messages) chars += textOf(m.content).length;
  return Math.ceil(chars / 4) + 3 * messages.length;
}

function seedNumber(seed: number | string): number {
  if (typeof seed === 'number') return Math.trunc(seed) >>> 0 || 1;
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193) >>> 0;
  return h || 1;
}

/** OpenAI's error body for a status. */
function openAIError(status: number, message?: string): unknown {
  const [type, code, text] =
    status === 401
      ? ['invalid_request_error', 'invalid_api_key', 'Incorrect API key provided.']
      : status === 404
        ? [
            'invalid_request_error',
            'model_not_found',
            'The model does not exist or you do not have access to it.',
          ]
        : status === 429
          ? ['requests', 'rate_limit_exceeded', 'Rate limit reached for requests. Please try again later.']
          : status >= 500
            ? [
                'server_error',
                null,
                'The server had an error while processing your request. Sorry about that!',
              ]
            : ['invalid_request_error', null, 'Invalid request.'];
  return { error: { message: message ?? text, type, param: null, code } };
}

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
      close: () => started.close(),
    },
    state,
  );
}

function embeddings(
  params: Record<string, unknown>,
  model: string,
  defaultDims: number,
): { status: number; body: unknown } {
  const raw = params.input;
  const inputs: string[] =
    typeof raw === 'string'
      ? [raw]
      : Array.isArray(raw)
        ? raw.map((x) => (typeof x === 'string' ? x : JSON.stringify(x)))
        : [];
  if (inputs.length === 0) {
    return { status: 400, body: openAIError(400, "'input' must be a non-empty string or array of strings.") };
  }
  const dims = params.dimensions === undefined ? defaultDims : params.dimensions;
  if (typeof dims !== 'number' || !Number.isInteger(dims) || dims < 2 || dims > 16_384) {
    return { status: 400, body: openAIError(400, `Invalid 'dimensions': ${String(params.dimensions)}.`) };
  }
  const base64 = params.encoding_format === 'base64';
  const data = inputs.map((text, index) => {
    const vec = fakeEmbed(text, dims);
    return {
      object: 'embedding',
      index,
      // The SDK asks for base64 unless told otherwise, and decodes little-endian float32.
      embedding: base64 ? Buffer.from(new Float32Array(vec).buffer).toString('base64') : vec,
    };
  });
  const tokens = inputs.reduce((n, t) => n + Math.max(1, Math.ceil(t.length / 4)), 0);
  return {
    status: 200,
    body: { object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } },
  };
}

interface ChatPlan {
  plan: FakeReplyPlan;
  /** Streamed pieces: text tokens, or tool-call argument fragments with their call index. */
  pieces: { index: number; text: string }[];
  finish: 'stop' | 'length' | 'tool_calls';
  completionTokens: number;
}

function buildPlan(
  params: Record<string, unknown>,
  messages: readonly WireMessage[],
  seed: number,
  reasoningTokens: number,
): ChatPlan {
  const tools: FakeRulesTool[] = [];
  for (const t of Array.isArray(params.tools) ? (params.tools as WireTool[]) : []) {
    const name = t?.function?.name;
    if (!name) continue;
    const tool: FakeRulesTool = { name };
    if (t.function?.parameters) tool.parameters = t.function.parameters;
    tools.push(tool);
  }
  const choice = typeof params.tool_choice === 'string' ? params.tool_choice : 'auto';
  const plan = planFakeReply(toRulesMessages(messages), tools, { seed, toolChoice: choice });
  const rawLimit =
    typeof params.max_completion_tokens === 'number'
      ? params.max_completion_tokens
      : typeof params.max_tokens === 'number'
        ? params.max_tokens
        : Number.POSITIVE_INFINITY;
  // A reasoning model's hidden tokens count against `max_completion_tokens` too.
  const limit = Math.max(0, rawLimit - reasoningTokens);
  if (plan.kind === 'text') {
    let tokens = fakeTokens(plan.text);
    let finish: ChatPlan['finish'] = 'stop';
    if (tokens.length > limit) {
      tokens = tokens.slice(0, Math.max(0, limit));
      finish = 'length';
    }
    return {
      plan: { kind: 'text', text: tokens.join('') },
      pieces: tokens.map((text) => ({ index: 0, text })),
      finish,
      completionTokens: tokens.length,
    };
  }
  const pieces: { index: number; text: string }[] = [];
  plan.calls.forEach((call, index) => {
    for (let i = 0; i < call.arguments.length; i += 8)
      pieces.push({ index, text: call.arguments.slice(i, i + 8) });
  });
  return { plan, pieces, finish: 'tool_calls', completionTokens: pieces.length + plan.calls.length * 3 };
}

function messageOf(plan: FakeReplyPlan): Record<string, unknown> {
  if (plan.kind === 'text') return { role: 'assistant', content: plan.text, refusal: null };
  return {
    role: 'assistant',
    content: null,
    refusal: null,
    tool_calls: plan.calls.map((c) => ({
      id: c.id,
      type: 'function',
      function: { name: c.name, arguments: c.arguments },
    })),
  };
}

async function streamChat(
  req: IncomingMessage,
  res: ServerResponse,
  s: {
    chat: ChatPlan;
    id: string;
    model: string;
    usage: Record<string, unknown>;
    headers: Record<string, string>;
    includeUsage: boolean;
    includeObfuscation: boolean;
    decision: FaultDecision;
    state: StreamState;
  },
): Promise<void> {
  const { chat, decision, state } = s;
  let chunkNumber = 0;
  const envelope = (choices: unknown[], usage: unknown = null) => ({
    id: s.id,
    object: 'chat.completion.chunk',
    created: CREATED,
    model: s.model,
    service_tier: 'default',
    system_fingerprint: 'fp_fake',
    choices,
    ...(s.includeUsage ? { usage } : {}),
    // The service pads each chunk with random characters (side-channel mitigation) unless
    // `stream_options.include_obfuscation` is false.
    ...(s.includeObfuscation ? { obfuscation: obfuscationOf(chunkNumber++) } : {}),
  });
  const choice = (delta: unknown, finish: string | null = null) => [
    { index: 0, delta, logprobs: null, finish_reason: finish },
  ];

  // Build every frame first, so a mid-stream fault can be placed after any of them.
  const frames: unknown[] = [];
  frames.push(
    envelope(
      choice(
        chat.plan.kind === 'text'
          ? { role: 'assistant', content: '', refusal: null }
          : { role: 'assistant', content: null, refusal: null },
      ),
    ),
  );
  if (chat.plan.kind === 'text') {
    for (const p of chat.pieces) frames.push(envelope(choice({ content: p.text })));
  } else {
    chat.plan.calls.forEach((call, index) => {
      frames.push(
        envelope(
          choice({
            tool_calls: [
              { index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } },
            ],
          }),
        ),
      );
      for (const p of chat.pieces) {
        if (p.index === index)
          frames.push(envelope(choice({ tool_calls: [{ index, function: { arguments: p.text } }] })));
      }
    });
  }
  frames.push(envelope(choice({}, chat.finish)));
  if (s.includeUsage) frames.push(envelope([], s.usage));

  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    ...s.headers,
  });
  res.flushHeaders();

  const faultAt =
    decision.kind === 'none' || decision.kind === 'slow' ? -1 : Math.max(0, state.faultAfterChunks);
  const tps = state.tokensPerSecond;
  const gap = Number.isFinite(tps) && tps > 0 ? 1000 / tps : 0;
  for (let i = 0; i <= frames.length; i++) {
    if (i === faultAt) {
      switch (decision.kind) {
        case 'timeout':
          await hangThenDrop(req, res, decision.hangMs);
          return;
        case 'reset':
          // A plain close, not a TCP reset: the frames already written must still arrive, so
          // a test can count them.
          req.socket.destroy();
          return;
        case 'malformed':
          res.end('data: {"id":"chatcmpl-broken","choices":[{"index":0,"delta":{"content":"oo\n\n');
          return;
        case 'error':
          res.end(
            `data: ${JSON.stringify(openAIError(500, 'The server had an error while processing your request.'))}\n\n`,
          );
          return;
      }
    }
    if (i === frames.length) break;
    // The role frame goes out with the headers; content frames are paced.
    if (i > 1 && gap > 0 && !(await waitUnlessClosed(gap, res))) return;
    if (res.destroyed) return;
    res.write(`data: ${JSON.stringify(frames[i])}\n\n`);
  }
  res.end('data: [DONE]\n\n');
}
