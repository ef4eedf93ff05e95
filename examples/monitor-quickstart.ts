/**
 * The performance monitor in 40 lines: time some fake voice-pipeline stages three ways, then
 * check them against the source design's latency targets.
 * Run: npx tsx --tsconfig examples/tsconfig.json examples/monitor-quickstart.ts
 */
import { defaultTargets, PerformanceMonitor } from 'earshot';

const monitor = new PerformanceMonitor();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const jitter = (p50: number) => p50 * (0.7 + Math.random() * 0.8);

// 1. track(): times an async call, records ok/error, returns its result.
async function transcribe(): Promise<string> {
  return monitor.track(
    'stt',
    async () => {
      await sleep(jitter(60));
      return 'where is load 2314';
    },
    { provider: 'fake' },
  );
}

// 2. a `using` span: recorded when the block ends.
async function think(question: string): Promise<string> {
  using _span = monitor.start('llm', { provider: 'fake' });
  await sleep(jitter(180));
  return `Load 2314 is in transit (you asked: ${question}).`;
}

// 3. wrap(): a function with the same type that records every call.
const speak = monitor.wrap('tts', async (text: string) => {
  await sleep(jitter(text.length));
  return new Uint8Array(text.length * 100);
});

for (let turn = 0; turn < 20; turn++) {
  const started = performance.now();
  const question = await transcribe();
  const answer = await think(question);
  await speak(answer);
  monitor.record('e2e', performance.now() - started);
}

console.log(monitor.report({ targets: defaultTargets() }));
const failed = monitor.checkTargets(defaultTargets()).filter((r) => r.status === 'fail');
console.log(failed.length === 0 ? '\nall measured targets met' : `\n${failed.length} target(s) missed`);
