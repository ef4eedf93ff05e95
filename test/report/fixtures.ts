/** Saved runs for the report tests, made by the real load engine over synthetic turns. */
import { UpstreamError } from '../../src/errors.js';
import {
  runClosedModel,
  runOpenModel,
  type SavedRun,
  type Scenario,
  summarizeRun,
  type TurnWaterfall,
} from '../../src/loadtest/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function syntheticTurn(failEvery: number): Scenario {
  let n = 0;
  return {
    name: 'ask',
    async run({ random, monitor }) {
      const stt = 40 + random() * 40;
      const ttft = 60 + random() * 120;
      const ttfb = 30 + random() * 50;
      await sleep(3);
      monitor.record('stt', stt, { outcome: 'ok' });
      monitor.record('llm_ttft', ttft, { outcome: 'ok' });
      monitor.record('tts_ttfb', ttfb, { outcome: 'ok' });
      monitor.record('cache_read', random() * 0.2, { namespace: 'llm', outcome: 'hit' });
      if (++n % failEvery === 0)
        throw new UpstreamError('TTS answered 503', { provider: 'elevenlabs', status: 503, retryable: true });
      const ttfa = stt + ttft + ttfb + 2;
      monitor.record('time_to_first_audio', ttfa, { outcome: 'ok' });
      const waterfall: TurnWaterfall = {
        turnId: `t${n}`,
        timeToFirstAudioMs: ttfa,
        e2eMs: ttfa + 400,
        spans: [
          { id: 0, name: 'stt', startMs: 0, endMs: stt },
          { id: 1, name: 'llm', startMs: stt, endMs: stt + ttft + 150, firstOutputMs: stt + ttft, round: 0 },
          {
            id: 2,
            name: 'tts',
            startMs: stt + ttft + 2,
            endMs: ttfa + 400,
            firstOutputMs: ttfa,
            sentenceIndex: 0,
          },
        ],
        criticalPath: [
          { name: 'stt', startMs: 0, endMs: stt, spanId: 0 },
          { name: 'llm_ttft', startMs: stt, endMs: stt + ttft, spanId: 1 },
          { name: 'overhead', startMs: stt + ttft, endMs: stt + ttft + 2 },
          { name: 'tts_ttfb', startMs: stt + ttft + 2, endMs: ttfa, spanId: 2 },
        ],
      };
      return { waterfall };
    },
  };
}

const targets = { stt: 100, llm_ttft: 150, tts_ttfb: 100, time_to_first_audio: 500 };
const cache = {
  namespaces: { llm: { hits: 40, misses: 12 }, 'company_api:load': { hits: 30, misses: 10, stale: 2 } },
};

/** A closed-model run with errors, cache counters and waterfalls. */
export async function closedFixture(): Promise<SavedRun> {
  const result = await runClosedModel({
    users: 4,
    spawnRate: 40,
    iterations: 80,
    sampleIntervalMs: 30,
    scenarios: [syntheticTurn(20)],
  });
  return summarizeRun({
    kind: 'load',
    title: 'fixture: closed model',
    result,
    earshotVersion: '0.0.0-test',
    targets,
    cache,
    config: {
      model: 'closed',
      users: 4,
      spawnRate: 40,
      iterations: 80,
      target: { kind: 'function', description: 'synthetic turns' },
      scenarios: [{ name: 'ask', weight: 1 }],
    },
  });
}

/** An open-model run (arrivals, coordinated omission chart), no cache, no errors. */
export async function openFixture(): Promise<SavedRun> {
  const result = await runOpenModel({
    ratePerSec: 150,
    iterations: 60,
    sampleIntervalMs: 50,
    scenarios: [syntheticTurn(1_000_000)],
  });
  return summarizeRun({
    kind: 'load',
    title: 'fixture: open model',
    result,
    earshotVersion: '0.0.0-test',
    targets,
    config: {
      model: 'open',
      ratePerSec: 150,
      iterations: 60,
      maxInFlight: 1000,
      target: { kind: 'function', description: 'synthetic turns' },
      scenarios: [{ name: 'ask', weight: 1 }],
    },
  });
}
