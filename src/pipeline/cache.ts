/**
 * How the pipeline uses the cache manager: a small structural interface (so any cache with
 * `get`/`set` by key and namespace fits, including earshot's `CacheManager`), the key
 * builders for each kind of cached thing, and the shape of cached values.
 * @module
 */
import { createHash } from 'node:crypto';
import type { AudioChunk, AudioFormat, ChatMessage, ToolCall, ToolDefinition } from './contracts.js';

/**
 * What the pipeline needs from a cache. earshot's `CacheManager` satisfies it; so does a
 * wrapper of your own. Reads that fail are treated as misses and writes that fail are
 * ignored: a cache outage slows a turn down, it never breaks it.
 */
export interface PipelineCache {
  get(key: string, namespace: string): Promise<unknown>;
  set(key: string, value: unknown, namespace: string, options?: { ttlSeconds?: number }): Promise<unknown>;
}

/** Default namespaces (they match earshot's default cache configuration). */
export const PIPELINE_CACHE_NAMESPACES = { llm: 'llm', tts: 'tts', search: 'pinecone' } as const;

function digest(parts: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url');
}

/**
 * Normalizes a transcript for the LLM answer cache: Unicode NFKC, lower case, single spaces,
 * no leading/trailing punctuation. `"What's load 2314?"` and `"what's load 2314"` share a key;
 * `"3.5"` and `"35"` do not.
 */
export function normalizeTranscript(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .replace(/^[\s\p{P}]+|[\s\p{P}]+$/gu, '');
}

/** Key of an LLM answer: normalized transcript + model + system prompt + tool set (+ history when asked). */
export function llmCacheKey(input: {
  transcript: string;
  provider: string;
  model: string | undefined;
  systemPrompt: string;
  tools: readonly ToolDefinition[];
  history?: readonly ChatMessage[];
}): string {
  const tools = input.tools
    .map((t) => [t.name, t.description, t.parameters])
    .sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
  const parts: unknown[] = [
    'llm/v1',
    normalizeTranscript(input.transcript),
    input.provider,
    input.model ?? '',
    input.systemPrompt,
    tools,
  ];
  if (input.history) parts.push(input.history);
  return `${input.provider}:${input.model ?? '-'}:${digest(parts)}`;
}

/** Key of synthesized audio: provider + voice/model + format + exact text. */
export function ttsCacheKey(input: {
  provider: string;
  model: string | undefined;
  format: AudioFormat;
  text: string;
}): string {
  return `${input.provider}:${input.model ?? '-'}:${input.format}:${digest(['tts/v1', input.text])}`;
}

/** Key of search results: provider/index + query + top-k + namespace + filter. */
export function searchCacheKey(input: {
  provider: string;
  model: string | undefined;
  query: string;
  topK: number;
  namespace: string | undefined;
  filter: Record<string, unknown> | undefined;
}): string {
  return `${input.provider}:${input.model ?? '-'}:${digest([
    'search/v1',
    input.query,
    input.topK,
    input.namespace ?? '',
    input.filter ?? null,
  ])}`;
}

/** Events of an LLM answer as the cache stores them, replayed on a hit. */
export type CachedLlmEvent =
  | { type: 'llm-delta'; text: string; round: number }
  | { type: 'sentence'; text: string }
  | { type: 'tool-call'; call: ToolCall; round: number }
  | {
      type: 'tool-result';
      callId: string;
      name: string;
      content: string;
      result?: unknown;
      isError: boolean;
      round: number;
    };

/** A cached LLM answer. */
export interface CachedLlmAnswer {
  v: 1;
  events: CachedLlmEvent[];
  reply: string;
  messages: ChatMessage[];
}

/** Cached audio of one text. */
export interface CachedAudio {
  v: 1;
  chunks: { format: AudioFormat; data: Uint8Array | string }[];
}

export function isCachedLlmAnswer(x: unknown): x is CachedLlmAnswer {
  const o = x as CachedLlmAnswer | null;
  return (
    !!o &&
    typeof o === 'object' &&
    o.v === 1 &&
    Array.isArray(o.events) &&
    typeof o.reply === 'string' &&
    Array.isArray(o.messages)
  );
}

export function decodeCachedAudio(x: unknown): AudioChunk[] | undefined {
  const o = x as CachedAudio | null;
  if (!o || typeof o !== 'object' || o.v !== 1 || !Array.isArray(o.chunks)) return undefined;
  const out: AudioChunk[] = [];
  for (const c of o.chunks) {
    if (!c || typeof c.format !== 'string') return undefined;
    if (c.data instanceof Uint8Array) out.push({ format: c.format, data: c.data });
    else if (typeof c.data === 'string')
      out.push({ format: c.format, data: new Uint8Array(Buffer.from(c.data, 'base64')) });
    else return undefined;
  }
  return out;
}

export function encodeCachedAudio(chunks: readonly AudioChunk[]): CachedAudio {
  return { v: 1, chunks: chunks.map((c) => ({ format: c.format, data: c.data })) };
}
