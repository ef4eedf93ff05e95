/**
 * The fake OpenAI server itself: its rules, its wire format (checked with raw fetch and with the
 * SDK's strict stream helper) and its runtime controls.
 */
import { Agent, request as httpRequest } from 'node:http';
import fc from 'fast-check';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startServer } from '../../src/testing/fake-provider-kit.js';
import {
  type FakeOpenAI,
  type FakeOpenAIOptions,
  fakeEmbed,
  fakeTokens,
  planFakeReply,
  startFakeOpenAI,
} from '../../src/testing/index.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function fake(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const f = await startFakeOpenAI(options);
  cleanups.push(() => f.close());
  return f;
}

const ALL_TOOLS = [
  'get_load_status',
  'list_loads',
  'get_inventory',
  'get_equipment_status',
  'search_documents',
].map((name) => ({ name }));

describe('fake LLM rules', () => {
  it.each([
    ['Where is load 2314?', 'get_load_status', { load_id: '2314' }],
    ['Show me the loads for today', 'list_loads', {}],
    ['How many units of SKU A-100 are in stock?', 'get_inventory', { item_id: 'A-100' }],
    ['Is forklift FL-7 working?', 'get_equipment_status', { equipment_id: 'FL-7' }],
    [
      'What is the safety procedure for loading docks?',
      'search_documents',
      { query: 'What is the safety procedure for loading docks?' },
    ],
  ])('turns "%s" into a %s call', (question, tool, args) => {
    const plan = planFakeReply([{ role: 'user', content: question }], ALL_TOOLS);
    expect(plan.kind).toBe('tool-calls');
    if (plan.kind !== 'tool-calls') return;
    expect(plan.calls).toHaveLength(1);
    expect(plan.calls[0]!.name).toBe(tool);
    expect(JSON.parse(plan.calls[0]!.arguments)).toEqual(args);
  });

  it('fills arguments from the property names of the tool schema', () => {
    const plan = planFakeReply(
      [{ role: 'user', content: 'status of load L-99' }],
      [
        {
          name: 'get_load_status',
          parameters: { type: 'object', properties: { loadId: { type: 'string' } } },
        },
      ],
    );
    expect(plan.kind === 'tool-calls' && JSON.parse(plan.calls[0]!.arguments)).toEqual({ loadId: 'L-99' });
  });

  it('answers in text when the request offers no matching tool, or tool_choice is none', () => {
    expect(planFakeReply([{ role: 'user', content: 'Where is load 2314?' }], []).kind).toBe('text');
    expect(
      planFakeReply([{ role: 'user', content: 'Where is load 2314?' }], [{ name: 'get_weather' }]).kind,
    ).toBe('text');
    expect(
      planFakeReply([{ role: 'user', content: 'Where is load 2314?' }], ALL_TOOLS, { toolChoice: 'none' })
        .kind,
    ).toBe('text');
  });

  it('gives a canned answer of several sentences to anything else, the same one for the same seed', () => {
    const a = planFakeReply([{ role: 'user', content: 'What can you do for me?' }], ALL_TOOLS, { seed: 3 });
    const b = planFakeReply([{ role: 'user', content: 'What can you do for me?' }], ALL_TOOLS, { seed: 3 });
    expect(a).toEqual(b);
    expect(
      a.kind === 'text' && a.text.split(/[.!?](\s|$)/).filter((s) => s.trim()).length,
    ).toBeGreaterThanOrEqual(3);
  });

  it('writes a short answer that uses tool results', () => {
    const plan = planFakeReply(
      [
        { role: 'user', content: 'Where is load 2314?' },
        { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'get_load_status' }] },
        { role: 'tool', toolCallId: 'c1', content: JSON.stringify({ status: 'delivered', city: 'Tulsa' }) },
      ],
      ALL_TOOLS,
    );
    expect(plan).toEqual({ kind: 'text', text: expect.stringContaining('status delivered, city Tulsa') });
  });

  it('quotes the first document of a search_documents result', () => {
    const plan = planFakeReply(
      [
        { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'search_documents' }] },
        {
          role: 'tool',
          toolCallId: 'c1',
          content: JSON.stringify([{ id: 'd', text: 'Call dispatch first.' }]),
        },
      ],
      ALL_TOOLS,
    );
    expect(plan.kind === 'text' && plan.text).toContain('According to our documents: Call dispatch first.');
  });

  it('splits text into tokens that join back to the text (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const trimmed = text.replace(/^\s+/, '');
        expect(fakeTokens(trimmed).join('')).toBe(trimmed);
      }),
    );
  });
});

describe('fake embeddings', () => {
  it('are unit vectors, identical for identical texts (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), fc.integer({ min: 2, max: 300 }), (text, dims) => {
        const v = fakeEmbed(text, dims);
        expect(v).toHaveLength(dims);
        expect(Math.hypot(...v)).toBeCloseTo(1, 9);
        expect(fakeEmbed(text, dims)).toEqual(v);
      }),
    );
  });
});

describe('fake OpenAI wire format', () => {
  async function raw(f: FakeOpenAI, body: unknown, headers: Record<string, string> = {}) {
    return fetch(`${f.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${f.apiKey}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  }

  function frames(text: string): string[] {
    return text
      .split('\n\n')
      .filter((e) => e.length > 0)
      .map((e) => {
        expect(e.startsWith('data: ')).toBe(true);
        return e.slice('data: '.length);
      });
  }

  it('streams SSE frames ending in [DONE], with a usage chunk only when include_usage is set', async () => {
    const f = await fake();
    const base = { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'Hello' }] };
    const res = await raw(f, { ...base, stream_options: { include_usage: true } });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
    const withUsage = frames(await res.text());
    expect(withUsage.at(-1)).toBe('[DONE]');
    const chunks = withUsage.slice(0, -1).map((d) => JSON.parse(d));
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: chunks.length - 3 } });
    expect(chunks.slice(0, -1).every((c: { usage: unknown }) => c.usage === null)).toBe(true);
    expect(chunks.at(-2).choices[0].finish_reason).toBe('stop');

    const without = frames(await (await raw(f, base)).text())
      .slice(0, -1)
      .map((d) => JSON.parse(d));
    expect(without.every((c: Record<string, unknown>) => !('usage' in c))).toBe(true);
  });

  it('passes the SDK stream helper for text and for tool calls (it rejects incomplete streams)', async () => {
    const f = await fake();
    const client = new OpenAI({ apiKey: f.apiKey, baseURL: f.baseURL, maxRetries: 0 });
    const text = await client.chat.completions
      .stream({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello' }] })
      .finalChatCompletion();
    expect(text.choices[0]?.message.content).toMatch(/^Hello!/);
    const tools = await client.chat.completions
      .stream({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'Where is load 77?' }],
        tools: [
          {
            type: 'function',
            function: { name: 'get_load_status', parameters: { type: 'object', properties: {} } },
          },
        ],
      })
      .finalChatCompletion();
    const call = tools.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === 'function' && call.function.arguments).toBe('{"load_id":"77"}');
    expect(tools.choices[0]?.finish_reason).toBe('tool_calls');
  });

  it('answers non-streaming requests with one JSON completion', async () => {
    const f = await fake();
    const client = new OpenAI({ apiKey: f.apiKey, baseURL: f.baseURL, maxRetries: 0 });
    const res = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(res.object).toBe('chat.completion');
    expect(res.usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('requires a bearer key and serves only its two routes', async () => {
    const f = await fake();
    const noKey = await raw(f, { model: 'm', messages: [] }, { authorization: '' });
    expect(noKey.status).toBe(401);
    const unknown = await fetch(`${f.baseURL}/responses`, {
      method: 'POST',
      headers: { authorization: 'Bearer x' },
    });
    expect(unknown.status).toBe(404);
    expect(f.requests.countFor('unknown')).toBe(1);
  });

  it('holds its headers for the latency profile, switchable at runtime', async () => {
    const f = await fake({ latency: 40 });
    const first = await raw(f, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] });
    expect(first.headers.get('openai-processing-ms')).toBe('40');
    f.latency.set({ kind: 'fixed', ms: 5 });
    const second = await raw(f, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] });
    expect(second.headers.get('openai-processing-ms')).toBe('5');
  });

  it('sends 429 with retry-after and counts the injected faults', async () => {
    const f = await fake();
    f.faults.enqueue({ kind: 'rateLimit', route: 'chat' });
    const res = await raw(f, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    expect((await res.json()).error.code).toBe('rate_limit_exceeded');
    expect(f.faults.injected.rateLimit).toBe(1);
  });

  it('encodes embeddings as base64 float32 only when asked to', async () => {
    const f = await fake({ embeddingDimensions: 8 });
    const post = (encoding_format?: string) =>
      fetch(`${f.baseURL}/embeddings`, {
        method: 'POST',
        headers: { authorization: `Bearer ${f.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'text-embedding-3-small', input: 'pallet count', encoding_format }),
      }).then((r) => r.json());
    const asFloat = await post('float');
    const asBase64 = await post('base64');
    expect(asFloat.data[0].embedding).toEqual(fakeEmbed('pallet count', 8));
    // Copy out of Node's shared Buffer pool before viewing the bytes as float32.
    const bytes = new Uint8Array(Buffer.from(asBase64.data[0].embedding, 'base64'));
    const decoded = Array.from(new Float32Array(bytes.buffer));
    expect(decoded).toEqual(Array.from(new Float32Array(fakeEmbed('pallet count', 8))));
  });
});

describe('spec fidelity of chat answers', () => {
  it('adds service_tier to answers and chunks, and obfuscation to chunks unless include_obfuscation is false', async () => {
    const f = await fake();
    const client = new OpenAI({ apiKey: f.apiKey, baseURL: f.baseURL, maxRetries: 0 });
    const res = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(res.service_tier).toBe('default');
    const chunks: Record<string, unknown>[] = [];
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      messages: [{ role: 'user', content: 'Hi' }],
    });
    for await (const c of stream) chunks.push(c as unknown as Record<string, unknown>);
    expect(chunks.length).toBeGreaterThan(2);
    for (const c of chunks) {
      expect(c.service_tier).toBe('default');
      expect(typeof c.obfuscation).toBe('string');
    }
    expect(new Set(chunks.map((c) => c.obfuscation)).size).toBeGreaterThan(1);
    const plain = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      stream_options: { include_obfuscation: false },
      messages: [{ role: 'user', content: 'Hi' }],
    });
    for await (const c of plain) expect(c).not.toHaveProperty('obfuscation');
  });

  it('refuses max_tokens for reasoning models with the service error body, and bills reasoning tokens', async () => {
    const f = await fake();
    const client = new OpenAI({ apiKey: f.apiKey, baseURL: f.baseURL, maxRetries: 0 });
    const err = await client.chat.completions
      .create({ model: 'o3-mini', max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({
      type: 'invalid_request_error',
      param: 'max_tokens',
      code: 'unsupported_parameter',
    });
    const ok = await client.chat.completions.create({
      model: 'o3-mini',
      max_completion_tokens: 500,
      messages: [{ role: 'user', content: 'Hi' }],
    });
    const reasoning = ok.usage!.completion_tokens_details!.reasoning_tokens!;
    expect(reasoning).toBeGreaterThan(0);
    expect(ok.usage!.completion_tokens).toBe(fakeTokens(ok.choices[0]!.message.content!).length + reasoning);
    const classic = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      max_tokens: 500,
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(classic.usage!.completion_tokens_details!.reasoning_tokens).toBe(0);
  });
});

describe('connection cost (connectLatencyMs)', () => {
  async function post(agent: Agent, f: FakeOpenAI): Promise<number> {
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(
        `${f.baseURL}/embeddings`,
        {
          method: 'POST',
          agent,
          headers: { authorization: `Bearer ${f.apiKey}`, 'content-type': 'application/json' },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve());
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ model: 'text-embedding-3-small', input: 'hello', dimensions: 4 }));
    });
    return performance.now() - started;
  }

  it('charges the first request of a new connection and not the next one on a kept-alive socket', async () => {
    const f = await fake({ connectLatencyMs: 300 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await post(agent, f);
      await post(agent, f);
      expect(first).toBeGreaterThanOrEqual(290);
      expect(f.connections).toBe(1);
      const [a, b] = f.requests.entries;
      expect(a).toMatchObject({ newConnection: true, connectMs: 300 });
      expect(b).toMatchObject({ newConnection: false, connectMs: 0 });
    } finally {
      agent.destroy();
    }
  });

  it('charges every request again when the client opens a connection each time', async () => {
    const f = await fake({ connectLatencyMs: 50 });
    const agent = new Agent({ keepAlive: false });
    try {
      await post(agent, f);
      await post(agent, f);
      expect(f.connections).toBe(2);
      expect(f.requests.entries.map((e) => e.connectMs)).toEqual([50, 50]);
    } finally {
      agent.destroy();
    }
  });

  it('is a live setting: changed at runtime, the next new connection pays the new cost', async () => {
    const f = await fake();
    expect(f.connectLatencyMs).toBe(0);
    f.connectLatencyMs = 40;
    const agent = new Agent({ keepAlive: false });
    try {
      await post(agent, f);
      expect(f.requests.entries[0]).toMatchObject({ newConnection: true, connectMs: 40 });
    } finally {
      agent.destroy();
    }
  });
});

describe('connection cost on WebSocket upgrades (fake-provider-kit)', () => {
  it('delays each upgrade on a new connection by connectLatencyMs', async () => {
    const state = { connectLatencyMs: 250 };
    const started = await startServer({
      connectLatencyMs: () => state.connectLatencyMs,
      onRequest: () => false,
      onUpgrade: async (_req, _socket, _url, accept) => {
        const ws = await accept();
        ws.close();
        return true;
      },
    });
    cleanups.push(() => started.close());
    const open = async (): Promise<number> => {
      const t0 = performance.now();
      const ws = new WebSocket(started.url.replace('http', 'ws'));
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      ws.terminate();
      return performance.now() - t0;
    };
    expect(await open()).toBeGreaterThanOrEqual(240);
    state.connectLatencyMs = 0;
    await open();
    expect(started.connections).toBe(2);
  });
});
