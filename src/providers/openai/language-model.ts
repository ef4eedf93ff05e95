/**
 * `OpenAILanguageModel`: the `LanguageModel` stage contract over OpenAI chat completions,
 * streaming, with tool calls and usage, timed into the performance monitor.
 * @module
 */
import type {
  ChatCompletionChunk,
  ChatCompletionCreateParamsStreaming,
} from 'openai/resources/chat/completions';
import { InvalidArgumentError } from '../../errors.js';
import { throwIfAborted } from '../../internal/abort.js';
import { OP } from '../../perf/operations.js';
import type {
  ChatMessage,
  GenerateOptions,
  LanguageModel,
  LanguageModelEvent,
  StageCallOptions,
  TokenUsage,
  ToolCall,
} from '../../pipeline/contracts.js';
import { CallControl, type LatencyRecorder, outcomeOf, providerError, recorderOf } from '../shared/index.js';
import { malformed, mapOpenAIError, PROVIDER } from './errors.js';
import { toFinishReason, toOpenAIMessages, toOpenAITools } from './messages.js';
import {
  type OpenAICallMetrics,
  type OpenAILanguageModelOptions,
  openAILanguageModelOptionsSchema,
  parseOptions,
  type ResolvedOpenAILanguageModelOptions,
} from './options.js';
import { type OpenAIClient, OpenAIWarmth, openAIClientSource, releaseTick } from './sdk.js';

type Outcome = OpenAICallMetrics['outcome'];

interface PartialToolCall {
  id?: string;
  name?: string;
  arguments: string;
}

/**
 * Streams chat completions from OpenAI (or any server that speaks its wire format) as the
 * pipeline's `LanguageModel`: text deltas as they arrive, tool calls once complete (fragments
 * accumulated by index), then `usage` and `finish` with the request id.
 *
 * With a `monitor` option, every call is recorded there (labels `provider: 'openai'`, `model`, `outcome`):
 * `llm` (call start → last chunk), `llm_ttft` (call start → first text or tool-call token) and
 * `llm_tpot` (ms per output token after the first: tokens/s = 1000 / tpot). `onCallMetrics`
 * receives the same figures plus tokens/s and the request id.
 *
 * The `openai` package is an optional peer: `new OpenAILanguageModel(options)` loads it on the
 * first call, `await OpenAILanguageModel.create(options)` loads it now; a missing package gives
 * a MissingDependencyError that says `npm install openai`.
 *
 * @example
 * ```ts
 * import { OpenAILanguageModel } from 'earshot/openai';
 * const llm = await OpenAILanguageModel.create({ model: 'gpt-4o-mini' }); // key from OPENAI_API_KEY
 * for await (const ev of llm.stream([{ role: 'user', content: 'Where is load 2314?' }], { tools })) {
 *   if (ev.type === 'text-delta') process.stdout.write(ev.text);
 *   if (ev.type === 'tool-call') console.log(ev.call.name, JSON.parse(ev.call.arguments));
 * }
 * ```
 */
export class OpenAILanguageModel implements LanguageModel {
  readonly provider = PROVIDER;
  readonly model: string;
  readonly #options: ResolvedOpenAILanguageModelOptions;
  readonly #getClient: () => Promise<OpenAIClient>;
  readonly #monitor: LatencyRecorder;
  readonly #warmth = new OpenAIWarmth();

  /** Validates options (ConfigError) and resolves the API key; the SDK loads on first use. */
  constructor(options: OpenAILanguageModelOptions = {}) {
    this.#options = parseOptions(openAILanguageModelOptionsSchema, options, 'OpenAILanguageModel options');
    this.#getClient = openAIClientSource(this.#options, 'OpenAILanguageModel');
    this.model = this.#options.model;
    this.#monitor = recorderOf(this.#options.monitor);
  }

  /**
   * Creates the model and loads the `openai` SDK now, so a missing package
   * (MissingDependencyError: `npm install openai`) or a bad option shows at startup.
   *
   * @example
   * ```ts
   * const llm = await OpenAILanguageModel.create({ model: 'gpt-4o-mini' });
   * ```
   */
  static async create(options: OpenAILanguageModelOptions = {}): Promise<OpenAILanguageModel> {
    const model = new OpenAILanguageModel(options);
    await model.ready();
    return model;
  }

  /** Loads the SDK and builds the client now instead of on the first call. */
  async ready(): Promise<void> {
    await this.#getClient();
  }

  /**
   * Opens the connection to OpenAI now (DNS, TCP, TLS) with a `GET /models`, kept alive by
   * the SDK's fetch pool for the next call: call it when a turn starts, while speech-to-text
   * runs. Skipped when a call used the connection in the last 2 s. Never rejects for a
   * provider fault; rejects with AbortedError when `options.signal` aborts.
   *
   * @example
   * ```ts
   * await llm.prewarm(); // the first token of the next call arrives one connection sooner
   * ```
   */
  prewarm(options: StageCallOptions = {}): Promise<void> {
    return this.#warmth.prewarm(this.#getClient, Math.min(this.#options.timeoutMs, 5_000), options);
  }

  /** Forgets the warm connection state (idle pooled sockets close on their own). Idempotent. */
  close(): Promise<void> {
    return this.#warmth.close();
  }

  #body(messages: readonly ChatMessage[], options: GenerateOptions): ChatCompletionCreateParamsStreaming {
    const o = this.#options;
    const maxTokens = options.maxTokens ?? o.maxTokens;
    if (!Number.isInteger(maxTokens) || maxTokens < 1) {
      throw new InvalidArgumentError(`maxTokens must be a positive integer, got ${maxTokens}.`);
    }
    const temperature = options.temperature ?? o.temperature;
    if (temperature !== undefined && !(temperature >= 0 && temperature <= 2)) {
      throw new InvalidArgumentError(`temperature must be between 0 and 2, got ${temperature}.`);
    }
    const tools = options.tools ?? [];
    const body: ChatCompletionCreateParamsStreaming = {
      model: this.model,
      messages: toOpenAIMessages(messages),
      stream: true,
      // Usage arrives in one extra chunk at the end; without it tokens/s would be a guess.
      stream_options: { include_usage: true },
    };
    if (o.maxTokensParam === 'max_completion_tokens') body.max_completion_tokens = maxTokens;
    else body.max_tokens = maxTokens;
    if (temperature !== undefined) body.temperature = temperature;
    if (tools.length > 0) {
      body.tools = toOpenAITools(tools);
      if (o.parallelToolCalls !== undefined) body.parallel_tool_calls = o.parallelToolCalls;
    }
    return body;
  }

  /**
   * Streams the model's answer to `messages`: `text-delta`s, `tool-call`s (complete, in index
   * order, once the model finished), `usage`, then `finish` with the request id. Aborting
   * `options.signal` cancels the HTTP request and ends the iterable with an AbortedError;
   * breaking out of the loop cancels it too.
   */
  async *stream(
    messages: readonly ChatMessage[],
    options: GenerateOptions = {},
  ): AsyncIterable<LanguageModelEvent> {
    const what = `OpenAI chat completion (${this.model})`;
    throwIfAborted(options.signal, what);
    if (!Array.isArray(messages) || messages.length === 0) {
      throw new InvalidArgumentError(`${what}: messages must be a non-empty array.`);
    }
    const body = this.#body(messages, options);
    const client = await this.#getClient();
    const o = this.#options;
    const control = new CallControl(options.signal);
    const ctx = {
      what,
      control,
      timeoutMs: o.timeoutMs,
      // Until the stream starts: the SDK's attempts, their backoff (at most 8 s each) and the
      // body of an error answer, which `create` reads and the SDK's own timeout does not cover.
      // The slack lets the SDK report a plain header timeout itself.
      deadlineMs: o.timeoutMs * (o.maxRetries + 1) + o.maxRetries * 8000 + 100,
      deadlineWhat: 'to complete the response (headers, or the body of an error answer)',
      requestId: undefined as string | undefined,
    };
    const started = performance.now();
    let firstAt: number | undefined;
    let lastAt = started;
    let chunksWithTokens = 0;
    let usage: TokenUsage | undefined;
    let reasoningTokens: number | undefined;
    let finish: string | undefined;
    let outcome: Outcome | undefined;
    let iterator: AsyncIterator<ChatCompletionChunk> | undefined;
    let drained = false;
    const calls = new Map<number, PartialToolCall>();

    try {
      // A server that stalls an error answer's body would otherwise hang `create` for ever.
      control.arm(ctx.deadlineMs);
      const res = await client.chat.completions
        .create(body, { signal: control.signal, timeout: o.timeoutMs, maxRetries: o.maxRetries })
        .withResponse()
        .finally(() => control.disarm());
      ctx.deadlineMs = o.idleTimeoutMs;
      ctx.deadlineWhat = 'between two stream chunks';
      ctx.requestId = res.request_id ?? res.response.headers.get('x-request-id') ?? undefined;
      iterator = res.data[Symbol.asyncIterator]();
      while (true) {
        // The idle deadline runs only while we wait on OpenAI, never while the consumer
        // (say, a slow TTS) holds a delta: backpressure is not a stall.
        control.arm(o.idleTimeoutMs);
        let step: IteratorResult<ChatCompletionChunk>;
        try {
          step = await iterator.next();
        } finally {
          control.disarm();
        }
        if (step.done) {
          drained = true;
          break;
        }
        lastAt = performance.now();
        const chunk = step.value;
        if (chunk.usage) {
          // The SDK does not validate chunks: keep only counts that are counts (a gateway's
          // odd usage block must not put NaN or strings into metrics).
          const u = chunk.usage;
          if (isCount(u.prompt_tokens) && isCount(u.completion_tokens)) {
            usage = {
              inputTokens: u.prompt_tokens,
              outputTokens: u.completion_tokens,
              ...(isCount(u.total_tokens) ? { totalTokens: u.total_tokens } : {}),
            };
            // Reasoning models count hidden reasoning tokens in completion_tokens; they are
            // never streamed, so they must not enter the time per visible token.
            const hidden = u.completion_tokens_details?.reasoning_tokens;
            reasoningTokens = isCount(hidden) && hidden <= u.completion_tokens ? hidden : undefined;
          }
        }
        const choice = chunk.choices?.[0];
        if (!choice) continue;
        const delta = choice.delta ?? {};
        // A refusal is what the model says instead of an answer: it should be spoken too.
        const text = delta.content || delta.refusal;
        if (text) {
          if (typeof text !== 'string') {
            throw malformed(what, 'choices[0].delta.content', 'text that is not a string', ctx.requestId);
          }
          firstAt ??= lastAt;
          chunksWithTokens++;
          yield { type: 'text-delta', text };
        }
        if (delta.tool_calls && delta.tool_calls.length > 0) {
          checkToolCallFragments(delta.tool_calls, what, ctx.requestId);
          firstAt ??= lastAt;
          chunksWithTokens++;
          for (const fragment of delta.tool_calls) {
            const call = calls.get(fragment.index) ?? { arguments: '' };
            if (fragment.id) call.id = fragment.id;
            if (fragment.function?.name) call.name = fragment.function.name;
            if (fragment.function?.arguments) call.arguments += fragment.function.arguments;
            calls.set(fragment.index, call);
          }
        }
        if (choice.finish_reason) finish = choice.finish_reason;
      }
      // The SDK ends a stream quietly when its signal fires: tell abort and deadline apart here.
      if (control.reason) throw mapOpenAIError(new Error('the stream was stopped by its signal'), ctx);
      if (!finish) {
        throw providerError(
          PROVIDER,
          `${what}: the stream ended before the model finished (no finish_reason). Retrying may succeed.`,
          { retryable: true, requestId: ctx.requestId },
        );
      }
      const indexes = [...calls.keys()].sort((a, b) => a - b);
      for (const index of indexes) {
        const c = calls.get(index)!;
        if (!c.id || !c.name) {
          throw malformed(
            what,
            `tool_calls[${index}]`,
            'a tool call arrived without an id or a function name',
            ctx.requestId,
          );
        }
        const call: ToolCall = { id: c.id, name: c.name, arguments: c.arguments || '{}' };
        yield { type: 'tool-call', call };
      }
      if (usage) yield { type: 'usage', usage };
      outcome = 'ok';
      // The pool takes the socket back a tick after the body ends: the next round (after a
      // cached tool result, say) would otherwise open a second connection.
      await releaseTick();
      this.#warmth.used();
      yield {
        type: 'finish',
        reason: toFinishReason(finish),
        ...(ctx.requestId ? { requestId: ctx.requestId } : {}),
      };
    } catch (err) {
      const mapped = mapOpenAIError(err, ctx);
      outcome = outcomeOf(mapped);
      throw mapped;
    } finally {
      if (!drained && iterator?.return) {
        // The consumer stopped early or the call failed: cancel the HTTP request.
        control.abort('aborted');
        iterator.return().catch(() => {});
      }
      control.dispose();
      this.#report({
        // The consumer leaving early (break) is a cancellation, not a failure.
        outcome: outcome ?? 'aborted',
        started,
        firstAt,
        lastAt,
        usage,
        reasoningTokens,
        chunksWithTokens,
        finish,
        requestId: ctx.requestId,
      });
    }
  }

  #report(r: {
    outcome: Outcome;
    started: number;
    firstAt: number | undefined;
    lastAt: number;
    usage: TokenUsage | undefined;
    reasoningTokens: number | undefined;
    chunksWithTokens: number;
    finish: string | undefined;
    requestId: string | undefined;
  }): void {
    const labels = { provider: PROVIDER, model: this.model, outcome: r.outcome };
    const end = r.outcome === 'ok' ? r.lastAt : performance.now();
    const totalMs = end - r.started;
    const metrics: OpenAICallMetrics = { model: this.model, outcome: r.outcome, totalMs };
    if (r.requestId) metrics.requestId = r.requestId;
    if (r.finish) metrics.finishReason = r.finish;
    if (r.usage) {
      metrics.inputTokens = r.usage.inputTokens;
      metrics.outputTokens = r.usage.outputTokens;
    }
    if (r.reasoningTokens !== undefined) metrics.reasoningTokens = r.reasoningTokens;
    this.#monitor.record(OP.llm, totalMs, labels);
    if (r.firstAt !== undefined) {
      metrics.ttftMs = r.firstAt - r.started;
      this.#monitor.record(OP.llmTtft, metrics.ttftMs, labels);
      // OpenAI sends about one token per chunk; the usage count is exact when it came. Only
      // visible tokens were streamed between first and last: reasoning tokens came before.
      const tokens =
        r.usage === undefined ? r.chunksWithTokens : r.usage.outputTokens - (r.reasoningTokens ?? 0);
      const generationMs = r.lastAt - r.firstAt;
      if (r.outcome === 'ok' && tokens >= 2 && generationMs > 0) {
        const tpot = generationMs / (tokens - 1);
        this.#monitor.record(OP.llmTpot, tpot, labels);
        metrics.tokensPerSecond = 1000 / tpot;
      }
    }
    const callback = this.#options.onCallMetrics;
    if (callback) {
      try {
        callback(metrics);
      } catch {
        // A metrics callback must never break a model call.
      }
    }
  }
}

/**
 * Creates an {@link OpenAILanguageModel} and loads the `openai` SDK right away, so a missing
 * package (MissingDependencyError: `npm install openai`) or a bad option shows at startup.
 *
 * @deprecated Use {@link OpenAILanguageModel.create} (the one construction convention of every
 * adapter); this alias stays for compatibility.
 *
 * @example
 * ```ts
 * const llm = await createOpenAILanguageModel({ model: 'gpt-4o-mini', maxTokens: 300 });
 * ```
 */
export async function createOpenAILanguageModel(
  options: OpenAILanguageModelOptions = {},
): Promise<OpenAILanguageModel> {
  const model = new OpenAILanguageModel(options);
  await model.ready();
  return model;
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/** Tool-call fragments as OpenAI documents them; the SDK passes whatever the server sent. */
function checkToolCallFragments(fragments: unknown, what: string, requestId: string | undefined): void {
  if (!Array.isArray(fragments)) {
    throw malformed(what, 'choices[0].delta.tool_calls', 'not an array', requestId);
  }
  fragments.forEach((f: unknown, i) => {
    const path = `choices[0].delta.tool_calls[${i}]`;
    if (f === null || typeof f !== 'object') throw malformed(what, path, 'not an object', requestId);
    const { index, id, function: fn } = f as { index?: unknown; id?: unknown; function?: unknown };
    if (index !== undefined && !isCount(index)) {
      throw malformed(what, `${path}.index`, 'not a non-negative integer', requestId);
    }
    if (id !== undefined && id !== null && typeof id !== 'string') {
      throw malformed(what, `${path}.id`, 'not a string', requestId);
    }
    if (fn === undefined || fn === null) return;
    if (typeof fn !== 'object') throw malformed(what, `${path}.function`, 'not an object', requestId);
    const { name, arguments: args } = fn as { name?: unknown; arguments?: unknown };
    if (name !== undefined && name !== null && typeof name !== 'string') {
      throw malformed(what, `${path}.function.name`, 'not a string', requestId);
    }
    if (args !== undefined && args !== null && typeof args !== 'string') {
      throw malformed(what, `${path}.function.arguments`, 'not a string', requestId);
    }
  });
}
