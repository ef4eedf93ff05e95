import { metrics } from '@opentelemetry/api';
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { createOpenTelemetryBridge, OpenTelemetryBridge } from '../../src/exporters/index.js';
import { PerformanceMonitor } from '../../src/perf/index.js';

interface Harness {
  provider: MeterProvider;
  collect(): Promise<MetricData[]>;
}

const providers: MeterProvider[] = [];
afterEach(async () => {
  for (const p of providers.splice(0)) await p.shutdown();
  metrics.disable();
});

function harness(): Harness {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // A long interval: the test exports explicitly with forceFlush.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  providers.push(provider);
  return {
    provider,
    async collect() {
      exporter.reset();
      await reader.forceFlush();
      return exporter.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics));
    },
  };
}

function metric(all: MetricData[], name: string): MetricData {
  const m = all.find((x) => x.descriptor.name === name);
  if (!m) throw new Error(`no instrument ${name}; have ${all.map((x) => x.descriptor.name).join(', ')}`);
  return m;
}

function histogramPoints(m: MetricData): DataPoint<Histogram>[] {
  return m.dataPoints as DataPoint<Histogram>[];
}

describe('OpenTelemetryBridge', () => {
  it('records LLM calls as gen_ai.client.operation.duration in seconds with GenAI attributes', async () => {
    const h = harness();
    const monitor = new PerformanceMonitor();
    new OpenTelemetryBridge(monitor, { meter: h.provider.getMeter('earshot') });
    monitor.record('llm', 250, { provider: 'openai', model: 'gpt-4o-mini', outcome: 'ok' });
    monitor.record('llm', 750, { provider: 'openai', model: 'gpt-4o-mini', outcome: 'ok' });
    const m = metric(await h.collect(), 'gen_ai.client.operation.duration');
    expect(m.descriptor.unit).toBe('s');
    const [point] = histogramPoints(m);
    expect(point?.attributes).toEqual({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'earshot.outcome': 'ok',
    });
    expect(point?.value.count).toBe(2);
    expect(point?.value.sum).toBeCloseTo(1.0, 9);
    // The semantic conventions' advised boundaries reach the SDK.
    expect(point?.value.buckets.boundaries.slice(0, 3)).toEqual([0.01, 0.02, 0.04]);
  });

  it('marks failed calls with error.type', async () => {
    const h = harness();
    const monitor = new PerformanceMonitor();
    new OpenTelemetryBridge(monitor, { meter: h.provider.getMeter('earshot') });
    monitor.record('llm', 100, { provider: 'openai', outcome: 'error' });
    monitor.record('stt', 100, { provider: 'deepgram', outcome: 'timeout' });
    const all = await h.collect();
    expect(
      histogramPoints(metric(all, 'gen_ai.client.operation.duration'))[0]?.attributes['error.type'],
    ).toBe('_OTHER');
    expect(histogramPoints(metric(all, 'earshot.stt.duration'))[0]?.attributes['error.type']).toBe('timeout');
  });

  it('maps time to first token, STT, TTS and voice turns to their instruments', async () => {
    const h = harness();
    const monitor = new PerformanceMonitor();
    new OpenTelemetryBridge(monitor, { meter: h.provider.getMeter('earshot') });
    monitor.record('llm_ttft', 180, { provider: 'openai' });
    monitor.record('stt', 80, { provider: 'deepgram' });
    monitor.record('tts', 90, { provider: 'elevenlabs' });
    monitor.record('tts_ttfb', 60);
    monitor.record('e2e', 420);
    monitor.record('time_to_first_audio', 300);
    monitor.record('company_api', 30, { method: 'getLoadStatus' });
    const all = await h.collect();
    const ttft = histogramPoints(metric(all, 'gen_ai.client.operation.time_to_first_chunk'))[0];
    expect(ttft?.attributes['gen_ai.provider.name']).toBe('openai');
    expect(ttft?.value.sum).toBeCloseTo(0.18, 9);
    expect(histogramPoints(metric(all, 'earshot.stt.duration'))[0]?.attributes).toEqual({
      'earshot.provider': 'deepgram',
    });
    expect(histogramPoints(metric(all, 'earshot.tts.duration'))[0]?.value.sum).toBeCloseTo(0.09, 9);
    expect(histogramPoints(metric(all, 'earshot.tts.time_to_first_byte'))[0]?.value.count).toBe(1);
    expect(histogramPoints(metric(all, 'earshot.voice.turn.duration'))[0]?.value.sum).toBeCloseTo(0.42, 9);
    expect(histogramPoints(metric(all, 'earshot.voice.time_to_first_audio'))[0]?.value.count).toBe(1);
    expect(histogramPoints(metric(all, 'earshot.tool.duration'))[0]?.attributes).toEqual({
      'earshot.tool.name': 'company_api',
      'earshot.method': 'getLoadStatus',
    });
  });

  it('sends operations without a rule to earshot.operation.duration, and drops those mapped to null', async () => {
    const h = harness();
    const monitor = new PerformanceMonitor();
    new OpenTelemetryBridge(monitor, { meter: h.provider.getMeter('earshot'), rules: { tts: null } });
    monitor.record('vad', 12);
    monitor.record('tts', 50);
    const all = await h.collect();
    expect(histogramPoints(metric(all, 'earshot.operation.duration'))[0]?.attributes).toEqual({
      'earshot.operation': 'vad',
    });
    expect(all.find((m) => m.descriptor.name === 'earshot.tts.duration')).toBeUndefined();
  });

  it('records token usage as gen_ai.client.token.usage by token type', async () => {
    const h = harness();
    const bridge = new OpenTelemetryBridge(new PerformanceMonitor(), {
      meter: h.provider.getMeter('earshot'),
    });
    bridge.recordTokenUsage({ inputTokens: 800, outputTokens: 64, provider: 'openai', model: 'gpt-4o-mini' });
    const m = metric(await h.collect(), 'gen_ai.client.token.usage');
    expect(m.descriptor.unit).toBe('{token}');
    const byType = Object.fromEntries(
      histogramPoints(m).map((p) => [p.attributes['gen_ai.token.type'], p.value.sum]),
    );
    expect(byType).toEqual({ input: 800, output: 64 });
  });

  it('observes cache hits and misses per namespace', async () => {
    const h = harness();
    let hits = 5;
    const cache = { stats: () => ({ namespaces: { llm: { hits, misses: 2 } } }) };
    new OpenTelemetryBridge(new PerformanceMonitor(), { meter: h.provider.getMeter('earshot'), cache });
    expect((metric(await h.collect(), 'earshot.cache.hits').dataPoints[0] as DataPoint<number>).value).toBe(
      5,
    );
    hits = 9;
    const all = await h.collect();
    expect(metric(all, 'earshot.cache.hits').dataPoints[0]).toMatchObject({
      value: 9,
      attributes: { 'earshot.cache.namespace': 'llm' },
    });
    expect((metric(all, 'earshot.cache.misses').dataPoints[0] as DataPoint<number>).value).toBe(2);
  });

  it('stops recording after close()', async () => {
    const h = harness();
    const monitor = new PerformanceMonitor();
    const bridge = new OpenTelemetryBridge(monitor, { meter: h.provider.getMeter('earshot') });
    monitor.record('stt', 10);
    bridge.close();
    monitor.record('stt', 10);
    expect(histogramPoints(metric(await h.collect(), 'earshot.stt.duration'))[0]?.value.count).toBe(1);
  });

  it('takes the meter from the global MeterProvider when none is given', async () => {
    const h = harness();
    metrics.setGlobalMeterProvider(h.provider);
    const monitor = new PerformanceMonitor();
    await createOpenTelemetryBridge(monitor);
    monitor.record('stt', 40);
    const all = await h.collect();
    expect(histogramPoints(metric(all, 'earshot.stt.duration'))[0]?.value.count).toBe(1);
  });
});
