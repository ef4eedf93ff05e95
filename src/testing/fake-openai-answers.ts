/**
 * What the fake OpenAI server answers: embedding bodies, and chat plans (text tokens or tool
 * calls, cut by the token limit) that the JSON and streaming replies both write out.
 * @module
 */
import { fakeEmbed } from './fake-embedding.js';
import { type FakeReplyPlan, type FakeRulesTool, fakeTokens, planFakeReply } from './fake-llm-rules.js';
import { openAIError, toRulesMessages, type WireMessage, type WireTool } from './fake-openai-wire.js';

/** The body of a `POST /v1/embeddings` answer, or the 400 for a bad request. */
export function embeddings(
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

/** One chat answer, planned once and written as JSON or as a stream. */
export interface ChatPlan {
  plan: FakeReplyPlan;
  /** Streamed pieces: text tokens, or tool-call argument fragments with their call index. */
  pieces: { index: number; text: string }[];
  finish: 'stop' | 'length' | 'tool_calls';
  completionTokens: number;
}

/** Plans the answer to a chat request (tools offered, `tool_choice`, token limits). */
export function buildPlan(
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

/** The `message` of a non-streamed chat completion. */
export function messageOf(plan: FakeReplyPlan): Record<string, unknown> {
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
