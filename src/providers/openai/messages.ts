/**
 * Provider-neutral chat messages and tools (the stage contracts) → OpenAI chat-completions
 * wire shapes, and OpenAI finish reasons → the contract's.
 * @module
 */
import type {
  ChatCompletionFunctionTool,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import { InvalidArgumentError } from '../../errors.js';
import type { ChatMessage, LanguageModelEvent, ToolDefinition } from '../../pipeline/contracts.js';

/** Converts contract messages to the `messages` of a chat completion request. */
export function toOpenAIMessages(messages: readonly ChatMessage[]): ChatCompletionMessageParam[] {
  return messages.map((m, i): ChatCompletionMessageParam => {
    switch (m.role) {
      case 'system':
        return { role: 'system', content: m.content };
      case 'user':
        return { role: 'user', content: m.content };
      case 'assistant':
        if (m.toolCalls && m.toolCalls.length > 0) {
          return {
            role: 'assistant',
            // The API wants null, not '', next to tool calls with no text.
            content: m.content === '' ? null : m.content,
            tool_calls: m.toolCalls.map((c) => ({
              id: c.id,
              type: 'function' as const,
              function: { name: c.name, arguments: c.arguments === '' ? '{}' : c.arguments },
            })),
          };
        }
        return { role: 'assistant', content: m.content };
      case 'tool':
        return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
      default:
        throw new InvalidArgumentError(
          `messages[${i}] has role ${JSON.stringify((m as { role?: unknown }).role)}; use system, user, assistant or tool.`,
        );
    }
  });
}

/** Converts contract tool definitions to the `tools` of a chat completion request. */
export function toOpenAITools(tools: readonly ToolDefinition[]): ChatCompletionFunctionTool[] {
  return tools.map((t) => ({
    type: 'function' as const,
    function: { name: t.name, description: t.description, parameters: t.parameters },
  }));
}

type FinishReason = Extract<LanguageModelEvent, { type: 'finish' }>['reason'];

/** OpenAI `finish_reason` → the contract's `finish.reason`. */
export function toFinishReason(reason: string): FinishReason {
  switch (reason) {
    case 'stop':
      return 'stop';
    case 'length':
      return 'length';
    case 'tool_calls':
    case 'function_call':
      return 'tool-calls';
    case 'content_filter':
      return 'content-filter';
    default:
      return 'other';
  }
}
