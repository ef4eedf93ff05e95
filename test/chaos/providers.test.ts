/**
 * Chaos: providers misbehave. Each fake provider in turn (Deepgram, OpenAI, ElevenLabs,
 * Pinecone, the company API) answers 10 % of its requests with a 5xx, a 429, a malformed body
 * or frame, a stall (mid-stream for streams) or a dropped connection, during a load run of the
 * demo pipeline on the real adapters and SDKs. Fallbacks are healthy second fakes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QuestionKind } from '../../src/cli/demo-data.js';
import { EarshotError } from '../../src/errors.js';
import { runClosedModel } from '../../src/loadtest/index.js';
import type { TurnEvent, TurnTimeline } from '../../src/pipeline/index.js';
import type { FaultInjector, FaultKind } from '../../src/testing/index.js';
import {
  abortListeners,
  activeResources,
  CHAOS_FULL,
  LoopLag,
  ms1,
  percentile,
  RejectionWatch,
  reportFigures,
  resourceGrowth,
  settleResources,
} from './helpers.js';
import {
  PIPELINE_DEADLINES,
  type ServersPipeline,
  startServersPipeline,
  TURN_BUDGET_MS,
} from './servers-pipeline.js';

const TURNS_PER_PHASE = CHAOS_FULL ? 300 : 50;
const USERS = 6;

/** 10 % of requests fail: 2 % of each kind. `hangMs` bounds a stall on the server side. */
const TEN_PERCENT = {
  errorRate: 0.02,
  rateLimitRate: 0.02,
  malformedRate: 0.02,
  timeoutRate: 0.02,
  resetRate: 0.02,
  hangMs: 4000,
  retryAfterSeconds: 1,
} as const;
const INJECTED_KINDS: FaultKind[] = ['error', 'rateLimit', 'malformed', 'timeout', 'reset'];

interface Phase {
  provider: string;
  faults: (p: ServersPipeline) => FaultInjector[];
  /** Question kinds that reach this provider (weights). */
  scenarios: Partial<Record<QuestionKind, number>>;
  /**
   * The fake's routes that serve calls, when it also serves the prewarm requests the pipeline
   * sends at the start of each audio turn (OpenAI `GET /models`, Pinecone
   * `describe_index_stats`, the ElevenLabs WebSocket): a fault there only leaves a connection cold and is never a failed
   * call, so faults go to the call routes only and the count below stays exact.
   */
  routes?: [string, ...string[]];
}

const ALL_KINDS = { loads: 4, inventory: 2, equipment: 2, documents: 2, smalltalk: 1 };
const PHASES: Phase[] = [
  { provider: 'deepgram', faults: (p) => [p.fakes.deepgram.faults], scenarios: ALL_KINDS },
  {
    provider: 'openai',
    faults: (p) => [p.fakes.openai.faults],
    scenarios: ALL_KINDS,
    routes: ['chat', 'embeddings'],
  },
  {
    provider: 'elevenlabs',
    faults: (p) => [p.fakes.elevenlabs.faults],
    scenarios: ALL_KINDS,
    // The pipeline's prewarm also opens the multi-stream-input socket (the adapter's default
    // WebSocket route): a fault injected into that handshake is never a failed call.
    routes: ['stream', 'convert'],
  },
  {
    provider: 'pinecone',
    faults: (p) => [p.fakes.pinecone.faults],
    scenarios: { documents: 1 },
    routes: ['query'],
  },
  {
    provider: 'company_api',
    faults: (p) => [p.fakes.companyApi.faults],
    scenarios: { loads: 2, inventory: 1, equipment: 1 },
  },
];

interface TurnRecord {
  ms: number;
  outcome: 'ok' | 'error';
  audioBytes: number;
  error?: unknown;
  fallbacks: number;
  recovered: number;
  timeline: TurnTimeline | undefined;
  listenersLeft: number;
}

/** Runs one turn to its end: its events (the timeline comes last), audio, outcome. */
async function runTurn(p: ServersPipeline, question: string, streamed: boolean): Promise<TurnRecord> {
  const controller = new AbortController();
  const t0 = performance.now();
  const turn = p.pipeline.respond(p.input(question, streamed), { signal: controller.signal });
  const events: TurnEvent[] = [];
  let error: unknown;
  try {
    for await (const e of turn) events.push(e);
    await turn.done;
  } catch (err) {
    error = err;
  }
  const ms = performance.now() - t0;
  const metrics = events.find((e) => e.type === 'metrics');
  return {
    ms,
    outcome: error === undefined ? 'ok' : 'error',
    audioBytes: events.reduce((n, e) => n + (e.type === 'audio' ? e.chunk.data.byteLength : 0), 0),
    ...(error === undefined ? {} : { error }),
    fallbacks: events.filter((e) => e.type === 'fallback').length,
    recovered: events.filter((e) => e.type === 'error').length,
    timeline: metrics?.type === 'metrics' ? metrics.timeline : undefined,
    listenersLeft: abortListeners(controller.signal),
  };
}

/** The deadline a span of the timeline had to meet, or undefined for spans without one. */
function spanDeadline(span: TurnTimeline['spans'][number]): number | undefined {
  const d = PIPELINE_DEADLINES;
  if (span.name === 'stt') return d.stt;
  if (span.name === 'search') return d.search;
  if (span.name.startsWith('tool:')) return d.tool;
  if (span.name === 'llm') return span.firstOutputMs === undefined ? d.llmFirstToken : d.llm;
  if (span.name === 'tts') return span.firstOutputMs === undefined ? d.ttsFirstByte : d.tts;
  return undefined;
}

describe('providers misbehave under load', () => {
  let p: ServersPipeline;
  const watch = new RejectionWatch();
  const lag = new LoopLag();
  let before: Record<string, number>;

  beforeAll(async () => {
    before = activeResources();
    // Sentence TTS input: the fakes decide faults per request (per connection for a
    // WebSocket), and this test counts every injected fault against the failures the monitor
    // saw. With streamed input (the default) ElevenLabs is one pooled multi-stream-input socket
    // opened a handful of times, so its 2 % fault rates would hardly ever fire. Streamed input
    // under barge-in is covered by barge-in-storm.test.ts; under injected faults it is not yet
    // (the fake would have to decide faults per context).
    p = await startServersPipeline({ seed: 9, fallbacks: true, ttsConcurrency: 1, ttsInput: 'sentence' });
  });

  afterAll(async () => {
    await p?.close();
    watch.dispose();
    lag.dispose();
  });

  it(
    'ends every turn within its deadlines with audio or a typed error, counts every injected fault, and leaks nothing',
    async () => {
      const figures: Record<string, unknown> = {};
      const allSpanOverruns: string[] = [];
      for (const phase of PHASES) {
        const injectors = phase.faults(p);
        for (const f of injectors) {
          f.resetCounts();
          const routes = phase.routes;
          f.set(routes ? { ...TEN_PERCENT, routes } : TEN_PERCENT);
          // At least one of each kind, whatever the dice say.
          f.enqueue(...INJECTED_KINDS.map((kind) => (routes ? { kind, route: routes[0] } : kind)));
        }
        p.primary.clear();
        p.fallback.clear();
        lag.reset();
        const turns: TurnRecord[] = [];
        const run = await runClosedModel({
          users: USERS,
          iterations: TURNS_PER_PHASE,
          seed: 11,
          monitor: p.monitor,
          scenarios: Object.entries(phase.scenarios).map(([kind, weight]) => ({
            name: kind,
            weight,
            async run(ctx) {
              const question = p.question(kind as QuestionKind, ctx.random);
              const t = await runTurn(p, question, ctx.random() < 0.5);
              turns.push(t);
              if (t.error !== undefined) throw t.error;
            },
          })),
        });
        for (const f of injectors) f.set(undefined);

        const injected: Record<string, number> = {};
        for (const f of injectors)
          for (const [k, n] of Object.entries(f.injected)) injected[k] = (injected[k] ?? 0) + n;
        const injectedTotal = INJECTED_KINDS.reduce((n, k) => n + (injected[k] ?? 0), 0);
        const observed = p.primary.failures(phase.provider);
        const failed = turns.filter((t) => t.outcome === 'error');
        const untyped = failed.filter((t) => !(t.error instanceof EarshotError));
        const ok = turns.filter((t) => t.outcome === 'ok');
        const silent = ok.filter((t) => t.audioBytes === 0);
        const overBudget = turns.filter((t) => t.ms > TURN_BUDGET_MS);
        const leakedListeners = turns.filter((t) => t.listenersLeft > 0);
        // Every stage call, failed or not, ended within its deadline (plus the loop's lag: a
        // deadline is a timer, and a timer cannot fire while the loop is busy elsewhere).
        const allowance = 50 + lag.maxMs;
        for (const t of turns) {
          for (const s of t.timeline?.spans ?? []) {
            const d = spanDeadline(s);
            if (d !== undefined && s.endMs - s.startMs > d + allowance)
              allSpanOverruns.push(`${phase.provider}: ${s.name} ${ms1(s.endMs - s.startMs)} ms > ${d} ms`);
          }
        }
        const durations = turns.map((t) => t.ms);
        figures[phase.provider] = {
          runS: Math.round(run.durationMs / 100) / 10,
          turns: turns.length,
          ok: ok.length,
          failedTyped: failed.length - untyped.length,
          fallbacks: turns.reduce((n, t) => n + t.fallbacks, 0),
          recoveredErrors: turns.reduce((n, t) => n + t.recovered, 0),
          injected,
          monitorErrors: observed,
          monitorTimeouts: p.primary.count(phase.provider, 'timeout'),
          turnP50Ms: ms1(percentile(durations, 50)),
          turnP99Ms: ms1(percentile(durations, 99)),
          turnMaxMs: ms1(Math.max(...durations)),
          loopLagMaxMs: ms1(lag.maxMs),
          errorKinds: Object.fromEntries(run.errorKinds.map((k) => [k.kind, k.count])),
        };

        expect(turns.length, phase.provider).toBe(TURNS_PER_PHASE);
        expect(run.completed, phase.provider).toBe(TURNS_PER_PHASE);
        expect(run.errors, phase.provider).toBe(failed.length);
        expect(
          untyped.map((t) => String(t.error)),
          `${phase.provider}: untyped errors`,
        ).toEqual([]);
        expect(silent.length, `${phase.provider}: turns that succeeded without audio`).toBe(0);
        expect(
          overBudget.map((t) => t.ms),
          `${phase.provider}: turns over ${TURN_BUDGET_MS} ms`,
        ).toEqual([]);
        expect(leakedListeners.length, `${phase.provider}: abort listeners left on the caller's signal`).toBe(
          0,
        );
        for (const k of INJECTED_KINDS) expect(injected[k] ?? 0, `${phase.provider} ${k}`).toBeGreaterThan(0);
        const label = `${phase.provider}: failed calls in the monitor vs faults injected ${JSON.stringify(injected)}`;
        if (phase.provider === 'deepgram') {
          // A live session whose finalize() goes unanswered ends the utterance on the finals it
          // already has after a grace (issue 16.1, as Deepgram documents), so a stall or a drop
          // injected after the final transcript no longer fails the call. Every other fault must.
          const tolerated = (injected.timeout ?? 0) + (injected.reset ?? 0);
          expect(observed, label).toBeLessThanOrEqual(injectedTotal);
          expect(observed, label).toBeGreaterThanOrEqual(injectedTotal - tolerated);
        } else {
          expect(observed, label).toBe(injectedTotal);
        }
        // The fallbacks never saw a fault: whatever they recorded is a success.
        expect(p.fallback.samples.filter((s) => s.outcome === 'error' || s.outcome === 'timeout')).toEqual(
          [],
        );
      }
      expect(allSpanOverruns).toEqual([]);

      // Nothing left behind: close everything and compare with the handles before the run.
      await p.close();
      const growth = await settleResources(before, 3000);
      await watch.settle();
      figures.resourcesLeft = growth;
      figures.unhandledRejections = watch.reasons.length;
      reportFigures('providers misbehave', figures);
      expect(growth).toEqual({});
      expect(watch.reasons).toEqual([]);
      expect(resourceGrowth(before, activeResources())).toEqual({});
    },
    CHAOS_FULL ? 300_000 : 90_000,
  );
});
