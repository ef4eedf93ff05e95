/**
 * OpenAI's wire format as the fake speaks it: request message and tool shapes, token counts,
 * reasoning-model rules, the stream obfuscation field and OpenAI's error bodies.
 * @module
 */
import type { FakeRulesMessage } from './fake-llm-rules.js';

/** The `created` timestamp of every fake response. */
export const CREATED = 1_700_000_000;

/** A chat message as the request sends it. */
export interface WireMessage {
  role?: string;
  content?: unknown;
  name?: string;
  tool_call_id?: string;
  tool_calls?: { id?: string; function?: { name?: string } }[];
}

/** A tool as the request offers it. */
export interface WireTool {
  type?: string;
  function?: { name?: string; parameters?: Record<string, unknown> };
}

/**
 * Reasoning models (o-series, gpt-5 family): they refuse the deprecated `max_tokens` and spend
 * hidden reasoning tokens, counted in `completion_tokens` but never streamed.
 */
export function isFakeReasoningModel(model: string): boolean {
  return /^(o\d|gpt-5|codex-)/i.test(model);
}

/** Hidden reasoning tokens a reasoning model spends on a request (deterministic). */
export function reasoningTokensFor(model: string, promptTokens: number): number {
  return isFakeReasoningModel(model) ? 16 + (promptTokens % 48) : 0;
}

/** Random-looking padding the service adds to each stream chunk (`obfuscation`), length varying. */
export function obfuscationOf(i: number): string {
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

export function toRulesMessages(messages: readonly WireMessage[]): FakeRulesMessage[] {
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

export function countPromptTokens(messages: readonly WireMessage[]): number {
  let chars = 0;
  for (const m of messages) chars += textOf(m.content).length;
  return Math.ceil(chars / 4) + 3 * messages.length;
}

export function seedNumber(seed: number | string): number {
  if (typeof seed === 'number') return Math.trunc(seed) >>> 0 || 1;
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193) >>> 0;
  return h || 1;
}

/** OpenAI's error body for a status. */
export function openAIError(status: number, message?: string): unknown {
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
