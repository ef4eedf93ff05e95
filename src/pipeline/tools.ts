/**
 * Tools the language model may call: {@link defineTool} to write one, the conversion of its
 * zod parameters to the JSON Schema the model sees, and the execution of one call (argument
 * parsing, validation, errors turned into something the model or the user can hear).
 * @module
 */
import { z } from 'zod';
import { EarshotError, InvalidArgumentError, redact, ToolError } from '../errors.js';
import type { Tool, ToolContext, ToolDefinition, ToolPrefetch } from './contracts.js';

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** What {@link defineTool} takes: a {@link Tool} whose `parameters` is a zod object schema. */
export interface ToolSpec<P extends z.ZodType, R> {
  /** 1–64 letters, digits, `_` or `-` (the limit OpenAI and others enforce). */
  name: string;
  /** Tells the model when to use the tool. Be specific: the model reads it. */
  description: string;
  parameters: P;
  /** True when the tool changes something; answers that used it are never cached. Default false. */
  sideEffects?: boolean;
  /** True when the tool only reads, so the pipeline may run `prefetch`. Default false. */
  readOnly?: boolean;
  /** See {@link Tool.prefetch}: the calls the model will likely make, run ahead of it. */
  prefetch?(transcript: string, ctx: ToolContext): Promise<readonly ToolPrefetch<R>[]>;
  /** Phrase spoken while the turn waits for this tool, or `false` for none. */
  acknowledgement?: string | false;
  execute(args: z.output<P>, ctx: ToolContext): Promise<R>;
}

/**
 * Defines a tool with typed, validated arguments.
 *
 * @example
 * ```ts
 * const weather = defineTool({
 *   name: 'get_weather',
 *   description: 'Current weather at a city.',
 *   parameters: z.object({ city: z.string().describe('City name, e.g. Denver') }),
 *   execute: async ({ city }, { signal }) => fetchWeather(city, { signal }),
 * });
 * ```
 */
export function defineTool<P extends z.ZodType, R>(spec: ToolSpec<P, R>): Tool<P, R> {
  validateTool(spec as unknown as Tool);
  // Fail at definition time, not at the first turn, if the schema has no JSON Schema form.
  toolDefinition(spec as unknown as Tool);
  return spec;
}

/** Throws InvalidArgumentError unless `tool` looks like a usable {@link Tool}. */
export function validateTool(tool: Tool): void {
  if (!tool || typeof tool !== 'object') throw new InvalidArgumentError('A tool must be an object.');
  if (typeof tool.name !== 'string' || !TOOL_NAME.test(tool.name)) {
    throw new InvalidArgumentError(
      `Tool name ${JSON.stringify(String(tool.name))} is invalid: use 1–64 letters, digits, "_" or "-".`,
    );
  }
  if (typeof tool.description !== 'string' || tool.description.trim().length === 0) {
    throw new InvalidArgumentError(
      `Tool "${tool.name}" needs a description: the model reads it to decide when to call.`,
    );
  }
  if (!(tool.parameters instanceof z.ZodType)) {
    throw new InvalidArgumentError(
      `Tool "${tool.name}": parameters must be a zod schema, e.g. z.object({ id: z.string() }).`,
    );
  }
  if (typeof tool.execute !== 'function')
    throw new InvalidArgumentError(`Tool "${tool.name}" needs an execute function.`);
}

const definitions = new WeakMap<Tool, ToolDefinition>();

/**
 * The tool as the model sees it: name, description and the JSON Schema of its arguments
 * (`z.toJSONSchema`, input side, without `$schema`). Memoized per tool object.
 */
export function toolDefinition(tool: Tool): ToolDefinition {
  const cached = definitions.get(tool);
  if (cached) return cached;
  let schema: Record<string, unknown>;
  try {
    schema = z.toJSONSchema(tool.parameters, { io: 'input', unrepresentable: 'throw' }) as Record<
      string,
      unknown
    >;
  } catch (err) {
    throw new InvalidArgumentError(
      `Tool "${tool.name}": its parameters schema has no JSON Schema form (${err instanceof Error ? err.message : String(err)}). ` +
        'Use plain zod types (objects, strings, numbers, enums, arrays), not transforms or custom types.',
      { cause: err },
    );
  }
  delete schema.$schema;
  if (schema.type !== 'object') {
    throw new InvalidArgumentError(
      `Tool "${tool.name}": parameters must be a z.object(...) (models expect an arguments object).`,
    );
  }
  const def: ToolDefinition = { name: tool.name, description: tool.description, parameters: schema };
  definitions.set(tool, def);
  return def;
}

/** The outcome of one tool call. */
export interface ToolCallOutcome {
  /** What goes back to the model as the tool message. */
  content: string;
  /** The tool's return value (undefined on error). */
  result?: unknown;
  /** Set when the call failed. `kind` says whose fault: the model's arguments or the tool. */
  error?: { kind: 'arguments' | 'execution'; error: EarshotError };
}

/** Longest tool result handed to the model, in characters; longer ones are cut with a note. */
const MAX_TOOL_CONTENT_CHARS = 16_000;

function stringify(result: unknown): string {
  if (typeof result === 'string') return result;
  if (result === undefined) return 'null';
  try {
    return JSON.stringify(result) ?? 'null';
  } catch {
    return String(result);
  }
}

function clipContent(text: string): string {
  if (text.length <= MAX_TOOL_CONTENT_CHARS) return text;
  return `${text.slice(0, MAX_TOOL_CONTENT_CHARS)}… [cut: ${text.length - MAX_TOOL_CONTENT_CHARS} more characters]`;
}

/** The outcome of a call that returned `result` (what the model sees, clipped). */
export function toolResultOutcome(result: unknown): ToolCallOutcome {
  return { content: clipContent(stringify(result)), result };
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
  return out;
}

/**
 * The arguments of a call to `tool` in one canonical form (validated with its schema, defaults
 * applied, keys sorted), so a prefetched call and the model's call compare equal; undefined
 * when they do not validate.
 */
export function canonicalArguments(tool: Tool, args: unknown): string | undefined {
  const parsed = tool.parameters.safeParse(args);
  return parsed.success ? JSON.stringify(sortKeys(parsed.data)) : undefined;
}

/**
 * Runs one tool call: parses the model's JSON arguments, validates them with the tool's
 * schema, executes. Never throws for a failing call; the outcome carries the error. Errors
 * that come from the turn's signal (barge-in, deadline) are rethrown.
 */
export async function executeToolCall(
  tool: Tool | undefined,
  name: string,
  rawArguments: string,
  ctx: ToolContext,
): Promise<ToolCallOutcome> {
  if (!tool) {
    const error = new ToolError(name, `The model called an unknown tool "${name}".`);
    return { content: JSON.stringify({ error: error.message }), error: { kind: 'arguments', error } };
  }
  let args: unknown;
  try {
    args = rawArguments.trim() === '' ? {} : JSON.parse(rawArguments);
  } catch {
    const error = new ToolError(name, `The arguments of "${name}" are not valid JSON.`);
    return { content: JSON.stringify({ error: error.message }), error: { kind: 'arguments', error } };
  }
  const parsed = tool.parameters.safeParse(args);
  if (!parsed.success) {
    const why = parsed.error.issues
      .map((i) => `${i.path.join('.') || '(arguments)'}: ${i.message}`)
      .join('; ');
    const error = new ToolError(name, `Invalid arguments for "${name}": ${why}.`);
    return { content: JSON.stringify({ error: error.message }), error: { kind: 'arguments', error } };
  }
  try {
    const result = await tool.execute(parsed.data, ctx);
    return toolResultOutcome(result);
  } catch (err) {
    if (ctx.signal?.aborted) throw ctx.signal.reason instanceof EarshotError ? ctx.signal.reason : err;
    const error =
      err instanceof ToolError
        ? err
        : new ToolError(
            name,
            `Tool "${name}" failed: ${err instanceof EarshotError ? `${err.code} ${err.message}` : err instanceof Error ? err.message : String(err)}`,
            { cause: err },
          );
    // Never hand a secret to the model: the message is redacted by EarshotError already.
    return { content: JSON.stringify({ error: redact(error.message) }), error: { kind: 'execution', error } };
  }
}
