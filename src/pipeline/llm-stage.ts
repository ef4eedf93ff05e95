/**
 * The language-model stage: the tool loop (model call → tools in parallel → model call …,
 * at most `maxToolRounds` rounds with tools), each model call through {@link runStage}, tool
 * calls with their deadline and the tool context's capabilities, and the apology spoken when
 * a tool fails.
 * @module
 */
import { PipelineError, TimeoutError, ToolError } from '../errors.js';
import { raceAbort } from '../internal/abort.js';
import { OP, toolOperation } from '../perf/operations.js';
import type {
  ChatMessage,
  GenerateOptions,
  LanguageModel,
  Tool,
  ToolCall,
  ToolContext,
  ToolDefinition,
  ToolPrefetch,
} from './contracts.js';
import type { TurnEvent } from './events.js';
import { runStage } from './run-stage.js';
import { abortReason, noop, Scope } from './scope.js';
import { runSearch } from './search-stage.js';
import type { WaitedOn } from './speech-queue.js';
import { consume } from './streams.js';
import type { LiveSpan } from './timeline.js';
import { canonicalArguments, executeToolCall, type ToolCallOutcome, toolResultOutcome } from './tools.js';
import { messageOf, PREFETCH_UNUSED, type TurnState } from './turn-state.js';

/** A tool call's outcome and its span. */
type ToolRun = ToolCallOutcome & { span: LiveSpan };

/** What one model call produced. */
interface RoundResult {
  text: string;
  calls: ToolCall[];
  /** The tool calls, started as soon as the model asked for them. */
  tools: Promise<ToolRun>[];
}

/**
 * Runs the model and its tools until the model answers in text (or a tool failure ends the
 * turn's answer with the apology). `contextMessage` is the search context, if any.
 */
export async function answer(
  state: TurnState,
  contextMessage: ChatMessage | undefined,
  firstWait: WaitedOn | undefined,
): Promise<void> {
  const options = state.options;
  const speech = state.speech;
  const messages: ChatMessage[] = [];
  if (options.systemPrompt.length > 0) messages.push({ role: 'system', content: options.systemPrompt });
  if (contextMessage) messages.push(contextMessage);
  messages.push(...state.history, { role: 'user', content: state.transcript });
  let waitedOn = firstWait;
  const toolDefs = state.pipeline.toolDefs;
  startPrefetches(state);
  if (options.prefetch === 'context' && state.prefetches.size > 0) {
    const span = state.timeline.start(OP.prefetch, waitedOn ? { waitedOn } : {});
    await addPrefetchedContext(state, messages);
    state.timeline.end(span);
    waitedOn = { spanId: span.id, at: span.end as number, reason: 'prefetched tool data' };
  }
  let acknowledged = false;
  for (let round = 0; ; round++) {
    const offerTools = toolDefs.length > 0 && round < options.maxToolRounds;
    const result = await modelRound(state, messages, round, offerTools ? toolDefs : undefined, waitedOn);
    if (result.calls.length === 0) {
      if (result.text.length > 0) state.newMessages.push({ role: 'assistant', content: result.text });
      return;
    }
    // What the model said before its tool calls ("Let me check") is spoken now, not after the tools.
    speech.flush();
    if (!acknowledged && result.text.trim().length === 0 && offerTools) {
      acknowledged = true;
      const phrase = acknowledgementFor(state, result.calls);
      if (phrase) {
        const span = speech.textSpan;
        speech.addSentence(
          phrase,
          span ? { spanId: span.id, at: performance.now(), reason: 'acknowledgement' } : undefined,
          true,
        );
      }
    }
    if (!offerTools) {
      state.recovered(
        'llm',
        new PipelineError(
          `The model asked for tools after ${options.maxToolRounds} tool rounds; its calls were ignored. ` +
            'Raise maxToolRounds if the model needs more.',
        ),
      );
      if (result.text.length > 0) state.newMessages.push({ role: 'assistant', content: result.text });
      return;
    }
    const outcomes = await raceAbort(Promise.all(result.tools), state.signal, abortReason);
    speech.answerSentenceStart = speech.sentences.length;
    const assistant: ChatMessage = { role: 'assistant', content: result.text, toolCalls: result.calls };
    messages.push(assistant);
    state.newMessages.push(assistant);
    let lastEnd: LiveSpan | undefined;
    let failed: ToolCallOutcome | undefined;
    for (let i = 0; i < result.calls.length; i++) {
      const call = result.calls[i] as ToolCall;
      const outcome = outcomes[i] as ToolRun;
      const toolMessage: ChatMessage = {
        role: 'tool',
        toolCallId: call.id,
        name: call.name,
        content: outcome.content,
      };
      messages.push(toolMessage);
      state.newMessages.push(toolMessage);
      const event: Extract<TurnEvent, { type: 'tool-result' }> = {
        type: 'tool-result',
        callId: call.id,
        name: call.name,
        content: outcome.content,
        isError: outcome.error !== undefined,
        round,
      };
      if (outcome.result !== undefined) event.result = outcome.result;
      state.emit(event);
      state.answer.push(event);
      if (!lastEnd || (outcome.span.end ?? 0) > (lastEnd.end ?? 0)) lastEnd = outcome.span;
      if (outcome.error?.kind === 'execution' && !failed) failed = outcome;
    }
    if (failed?.error) {
      const error = failed.error.error;
      if (options.onToolError === 'throw') throw error;
      state.recovered(`tool:${error instanceof ToolError ? error.tool : 'unknown'}`, error);
      if (options.onToolError === 'apologize') {
        speakApology(state, lastEnd);
        return;
      }
    }
    waitedOn = lastEnd
      ? {
          spanId: lastEnd.id,
          at: lastEnd.end ?? performance.now(),
          reason: `tool ${lastEnd.name.slice(5)} result`,
        }
      : undefined;
  }
}

function speakApology(state: TurnState, after: LiveSpan | undefined): void {
  const text = state.options.apology;
  state.reply += (state.reply.length > 0 ? ' ' : '') + text;
  state.newMessages.push({ role: 'assistant', content: text });
  state.speech.addSentence(
    text,
    after ? { spanId: after.id, at: after.end ?? performance.now(), reason: 'tool failed' } : undefined,
  );
}

/** One model call: streams text into the chunker and starts tool calls as they arrive. */
function modelRound(
  state: TurnState,
  messages: readonly ChatMessage[],
  round: number,
  tools: readonly ToolDefinition[] | undefined,
  waitedOn: WaitedOn | undefined,
): Promise<RoundResult> {
  const options = state.options;
  const deadlines = options.deadlines;
  const timeline = state.timeline;
  let recordMark = 0;
  return runStage<LanguageModel, RoundResult>(state, {
    operation: OP.llm,
    stage: state.llm,
    waitedOn,
    spanFields: { round },
    firstOutputDeadline: {
      ms: deadlines.llmFirstToken,
      option: 'llmFirstToken',
      what: 'The language model (first token)',
    },
    deadline: { ms: deadlines.llm, option: 'llm', what: 'The language model' },
    fallback: {
      stage: 'llm',
      to: options.fallbacks.llm,
      // A fallback may only retry a call that said nothing yet: spoken text cannot be taken back.
      canTake: (attempt) => attempt.span?.firstOutput === undefined,
      prepare: () => state.answer.rollback(recordMark),
      onSwitch: (next) => {
        state.llm = next;
      },
    },
    call: async (attempt) => {
      const span = attempt.begin();
      const provider = attempt.provider;
      state.speech.textSpan = span;
      recordMark = state.answer.mark();
      const generateOptions: GenerateOptions = { signal: attempt.signal };
      if (tools) generateOptions.tools = tools;
      if (options.maxTokens !== undefined) generateOptions.maxTokens = options.maxTokens;
      if (options.temperature !== undefined) generateOptions.temperature = options.temperature;
      let text = '';
      const calls: ToolCall[] = [];
      const running: Promise<ToolRun>[] = [];
      state.llmCalls++;
      let pieces = 0;
      let reportedTokens: number | undefined;
      try {
        await consume(attempt.stage.stream(messages.slice(), generateOptions), attempt.signal, (event) => {
          if (span.firstOutput === undefined && (event.type === 'text-delta' || event.type === 'tool-call')) {
            const at = attempt.markFirstOutput();
            state.mark('firstToken', at);
            timeline.record(OP.llmTtft, at - span.start, { provider, cached: false });
          }
          switch (event.type) {
            case 'text-delta':
              if (event.text.length === 0) return;
              pieces++;
              text += event.text;
              state.answer.push({ type: 'llm-delta', text: event.text, round });
              state.speech.onDelta(event.text, round, span);
              return;
            case 'tool-call': {
              calls.push(event.call);
              state.emit({ type: 'tool-call', call: event.call, round });
              state.answer.push({ type: 'tool-call', call: event.call, round });
              if (tools) {
                const run = runTool(state, event.call, round, span);
                run.catch(noop);
                running.push(run);
              }
              return;
            }
            case 'usage': {
              const input = (state.usage?.inputTokens ?? 0) + event.usage.inputTokens;
              const output = (state.usage?.outputTokens ?? 0) + event.usage.outputTokens;
              state.usage = { inputTokens: input, outputTokens: output, totalTokens: input + output };
              reportedTokens = event.usage.outputTokens;
              return;
            }
            case 'finish':
              state.lastFinish = event.reason;
              return;
          }
        });
      } finally {
        state.outputTokens += reportedTokens ?? pieces;
      }
      return { text, calls, tools: running };
    },
  });
}

/** The phrase to speak while `calls` run: the first called tool's own, else the pipeline's. */
function acknowledgementFor(state: TurnState, calls: readonly ToolCall[]): string | undefined {
  for (const call of calls) {
    const own = state.pipeline.toolsByName.get(call.name)?.acknowledgement;
    if (own === false) return undefined;
    if (typeof own === 'string' && own.trim().length > 0) return own;
  }
  return state.options.acknowledgement;
}

/**
 * Starts the prefetch of every read-only tool that offers one, in parallel, bounded by
 * `deadlines.tool`. A prefetch never rejects: an error is recorded and yields no data; an
 * abort (the turn's end, its deadline, barge-in) settles it at once even when the tool
 * ignores its signal.
 *
 * The prefetches of a turn share one scope (one abort controller, one parent link, one
 * deadline timer, one abort listener), disposed when the last one settles: they start
 * together with the same deadline, so one scope aborts exactly what per-tool scopes would.
 * Most questions name nothing to prefetch, and a scope, a listener and a promise race per
 * tool were a quarter of an everything-on turn's allocations (docs/performance.md).
 */
function startPrefetches(state: TurnState): void {
  if (state.options.prefetch === 'off' || state.prefetches.size > 0) return;
  let scope: Scope | undefined;
  let ctxBase: Omit<ToolContext, 'callId'> | undefined;
  /** The prefetches still running, by tool name, with what settles each one on abort. */
  const running = new Map<string, () => void>();
  for (const tool of state.pipeline.tools) {
    const prefetch = tool.prefetch;
    if (!tool.readOnly || tool.sideEffects || typeof prefetch !== 'function') continue;
    const started = performance.now();
    if (!scope) {
      const deadlineMs = state.options.deadlines.tool;
      // its own scope, always: a finished turn stops a prefetch nobody used (stopUnusedPrefetches)
      const own = new Scope(state.scope.signal);
      scope = own;
      state.prefetchScopes.add(own);
      own.deadline(
        deadlineMs,
        () =>
          new TimeoutError(
            `Prefetch of tool ${[...running.keys()].map((n) => `"${n}"`).join(', ')} did not finish within ${deadlineMs} ms.`,
            deadlineMs as number,
          ),
      );
      own.signal.addEventListener('abort', () => {
        for (const settle of [...running.values()]) settle();
      });
      ctxBase = toolContext(state, '', own.signal);
    }
    const shared = scope;
    const name = tool.name;
    const ctx: ToolContext = { ...(ctxBase as Omit<ToolContext, 'callId'>), callId: `prefetch_${name}` };
    const run = new Promise<readonly ToolPrefetch[]>((resolve) => {
      const settle = (list: readonly ToolPrefetch[]): void => {
        if (!running.delete(name)) return;
        resolve(list);
        if (running.size > 0) return;
        shared.dispose();
        state.prefetchScopes.delete(shared);
      };
      const failed = (): void => {
        if (!running.has(name)) return;
        if (!state.scope.aborted && shared.signal.reason !== PREFETCH_UNUSED)
          state.timeline.record(OP.prefetch, performance.now() - started, { outcome: 'error' });
        settle([]);
      };
      running.set(name, failed);
      if (shared.aborted) {
        failed();
        return;
      }
      let pending: unknown;
      try {
        pending = prefetch.call(tool, state.transcript, ctx);
      } catch {
        failed();
        return;
      }
      Promise.resolve(pending).then((results) => {
        if (!running.has(name)) return;
        const list = Array.isArray(results) ? (results as readonly ToolPrefetch[]) : [];
        // A tool that found nothing to prefetch in the question did no work worth a sample.
        if (list.length > 0)
          state.timeline.record(OP.prefetch, performance.now() - started, { outcome: 'ok' });
        settle(list);
      }, failed);
    });
    state.prefetches.set(name, run);
  }
}

/** A prefetched result for the model's call, when one matches its arguments. */
async function prefetchedFor(
  state: TurnState,
  tool: Tool | undefined,
  rawArguments: string,
  signal: AbortSignal,
): Promise<ToolPrefetch | undefined> {
  const pending = tool ? state.prefetches.get(tool.name) : undefined;
  if (!tool || !pending) return undefined;
  let args: unknown;
  try {
    args = rawArguments.trim() === '' ? {} : JSON.parse(rawArguments);
  } catch {
    return undefined;
  }
  const wanted = canonicalArguments(tool, args);
  if (wanted === undefined) return undefined;
  const results = await raceAbort(pending, signal, abortReason);
  return results.find((entry) => canonicalArguments(tool, entry.arguments) === wanted);
}

/**
 * `prefetch: 'context'`: waits for the prefetches and puts them in the prompt as calls the
 * assistant already made, with their results, so the model can answer in one round.
 */
async function addPrefetchedContext(state: TurnState, messages: ChatMessage[]): Promise<void> {
  const names = [...state.prefetches.keys()];
  const lists = await raceAbort(Promise.all(state.prefetches.values()), state.signal, abortReason);
  const calls: ToolCall[] = [];
  const results: ChatMessage[] = [];
  for (let k = 0; k < names.length; k++) {
    const name = names[k] as string;
    for (const entry of lists[k] as readonly ToolPrefetch[]) {
      const id = `prefetch_${calls.length}`;
      const call: ToolCall = { id, name, arguments: JSON.stringify(entry.arguments) };
      calls.push(call);
      results.push({ role: 'tool', toolCallId: id, name, content: toolResultOutcome(entry.result).content });
    }
  }
  if (calls.length === 0) return;
  const assistant: ChatMessage = { role: 'assistant', content: '', toolCalls: calls };
  messages.push(assistant, ...results);
  state.newMessages.push(assistant, ...results);
  for (let i = 0; i < calls.length; i++) {
    const call = calls[i] as ToolCall;
    const message = results[i] as Extract<ChatMessage, { role: 'tool' }>;
    state.emit({ type: 'tool-call', call, round: 0 });
    state.answer.push({ type: 'tool-call', call, round: 0 });
    const event: Extract<TurnEvent, { type: 'tool-result' }> = {
      type: 'tool-result',
      callId: call.id,
      name: call.name,
      content: message.content,
      isError: false,
      round: 0,
    };
    state.emit(event);
    state.answer.push(event);
  }
}

/**
 * The context a tool call gets: its id, a signal bounded by `deadlines.tool`, and the
 * pipeline's capabilities (a timed, cached `search`; `record` into the turn's monitor).
 */
function toolContext(state: TurnState, callId: string, signal: AbortSignal): ToolContext {
  return {
    callId,
    signal,
    search: (search, query, searchOptions = {}) =>
      runSearch(
        state,
        search,
        query,
        { ...searchOptions, signal: searchOptions.signal ?? signal },
        undefined,
      ),
    record: (operation, durationMs, labels) => {
      state.timeline.record(operation, durationMs, labels ?? {});
    },
  };
}

/** Runs one tool call; never throws except when the turn ends (barge-in, fatal error). */
async function runTool(state: TurnState, call: ToolCall, round: number, llmSpan: LiveSpan): Promise<ToolRun> {
  const name = call.name;
  const operation = toolOperation(name);
  const tool = state.pipeline.toolsByName.get(name);
  const timeline = state.timeline;
  // A tool that changes something never runs for an answer the user may not have asked for.
  if (tool?.sideEffects && state.held) await raceAbort(state.released, state.signal, abortReason);
  const span = timeline.start(operation, {
    round,
    waitedOn: { spanId: llmSpan.id, at: performance.now(), reason: `tool call ${name}` },
  });
  const deadlineMs = state.options.deadlines.tool;
  const scope = state.stageScope(deadlineMs);
  scope.deadline(
    deadlineMs,
    () =>
      new TimeoutError(
        `Tool "${name}" did not finish within ${deadlineMs} ms. Raise deadlines.tool.`,
        deadlineMs as number,
      ),
  );
  let outcome: ToolCallOutcome;
  try {
    const prefetched = await prefetchedFor(state, tool, call.arguments, scope.signal);
    if (prefetched) span.cached = true;
    outcome = prefetched
      ? toolResultOutcome(prefetched.result)
      : await raceAbort(
          executeToolCall(tool, name, call.arguments, toolContext(state, call.id, scope.signal)),
          scope.signal,
          abortReason,
        );
  } catch (err) {
    if (state.scope.aborted) {
      timeline.end(span, 'interrupted');
      throw abortReason(state.signal);
    }
    const error =
      scope.signal.reason instanceof TimeoutError
        ? new ToolError(name, scope.signal.reason.message, { cause: scope.signal.reason })
        : err instanceof ToolError
          ? err
          : new ToolError(name, `Tool "${name}" failed: ${messageOf(err)}`, { cause: err });
    outcome = { content: JSON.stringify({ error: error.message }), error: { kind: 'execution', error } };
  } finally {
    scope.dispose();
  }
  if (tool?.sideEffects) state.sideEffects = true;
  const timedOut = scope.signal.reason instanceof TimeoutError;
  timeline.end(span, outcome.error ? (timedOut ? 'timeout' : 'error') : 'ok', outcome.error?.error.message);
  timeline.record(operation, (span.end as number) - span.start, { outcome: outcome.error ? 'error' : 'ok' });
  return { ...outcome, span };
}
