/**
 * The OpenAI and Pinecone adapters end to end, with no network and no keys: a fake OpenAI and
 * a fake Pinecone index on 127.0.0.1 with realistic latencies, a small handbook embedded and
 * upserted, then two spoken questions answered with tool calls (document search, a load
 * lookup), streamed token by token, and the latencies the adapters recorded.
 * Run: npx tsx --tsconfig examples/tsconfig.json examples/openai-pinecone.ts
 */
import { type ChatMessage, PerformanceMonitor, ProviderError, type ToolDefinition } from 'earshot';
import { OpenAIEmbedder, OpenAILanguageModel } from 'earshot/openai';
import { PineconeVectorIndex } from 'earshot/pinecone';
import { startFakeOpenAI, startFakePinecone } from 'earshot/testing';

const openai = await startFakeOpenAI({
  latency: { kind: 'distribution', p50Ms: 180, p90Ms: 280 },
  tokensPerSecond: 80,
});
const pinecone = await startFakePinecone({
  latency: { kind: 'distribution', p50Ms: 25, p90Ms: 60 },
  dimension: 512,
});
const monitor = new PerformanceMonitor();

try {
  const connection = { apiKey: openai.apiKey, baseURL: openai.baseURL, monitor };
  const llm = new OpenAILanguageModel({ ...connection, model: 'gpt-4o-mini', maxTokens: 1024 });
  const embedder = new OpenAIEmbedder({ ...connection, dimensions: 512 });
  const index = new PineconeVectorIndex({
    apiKey: pinecone.apiKey,
    host: pinecone.indexHost,
    indexName: 'handbook',
    monitor,
  });

  // Ingestion: embed the handbook and upsert it.
  const handbook = [
    {
      id: 'damage',
      text: 'To report damage to a trailer, photograph it, then call dispatch before moving it.',
    },
    {
      id: 'fuel',
      text: 'Fuel cards work at every partner station; keep the receipts for the weekly report.',
    },
    { id: 'hours', text: 'Drivers may drive at most 11 hours after 10 consecutive hours off duty.' },
    {
      id: 'reefer',
      text: 'Reefer trailers must stay at or below -18 C; log the temperature every four hours.',
    },
  ];
  const vectors = await embedder.embed(handbook.map((d) => d.text));
  await index.upsert(
    handbook.map((d, i) => ({
      id: d.id,
      values: vectors[i]!,
      metadata: { text: d.text, section: 'operations' },
    })),
    { namespace: 'handbook' },
  );

  const tools: ToolDefinition[] = [
    {
      name: 'search_documents',
      description: 'Search the company handbook.',
      parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
    },
    {
      name: 'get_load_status',
      description: 'Status of one load by id.',
      parameters: { type: 'object', properties: { load_id: { type: 'string' } }, required: ['load_id'] },
    },
  ];

  // What the tools do (a real app calls the company API here; see examples/company-api.ts).
  async function runTool(name: string, args: Record<string, unknown>): Promise<unknown> {
    if (name === 'search_documents') {
      const [query] = await embedder.embed([String(args.query)]);
      const hits = await index.query(query!, {
        topK: 2,
        namespace: 'handbook',
        filter: { section: { $eq: 'operations' } },
      });
      return hits.map((h) => ({ id: h.id, score: Number(h.score.toFixed(3)), text: h.text }));
    }
    return { load_id: args.load_id, status: 'in_transit', destination: 'Houston', eta: '14:30' };
  }

  async function turn(question: string): Promise<void> {
    console.log(`\nuser: ${question}`);
    const messages: ChatMessage[] = [
      {
        role: 'system',
        content: 'You are a voice assistant for a logistics company. Answer in one or two sentences.',
      },
      { role: 'user', content: question },
    ];
    for (let round = 0; round < 3; round++) {
      const calls = [];
      process.stdout.write('assistant: ');
      for await (const ev of llm.stream(messages, { tools })) {
        if (ev.type === 'text-delta') process.stdout.write(ev.text);
        if (ev.type === 'tool-call') calls.push(ev.call);
        if (ev.type === 'finish') process.stdout.write(`  [${ev.reason}, ${ev.requestId}]\n`);
      }
      if (calls.length === 0) return;
      messages.push({ role: 'assistant', content: '', toolCalls: calls });
      for (const call of calls) {
        const result = await runTool(call.name, JSON.parse(call.arguments) as Record<string, unknown>);
        console.log(`  tool ${call.name}(${call.arguments}) → ${JSON.stringify(result).slice(0, 100)}`);
        messages.push({
          role: 'tool',
          toolCallId: call.id,
          name: call.name,
          content: JSON.stringify(result),
        });
      }
    }
  }

  await turn('How do I report a damaged trailer?');
  await turn('Where is load 2314?');

  // A fault: the next chat call is rate limited. Retries are off by default (the pipeline owns
  // deadlines), so the error reaches us at once, typed and retryable.
  openai.faults.enqueue({ kind: 'rateLimit', route: 'chat' });
  try {
    for await (const _ of llm.stream([{ role: 'user', content: 'Hello?' }])) {
      // drain
    }
  } catch (err) {
    if (err instanceof ProviderError) {
      console.log(
        `\n429 → ${err.name} status=${err.status} retryable=${err.retryable} requestId=${err.requestId}`,
      );
    } else throw err;
  }

  console.log('\nwhat the adapters recorded (ms):');
  for (const name of ['llm_ttft', 'llm', 'llm_tpot', 'embed', 'vector_upsert', 'vector_query']) {
    const s = monitor.stats(name, { labels: { outcome: 'ok' } });
    if (s)
      console.log(
        `  ${name.padEnd(14)} n=${String(s.count).padStart(2)}  p50=${s.p50.toFixed(1)}  p90=${s.p90.toFixed(1)}`,
      );
  }
  const tpot = monitor.stats('llm_tpot', { labels: { outcome: 'ok' } });
  if (tpot) console.log(`  tokens/s ≈ ${(1000 / tpot.p50).toFixed(0)}`);
} finally {
  await openai.close();
  await pinecone.close();
}
