/**
 * Chaos: a barge-in storm. Under load, most turns of the demo pipeline (real adapters and SDKs
 * against the fake servers; half the turns stream their audio to Deepgram's live WebSocket) are
 * cancelled at a random moment: during speech-to-text, the model, a tool, or while audio plays.
 * Nothing may leak, nothing may be heard after the cancel, and interrupted turns must stay out
 * of the latency series.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUESTION_KINDS } from '../../src/cli/demo-data.js';
import { runClosedModel } from '../../src/loadtest/index.js';
import type { TurnEvent } from '../../src/pipeline/index.js';
import {
  abortListeners,
  activeResources,
  CHAOS_FULL,
  ms1,
  RejectionWatch,
  reportFigures,
  settleResources,
} from './helpers.js';
import { type ServersPipeline, startServersPipeline } from './servers-pipeline.js';

const TURNS = CHAOS_FULL ? 500 : 120;
/** How long after the last turn audio of closed TTS contexts may still arrive (see below). */
const TAIL_MS = 3000;
const USERS = 8;
/** Share of turns the user talks over. */
const CANCEL_SHARE = 0.6;
/**
 * When the cancel lands, ms after the turn starts: equally often while the user's audio is
 * still streaming or being transcribed, while the model and its tools run, and while audio
 * is being synthesized and played.
 */
const CANCEL_WINDOWS: readonly [number, number][] = [
  [0, 60],
  [60, 350],
  [350, 1500],
];

interface StormTurn {
  /** A cancel was scheduled; it fires only if the turn is still running then. */
  cancelDrawn: boolean;
  cancelled: boolean;
  /** The pipeline said it was interrupted (a cancel after the end is a no-op). */
  interrupted: boolean;
  hadAudio: boolean;
  audioAfterCancel: number;
  eventsAfterInterrupted: string[];
  listenersLeft: number;
  /** Stages the cancel cut short (spans that ended `interrupted`). */
  cut: string[];
  error?: unknown;
}

function countBy(xs: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

describe('barge-in storm', () => {
  let p: ServersPipeline;
  const watch = new RejectionWatch();
  let beforeAll_: Record<string, number>;

  beforeAll(async () => {
    beforeAll_ = activeResources();
    p = await startServersPipeline({ seed: 21 });
    // Audio at 4× real time: a sentence streams for a second or so, so cancels land mid-stream,
    // and a stream nobody cancelled would still be running when the storm is over.
    p.fakes.elevenlabs.audioRate = 4;
  });

  afterAll(async () => {
    await p?.close();
    watch.dispose();
  });

  it(
    'cancels turns at random points without leaking sockets, timers or listeners, and keeps them out of the latency series',
    async () => {
      // The fakes are listening now; every connection a turn opens must be gone after the storm.
      const baseline = activeResources();
      const turns: StormTurn[] = [];
      const run = await runClosedModel({
        users: USERS,
        iterations: TURNS,
        seed: 5,
        monitor: p.monitor,
        scenarios: QUESTION_KINDS.map((kind) => ({
          name: kind,
          async run(ctx) {
            const question = p.question(kind, ctx.random);
            const streamed = ctx.random() < 0.5;
            const window = CANCEL_WINDOWS[Math.floor(ctx.random() * CANCEL_WINDOWS.length)] as [
              number,
              number,
            ];
            const cancelAt =
              ctx.random() < CANCEL_SHARE ? window[0] + ctx.random() * (window[1] - window[0]) : undefined;
            const viaSignal = ctx.random() < 0.5;
            const controller = new AbortController();
            const turn = p.pipeline.respond(p.input(question, streamed), { signal: controller.signal });
            let cancelled = false;
            const timer =
              cancelAt === undefined
                ? undefined
                : setTimeout(() => {
                    cancelled = true;
                    if (viaSignal) controller.abort(new Error('the user started talking'));
                    else turn.abort('the user started talking');
                  }, cancelAt);
            const record: StormTurn = {
              cancelDrawn: cancelAt !== undefined,
              cancelled: false,
              interrupted: false,
              hadAudio: false,
              audioAfterCancel: 0,
              eventsAfterInterrupted: [],
              listenersLeft: 0,
              cut: [],
            };
            let sawInterrupted = false;
            try {
              for await (const e of turn as AsyncIterable<TurnEvent>) {
                if (e.type === 'audio') {
                  record.hadAudio = true;
                  if (cancelled) record.audioAfterCancel++;
                }
                if (sawInterrupted) record.eventsAfterInterrupted.push(e.type);
                if (e.type === 'interrupted') sawInterrupted = true;
              }
              const result = await turn.done;
              record.interrupted = result.interrupted;
              record.cut = result.timeline.spans
                .filter((s) => s.outcome === 'interrupted')
                .map((s) => (s.name.startsWith('tool:') ? 'tool' : s.name));
            } catch (err) {
              record.error = err;
            } finally {
              clearTimeout(timer);
              record.cancelled = cancelled;
              record.listenersLeft = abortListeners(controller.signal);
              turns.push(record);
            }
            if (record.error !== undefined) throw record.error;
            return { interrupted: record.interrupted };
          },
        })),
      });

      // Every turn has ended. With streamed TTS input (the default), ElevenLabs finishes a
      // generation it had already started when the adapter closed the context on barge-in (its
      // protocol: `close_context` drops the unsent text, not the audio being generated); the
      // adapter drops that audio, nothing is emitted (`audioAfterCancel` below). So audio bytes
      // may still cross the wire after the end, but only for abandoned contexts, and only for a
      // bounded time: a stream still sending for an open context is one nobody cancelled.
      const stats = p.fakes.elevenlabs.stats;
      const audioBytesAtEnd = stats.audioBytes;
      const abandonedBytesAtEnd = stats.audioBytesAfterAbandon;
      await new Promise((r) => setTimeout(r, 500));
      const audioBytesAfterEnd = stats.audioBytes - audioBytesAtEnd;
      const abandonedBytesAfterEnd = stats.audioBytesAfterAbandon - abandonedBytesAtEnd;
      // The tail drains: no audio at all within TAIL_MS more (one generation at 4× real time).
      let quietAfterMs = 500;
      for (let last = stats.audioBytes; quietAfterMs < TAIL_MS; quietAfterMs += 250) {
        await new Promise((r) => setTimeout(r, 250));
        if (stats.audioBytes === last) break;
        last = stats.audioBytes;
      }

      const interrupted = turns.filter((t) => t.interrupted);
      const completed = turns.filter((t) => !t.interrupted && t.error === undefined);
      const completedWithAudio = completed.filter((t) => t.hadAudio);
      const ttfa = p.monitor.stats('time_to_first_audio');
      const e2e = p.monitor.stats('e2e');
      const turnInterrupted = p.monitor.stats('turn', { labels: { outcome: 'interrupted' } });
      const turnOk = p.monitor.stats('turn', { labels: { outcome: 'ok' } });
      const scenario = p.monitor.stats('scenario');

      // Connections of cancelled requests must close: wait out the HTTP keep-alive of the idle
      // ones (undici 4 s, node:http 5 s) with the fakes still running. What is left then is a
      // request nobody cancelled.
      // The pipeline keeps warm connections on purpose (issue 14: the ElevenLabs multi-stream
      // WebSocket, the Deepgram warm socket); pipeline.close() releases them, and must.
      const pooledBeforeClose = p.fakes.elevenlabs.stats.open + p.fakes.deepgram.live.open;
      await p.pipeline.close();
      const liveOpenAfter = { deepgram: 0, elevenlabs: 0 };
      const growth = await settleResources(baseline, 8000);
      liveOpenAfter.deepgram = p.fakes.deepgram.live.open;
      liveOpenAfter.elevenlabs = p.fakes.elevenlabs.stats.open;
      await p.close();
      const growthAfterClose = await settleResources(beforeAll_, 3000);
      await watch.settle();

      reportFigures('barge-in storm', {
        turns: turns.length,
        cancelsDrawn: turns.filter((t) => t.cancelDrawn).length,
        cancelled: turns.filter((t) => t.cancelled).length,
        interrupted: interrupted.length,
        completed: completed.length,
        stagesCut: countBy(turns.flatMap((t) => t.cut)),
        failed: turns.filter((t) => t.error !== undefined).length,
        streamedToLiveStt: p.fakes.deepgram.live.sessions,
        timeToFirstAudioCount: ttfa?.count,
        e2eCount: e2e?.count,
        turnInterruptedCount: turnInterrupted?.count,
        timeToFirstAudioP50Ms: ms1(ttfa?.p50),
        timeToFirstAudioP99Ms: ms1(ttfa?.p99),
        audioAfterCancel: turns.reduce((n, t) => n + t.audioAfterCancel, 0),
        providerCallsAborted: p.primary.samples.filter(
          (x) => x.outcome === 'aborted' && !/_(ttfb|ttft|tpot)$/.test(x.name),
        ).length,
        ttsAudioBytesSentAfterTheEnd: audioBytesAfterEnd,
        ttsAudioBytesOfAbandonedContexts: stats.audioBytesAfterAbandon,
        ttsAudioBytesTotal: stats.audioBytes,
        ttsWireQuietAfterMs: quietAfterMs,
        listenersLeft: turns.reduce((n, t) => n + t.listenersLeft, 0),
        socketsOrTimersLeftWithFakesRunning: growth,
        liveSessionsOpenAfter: liveOpenAfter,
        pooledConnectionsBeforeClose: pooledBeforeClose,
        resourcesLeftAfterClose: growthAfterClose,
        unhandledRejections: watch.reasons.length,
      });

      expect(turns.length).toBe(TURNS);
      expect(turns.filter((t) => t.error !== undefined).map((t) => String(t.error))).toEqual([]);
      // A storm worth the name: most cancels land while the turn still runs.
      expect(interrupted.length).toBeGreaterThan(TURNS * CANCEL_SHARE * 0.5);
      expect(interrupted.every((t) => t.cancelled)).toBe(true);
      // The cancels hit every stage: speech-to-text, the model, and audio being synthesized.
      const cut = countBy(turns.flatMap((t) => t.cut));
      for (const stage of ['stt', 'llm', 'tts']) expect(cut[stage] ?? 0, stage).toBeGreaterThan(0);
      expect(turns.reduce((n, t) => n + t.audioAfterCancel, 0)).toBe(0);
      expect(turns.flatMap((t) => t.eventsAfterInterrupted).filter((type) => type !== 'metrics')).toEqual([]);
      expect(turns.filter((t) => t.listenersLeft > 0).length).toBe(0);
      // Interrupted turns stay out of the latency series.
      expect(ttfa?.count).toBe(completedWithAudio.length);
      expect(e2e?.count).toBe(completedWithAudio.length);
      expect(turnOk?.count).toBe(completed.length);
      expect(turnInterrupted?.count).toBe(interrupted.length);
      expect(run.interrupted).toBe(interrupted.length);
      expect(scenario?.count).toBe(completed.length);
      // Nothing left open.
      expect(audioBytesAfterEnd).toBe(abandonedBytesAfterEnd);
      expect(quietAfterMs).toBeLessThan(TAIL_MS);
      expect(growth).toEqual({});
      expect(liveOpenAfter).toEqual({ deepgram: 0, elevenlabs: 0 });
      expect(growthAfterClose).toEqual({});
      expect(watch.reasons).toEqual([]);
    },
    CHAOS_FULL ? 240_000 : 90_000,
  );
});
