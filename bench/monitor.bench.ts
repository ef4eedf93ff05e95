/**
 * Cost of recording one operation, like for like (issue 18 item 3): earshot against raw
 * hdr-histogram-js, prom-client and OpenTelemetry, each group comparing the same kind of call —
 * unlabelled sync, labelled sync, labelled async — in interleaved rounds (every round runs
 * every case of its group, in rotating order, so load from other processes hits all alike;
 * each case reports its best round).
 *
 * Labelled cases pass a fresh label object per call (`{ provider }` written at the call site),
 * which is what the peers' docs show and what a cache by object identity would not help.
 *
 * Run: `npx tsx bench/monitor.bench.ts` (or `--smoke`). Prints `GOAL …` lines.
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
import { OP, PerformanceMonitor } from '../src/perf/index.js';
import { type BenchOptions, type BenchResult, isMain, printTable, smokeFromArgv } from './harness.js';

interface Case {
  name: string;
  fn: () => unknown;
  /** Awaited per call. */
  async?: boolean;
}

async function interleaved(
  cases: readonly Case[],
  { iterations, rounds }: { iterations: number; rounds: number },
): Promise<BenchResult[]> {
  const best = new Map<string, number>(cases.map((c) => [c.name, Number.POSITIVE_INFINITY]));
  const once = async (c: Case, n: number): Promise<number> => {
    const t0 = process.hrtime.bigint();
    if (c.async === true) for (let i = 0; i < n; i++) await c.fn();
    else for (let i = 0; i < n; i++) c.fn();
    return Number(process.hrtime.bigint() - t0) / n;
  };
  for (const c of cases) await once(c, Math.min(iterations, 20_000)); // warm-up (JIT)
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < cases.length; j++) {
      const c = cases[(j + r) % cases.length]!;
      const ns = await once(c, iterations);
      if (ns < best.get(c.name)!) best.set(c.name, ns);
    }
  }
  return cases.map((c) => ({ name: c.name, nsPerOp: best.get(c.name)!, opsPerSec: 1e9 / best.get(c.name)! }));
}

/** One goal line: `GOAL <id> | <description> | <measured> | <goal> | met|not met`. */
function goal(id: string, description: string, measured: string, target: string, met: boolean): void {
  console.log(`GOAL ${id} | ${description} | ${measured} | ${target} | ${met ? 'met' : 'not met'}`);
}

const ns = (results: readonly BenchResult[], name: string): number => {
  const r = results.find((x) => x.name === name);
  if (!r) throw new Error(`no bench case ${name}`);
  return r.nsPerOp;
};

export async function run({ smoke }: BenchOptions): Promise<BenchResult[]> {
  const iterations = smoke ? 2_000 : 200_000;
  const rounds = smoke ? 1 : 9;
  const providers = ['openai', 'anthropic', 'groq'];
  let k = 0;
  const provider = () => providers[k++ % 3]!;
  const op = () => 1; // the measured work: nothing, so only the recording cost shows
  const asyncOp = async () => 1;

  const raw = hdr.build({
    bitBucketSize: 32,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
  const monitor = new PerformanceMonitor();
  const registry = new Registry();
  const prom = new PromHistogram({
    name: 'latency_seconds',
    help: 'x',
    labelNames: ['op', 'provider', 'outcome'],
    registers: [registry],
  });
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const meterProvider = new MeterProvider({
    readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })],
  });
  metrics.setGlobalMeterProvider(meterProvider);
  const otel = meterProvider.getMeter('bench').createHistogram('latency', { unit: 'ms' });

  // ── sync, no labels ──
  const wrapped = monitor.wrap('wrapped', op);
  const unlabelled = await interleaved(
    [
      {
        name: 'raw hdr recordValue + now pair',
        fn: () => {
          const t0 = performance.now();
          op();
          raw.recordValue(Math.round((performance.now() - t0) * 1000));
        },
      },
      {
        name: 'earshot record + now pair',
        fn: () => {
          const t0 = performance.now();
          op();
          monitor.record(OP.llm, performance.now() - t0);
        },
      },
      { name: 'earshot wrap (sync fn)', fn: () => wrapped() },
      {
        name: 'earshot span start/end',
        fn: () => {
          const s = monitor.start('span');
          op();
          s.end();
        },
      },
      {
        name: 'prom-client observe (1 label) + now pair',
        fn: () => {
          const t0 = performance.now();
          op();
          prom.observe({ op: 'llm' }, (performance.now() - t0) / 1000);
        },
      },
      {
        name: 'OpenTelemetry record (1 attr) + now pair',
        fn: () => {
          const t0 = performance.now();
          op();
          otel.record(performance.now() - t0, { op: 'llm' });
        },
      },
    ],
    { iterations, rounds },
  );
  printTable(
    'Sync, no labels (earshot) / one fixed label (peers)',
    unlabelled,
    'raw hdr recordValue + now pair',
  );

  // ── sync, labelled: a fresh { provider, outcome } object per call ──
  const labelledSync = await interleaved(
    [
      {
        name: 'earshot record (labels) + now pair',
        fn: () => {
          const t0 = performance.now();
          op();
          monitor.record(OP.llm, performance.now() - t0, { provider: provider(), outcome: 'ok' });
        },
      },
      {
        name: 'prom-client observe (labels) + now pair',
        fn: () => {
          const t0 = performance.now();
          op();
          prom.observe({ op: 'llm', provider: provider(), outcome: 'ok' }, (performance.now() - t0) / 1000);
        },
      },
      {
        name: 'OpenTelemetry record (attrs) + now pair',
        fn: () => {
          const t0 = performance.now();
          op();
          otel.record(performance.now() - t0, { op: 'llm', provider: provider(), outcome: 'ok' });
        },
      },
    ],
    { iterations, rounds },
  );
  printTable(
    'Sync, labelled (fresh label object per call)',
    labelledSync,
    'prom-client observe (labels) + now pair',
  );

  // ── async, labelled: the call is awaited; earshot's track decides the outcome itself ──
  const labelledAsync = await interleaved(
    [
      { name: 'bare await fn()', fn: () => asyncOp(), async: true },
      {
        name: 'raw hdr recordValue + now pair (await fn)',
        fn: async () => {
          const t0 = performance.now();
          await asyncOp();
          raw.recordValue(Math.round((performance.now() - t0) * 1000));
        },
        async: true,
      },
      { name: 'earshot track (no labels, async fn)', fn: () => monitor.track(OP.llm, asyncOp), async: true },
      {
        name: 'earshot track (labels, async fn)',
        fn: () => monitor.track(OP.llm, asyncOp, { provider: provider() }),
        async: true,
      },
      {
        name: 'prom-client startTimer/end (labels, async fn)',
        fn: async () => {
          const end = prom.startTimer({ op: 'llm', provider: provider() });
          try {
            await asyncOp();
            end({ outcome: 'ok' });
          } catch (err) {
            end({ outcome: 'error' });
            throw err;
          }
        },
        async: true,
      },
      {
        name: 'OpenTelemetry record (attrs, async fn)',
        fn: async () => {
          const t0 = performance.now();
          const p = provider();
          try {
            await asyncOp();
            otel.record(performance.now() - t0, { op: 'llm', provider: p, outcome: 'ok' });
          } catch (err) {
            otel.record(performance.now() - t0, { op: 'llm', provider: p, outcome: 'error' });
            throw err;
          }
        },
        async: true,
      },
    ],
    { iterations, rounds },
  );
  printTable('Async, labelled (awaited call, outcome recorded)', labelledAsync, 'bare await fn()');
  await meterProvider.shutdown();

  const rawNs = ns(unlabelled, 'raw hdr recordValue + now pair');
  const rec = ns(unlabelled, 'earshot record + now pair');
  const promLabelled = ns(labelledSync, 'prom-client observe (labels) + now pair');
  const recLabelled = ns(labelledSync, 'earshot record (labels) + now pair');
  const bare = ns(labelledAsync, 'bare await fn()');
  const trackLabelled = ns(labelledAsync, 'earshot track (labels, async fn)');
  const promAsync = ns(labelledAsync, 'prom-client startTimer/end (labels, async fn)');
  const rawAsync = ns(labelledAsync, 'raw hdr recordValue + now pair (await fn)');
  const track = ns(labelledAsync, 'earshot track (no labels, async fn)');
  console.log('');
  goal(
    'monitor.track-vs-raw',
    'track (async, no labels) vs raw hdr recordValue + now pair around the same await',
    `${(track / rawAsync).toFixed(2)}x (${track.toFixed(0)} vs ${rawAsync.toFixed(0)} ns)`,
    '≤ 2x',
    track / rawAsync <= 2,
  );
  goal(
    'monitor.record-vs-raw',
    'unlabelled record + now pair vs raw hdr recordValue + now pair',
    `${(rec / rawNs).toFixed(2)}x (${rec.toFixed(0)} vs ${rawNs.toFixed(0)} ns)`,
    '≤ 2x',
    rec / rawNs <= 2,
  );
  goal(
    'monitor.labelled-record',
    'labelled record vs prom-client labelled observe (sync, same run)',
    `${recLabelled.toFixed(0)} vs ${promLabelled.toFixed(0)} ns`,
    '≤ prom-client',
    recLabelled <= promLabelled,
  );
  goal(
    'monitor.labelled-track',
    'labelled track (async) overhead over bare await vs prom-client startTimer/end overhead',
    `${(trackLabelled - bare).toFixed(0)} vs ${(promAsync - bare).toFixed(0)} ns`,
    '≤ prom-client',
    trackLabelled - bare <= promAsync - bare,
  );
  return [...unlabelled, ...labelledSync, ...labelledAsync];
}

if (isMain(import.meta.url)) await run({ smoke: smokeFromArgv() });
