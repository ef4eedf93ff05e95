/**
 * The OpenAI adapters through the real `openai` SDK against the fake OpenAI server.
 */
import fc from 'fast-check';
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AbortedError,
  ConfigError,
  InvalidArgumentError,
  MissingDependencyError,
  ProviderError,
  ResponseValidationError,
  TimeoutError,
} from '../../src/errors.js';
import { OP, PerformanceMonitor, performanceMonitor } from '../../src/perf/index.js';
import type { ChatMessage, LanguageModelEvent, ToolDefinition } from '../../src/pipeline/contracts.js';
import {
  decodeFloat32Base64,
  loadOpenAISdk,
  type OpenAICallMetrics,
  OpenAIEmbedder,
  type OpenAIEmbedderOptions,
  OpenAILanguageModel,
  type OpenAILanguageModelOptions,
} from '../../src/providers/openai/index.js';
import {
  type FakeOpenAI,
  type FakeOpenAIOptions,
  fakeEmbed,
  startFakeOpenAI,
} from '../../src/testing/index.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function fake(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const f = await startFakeOpenAI(options);
  cleanups.push(() => f.close());
  return f;
}

function llm(f: FakeOpenAI, options: Partial<OpenAILanguageModelOptions> = {}): OpenAILanguageModel {
  // logLevel 'off': the SDK logs broken frames to the console before throwing.
  return new OpenAILanguageModel({
    apiKey: f.apiKey,
    baseURL: f.baseURL,
    monitor: false,
    logLevel: 'off',
    ...options,
  });
}

function embedder(f: FakeOpenAI, options: Partial<OpenAIEmbedderOptions> = {}): OpenAIEmbedder {
  return new OpenAIEmbedder({
    apiKey: f.apiKey,
    baseURL: f.baseURL,
    monitor: false,
    logLevel: 'off',
    ...options,
  });
}

async function collect(stream: AsyncIterable<LanguageModelEvent>): Promise<LanguageModelEvent[]> {
  const out: LanguageModelEvent[] = [];
  for await (const ev of stream) out.push(ev);
  return out;
}

async function failure(
  stream: AsyncIterable<LanguageModelEvent>,
): Promise<{ error: unknown; events: LanguageModelEvent[] }> {
  const events: LanguageModelEvent[] = [];
  try {
    for await (const ev of stream) events.push(ev);
  } catch (error) {
    return { error, events };
  }
  throw new Error(`expected the stream to fail; it ended after ${events.length} events`);
}

/** The JSON body of the last request the fake received. */
function lastBody(f: FakeOpenAI): Record<string, unknown> {
  const last = f.requests.entries.at(-1);
  if (!last) throw new Error('the fake received no request');
  return last.body as Record<string, unknown>;
}

function textOf(events: readonly LanguageModelEvent[]): string {
  return events.map((e) => (e.type === 'text-delta' ? e.text : '')).join('');
}

const user = (content: string): ChatMessage[] => [{ role: 'user', content }];

const TOOLS: ToolDefinition[] = [
  {
    name: 'get_load_status',
    description: 'Status of one load',
    parameters: { type: 'object', properties: { load_id: { type: 'string' } }, required: ['load_id'] },
  },
  {
    name: 'get_equipment_status',
    description: 'Status of one piece of equipment',
    parameters: {
      type: 'object',
      properties: { equipment_id: { type: 'string' } },
      required: ['equipment_id'],
    },
  },
  {
    name: 'list_loads',
    description: 'List loads',
    parameters: { type: 'object', properties: { limit: { type: 'number' } } },
  },
];

describe('OpenAILanguageModel: streaming', () => {
  it('streams the answer as text deltas, then usage, then finish with the request id', async () => {
    const f = await fake();
    const events = await collect(llm(f).stream(user('Hello there')));
    const deltas = events.filter((e) => e.type === 'text-delta');
    expect(deltas.length).toBeGreaterThan(3);
    expect(textOf(events)).toMatch(/^Hello! I am your operations assistant\./);
    const tail = events.slice(deltas.length);
    expect(tail.map((e) => e.type)).toEqual(['usage', 'finish']);
    const usage = tail[0] as Extract<LanguageModelEvent, { type: 'usage' }>;
    expect(usage.usage.outputTokens).toBe(deltas.length);
    expect(usage.usage.inputTokens).toBeGreaterThan(0);
    const finish = tail[1] as Extract<LanguageModelEvent, { type: 'finish' }>;
    expect(finish.reason).toBe('stop');
    expect(finish.requestId).toMatch(/^req_/);
  });

  it('sends the model, max_completion_tokens 1024 by default, streaming with include_usage, and the messages', async () => {
    const f = await fake();
    await collect(
      llm(f, { model: 'gpt-3.5-turbo' }).stream([
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ]),
    );
    const body = lastBody(f) as Record<string, unknown>;
    expect(body).toMatchObject({
      model: 'gpt-3.5-turbo',
      max_completion_tokens: 1024,
      stream: true,
      stream_options: { include_usage: true },
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ],
    });
    expect(body).not.toHaveProperty('tools');
    expect(body).not.toHaveProperty('max_tokens');
  });

  it('sends the deprecated max_tokens only when maxTokensParam asks for it, with the per-call maxTokens', async () => {
    const f = await fake();
    await collect(
      llm(f, { maxTokensParam: 'max_tokens' }).stream(user('Hi'), {
        maxTokens: 77,
        temperature: 0.2,
      }),
    );
    const body = lastBody(f) as Record<string, unknown>;
    expect(body.max_tokens).toBe(77);
    expect(body).not.toHaveProperty('max_completion_tokens');
    expect(body.temperature).toBe(0.2);
  });

  it.each(['o3-mini', 'o1', 'o4-mini', 'gpt-5', 'gpt-5-mini'])(
    'works by default with the reasoning model %s, which refuses max_tokens',
    async (model) => {
      const f = await fake();
      const events = await collect(llm(f, { model }).stream(user('Hello there')));
      expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'stop' });
      const { error: err } = await failure(
        llm(f, { model, maxTokensParam: 'max_tokens' }).stream(user('Hello there')),
      );
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).status).toBe(400);
      expect((err as Error).message).toContain('max_completion_tokens');
    },
  );

  it('records nothing in the shared performanceMonitor without a monitor option, and into one given', async () => {
    const f = await fake();
    performanceMonitor.reset();
    const seen: OpenAICallMetrics[] = [];
    const base = { apiKey: f.apiKey, baseURL: f.baseURL, logLevel: 'off' } as const;
    await collect(
      new OpenAILanguageModel({ ...base, onCallMetrics: (m) => seen.push(m) }).stream(user('Hello there')),
    );
    await new OpenAIEmbedder(base).embed(['hello']);
    expect(performanceMonitor.operations()).toEqual([]);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.tokensPerSecond).toBeGreaterThan(0);
    const monitor = new PerformanceMonitor();
    await collect(llm(f, { monitor }).stream(user('Hello there')));
    await embedder(f, { monitor }).embed(['hello']);
    expect(monitor.stats(OP.llm)!.count).toBe(1);
    expect(monitor.stats(OP.llmTtft)!.count).toBe(1);
    expect(monitor.stats(OP.embed)!.count).toBe(1);
    expect(performanceMonitor.operations()).toEqual([]);
  });

  it('counts only visible tokens in tokens/s and llm_tpot for a reasoning model', async () => {
    // 50 tokens/s of visible tokens; the fake also bills hidden reasoning tokens.
    const f = await fake({ tokensPerSecond: 50 });
    const monitor = new PerformanceMonitor();
    const seen: OpenAICallMetrics[] = [];
    const events = await collect(
      llm(f, { model: 'o4-mini', monitor, onCallMetrics: (m) => seen.push(m) }).stream(
        user('What can you do for me today?'),
      ),
    );
    const visible = events.filter((e) => e.type === 'text-delta').length;
    const m = seen[0]!;
    expect(m.reasoningTokens).toBeGreaterThan(0);
    expect(m.outputTokens).toBe(visible + m.reasoningTokens!);
    // Counting reasoning tokens would claim several times the real rate; pacing is 20 ms per
    // token, so the visible-token rate is at most 50/s whatever the machine's load.
    expect(m.tokensPerSecond).toBeLessThanOrEqual(55);
    expect(monitor.stats(OP.llmTpot)!.p50).toBeGreaterThanOrEqual(18);
  });

  it('reports finish reason length when the answer hits maxTokens', async () => {
    const f = await fake();
    const events = await collect(llm(f).stream(user('What can you do?'), { maxTokens: 4 }));
    expect(events.filter((e) => e.type === 'text-delta')).toHaveLength(4);
    expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'length' });
  });

  it('accumulates streamed tool-call fragments by index into complete calls, before usage and finish', async () => {
    const f = await fake();
    const events = await collect(
      llm(f).stream(user('Where is load 2314, and is truck T-17 available?'), { tools: TOOLS }),
    );
    expect(events.map((e) => e.type)).toEqual(['tool-call', 'tool-call', 'usage', 'finish']);
    const calls = events.flatMap((e) => (e.type === 'tool-call' ? [e.call] : []));
    expect(calls.map((c) => c.name)).toEqual(['get_load_status', 'get_equipment_status']);
    expect(JSON.parse(calls[0]!.arguments)).toEqual({ load_id: '2314' });
    expect(JSON.parse(calls[1]!.arguments)).toEqual({ equipment_id: 'T-17' });
    expect(calls[0]!.id).not.toBe(calls[1]!.id);
    expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'tool-calls' });
    const body = lastBody(f) as { tools: { type: string; function: { name: string } }[] };
    expect(body.tools.map((t) => [t.type, t.function.name])).toEqual([
      ['function', 'get_load_status'],
      ['function', 'get_equipment_status'],
      ['function', 'list_loads'],
    ]);
  });

  it('sends tool calls and tool results back in the wire format, and gets an answer that uses them', async () => {
    const f = await fake();
    const model = llm(f);
    const first = await collect(model.stream(user('Where is load 2314?'), { tools: TOOLS }));
    const call = first.flatMap((e) => (e.type === 'tool-call' ? [e.call] : []))[0]!;
    const history: ChatMessage[] = [
      ...user('Where is load 2314?'),
      { role: 'assistant', content: '', toolCalls: [call] },
      {
        role: 'tool',
        toolCallId: call.id,
        name: call.name,
        content: JSON.stringify({ load_id: '2314', status: 'in_transit', destination: 'Houston' }),
      },
    ];
    const second = await collect(model.stream(history, { tools: TOOLS }));
    expect(textOf(second)).toContain('in transit');
    expect(textOf(second)).toContain('Houston');
    const sent = (lastBody(f) as { messages: unknown[] }).messages;
    expect(sent[1]).toEqual({
      role: 'assistant',
      content: null,
      tool_calls: [
        { id: call.id, type: 'function', function: { name: 'get_load_status', arguments: call.arguments } },
      ],
    });
    expect(sent[2]).toMatchObject({ role: 'tool', tool_call_id: call.id });
  });

  it('keeps concurrent streams apart', async () => {
    const f = await fake({ tokensPerSecond: 500 });
    const model = llm(f);
    const [a, b, c] = await Promise.all([
      collect(model.stream(user('Where is load 11?'), { tools: TOOLS })),
      collect(model.stream(user('Is truck T-22 free?'), { tools: TOOLS })),
      collect(model.stream(user('Hello'))),
    ]);
    const args = (events: LanguageModelEvent[]) =>
      events.flatMap((e) => (e.type === 'tool-call' ? [JSON.parse(e.call.arguments)] : []));
    expect(args(a)).toEqual([{ load_id: '11' }]);
    expect(args(b)).toEqual([{ equipment_id: 'T-22' }]);
    expect(textOf(c)).toMatch(/^Hello!/);
  });

  it('works with an OpenAI client instance passed in', async () => {
    const f = await fake();
    const client = new OpenAI({ apiKey: f.apiKey, baseURL: f.baseURL, maxRetries: 0 });
    const model = new OpenAILanguageModel({ client, monitor: false });
    const events = await collect(model.stream(user('Hello')));
    expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'stop' });
  });
});

describe('OpenAILanguageModel: measurements', () => {
  it('records llm, llm_ttft and llm_tpot with provider, model and outcome labels', async () => {
    const f = await fake({ tokensPerSecond: 400 });
    const monitor = new PerformanceMonitor();
    await collect(llm(f, { monitor }).stream(user('What can you do?')));
    const labels = { labels: { provider: 'openai', model: 'gpt-4o-mini', outcome: 'ok' } };
    const total = monitor.stats('llm', labels);
    const ttft = monitor.stats('llm_ttft', labels);
    const tpot = monitor.stats('llm_tpot', labels);
    expect(total?.count).toBe(1);
    expect(ttft?.count).toBe(1);
    expect(tpot?.count).toBe(1);
    expect(ttft!.maxMs).toBeLessThanOrEqual(total!.maxMs);
  });

  it('hands onCallMetrics the request id, token counts and tokens per second', async () => {
    const f = await fake({ tokensPerSecond: 400 });
    const seen: OpenAICallMetrics[] = [];
    const events = await collect(
      llm(f, { onCallMetrics: (m) => seen.push(m) }).stream(user('What can you do?')),
    );
    expect(seen).toHaveLength(1);
    const m = seen[0]!;
    const finish = events.at(-1) as Extract<LanguageModelEvent, { type: 'finish' }>;
    expect(m.requestId).toBe(finish.requestId);
    expect(m.outcome).toBe('ok');
    expect(m.finishReason).toBe('stop');
    expect(m.outputTokens).toBeGreaterThan(2);
    expect(m.tokensPerSecond).toBeGreaterThan(0);
    expect(m.ttftMs).toBeLessThanOrEqual(m.totalMs);
  });

  it('records a failed call with outcome error', async () => {
    const f = await fake({ faults: { errorRate: 1, errorStatuses: [503] } });
    const monitor = new PerformanceMonitor();
    await failure(llm(f, { monitor }).stream(user('Hi')));
    expect(monitor.stats('llm', { labels: { outcome: 'error' } })?.count).toBe(1);
    expect(monitor.stats('llm')?.errors).toBe(1);
  });
});

describe('OpenAILanguageModel: error mapping', () => {
  it('maps 401 to a non-retryable ProviderError that never contains the key, even when the server echoes it', async () => {
    const f = await fake({ apiKey: 'sk-the-right-key-000' });
    const wrongKey = 'sk-wrong-key-1234567890';
    const { error } = await failure(llm(f, { apiKey: wrongKey }).stream(user('Hi')));
    expect(error).toBeInstanceOf(ProviderError);
    const e = error as ProviderError;
    expect(e).toMatchObject({
      provider: 'openai',
      status: 401,
      retryable: false,
      code: 'EARSHOT_PROVIDER_FAILED',
    });
    expect(e.requestId).toMatch(/^req_/);
    expect(e.message).toContain('OPENAI_API_KEY');
    expect(e.message).not.toContain(wrongKey);
    expect(String(e)).not.toContain(wrongKey);
    expect(JSON.stringify(e.toJSON())).not.toContain(wrongKey);
  });

  it('maps 404 (unknown model) to a non-retryable ProviderError that points at the model id', async () => {
    const f = await fake({ models: ['gpt-4o-mini'] });
    const { error } = await failure(llm(f, { model: 'gpt-nope' }).stream(user('Hi')));
    expect(error).toMatchObject({ status: 404, retryable: false, provider: 'openai' });
    expect((error as Error).message).toMatch(/model/);
  });

  it('maps 429 to a retryable ProviderError that says when to retry', async () => {
    const f = await fake({ faults: { rateLimitRate: 1, retryAfterSeconds: 7 } });
    const { error } = await failure(llm(f).stream(user('Hi')));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ status: 429, retryable: true });
    expect((error as Error).message).toContain('retry after 7 s');
  });

  it.each([500, 502, 503])('maps %i to a retryable ProviderError', async (status) => {
    const f = await fake({ faults: { errorRate: 1, errorStatuses: [status] } });
    const { error } = await failure(llm(f).stream(user('Hi')));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ status, retryable: true, provider: 'openai' });
  });

  it('maps a malformed stream frame to a ResponseValidationError', async () => {
    const f = await fake({ faults: { malformedRate: 1 }, faultAfterChunks: 2 });
    const { error, events } = await failure(llm(f).stream(user('Hello')));
    expect(error).toBeInstanceOf(ResponseValidationError);
    expect(error).toMatchObject({ provider: 'openai', retryable: false });
    expect(events.length).toBeGreaterThan(0);
  });

  it('maps an in-band error frame to a retryable ProviderError with the request id', async () => {
    const f = await fake({ faults: { errorRate: 1 }, midStreamErrors: true, faultAfterChunks: 3 });
    const { error, events } = await failure(llm(f).stream(user('Hello')));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ retryable: true, status: undefined });
    expect((error as ProviderError).requestId).toMatch(/^req_/);
    expect((error as Error).message).toContain('mid-stream');
    expect(events.filter((e) => e.type === 'text-delta')).toHaveLength(2);
  });

  it('maps a connection cut mid-stream to a retryable ProviderError with the request id', async () => {
    const f = await fake({ faults: { resetRate: 1 }, faultAfterChunks: 4 });
    const { error, events } = await failure(llm(f).stream(user('Hello')));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ retryable: true, status: undefined });
    expect((error as ProviderError).requestId).toMatch(/^req_/);
    expect((error as Error).message).toMatch(/cut mid-stream/);
    // Frames already buffered when the socket closes may be dropped by fetch: only the end is certain.
    expect(events.some((e) => e.type === 'finish')).toBe(false);
  });

  it('maps a connection reset before any answer to a retryable ProviderError', async () => {
    const f = await fake({ faults: { resetRate: 1 }, faultAfterChunks: 0 });
    const { error } = await failure(llm(f).stream(user('Hello')));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ retryable: true, status: undefined });
  });

  it('maps a refused connection to a retryable ProviderError', async () => {
    const f = await fake();
    const baseURL = f.baseURL;
    await f.close();
    const model = new OpenAILanguageModel({
      apiKey: 'sk-test-key-refused',
      baseURL,
      monitor: false,
      logLevel: 'off',
    });
    const { error } = await failure(model.stream(user('Hello')));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ retryable: true });
    expect((error as Error).message).toContain('ECONNREFUSED');
  });

  it('does not retry by default, and retries when maxRetries allows', async () => {
    const f = await fake();
    f.faults.enqueue({ kind: 'error', status: 503, route: 'chat' });
    await failure(llm(f).stream(user('Hi')));
    expect(f.requests.countFor('chat')).toBe(1);

    f.faults.enqueue({ kind: 'rateLimit', route: 'chat' });
    f.faults.set({ retryAfterSeconds: 0 });
    const events = await collect(llm(f, { maxRetries: 1 }).stream(user('Hi')));
    expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'stop' });
    expect(f.requests.countFor('chat')).toBe(3);
  });
});

describe('OpenAILanguageModel: cancellation and deadlines', () => {
  it('ends with AbortedError when the signal fires mid-stream, and closes the request', async () => {
    const f = await fake({ tokensPerSecond: 50 });
    const controller = new AbortController();
    const model = llm(f);
    const events: LanguageModelEvent[] = [];
    const run = (async () => {
      for await (const ev of model.stream(user('What can you do?'), { signal: controller.signal })) {
        events.push(ev);
        if (events.length === 2) controller.abort();
      }
    })();
    await expect(run).rejects.toBeInstanceOf(AbortedError);
    expect(events).toHaveLength(2);
    expect(events.some((e) => e.type === 'finish')).toBe(false);
  });

  it('rejects at once without a request when the signal already fired', async () => {
    const f = await fake();
    const { error } = await failure(llm(f).stream(user('Hi'), { signal: AbortSignal.abort() }));
    expect(error).toBeInstanceOf(AbortedError);
    expect(f.requests.count).toBe(0);
  });

  it('records a consumer that stops early (break) as aborted, not as an error', async () => {
    const f = await fake({ tokensPerSecond: 100 });
    const monitor = new PerformanceMonitor();
    for await (const ev of llm(f, { monitor }).stream(user('What can you do?'))) {
      if (ev.type === 'text-delta') break;
    }
    expect(monitor.stats('llm', { labels: { outcome: 'aborted' } })?.count).toBe(1);
    expect(monitor.stats('llm')?.errors).toBe(0);
  });

  it('fails with TimeoutError when the stream stalls longer than idleTimeoutMs', async () => {
    const f = await fake({ faults: { timeoutRate: 1, hangMs: 5_000 }, faultAfterChunks: 3 });
    const { error, events } = await failure(llm(f, { idleTimeoutMs: 150 }).stream(user('Hello')));
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).timeoutMs).toBe(150);
    expect((error as Error).message).toContain('between two stream chunks');
    expect(events.filter((e) => e.type === 'text-delta')).toHaveLength(2);
  });

  it('fails with TimeoutError when no response headers arrive within timeoutMs', async () => {
    const f = await fake({ faults: { timeoutRate: 1, hangMs: 5_000 }, faultAfterChunks: 0 });
    const { error } = await failure(llm(f, { timeoutMs: 150 }).stream(user('Hello')));
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).timeoutMs).toBe(150);
    expect((error as Error).message).toContain('no response headers');
  });

  it('does not count a slow consumer against idleTimeoutMs', async () => {
    const f = await fake();
    const model = llm(f, { idleTimeoutMs: 60 });
    const events: LanguageModelEvent[] = [];
    for await (const ev of model.stream(user('Hello'))) {
      events.push(ev);
      if (events.length === 1) await new Promise((r) => setTimeout(r, 150));
    }
    expect(events.at(-1)).toMatchObject({ type: 'finish', reason: 'stop' });
  });
});

describe('OpenAILanguageModel: configuration', () => {
  let savedKey: string | undefined;
  beforeEach(() => {
    savedKey = process.env.OPENAI_API_KEY;
    delete process.env.OPENAI_API_KEY;
  });
  afterEach(() => {
    if (savedKey === undefined) delete process.env.OPENAI_API_KEY;
    else process.env.OPENAI_API_KEY = savedKey;
  });

  it('throws ConfigError naming both places to put the key when none is given', () => {
    let error: unknown;
    try {
      new OpenAILanguageModel();
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues[0]?.path).toBe('apiKey');
    expect((error as Error).message).toContain('OPENAI_API_KEY');
    expect((error as Error).message).toContain('apiKey');
  });

  it('takes the key from OPENAI_API_KEY', async () => {
    const f = await fake({ apiKey: 'sk-from-the-environment-1' });
    process.env.OPENAI_API_KEY = 'sk-from-the-environment-1';
    const model = new OpenAILanguageModel({ baseURL: f.baseURL, monitor: false });
    const events = await collect(model.stream(user('Hi')));
    expect(events.at(-1)).toMatchObject({ type: 'finish' });
  });

  it('lists every invalid option in one ConfigError without echoing the key', () => {
    let error: unknown;
    try {
      new OpenAILanguageModel({
        apiKey: 'sk-do-not-print-me-42',
        maxTokens: 0,
        temperature: 3,
        baseURL: 'ftp://x',
        // @ts-expect-error unknown option
        bogus: 1,
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const paths = (error as ConfigError).issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['maxTokens', 'temperature', 'baseURL']));
    expect((error as Error).message).not.toContain('sk-do-not-print-me-42');
  });

  it('rejects an empty conversation and a bad per-call maxTokens with InvalidArgumentError', async () => {
    const f = await fake();
    expect((await failure(llm(f).stream([]))).error).toBeInstanceOf(InvalidArgumentError);
    expect((await failure(llm(f).stream(user('Hi'), { maxTokens: 1.5 }))).error).toBeInstanceOf(
      InvalidArgumentError,
    );
    expect(f.requests.count).toBe(0);
  });

  it('turns a missing openai package into MissingDependencyError saying npm install openai', async () => {
    const missing = 'openai-that-is-not-installed';
    const error = await loadOpenAISdk('OpenAILanguageModel', () => import(missing)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingDependencyError);
    expect((error as MissingDependencyError).packageName).toBe('openai');
    expect((error as Error).message).toContain('npm install openai');
  });
});

describe('OpenAIEmbedder', () => {
  it('returns the vectors in input order, decoded from base64 (the default) at float32 precision', async () => {
    const f = await fake({ embeddingDimensions: 64 });
    const texts = ['damaged trailer report', 'weather today', 'load 2314 status'];
    const vectors = await embedder(f).embed(texts);
    expect(vectors).toHaveLength(3);
    vectors.forEach((v, i) => {
      const expected = fakeEmbed(texts[i]!, 64);
      expect(v).toHaveLength(64);
      v.forEach((x, j) => {
        expect(x).toBeCloseTo(expected[j]!, 6);
      });
    });
    // The SDK asked for base64: the adapter did not set encoding_format, so the SDK did.
    expect((lastBody(f) as { encoding_format?: string }).encoding_format).toBe('base64');
  });

  it('asks for JSON floats with encodingFormat float and returns them exactly', async () => {
    const f = await fake({ embeddingDimensions: 16 });
    const [v] = await embedder(f, { encodingFormat: 'float' }).embed(['inventory of pallets']);
    expect(v).toEqual(fakeEmbed('inventory of pallets', 16));
    expect((lastBody(f) as { encoding_format?: string }).encoding_format).toBe('float');
  });

  it('sends dimensions and batches of batchSize, keeping the order across batches', async () => {
    const f = await fake();
    const texts = ['a1 alpha', 'b2 beta', 'c3 gamma', 'd4 delta', 'e5 epsilon'];
    const vectors = await embedder(f, { dimensions: 32, batchSize: 2 }).embed(texts);
    expect(f.requests.countFor('embeddings')).toBe(3);
    expect(vectors.map((v) => v.length)).toEqual([32, 32, 32, 32, 32]);
    vectors.forEach((v, i) => {
      expect(v[0]).toBeCloseTo(fakeEmbed(texts[i]!, 32)[0]!, 6);
    });
    expect((lastBody(f) as { dimensions?: number }).dimensions).toBe(32);
  });

  it('gives close vectors for similar texts and distant ones for unrelated texts', async () => {
    const f = await fake();
    const [a, b, c] = await embedder(f).embed([
      'How do I report a damaged trailer?',
      'Procedure to report damage to a trailer',
      'What is the vacation policy for drivers?',
    ]);
    const cos = (x: number[], y: number[]) => x.reduce((s, v, i) => s + v * y[i]!, 0);
    expect(cos(a!, b!)).toBeGreaterThan(cos(a!, c!) + 0.2);
  });

  it('returns [] without a request for no texts, and rejects a blank text', async () => {
    const f = await fake();
    expect(await embedder(f).embed([])).toEqual([]);
    await expect(embedder(f).embed(['ok', '  '])).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(f.requests.count).toBe(0);
  });

  it('records each request as embed', async () => {
    const f = await fake();
    const monitor = new PerformanceMonitor();
    await embedder(f, { monitor }).embed(['one', 'two']);
    expect(
      monitor.stats('embed', {
        labels: { provider: 'openai', model: 'text-embedding-3-small', outcome: 'ok' },
      })?.count,
    ).toBe(1);
  });

  it('maps a truncated body to ResponseValidationError', async () => {
    const f = await fake({ faults: { malformedRate: 1 } });
    await expect(embedder(f).embed(['x'])).rejects.toBeInstanceOf(ResponseValidationError);
  });

  it('maps a vector of the wrong size to ResponseValidationError', async () => {
    const f = await fake({ embeddingDimensions: 8 });
    // Through a client that hides `dimensions` from the server: the server answers 8, we expect 4.
    const client = new OpenAI({ apiKey: f.apiKey, baseURL: f.baseURL, maxRetries: 0 });
    const original = client.embeddings.create.bind(client.embeddings);
    client.embeddings.create = ((
      body: Parameters<typeof original>[0],
      opts: Parameters<typeof original>[1],
    ) => {
      const { dimensions: _drop, ...rest } = body;
      return original(rest, opts);
    }) as typeof client.embeddings.create;
    const error = await new OpenAIEmbedder({ client, dimensions: 4, monitor: false })
      .embed(['x'])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResponseValidationError);
    expect((error as ResponseValidationError).fields[0]?.message).toContain('8 dimensions, expected 4');
  });

  it('maps 429 to a retryable ProviderError', async () => {
    const f = await fake({ faults: { rateLimitRate: 1 } });
    const error = await embedder(f)
      .embed(['x'])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ status: 429, retryable: true, provider: 'openai' });
  });

  it('fails with TimeoutError when the server hangs past timeoutMs', async () => {
    const f = await fake({ faults: { timeoutRate: 1, hangMs: 5_000 } });
    const error = await embedder(f, { timeoutMs: 150 })
      .embed(['x'])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
  });

  it('fails with AbortedError when the signal fires during the request', async () => {
    const f = await fake({ latency: 5_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    const error = await embedder(f)
      .embed(['x'], { signal: controller.signal })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortedError);
  });

  it('decodes base64 float32 exactly as Float32Array would, whatever the values (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { maxLength: 64 }),
        (values) => {
          const encoded = Buffer.from(new Float32Array(values).buffer).toString('base64');
          expect(decodeFloat32Base64(encoded)).toEqual(Array.from(new Float32Array(values)));
        },
      ),
    );
  });
});

// Live checks against the real API: opt in with real keys on a dev machine; never in CI.
const liveKey = process.env.OPENAI_API_KEY;
const live = Boolean(liveKey) && process.env.CI !== 'true' && process.env.EARSHOT_LIVE_TESTS === '1';
if (!live) {
  console.warn(
    '[openai live tests] skipped: set OPENAI_API_KEY and EARSHOT_LIVE_TESTS=1 to run them (never in CI).',
  );
}
describe.runIf(live)('OpenAI live (real API)', () => {
  it('streams a short answer with usage and a request id', async () => {
    const model = new OpenAILanguageModel({ maxTokens: 20, monitor: false });
    const events = await collect(model.stream(user('Say hello in three words.')));
    expect(textOf(events).length).toBeGreaterThan(0);
    expect(events.at(-1)).toMatchObject({ type: 'finish' });
    expect((events.at(-1) as { requestId?: string }).requestId).toBeTruthy();
  });

  it('embeds a text into 1536 numbers', async () => {
    const [v] = await new OpenAIEmbedder({ monitor: false }).embed(['hello']);
    expect(v).toHaveLength(1536);
  });
});

describe('OpenAI adapters: prewarm, close and create (warm connections)', () => {
  it('a prewarmed model call does not pay the connection cost; a cold one does', async () => {
    const f = await fake({ connectLatencyMs: 150 });
    const warm = llm(f);
    await warm.prewarm();
    await collect(warm.stream(user('Hello there')));
    const [models, chat] = f.requests.entries;
    expect(models).toMatchObject({ route: 'models', newConnection: true, connectMs: 150 });
    expect(chat).toMatchObject({ route: 'chat', newConnection: false, connectMs: 0 });
    expect(f.connections).toBe(1);

    const g = await fake({ connectLatencyMs: 150 });
    await collect(llm(g).stream(user('Hello there')));
    expect(g.requests.entries[0]).toMatchObject({ route: 'chat', newConnection: true, connectMs: 150 });
  });

  it('a prewarmed embedder call does not pay the connection cost', async () => {
    const f = await fake({ connectLatencyMs: 150 });
    const e = embedder(f);
    await e.prewarm();
    await e.embed(['hello']);
    expect(f.requests.entries.map((r) => [r.route, r.connectMs])).toEqual([
      ['models', 150],
      ['embeddings', 0],
    ]);
  });

  it('prewarm sends nothing when a call just used the connection, and again after close()', async () => {
    const f = await fake();
    const model = llm(f);
    await collect(model.stream(user('Hello there')));
    await model.prewarm();
    expect(f.requests.countFor('models')).toBe(0);
    await model.close();
    await model.close(); // idempotent
    await model.prewarm();
    expect(f.requests.countFor('models')).toBe(1);
  });

  it('prewarm never rejects for a provider fault, and rejects with AbortedError on abort', async () => {
    const f = await fake();
    f.faults.enqueue({ kind: 'error', status: 500, route: 'models' });
    await expect(llm(f).prewarm()).resolves.toBeUndefined();
    f.faults.enqueue({ kind: 'rateLimit', route: 'models' });
    await expect(embedder(f).prewarm()).resolves.toBeUndefined();
    await expect(llm(f).prewarm({ signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortedError);
    const slow = await fake({ latency: { kind: 'fixed', ms: 5_000 } });
    const controller = new AbortController();
    const pending = llm(slow).prewarm({ signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toBeInstanceOf(AbortedError);
  });

  it('OpenAILanguageModel.create and OpenAIEmbedder.create load the SDK and return ready adapters', async () => {
    const f = await fake();
    const model = await OpenAILanguageModel.create({ apiKey: f.apiKey, baseURL: f.baseURL, monitor: false });
    expect(model).toBeInstanceOf(OpenAILanguageModel);
    expect(textOf(await collect(model.stream(user('Hello there'))))).not.toBe('');
    const e = await OpenAIEmbedder.create({ apiKey: f.apiKey, baseURL: f.baseURL, dimensions: 8 });
    expect((await e.embed(['hi']))[0]).toHaveLength(8);
  });
});
