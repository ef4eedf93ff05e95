/**
 * The server-sent-events writer of the fake OpenAI server: chat completion chunks paced at
 * `tokensPerSecond`, the usage chunk, `data: [DONE]`, and mid-stream faults.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ChatPlan } from './fake-openai-answers.js';
import { CREATED, obfuscationOf, openAIError } from './fake-openai-wire.js';
import { type FaultDecision, hangThenDrop, waitUnlessClosed } from './latency.js';

/** The fake's runtime settings (mutable through the running server). */
export interface StreamState {
  tokensPerSecond: number;
  faultAfterChunks: number;
  midStreamErrors: boolean;
  connectLatencyMs: number;
}

/** Writes one streamed chat completion, applying the fault after `faultAfterChunks` frames. */
export async function streamChat(
  req: IncomingMessage,
  res: ServerResponse,
  s: {
    chat: ChatPlan;
    id: string;
    model: string;
    usage: Record<string, unknown>;
    headers: Record<string, string>;
    includeUsage: boolean;
    includeObfuscation: boolean;
    decision: FaultDecision;
    state: StreamState;
  },
): Promise<void> {
  const { chat, decision, state } = s;
  let chunkNumber = 0;
  const envelope = (choices: unknown[], usage: unknown = null) => ({
    id: s.id,
    object: 'chat.completion.chunk',
    created: CREATED,
    model: s.model,
    service_tier: 'default',
    system_fingerprint: 'fp_fake',
    choices,
    ...(s.includeUsage ? { usage } : {}),
    // The service pads each chunk with random characters (side-channel mitigation) unless
    // `stream_options.include_obfuscation` is false.
    ...(s.includeObfuscation ? { obfuscation: obfuscationOf(chunkNumber++) } : {}),
  });
  const choice = (delta: unknown, finish: string | null = null) => [
    { index: 0, delta, logprobs: null, finish_reason: finish },
  ];

  // Build every frame first, so a mid-stream fault can be placed after any of them.
  const frames: unknown[] = [];
  frames.push(
    envelope(
      choice(
        chat.plan.kind === 'text'
          ? { role: 'assistant', content: '', refusal: null }
          : { role: 'assistant', content: null, refusal: null },
      ),
    ),
  );
  if (chat.plan.kind === 'text') {
    for (const p of chat.pieces) frames.push(envelope(choice({ content: p.text })));
  } else {
    chat.plan.calls.forEach((call, index) => {
      frames.push(
        envelope(
          choice({
            tool_calls: [
              { index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } },
            ],
          }),
        ),
      );
      for (const p of chat.pieces) {
        if (p.index === index)
          frames.push(envelope(choice({ tool_calls: [{ index, function: { arguments: p.text } }] })));
      }
    });
  }
  frames.push(envelope(choice({}, chat.finish)));
  if (s.includeUsage) frames.push(envelope([], s.usage));

  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    ...s.headers,
  });
  res.flushHeaders();

  const faultAt =
    decision.kind === 'none' || decision.kind === 'slow' ? -1 : Math.max(0, state.faultAfterChunks);
  const tps = state.tokensPerSecond;
  const gap = Number.isFinite(tps) && tps > 0 ? 1000 / tps : 0;
  for (let i = 0; i <= frames.length; i++) {
    if (i === faultAt) {
      switch (decision.kind) {
        case 'timeout':
          await hangThenDrop(req, res, decision.hangMs);
          return;
        case 'reset':
          // A plain close, not a TCP reset: the frames already written must still arrive, so
          // a test can count them.
          req.socket.destroy();
          return;
        case 'malformed':
          res.end('data: {"id":"chatcmpl-broken","choices":[{"index":0,"delta":{"content":"oo\n\n');
          return;
        case 'error':
          res.end(
            `data: ${JSON.stringify(openAIError(500, 'The server had an error while processing your request.'))}\n\n`,
          );
          return;
      }
    }
    if (i === frames.length) break;
    // The role frame goes out with the headers; content frames are paced.
    if (i > 1 && gap > 0 && !(await waitUnlessClosed(gap, res))) return;
    if (res.destroyed) return;
    res.write(`data: ${JSON.stringify(frames[i])}\n\n`);
  }
  res.end('data: [DONE]\n\n');
}
