/**
 * Why a target was missed, in words a newcomer can act on: which stage, what it is made of in
 * this run, and what would fix it. Printed under the verdict of `demo`, `check` and `load`.
 * @module
 */
import type { SavedRun } from '../loadtest/run-file.js';
import { OP } from '../perf/operations.js';
import { formatMs } from '../report/format.js';

/** What the explanation may say about the run besides its stages. */
export interface MissContext {
  /** Fake latency profile name, when the stages are earshot's fakes or fake servers. */
  profile?: string;
  /** Whether a cache was in front of the tools, the LLM, TTS and search. */
  cache: boolean;
  /** The endpoint of a `load --url` run (method and URL, no credentials). */
  url?: string;
}

const p90Of = (run: SavedRun, name: string): string | undefined => {
  const s = run.stages.find((x) => x.name === name);
  return s && s.count > 0 ? `${formatMs(s.p90)} ms` : undefined;
};

function hitRate(run: SavedRun, prefix: string): string | undefined {
  const ns = run.cache?.namespaces;
  if (!ns) return undefined;
  let hits = 0;
  let lookups = 0;
  for (const [name, c] of Object.entries(ns)) {
    if (!name.startsWith(prefix)) continue;
    hits += c.hits;
    lookups += c.hits + c.misses;
  }
  return lookups > 0 ? `${((100 * hits) / lookups).toFixed(0)} %` : undefined;
}

/**
 * One line per missed target: `<stage> = <what it is made of>: <what would fix it>`.
 *
 * @example
 * ```ts
 * for (const line of explainMisses(run, { cache: true, profile: 'sourceDesignAfter' })) console.log(line);
 * ```
 */
export function explainMisses(run: SavedRun, ctx: MissContext): string[] {
  const lines: string[] = [];
  const profile = ctx.profile ? ` on the "${ctx.profile}" profile` : '';
  for (const stage of run.stages) {
    if (stage.target?.status !== 'fail') continue;
    const got = `P90 ${formatMs(stage.target.actualMs ?? 0)} ms > ${formatMs(stage.target.targetMs)} ms`;
    lines.push(`${stage.name} (${got}): ${explainStage(run, stage.name, ctx, profile)}`);
  }
  if (run.summary.errorRate > run.verdict.maxErrorRate) {
    const top = run.errors[0];
    lines.push(
      `error rate ${(100 * run.summary.errorRate).toFixed(1)} %: ${top ? `mostly ${top.kind} (${top.message.slice(0, 120)})` : 'see the errors above'}; fix the failing stage first, latency figures of failed calls are not comparable.`,
    );
  }
  return lines;
}

/**
 * Calls that failed in the stages a turn waits on. Their time is in the turn (a timed-out call
 * waited its whole deadline before the fallback), but not in the stage's P90, which counts
 * successful calls: without this, a slow first audio would point at stages that look fast.
 */
function failedParts(run: SavedRun): string {
  const failed = [OP.stt, OP.llmTtft, OP.llm, OP.ttsTtfb, OP.tts, OP.companyApi, OP.search]
    .map((name) => run.stages.find((x) => x.name === name))
    .filter((s): s is NonNullable<typeof s> => s !== undefined && s.errors > 0)
    .map((s) => `${s.name} ${s.errors} of ${s.count}`);
  if (failed.length === 0) return '';
  return ` Failed calls (their wait counts in the turn, not in the stage's P90): ${failed.join(', ')}; a timeout there costs the whole deadline (see their rows above and the HTML report's P90 waterfall).`;
}

function explainStage(run: SavedRun, name: string, ctx: MissContext, profile: string): string {
  const tools = hitRate(run, OP.companyApi);
  switch (name) {
    case OP.companyApi:
      return `company_api = one HTTP call to the company API per tool call (the fake upstream is P90 100 ms${profile}); only cache hits are fast, and ${ctx.cache ? `${tools ?? 'no'} of the company-API lookups hit here` : 'the cache is off (--no-cache)'}. A P90 under 50 ms needs ≥ 90 % hits. Fix: ${ctx.cache ? "run longer (the cache's steady state), prefetch tool data, or raise EARSHOT_TTL_COMPANY_API__* so entries live longer" : 'turn the cache on (drop --no-cache): without it every lookup pays the upstream'}.`;
    case OP.search:
      return `search = embedding + vector query: two calls in series (the source design's 100 ms target assumes one)${ctx.cache ? `, cached per question (pinecone hit rate ${hitRate(run, 'pinecone') ?? 'n/a'})` : ''}. Fix: cache embeddings of frequent questions, use searchMode "context" to search while the LLM starts, or set --target search=<embedding + query budget>.`;
    case OP.stt:
      return `stt = end of the audio → final transcript from the STT provider${profile}. Fix: stream audio while the user speaks (only the endpointing delay remains), shorter endpointing, or a faster model.`;
    case OP.llmTtft:
    case OP.llm:
      return `${name} = request → ${name === OP.llm ? 'last' : 'first'} token of one model call${profile}; tool turns pay a second call after the tool result. Fix: a faster model, a shorter prompt, prefetched tool data in the prompt (one round instead of two), the LLM cache for repeated questions.`;
    case OP.ttsTtfb:
    case OP.tts:
      return `${name} = request → ${name === OP.tts ? 'last' : 'first'} audio byte of one sentence${profile}. Fix: a warm TTS connection (prewarm), streamed TTS input, the TTS cache for repeated phrases, a faster voice model.`;
    case OP.timeToFirstAudio:
    case OP.timeToAnswerAudio:
    case OP.e2e: {
      const parts = [
        [OP.stt, p90Of(run, OP.stt)],
        [OP.llmTtft, p90Of(run, OP.llmTtft)],
        [OP.companyApi, p90Of(run, OP.companyApi)],
        [OP.search, p90Of(run, OP.search)],
        [OP.ttsTtfb, p90Of(run, OP.ttsTtfb)],
      ]
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      return `${name} = stt + llm_ttft to the first sentence + tts_ttfb, plus a tool call (company_api or search) and a second LLM round in tool turns — the slowest turns are tool turns (P90s here: ${parts || 'n/a'}).${failedParts(run)} Fix the slowest part above; earshot's latency techniques (preemptive generation, prefetch, warm connections, streamed TTS input: docs/latency.md) cut it further.`;
    }
    case 'scenario':
    case 'http':
    case 'http_ttfb':
      // For --url an iteration (`scenario`) is one request; for the pipeline it is a turn.
      if (name === 'scenario' && ctx.url === undefined) return defaultExplanation(name);
      return `${name} = ${name === 'http_ttfb' ? 'request → first response byte' : 'the whole request'} to ${ctx.url ?? 'the endpoint'} (the configuration's end-to-end target, judged on the whole request), measured from this machine. Fix it in the app: its own timeline (answer JSON with a "timeline" field and the report draws the waterfall), or run earshot load closer to it.`;
    case OP.cacheRead:
    case OP.cacheWrite:
      return `${name} = a memory-tier ${name === OP.cacheRead ? 'lookup' : 'store'}, plus a Redis round trip with REDIS_URL (commandTimeoutMs bounds it). Fix: Redis closer to the app, or a larger memory tier (EARSHOT_CACHE_MAX_ENTRIES) so fewer reads reach Redis.`;
    default:
      return defaultExplanation(name);
  }
}

function defaultExplanation(name: string): string {
  return `a user-set target on "${name}"; see its row above and the HTML report's waterfall for what it waits on.`;
}
