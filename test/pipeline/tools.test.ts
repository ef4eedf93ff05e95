import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { InvalidArgumentError, registerSecret, ToolError, unregisterSecret } from '../../src/errors.js';
import {
  createCompanyApiTools,
  createDocumentSearchTool,
  createEmbeddingSearch,
  defineTool,
  withTextTransform,
} from '../../src/index.js';
import { executeToolCall, toolDefinition } from '../../src/pipeline/tools.js';
import {
  FakeDocumentSearch,
  FakeEmbedder,
  FakeTextToSpeech,
  InMemoryVectorIndex,
  transcribeFakeSpeech,
} from '../../src/testing/index.js';
import { concat, fakeCompanyApi } from './helpers.js';

const ctx = { callId: 'c1' };

describe('defineTool', () => {
  it('turns the zod parameters into the JSON Schema the model sees', () => {
    const tool = defineTool({
      name: 'get_weather',
      description: 'Weather at a city.',
      parameters: z.object({
        city: z.string().describe('City name'),
        units: z.enum(['metric', 'imperial']).default('metric'),
        days: z.number().int().min(1).max(7).optional(),
      }),
      execute: async ({ city }) => ({ city }),
    });
    const def = toolDefinition(tool);
    expect(def.name).toBe('get_weather');
    expect(def.parameters).not.toHaveProperty('$schema');
    expect(def.parameters).toMatchObject({
      type: 'object',
      properties: {
        city: { type: 'string', description: 'City name' },
        units: { type: 'string', enum: ['metric', 'imperial'], default: 'metric' },
        days: { type: 'integer', minimum: 1, maximum: 7 },
      },
      required: ['city'],
    });
    expect(toolDefinition(tool)).toBe(def);
  });

  it('rejects names models refuse, missing descriptions, and schemas without a JSON form', () => {
    const base = { description: 'x', parameters: z.object({}), execute: async () => 1 };
    expect(() => defineTool({ ...base, name: 'has space' })).toThrow(InvalidArgumentError);
    expect(() => defineTool({ ...base, name: 'ok', description: ' ' })).toThrow(/description/);
    expect(() => defineTool({ ...base, name: 'ok', parameters: z.string() })).toThrow(/z\.object/);
    expect(() => defineTool({ ...base, name: 'ok', parameters: z.object({ when: z.date() }) })).toThrow(
      /JSON Schema/,
    );
  });
});

describe('executeToolCall', () => {
  const echo = defineTool({
    name: 'echo',
    description: 'Echoes.',
    parameters: z.object({ n: z.number() }),
    execute: async ({ n }) => ({ n }),
  });

  it('parses, validates and runs', async () => {
    expect(await executeToolCall(echo, 'echo', '{"n":2}', ctx)).toEqual({
      content: '{"n":2}',
      result: { n: 2 },
    });
  });

  it('reports invalid JSON and invalid arguments as argument errors', async () => {
    const bad = await executeToolCall(echo, 'echo', '{n:', ctx);
    expect(bad.error?.kind).toBe('arguments');
    const wrong = await executeToolCall(echo, 'echo', '{"n":"two"}', ctx);
    expect(wrong.error).toMatchObject({
      kind: 'arguments',
      error: { code: 'EARSHOT_TOOL_FAILED', tool: 'echo' },
    });
    expect(JSON.parse(wrong.content).error).toMatch(/n: /);
  });

  it('wraps a failure in a ToolError and never hands a secret to the model', async () => {
    const secret = 'sk-very-secret-value-123';
    registerSecret(secret);
    try {
      const leaky = defineTool({
        name: 'leaky',
        description: 'Fails.',
        parameters: z.object({}),
        execute: async () => {
          throw new Error(`401 for key ${secret}`);
        },
      });
      const out = await executeToolCall(leaky, 'leaky', '{}', ctx);
      expect(out.error?.kind).toBe('execution');
      expect(out.error?.error).toBeInstanceOf(ToolError);
      expect(out.content).not.toContain(secret);
      expect(out.error?.error.message).not.toContain(secret);
    } finally {
      unregisterSecret(secret);
    }
  });

  it('cuts very long results', async () => {
    const big = defineTool({
      name: 'big',
      description: 'Big.',
      parameters: z.object({}),
      execute: async () => 'x'.repeat(50_000),
    });
    const out = await executeToolCall(big, 'big', '', ctx);
    expect(out.content.length).toBeLessThan(16_100);
    expect(out.content).toMatch(/cut: 34000 more characters/);
  });
});

describe('createCompanyApiTools', () => {
  it('offers the six company-API calls', () => {
    expect(createCompanyApiTools(fakeCompanyApi()).map((t) => t.name)).toEqual([
      'get_load_status',
      'list_loads',
      'get_inventory',
      'list_inventory',
      'get_equipment_status',
      'list_equipment',
    ]);
  });

  it('maps the model’s snake_case arguments to the client’s filters, with a default page size', async () => {
    const api = fakeCompanyApi();
    const tools = new Map(createCompanyApiTools(api).map((t) => [t.name, t]));
    await executeToolCall(
      tools.get('list_loads'),
      'list_loads',
      '{"status":"delayed","origin_state":"CO"}',
      ctx,
    );
    await executeToolCall(
      tools.get('list_inventory'),
      'list_inventory',
      '{"below_reorder_point":true,"limit":3}',
      ctx,
    );
    await executeToolCall(
      tools.get('get_equipment_status'),
      'get_equipment_status',
      '{"equipment_id":"TR-9"}',
      ctx,
    );
    expect(api.calls.map((c) => [c.method, c.arg])).toEqual([
      ['listLoads', { status: 'delayed', originState: 'CO', limit: 5 }],
      ['listInventory', { belowReorderPoint: true, limit: 3 }],
      ['getEquipmentStatus', 'TR-9'],
    ]);
  });

  it('rejects a status the API does not know before calling it', async () => {
    const api = fakeCompanyApi();
    const [, listLoads] = createCompanyApiTools(api);
    const out = await executeToolCall(listLoads, 'list_loads', '{"status":"lost"}', ctx);
    expect(out.error?.kind).toBe('arguments');
    expect(api.calls).toHaveLength(0);
  });

  it('offers a subset with only', () => {
    expect(createCompanyApiTools(fakeCompanyApi(), { only: ['get_load_status'] }).map((t) => t.name)).toEqual(
      ['get_load_status'],
    );
  });

  it('rejects a client without the methods', () => {
    expect(() => createCompanyApiTools({} as never)).toThrow(/getLoadStatus/);
  });
});

describe('document search', () => {
  it('createEmbeddingSearch embeds the query and returns the nearest documents first', async () => {
    const embedder = new FakeEmbedder(128);
    const index = new InMemoryVectorIndex();
    const docs = [
      { id: 'a', text: 'Damaged trailers are reported to dispatch within one hour.' },
      { id: 'b', text: 'Forklift batteries are charged every night.' },
    ];
    const vectors = await embedder.embed(docs.map((d) => d.text));
    await index.upsert(docs.map((d, i) => ({ id: d.id, values: vectors[i]!, metadata: { text: d.text } })));
    const search = createEmbeddingSearch(embedder, index);
    expect(search.provider).toBe('fake+memory');
    const results = await search.search('how do I report a damaged trailer', { topK: 1 });
    expect(results.map((r) => r.id)).toEqual(['a']);
    expect(results[0]?.text).toMatch(/Damaged trailers/);
  });

  it('createDocumentSearchTool passes top-k, namespace and filter and trims long texts', async () => {
    const seen: unknown[] = [];
    const search = {
      provider: 'x',
      async search(query: string, options: unknown) {
        seen.push([query, options]);
        return [{ id: 'd', score: 0.87654, text: 'y'.repeat(50), metadata: { lang: 'en' } }];
      },
    };
    const tool = createDocumentSearchTool(search, {
      topK: 3,
      namespace: 'policies',
      filter: { lang: 'en' },
      maxTextChars: 10,
    });
    const out = await executeToolCall(tool, tool.name, '{"query":"cargo"}', ctx);
    expect(seen).toEqual([['cargo', { topK: 3, namespace: 'policies', filter: { lang: 'en' } }]]);
    expect(out.result).toEqual({
      results: [{ id: 'd', score: 0.877, text: `${'y'.repeat(10)}…`, metadata: { lang: 'en' } }],
    });
  });

  it('FakeDocumentSearch ranks by similarity', async () => {
    const search = new FakeDocumentSearch([
      { id: 'rest', text: 'Drivers rest ten hours.' },
      { id: 'cargo', text: 'Report damaged cargo to dispatch.' },
    ]);
    expect((await search.search('damaged cargo'))[0]?.id).toBe('cargo');
  });
});

describe('withTextTransform', () => {
  it('rewrites text before synthesis and keeps the stage identity', async () => {
    const tts = withTextTransform(new FakeTextToSpeech({ msPerChar: 1 }), (t) => t.replace('lbs', 'pounds'));
    expect(tts.provider).toBe('fake');
    const chunks: Uint8Array[] = [];
    for await (const c of tts.synthesize('40 lbs')) chunks.push(c.data);
    expect(transcribeFakeSpeech(concat(chunks))).toBe('40 pounds');
    const streamed: Uint8Array[] = [];
    const pieces = (async function* () {
      yield 'Hi.';
      yield '2 lbs.';
    })();
    for await (const c of tts.synthesizeStream?.(pieces) ?? []) streamed.push(c.data);
    expect(transcribeFakeSpeech(concat(streamed))).toBe('Hi. 2 pounds.');
  });
});
