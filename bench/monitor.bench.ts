/**
 * Cost of recording one operation: raw hdr-histogram-js vs earshot's ways of measuring vs
 * prom-client and OpenTelemetry, in the same run. Run: `npx tsx bench/monitor.bench.ts`.
 */
import { metrics } from '@opentelemetry/api';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import * as hdr from 'hdr-histogram-js';
import { Histogram as PromHistogram, Registry } from 'prom-client';
import { PerformanceMonitor } from '../src/perf/index.js';
import {
  type BenchOptions,
  type BenchResult,
  isMain,
  measure,
  printTable,
  smokeFromArgv,
} from './harness.js';

export async function run({ smoke }: BenchOptions): Promise<BenchResult[]> {
  const iterations = smoke ? 2_000 : 300_000;
  const rounds = smoke ? 1 : 7;
  const op = () => 1; // the measured work: nothing, so only the recording cost shows
  const asyncOp = async () => 1;
  const results: BenchResult[] = [];

  results.push(await measure('bare await fn()', () => asyncOp(), { iterations, rounds, async: true }));

  const raw = hdr.build({
    bitBucketSize: 32,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
  results.push(
    await measure(
      'raw hdr recordValue + performance.now pair (await fn)',
      async () => {
        const t0 = performance.now();
        await asyncOp();
        raw.recordValue(Math.round((performance.now() - t0) * 1000));
      },
      { iterations, rounds, async: true },
    ),
  );
  results.push(
    await measure(
      'raw hdr recordValue + performance.now pair (sync fn)',
      () => {
        const t0 = performance.now();
        op();
        raw.recordValue(Math.round((performance.now() - t0) * 1000));
      },
      { iterations, rounds },
    ),
  );

  const monitor = new PerformanceMonitor();
  results.push(
    await measure('monitor.track (async)', () => monitor.track('llm', asyncOp), {
      iterations,
      rounds,
      async: true,
    }),
  );
  results.push(
    await measure(
      'monitor.track with labels (async)',
      () => monitor.track('llm', asyncOp, { provider: 'openai' }),
      {
        iterations,
        rounds,
        async: true,
      },
    ),
  );
  const wrapped = monitor.wrap('wrapped', op);
  results.push(await measure('monitor.wrap (sync)', () => wrapped(), { iterations, rounds }));
  class Service {
    @monitor.tracked('decorated')
    call(): number {
      return 1;
    }
  }
  const svc = new Service();
  results.push(await measure('@monitor.tracked method (sync)', () => svc.call(), { iterations, rounds }));
  results.push(
    await measure(
      'monitor.start/end span (sync)',
      () => {
        const s = monitor.start('span');
        op();
        s.end();
      },
      { iterations, rounds },
    ),
  );

  const registry = new Registry();
  const prom = new PromHistogram({
    name: 'latency_seconds',
    help: 'x',
    labelNames: ['op'],
    registers: [registry],
  });
  results.push(
    await measure(
      'prom-client Histogram.observe + now pair (sync)',
      () => {
        const t0 = performance.now();
        op();
        prom.observe({ op: 'llm' }, (performance.now() - t0) / 1000);
      },
      { iterations, rounds },
    ),
  );

  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const provider = new MeterProvider({
    readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })],
  });
  metrics.setGlobalMeterProvider(provider);
  const otel = provider.getMeter('bench').createHistogram('latency', { unit: 'ms' });
  results.push(
    await measure(
      'OpenTelemetry histogram.record + now pair (sync)',
      () => {
        const t0 = performance.now();
        op();
        otel.record(performance.now() - t0, { op: 'llm' });
      },
      { iterations, rounds },
    ),
  );
  await provider.shutdown();

  printTable(
    'Monitor: cost of recording one operation',
    results,
    'raw hdr recordValue + performance.now pair (sync fn)',
  );
  const rawAsync = results[1]!.nsPerOp;
  const track = results[3]!.nsPerOp;
  console.log(
    `\ntrack (async) vs raw hdr with the same await: ${(track / rawAsync).toFixed(2)}x (goal ≤ 2x); ` +
      `extra ns over raw: ${(track - rawAsync).toFixed(0)}`,
  );
  return results;
}

if (isMain(import.meta.url)) await run({ smoke: smokeFromArgv() });
