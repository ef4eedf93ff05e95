/**
 * What the OpenAI and Pinecone adapters cost on top of the raw SDKs, in one run against the
 * in-process fakes (no added latency, so the fixed costs show):
 *  1. a streamed chat answer: raw `openai` stream vs `OpenAILanguageModel.stream` (idle timer,
 *     event mapping, monitor records);
 *  2. a streamed tool-call answer: the same with fragments accumulated by index;
 *  3. 16 embeddings of 1536 dimensions: raw SDK (base64, decoded by the SDK) vs `OpenAIEmbedder`;
 *  4. a top-5 query over 2000 vectors of 256 dimensions: raw Pinecone SDK vs
 *     `PineconeVectorIndex.query` (wrapped fetch that buffers the body, AsyncLocalStorage).
 *
 * The fakes run in the same process, so every figure includes their work too; the ratio is the
 * number to read (goal: within 1.10x of the raw SDK).
 * Run: `npx tsx bench/openai-pinecone.bench.ts` (or `--smoke`).
 */
import { Pinecone } from '@pinecone-database/pinecone';
import OpenAI from 'openai';
import { PerformanceMonitor } from '../src/perf/index.js';
import type { ChatMessage, ToolDefinition } from '../src/pipeline/contracts.js';
import { OpenAIEmbedder, OpenAILanguageModel } from '../src/providers/openai/index.js';
import { PineconeVectorIndex } from '../src/providers/pinecone/index.js';
import { fakeEmbed, startFakeOpenAI, startFakePinecone } from '../src/testing/index.js';
import {
  type BenchOptions,
  type BenchResult,
  goal,
  interleaved,
  isMain,
  judge,
  nsOf,
  printTable,
  smokeFromArgv,
} from './harness.js';

const TOOLS: ToolDefinition[] = [
  {
    name: 'get_load_status',
    description: 'Status of one load',
    parameters: { type: 'object', properties: { load_id: { type: 'string' } } },
  },
  {
    name: 'get_equipment_status',
    description: 'Status of equipment',
    parameters: { type: 'object', properties: { equipment_id: { type: 'string' } } },
  },
];

/**
 * Times async cases in interleaved rounds (rotating order) and keeps each case's best round: on
 * a noisy machine both then see the same disturbances, which sequential rounds do not guarantee.
 */
function compare(
  cases: Record<string, () => Promise<unknown>>,
  { iterations, rounds }: { iterations: number; rounds: number },
): Promise<BenchResult[]> {
  return interleaved(
    Object.entries(cases).map(([name, fn]) => ({ name, fn })),
    { iterations, rounds },
  );
}

/** States "adapter within 1.10x of the raw SDK" for one comparison. */
function adapterGoal(
  id: string,
  what: string,
  results: readonly BenchResult[],
  raw: string,
  ours: string,
  smoke: boolean,
): void {
  const ratio = nsOf(results, ours) / nsOf(results, raw);
  goal({
    id: `openai-pinecone.${id}`,
    what: `${what}: ${ours} vs ${raw}, both against the same in-process fake (the adapter also records into a monitor)`,
    measured: `${ratio.toFixed(2)}x`,
    goal: '≤ 1.10x',
    verdict: smoke ? 'info' : judge(ratio, '<=', 1.1),
  });
}

export async function run({ smoke }: BenchOptions): Promise<void> {
  const iterations = smoke ? 3 : 50;
  const rounds = smoke ? 1 : 12;
  const openai = await startFakeOpenAI();
  const pinecone = await startFakePinecone({ dimension: 256 });
  try {
    const monitor = new PerformanceMonitor();
    const client = new OpenAI({ apiKey: openai.apiKey, baseURL: openai.baseURL, maxRetries: 0 });
    const llm = new OpenAILanguageModel({ client, monitor });
    const embedder = new OpenAIEmbedder({ client, monitor });

    const chat = async (messages: ChatMessage[], tools?: ToolDefinition[]) => {
      const stream = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        max_tokens: 1024,
        stream: true,
        stream_options: { include_usage: true },
        messages: messages.map((m) => ({ role: 'user' as const, content: m.content })),
        ...(tools
          ? {
              tools: tools.map((t) => ({
                type: 'function' as const,
                function: { name: t.name, parameters: t.parameters },
              })),
            }
          : {}),
      });
      let text = '';
      const args: string[] = [];
      for await (const chunk of stream) {
        const delta = chunk.choices[0]?.delta;
        if (delta?.content) text += delta.content;
        for (const tc of delta?.tool_calls ?? [])
          args[tc.index] = (args[tc.index] ?? '') + (tc.function?.arguments ?? '');
      }
      return text.length + args.length;
    };
    const adapter = async (messages: ChatMessage[], tools?: ToolDefinition[]) => {
      let n = 0;
      for await (const ev of llm.stream(messages, tools ? { tools } : {})) if (ev.type !== 'usage') n++;
      return n;
    };

    const question: ChatMessage[] = [{ role: 'user', content: 'What can you do for me today?' }];
    const toolQuestion: ChatMessage[] = [
      { role: 'user', content: 'Where is load 2314 and is truck T-17 free?' },
    ];
    const text = await compare(
      { 'raw openai stream': () => chat(question), OpenAILanguageModel: () => adapter(question) },
      { iterations, rounds },
    );
    printTable('streamed text answer (~40 chunks), per call', text, 'raw openai stream');
    adapterGoal(
      'llm-stream',
      'streamed text answer (~40 chunks)',
      text,
      'raw openai stream',
      'OpenAILanguageModel',
      smoke,
    );
    const tools = await compare(
      {
        'raw openai stream': () => chat(toolQuestion, TOOLS),
        OpenAILanguageModel: () => adapter(toolQuestion, TOOLS),
      },
      { iterations, rounds },
    );
    printTable('streamed tool calls (2 calls, ~10 fragments), per call', tools, 'raw openai stream');
    adapterGoal(
      'llm-tools',
      'streamed tool calls (2 calls)',
      tools,
      'raw openai stream',
      'OpenAILanguageModel',
      smoke,
    );

    const texts = Array.from({ length: 16 }, (_, i) => `document ${i} about loads, trailers and inventory`);
    const embeds = await compare(
      {
        'raw openai embeddings': () =>
          client.embeddings.create({ model: 'text-embedding-3-small', input: texts }),
        OpenAIEmbedder: () => embedder.embed(texts),
      },
      { iterations: Math.ceil(iterations / 3), rounds },
    );
    printTable('16 embeddings x 1536 dims (base64), per call', embeds, 'raw openai embeddings');
    adapterGoal(
      'embeddings',
      '16 embeddings × 1536 dims',
      embeds,
      'raw openai embeddings',
      'OpenAIEmbedder',
      smoke,
    );

    pinecone.upsert(
      Array.from({ length: 2000 }, (_, i) => ({
        id: `doc-${i}`,
        values: fakeEmbed(`document ${i} topic ${i % 37} section ${i % 11}`, 256),
        metadata: { text: `document ${i}`, section: i % 11 },
      })),
    );
    const pc = new Pinecone({ apiKey: pinecone.apiKey, maxRetries: 0 });
    const rawIndex = pc.index({ host: pinecone.indexHost });
    const index = new PineconeVectorIndex({ apiKey: pinecone.apiKey, host: pinecone.indexHost, monitor });
    const vector = fakeEmbed('topic 5 section 3', 256);
    const queries = await compare(
      {
        'raw pinecone query': () => rawIndex.query({ vector, topK: 5, includeMetadata: true }),
        PineconeVectorIndex: () => index.query(vector, { topK: 5 }),
      },
      { iterations, rounds },
    );
    printTable('top-5 query over 2000 x 256 vectors, per call', queries, 'raw pinecone query');
    adapterGoal(
      'pinecone-query',
      'top-5 query over 2000 × 256 vectors',
      queries,
      'raw pinecone query',
      'PineconeVectorIndex',
      smoke,
    );

    const ttft = monitor.stats('llm_ttft');
    console.log(
      `\nrecorded while benchmarking: llm n=${monitor.stats('llm')?.count ?? 0}, llm_ttft p50=${ttft?.p50.toFixed(2) ?? '-'} ms, vector_query n=${monitor.stats('vector_query')?.count ?? 0}`,
    );
  } finally {
    await openai.close();
    await pinecone.close();
  }
}

if (isMain(import.meta.url)) await run({ smoke: smokeFromArgv() });
