/**
 * What a turn emits and what it resolves to: typed events, the timeline (waterfall and
 * critical path) and the result. All times are milliseconds relative to the end of the user's
 * speech, the moment the latency clock of a voice turn starts.
 * @module
 */
import type { EarshotError } from '../errors.js';
import type { AudioChunk, ChatMessage, TokenUsage, ToolCall, Transcript } from './contracts.js';

/** A stage whose provider can be swapped for a fallback. */
export type FallbackStage = 'stt' | 'llm' | 'tts';

/** Events of a {@link Turn}, in the order they happen. */
export type TurnEvent =
  /** The user's final transcript (the input text for a text turn). */
  | { type: 'transcript'; transcript: Transcript }
  /** A piece of the model's reply text. `round` counts model calls in the tool loop, from 0. */
  | { type: 'llm-delta'; text: string; round: number }
  /** The model asked for a tool. */
  | { type: 'tool-call'; call: ToolCall; round: number }
  /** A tool finished; `content` is what the model sees. `isError` when it failed. */
  | {
      type: 'tool-result';
      callId: string;
      name: string;
      content: string;
      result?: unknown;
      isError: boolean;
      round: number;
    }
  /** A chunk of the reply was handed to text-to-speech. */
  | { type: 'sentence'; index: number; text: string }
  /** Audio to play, in sentence order. */
  | { type: 'audio'; sentenceIndex: number; chunk: AudioChunk }
  /** A stage failed and its fallback took over for the rest of the turn. */
  | { type: 'fallback'; stage: FallbackStage; from: string; to: string; error: EarshotError }
  /** A failure the turn recovered from (a tool error answered with an apology, a cache outage). */
  | { type: 'error'; stage: string; error: EarshotError; recovered: true }
  /** The turn was interrupted (barge-in); no audio follows. */
  | { type: 'interrupted'; atMs: number }
  /** Last event of a finished or interrupted turn: the timeline. */
  | { type: 'metrics'; timeline: TurnTimeline };

/** The `type` of a {@link TurnEvent}. */
export type TurnEventType = TurnEvent['type'];

/** How a stage call ended. */
export type SpanOutcome = 'ok' | 'error' | 'timeout' | 'interrupted';

/** One bar of the waterfall: a stage call. */
export interface TimelineSpan {
  /** Unique within the turn. */
  id: number;
  /** Operation: `stt`, `llm`, `tool:<name>`, `search`, `tts`, `cache:llm`, `cache:tts`. */
  name: string;
  startMs: number;
  endMs: number;
  /** First output: first token of `llm`, first audio byte of `tts`. */
  firstOutputMs?: number;
  provider?: string;
  cached: boolean;
  outcome: SpanOutcome;
  /** Model call number in the tool loop (`llm`, `tool:*`). */
  round?: number;
  /** Chunk number (`tts`). */
  sentenceIndex?: number;
  /**
   * What this span waited on before it could start: the span that released it, the moment it
   * did, and why (`sentence 0 complete`, `tool call get_load_status`, `free TTS slot`...).
   */
  waitedOn?: { spanId: number; atMs: number; reason?: string };
  /** Safe error message when the outcome is not `ok`. */
  error?: string;
}

/** One step of the critical path to the first audio. Steps tile `[0, timeToFirstAudioMs]`. */
export interface CriticalPathStep {
  /**
   * `stt`, `search`, `cache:llm`, `llm_ttft` (request → first token), `llm` (first token →
   * the output the next step needed), `tool:<name>`, `tts_queue` (waiting for a TTS slot),
   * `tts_ttfb`, `cache:tts`, or `overhead` (time in earshot or the host between stages).
   */
  name: string;
  startMs: number;
  endMs: number;
  durationMs: number;
  /** The span this step belongs to. */
  spanId?: number;
  /** Plain-language explanation, e.g. `until sentence 0 was complete`. */
  detail?: string;
}

/** A sample the turn recorded into the monitor. */
export interface TurnMeasurement {
  name: string;
  durationMs: number;
  labels: Record<string, string | number | boolean>;
}

/** A per-turn latency target check (see the `targets` option). */
export interface TurnTargetCheck {
  operation: string;
  targetMs: number;
  /** The slowest sample of the operation in this turn; `undefined` when it did not run. */
  actualMs: number | undefined;
  pass: boolean;
}

/** A stage that switched to its fallback. */
export interface FallbackRecord {
  stage: FallbackStage;
  from: string;
  to: string;
  atMs: number;
  reason: string;
}

/** Everything a report needs to draw one turn and explain its latency. */
export interface TurnTimeline {
  turnId: string;
  /** `performance.now()` of the end of speech (the origin of every other time). */
  speechEndedAt: number;
  /** The waterfall, in start order. */
  spans: TimelineSpan[];
  marks: {
    transcriptMs?: number;
    firstTokenMs?: number;
    firstSentenceMs?: number;
    firstAudioMs?: number;
    /** First audio of the final answer (after the last tool round; never an acknowledgement). */
    firstAnswerAudioMs?: number;
    lastAudioMs?: number;
    interruptedMs?: number;
    doneMs: number;
  };
  /** End of speech → first audio byte out; `undefined` when no audio came out. */
  timeToFirstAudioMs: number | undefined;
  /**
   * End of speech → first audio of the final answer (an acknowledgement or the words before a
   * tool call do not count); `undefined` when none came out.
   */
  timeToAnswerAudioMs?: number;
  /** End of speech → last audio byte out. */
  e2eMs: number | undefined;
  /** The reply came from the LLM answer cache. */
  cached: boolean;
  interrupted: boolean;
  fallbacks: FallbackRecord[];
  /** What the first audio waited on, step by step (empty without audio). */
  criticalPath: CriticalPathStep[];
  measurements: TurnMeasurement[];
  targets: TurnTargetCheck[];
}

/** What a turn resolves to. */
export interface TurnResult {
  turnId: string;
  /** The user's final transcript. */
  transcript: string;
  /** Everything the model answered (text of every round). */
  reply: string;
  /**
   * The chunks whose audio started before the turn ended (all of them unless interrupted): after
   * a barge-in, those with an `audio` event handed to you before it (with streamed TTS input, as
   * far as the stream's audio got; see "Barge-in" in docs/pipeline.md).
   */
  spokenText: string;
  interrupted: boolean;
  cached: boolean;
  usage: TokenUsage | undefined;
  /**
   * Messages to append to the conversation history for the next turn: the user message, the
   * assistant's tool calls and the tool results, and the assistant's reply. When interrupted,
   * the reply holds only the chunks whose audio started (a prefix of the answer) and is marked
   * `interrupted: true`; there is none when no audio of the answer was handed out.
   */
  messages: ChatMessage[];
  timeline: TurnTimeline;
  /** Preemptive generation in this turn (streamed audio only; absent when none started). */
  preemptive?: PreemptiveSummary;
}

/**
 * What preemptive generation did in one turn: `hit` when the answer started before the end of
 * turn was kept, `miss` when every early start was dropped (the transcript changed), and what
 * the dropped work cost.
 */
export interface PreemptiveSummary {
  outcome: 'hit' | 'miss';
  /** Answers started before the end of turn was confirmed. */
  attempts: number;
  /** Model calls of dropped answers. */
  wastedLlmCalls: number;
  /** Output tokens of dropped answers (streamed pieces when the call was cut before its usage report). */
  wastedTokens: number;
}
