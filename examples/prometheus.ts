/**
 * Expose earshot's latency histograms (and cache counters) to Prometheus, then scrape yourself
 * once and print what Prometheus would see.
 * Run: npx tsx --tsconfig examples/tsconfig.json examples/prometheus.ts   (serves on a free port, scrapes once, exits)
 *      npx tsx --tsconfig examples/tsconfig.json examples/prometheus.ts --serve (keeps serving on :9464 until Ctrl-C)
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PerformanceMonitor } from 'earshot';
import { PrometheusExporter } from 'earshot/exporters';

const monitor = new PerformanceMonitor();
// Some fake voice turns: in an app, earshot's stages record these for you.
for (let i = 0; i < 200; i++) {
  const stt = 60 + Math.random() * 60;
  const llm = 150 + Math.random() * 250;
  const tts = 50 + Math.random() * 80;
  monitor.record('stt', stt, { provider: 'deepgram', outcome: 'ok' });
  monitor.record('llm', llm, { provider: 'openai', outcome: Math.random() < 0.02 ? 'error' : 'ok' });
  monitor.record('tts', tts, { provider: 'elevenlabs', outcome: 'ok' });
  monitor.record('e2e', stt + llm + tts, { outcome: 'ok' });
}
// Any object with stats() → { namespace: { hits, misses } } works; earshot's CacheManager does.
const cache = {
  stats: () => ({ llm: { hits: 140, misses: 60 }, 'company_api:load': { hits: 35, misses: 5 } }),
};

const exporter = new PrometheusExporter(monitor, { cache, constLabels: { service: 'voice-demo' } });
const serve = process.argv.includes('--serve');
const server = createServer(exporter.handler);
server.listen(serve ? 9464 : 0, '127.0.0.1', async () => {
  const { port } = server.address() as AddressInfo;
  console.log(`metrics at http://127.0.0.1:${port}/metrics`);
  if (serve) return;
  const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  // Print the e2e histogram and the cache counters; the full body has every operation.
  console.log(
    body
      .split('\n')
      .filter(
        (l) => l.includes('operation="e2e"') || l.startsWith('earshot_cache_hits') || l.startsWith('# TYPE'),
      )
      .join('\n'),
  );
  console.log('\nPromQL for the P90 of e2e over 5 minutes, across every instance:');
  console.log(
    '  histogram_quantile(0.9, sum by (le) (rate(earshot_operation_duration_seconds_bucket{operation="e2e"}[5m])))',
  );
  server.close();
});
