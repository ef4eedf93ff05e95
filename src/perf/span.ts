import type { Labels } from './labels.js';

/** What ends a span: an outcome label and/or labels learned during the operation. */
export interface SpanEndOptions {
  /** Outcome label; default `ok` (or `error` after {@link Span.fail}). */
  outcome?: string;
  /** Labels merged over the span's start labels (e.g. `{ cached: true }`). */
  labels?: Labels;
}

/** @internal what a span calls when it ends. */
type SpanSink = (name: string, durationMs: number, labels: Labels | undefined, outcome: string) => void;

/**
 * A running measurement, from `monitor.start(name)`. End it with {@link Span.end} or let a
 * `using` declaration end it at the end of the block. Ending twice records once.
 *
 * A `using` block cannot see an exception: call {@link Span.fail} in your `catch` to record
 * the outcome as `error` (or use `monitor.track`, which does it for you).
 *
 * @example
 * ```ts
 * {
 *   using span = monitor.start(OP.stt, { provider: 'deepgram' });
 *   const text = await transcribe(audio);
 * } // recorded here, outcome ok
 * ```
 */
export class Span implements Disposable, AsyncDisposable {
  private durationMs: number | undefined;
  private extraLabels: Record<string, string | number | boolean> | undefined;

  /** @internal */
  constructor(
    readonly name: string,
    private readonly labels: Labels | undefined,
    /** Start time on the monitor's clock (ms). */
    readonly startedAt: number,
    private readonly now: () => number,
    private readonly sink: SpanSink,
  ) {}

  /** Milliseconds since the span started (or its final duration once ended). */
  get elapsedMs(): number {
    return this.durationMs ?? this.now() - this.startedAt;
  }

  /** True once the span has been recorded. */
  get ended(): boolean {
    return this.durationMs !== undefined;
  }

  /** Adds labels that will be recorded when the span ends. */
  setLabels(labels: Labels): this {
    this.extraLabels = { ...this.extraLabels, ...labels };
    return this;
  }

  /** Ends the span and records it; returns the duration in ms. Later calls return the same. */
  end(options: SpanEndOptions = {}): number {
    if (this.durationMs !== undefined) return this.durationMs;
    const durationMs = this.now() - this.startedAt;
    this.durationMs = durationMs;
    const merged =
      options.labels || this.extraLabels
        ? { ...this.labels, ...this.extraLabels, ...options.labels }
        : this.labels;
    this.sink(this.name, durationMs, merged, options.outcome ?? 'ok');
    return durationMs;
  }

  /** Ends the span with outcome `error`; returns the duration in ms. */
  fail(_error?: unknown, options: Omit<SpanEndOptions, 'outcome'> = {}): number {
    return this.end({ ...options, outcome: 'error' });
  }

  [Symbol.dispose](): void {
    this.end();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.end();
    return Promise.resolve();
  }
}
