/**
 * {@link FakeLanguageModel}: streams scripted replies and tool calls, or follows the built-in
 * rules (`planFakeReply`: load, inventory and equipment questions call the company-API tools).
 * @module
 */
import { InvalidArgumentError } from '../errors.js';
import type {
  ChatMessage,
  GenerateOptions,
  LanguageModel,
  LanguageModelEvent,
  ToolCall,
  ToolDefinition,
} from '../pipeline/contracts.js';
import { type FakeRulesMessage, fakeTokens, planFakeReply } from './fake-llm-rules.js';
import { FAKE_LOG_LIMIT, log, Pacer, throwIfAborted } from './fake-stage-kit.js';
import { createRng, LatencyModel, type LatencyProfile, type Rng } from './latency.js';

/** One scripted reply of {@link FakeLanguageModel}: text, tool calls, or a failure. */
export type FakeLlmReply =
  | string
  | {
      text?: string;
      /** Emitted after the text. `arguments` may be an object (serialized) or raw JSON text. */
      toolCalls?: { name: string; arguments?: unknown; id?: string }[];
      /** Thrown after the time to first token, before any output (a fallback may take over). */
      error?: Error;
      /** With `error`: throw after this many text tokens instead (output already went out). */
      errorAfterTokens?: number;
      finishReason?: 'stop' | 'length' | 'tool-calls' | 'content-filter' | 'other';
    };

/** Options of {@link FakeLanguageModel}. */
export interface FakeLanguageModelOptions {
  /** Default `fake`. */
  provider?: string;
  /** Default `fake-llm`. */
  model?: string;
  /** Time to first token and token rate. Default: instant. */
  latency?: { ttft?: LatencyProfile; tokensPerSecond?: number };
  seed?: number | string;
  /** Replies used one per call, in order; after the last one, `respond` or the rules answer. */
  script?: FakeLlmReply[];
  /** Custom replies: return `undefined` to fall through to the built-in rules. */
  respond?: (messages: readonly ChatMessage[], tools: readonly ToolDefinition[]) => FakeLlmReply | undefined;
  /**
   * Built-in rules (default true): a question about a load, inventory or equipment calls the
   * matching company-API tool when it is offered; tool results become a short spoken answer;
   * anything else gets a canned answer of a few sentences.
   */
  rules?: boolean;
}

/** A call the fake model received. */
export interface FakeLanguageModelCall {
  messages: ChatMessage[];
  tools: ToolDefinition[];
}

/**
 * A streaming language model that follows a script or simple rules.
 *
 * @example
 * ```ts
 * const llm = new FakeLanguageModel({
 *   script: [{ toolCalls: [{ name: 'get_load_status', arguments: { load_id: '2314' } }] }, 'Load 2314 is in transit.'],
 *   latency: { ttft: 120, tokensPerSecond: 300 },
 * });
 * ```
 */
export class FakeLanguageModel implements LanguageModel {
  readonly provider: string;
  readonly model: string;
  readonly ttft: LatencyModel;
  readonly tokensPerSecond: number;
  /** The calls received (messages and offered tools), oldest first; the last {@link FAKE_LOG_LIMIT}. */
  readonly calls: FakeLanguageModelCall[] = [];
  #callCount = 0;
  readonly #script: FakeLlmReply[];
  readonly #options: FakeLanguageModelOptions;
  readonly #rng: Rng;
  #seq = 0;

  constructor(options: FakeLanguageModelOptions = {}) {
    this.provider = options.provider ?? 'fake';
    this.model = options.model ?? 'fake-llm';
    this.#rng = createRng(options.seed ?? 1);
    this.ttft = new LatencyModel(options.latency?.ttft ?? { kind: 'none' }, { rng: this.#rng });
    const tps = options.latency?.tokensPerSecond ?? Number.POSITIVE_INFINITY;
    if (!(tps > 0)) throw new InvalidArgumentError('tokensPerSecond must be > 0 (Infinity for no pacing).');
    this.tokensPerSecond = tps;
    this.#script = [...(options.script ?? [])];
    this.#options = options;
  }

  /** Scripted replies not used yet. */
  get remainingScript(): number {
    return this.#script.length;
  }

  #plan(messages: readonly ChatMessage[], tools: readonly ToolDefinition[]): Exclude<FakeLlmReply, string> {
    const scripted = this.#script.shift() ?? this.#options.respond?.(messages, tools);
    if (scripted !== undefined) return typeof scripted === 'string' ? { text: scripted } : scripted;
    if (this.#options.rules === false) return { text: 'OK.' };
    const plan = planFakeReply(messages.map(toRulesMessage), tools, { seed: this.#rng.int(2 ** 31) });
    if (plan.kind === 'text') return { text: plan.text };
    return { toolCalls: plan.calls.map((c) => ({ id: c.id, name: c.name, arguments: c.arguments })) };
  }

  async *stream(
    messages: readonly ChatMessage[],
    options: GenerateOptions = {},
  ): AsyncIterable<LanguageModelEvent> {
    const signal = options.signal;
    throwIfAborted(signal);
    const tools = [...(options.tools ?? [])];
    log(this.calls, { messages: messages.slice(), tools });
    const callNumber = ++this.#callCount;
    const plan = this.#plan(messages, tools);
    const start = performance.now();
    const ttft = this.ttft.sample();
    const pacer = new Pacer(signal);
    let tokens: string[];
    try {
      await pacer.wait(ttft);
      if (plan.error && plan.errorAfterTokens === undefined) throw plan.error;
      tokens = fakeTokens(plan.text ?? '');
      const interval = 1000 / this.tokensPerSecond;
      const paced = Number.isFinite(interval);
      for (let k = 0; k < tokens.length; k++) {
        if (plan.error && k === plan.errorAfterTokens) throw plan.error;
        if (paced) await pacer.until(start + ttft + k * interval);
        throwIfAborted(signal);
        yield { type: 'text-delta', text: tokens[k] as string };
      }
      if (plan.error) throw plan.error;
    } finally {
      pacer.dispose();
    }
    const calls: ToolCall[] = (plan.toolCalls ?? []).map((c) => ({
      id: c.id ?? `call_fake_${++this.#seq}`,
      name: c.name,
      arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments ?? {}),
    }));
    for (const call of calls) {
      throwIfAborted(signal);
      yield { type: 'tool-call', call };
    }
    let inputChars = 0;
    for (const m of messages) inputChars += m.content.length;
    yield {
      type: 'usage',
      usage: {
        inputTokens: Math.ceil(inputChars / 4),
        outputTokens: tokens.length + calls.length * 8,
        totalTokens: Math.ceil(inputChars / 4) + tokens.length + calls.length * 8,
      },
    };
    yield {
      type: 'finish',
      reason: plan.finishReason ?? (calls.length > 0 ? 'tool-calls' : 'stop'),
      requestId: `fake-llm-${callNumber}`,
    };
  }
}

function toRulesMessage(m: ChatMessage): FakeRulesMessage {
  if (m.role === 'assistant') {
    const out: FakeRulesMessage = { role: 'assistant', content: m.content };
    if (m.toolCalls) out.toolCalls = m.toolCalls.map((c) => ({ id: c.id, name: c.name }));
    return out;
  }
  if (m.role === 'tool') return { role: 'tool', content: m.content, toolCallId: m.toolCallId, name: m.name };
  return { role: m.role, content: m.content };
}
