/**
 * Latency profiles for the fake pipeline stages ({@link FakeSpeechToText},
 * {@link FakeLanguageModel}, {@link FakeTextToSpeech}), built on the generic
 * {@link LatencyProfile} of `latency.ts`.
 *
 * The source design reports only P90 figures per stage, before and after its optimizations:
 * STT 150 → 80 ms, LLM 400 → 250 ms, TTS 150 → 85 ms, company API 100 → 30 ms (cached). The
 * P50s below (about three quarters of the P90) and the split of the LLM figure into time to
 * first token plus a token rate are earshot's assumptions, chosen so that a 40-token answer
 * takes about the source figure at P90. Say so when you quote results made with them.
 * @module
 */
import type { LatencyProfile } from './latency.js';

/** Latency of every fake stage. */
export interface StageLatencyProfile {
  /** Speech-to-text: end of the audio (or `finalize()`) → final transcript. */
  stt: LatencyProfile;
  llm: {
    /** Request → first token (or tool call). */
    ttft: LatencyProfile;
    /** Output rate after the first token. `Infinity` streams the rest at once. */
    tokensPerSecond: number;
  };
  tts: {
    /** Request → first audio byte. */
    ttfb: LatencyProfile;
    /** Audio delivery rate after the first byte. `Infinity` delivers the rest at once. */
    bytesPerSecond: number;
  };
  /** A company-API tool call (for fake tools in benches and examples). */
  tool: LatencyProfile;
  /** A document search. */
  search: LatencyProfile;
}

const dist = (p50Ms: number, p90Ms: number): LatencyProfile => ({ kind: 'distribution', p50Ms, p90Ms });

/**
 * Named stage profiles.
 *
 * - `instant`: no latency at all (for overhead measurements and fast tests).
 * - `sourceDesignBefore` / `sourceDesignAfter`: the source design's P90 figures before and after
 *   its optimizations (see the module notes for what is assumed).
 *
 * @example
 * ```ts
 * const p = stageLatencyProfiles.sourceDesignAfter;
 * const llm = new FakeLanguageModel({ latency: p.llm, seed: 1 });
 * ```
 */
export const stageLatencyProfiles = {
  instant: {
    stt: { kind: 'none' },
    llm: { ttft: { kind: 'none' }, tokensPerSecond: Number.POSITIVE_INFINITY },
    tts: { ttfb: { kind: 'none' }, bytesPerSecond: Number.POSITIVE_INFINITY },
    tool: { kind: 'none' },
    search: { kind: 'none' },
  },
  /** STT P90 150 ms; LLM P90 ≈ 400 ms for 40 tokens (TTFT P90 200 + 200 tok/s); TTS first byte P90 150 ms. */
  sourceDesignBefore: {
    stt: dist(110, 150),
    llm: { ttft: dist(150, 200), tokensPerSecond: 200 },
    tts: { ttfb: dist(110, 150), bytesPerSecond: 160_000 },
    tool: dist(60, 100),
    search: dist(70, 100),
  },
  /** STT P90 80 ms; LLM P90 ≈ 250 ms for 40 tokens (TTFT P90 130 + 333 tok/s); TTS first byte P90 85 ms. */
  sourceDesignAfter: {
    stt: dist(60, 80),
    llm: { ttft: dist(100, 130), tokensPerSecond: 333 },
    tts: { ttfb: dist(65, 85), bytesPerSecond: 160_000 },
    tool: dist(20, 30),
    search: dist(50, 70),
  },
} as const satisfies Record<string, StageLatencyProfile>;

/** Name of a built-in stage profile. */
export type StageLatencyProfileName = keyof typeof stageLatencyProfiles;
