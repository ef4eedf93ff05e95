/**
 * The "model" behind the fake OpenAI server: simple, deterministic rules that behave enough
 * like an assistant of the source design (a logistics company's voice assistant) to exercise
 * a real pipeline turn.
 *
 * - A question about a load, inventory or equipment → a call to the matching tool
 *   (`get_load_status`, `list_loads`, `get_inventory`, `get_equipment_status`,
 *   `search_documents` for policies and procedures), if the request offers that tool.
 * - Tool results as the last messages → a short spoken answer that uses them.
 * - Anything else → a canned helpful answer of several sentences.
 * @module
 */
function fnv1a(text: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** A chat message as the rules see it (provider-neutral). */
export interface FakeRulesMessage {
  role: 'system' | 'user' | 'assistant' | 'tool' | (string & {});
  content: string;
  /** On assistant messages: the tool calls it made. */
  toolCalls?: readonly { id: string; name: string }[];
  /** On tool messages: the call answered. */
  toolCallId?: string;
  /** On tool messages: the tool's name, when the wire carries it. */
  name?: string;
}

/** A tool offered to the fake model. */
export interface FakeRulesTool {
  name: string;
  /** JSON Schema of the arguments; property names are used to fill the arguments. */
  parameters?: Record<string, unknown>;
}

/** What the fake model decided to do. */
export type FakeReplyPlan =
  | { kind: 'text'; text: string }
  | { kind: 'tool-calls'; calls: { id: string; name: string; arguments: string }[] };

interface Intent {
  tool: string;
  id?: string;
}

const LOAD = /\b(loads?|shipments?|deliver(?:y|ies)|freight)\b/i;
const INVENTORY = /\b(inventory|stock|skus?|in stock|items?|parts?|pallets? of)\b/i;
const EQUIPMENT = /\b(equipment|trucks?|trailers?|forklifts?|tractors?|reefers?|vehicles?)\b/i;
const DOCUMENTS =
  /\b(polic(?:y|ies)|procedures?|manuals?|handbook|guidelines?|documents?|safety|regulations?|how do i|how to|rules?)\b/i;

function idNear(text: string, nouns: string): string | undefined {
  const near = new RegExp(
    `\\b(?:${nouns})\\s*(?:#|number|no\\.?|id)?\\s*:?\\s*([A-Z]{0,4}-?\\d[\\w-]*)`,
    'i',
  );
  const m = near.exec(text);
  if (m?.[1]) return m[1];
  return undefined;
}

function anyId(text: string): string | undefined {
  return /\b([A-Z]{1,4}-\d[\w-]*|\d{3,})\b/i.exec(text)?.[1];
}

function detectIntents(text: string): Intent[] {
  // "How do I report a damaged trailer?" is a question for the handbook, not for the trailer
  // database: phrasing about procedures wins when no id is named.
  if (DOCUMENTS.test(text) && anyId(text) === undefined) return [{ tool: 'search_documents' }];
  const intents: Intent[] = [];
  if (LOAD.test(text)) {
    const id =
      idNear(text, 'loads?|shipments?') ??
      (EQUIPMENT.test(text) || INVENTORY.test(text) ? undefined : anyId(text));
    intents.push(id ? { tool: 'get_load_status', id } : { tool: 'list_loads' });
  }
  if (INVENTORY.test(text)) {
    const id =
      idNear(text, 'skus?|items?|parts?|inventory') ?? (intents.length === 0 ? anyId(text) : undefined);
    intents.push(id ? { tool: 'get_inventory', id } : { tool: 'get_inventory' });
  }
  if (EQUIPMENT.test(text)) {
    const id =
      idNear(text, 'equipment|trucks?|trailers?|forklifts?|tractors?|reefers?|vehicles?') ??
      (intents.length === 0 ? anyId(text) : undefined);
    intents.push(id ? { tool: 'get_equipment_status', id } : { tool: 'get_equipment_status' });
  }
  if (intents.length === 0 && DOCUMENTS.test(text)) intents.push({ tool: 'search_documents' });
  return intents;
}

const DEFAULT_ID_PROPERTY: Record<string, string> = {
  get_load_status: 'load_id',
  get_inventory: 'item_id',
  get_equipment_status: 'equipment_id',
};

function fillArguments(intent: Intent, tool: FakeRulesTool, question: string): Record<string, unknown> {
  const schema = tool.parameters ?? {};
  const props = Object.keys((schema.properties as Record<string, unknown> | undefined) ?? {});
  const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
  const args: Record<string, unknown> = {};
  const idProp = props.find((p) => /(^id$|_id$|Id$|number|sku|code)/i.test(p));
  const queryProp = props.find((p) => /(query|question|text|search|q$|name)/i.test(p));
  const limitProp = props.find((p) => /^(limit|max|top_?k|count|page_?size)$/i.test(p));
  if (props.length === 0) {
    const fallback = DEFAULT_ID_PROPERTY[intent.tool];
    if (intent.id && fallback) args[fallback] = intent.id;
    else if (intent.tool === 'search_documents' || (intent.tool === 'get_inventory' && !intent.id)) {
      args.query = question;
    }
    return args;
  }
  if (intent.id && idProp) args[idProp] = intent.id;
  else if (queryProp) args[queryProp] = question;
  else if (required[0]) args[required[0]] = intent.id ?? question;
  if (limitProp) args[limitProp] = 5;
  return args;
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'unknown';
  if (typeof value === 'string') return value.replace(/_/g, ' ');
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `${value.length} entries`;
  return 'available';
}

function summarizeObject(obj: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(obj)) {
    if (v !== null && typeof v === 'object') continue;
    parts.push(`${k.replace(/_/g, ' ')} ${describeValue(v)}`);
    if (parts.length === 4) break;
  }
  return parts.join(', ');
}

function firstText(item: unknown): string | undefined {
  if (!item || typeof item !== 'object') return undefined;
  const o = item as Record<string, unknown>;
  for (const key of ['text', 'content', 'snippet', 'summary']) {
    if (typeof o[key] === 'string') return o[key] as string;
  }
  const meta = o.metadata as Record<string, unknown> | undefined;
  return meta && typeof meta.text === 'string' ? meta.text : undefined;
}

function clip(text: string, max: number): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length <= max ? t : `${t.slice(0, max).replace(/\s+\S*$/, '')}...`;
}

/** Turns one tool result into a spoken sentence. */
function sentenceFor(toolName: string, content: string): string {
  let data: unknown;
  try {
    data = JSON.parse(content);
  } catch {
    return `The ${toolName.replace(/_/g, ' ')} tool said: ${clip(content, 160)}.`;
  }
  if (data && typeof data === 'object' && !Array.isArray(data) && 'error' in data) {
    const err = (data as { error: unknown }).error;
    const msg = typeof err === 'string' ? err : summarizeObject((err as Record<string, unknown>) ?? {});
    return `I could not get that information: ${clip(msg || 'the lookup failed', 160)}.`;
  }
  const list = Array.isArray(data)
    ? data
    : data && typeof data === 'object'
      ? ((Object.values(data).find((v) => Array.isArray(v)) as unknown[] | undefined) ?? undefined)
      : undefined;
  if (toolName === 'search_documents' || (list && list.length > 0 && firstText(list[0]))) {
    const items = list ?? [];
    const text = items.length > 0 ? firstText(items[0]) : undefined;
    if (!text) return 'I did not find anything in the documents about that.';
    return `According to our documents: ${clip(text, 200)}`.replace(/([^.!?])$/, '$1.');
  }
  if (list) {
    if (list.length === 0) return 'I did not find any matching records.';
    const first = list[0];
    const detail =
      first && typeof first === 'object' ? summarizeObject(first as Record<string, unknown>) : '';
    return `I found ${list.length} record${list.length === 1 ? '' : 's'}.${detail ? ` The first one has ${detail}.` : ''}`;
  }
  if (data && typeof data === 'object') {
    const detail = summarizeObject(data as Record<string, unknown>);
    return detail ? `Here is what I found: ${detail}.` : 'I found the record, but it has no details.';
  }
  return `The answer is ${describeValue(data)}.`;
}

const CANNED = [
  [
    'I can help with that.',
    'I can look up the status of any load, check inventory levels, and report on equipment in real time.',
    'Just give me a load number, a SKU, or an equipment id and I will check it for you.',
    'Is there anything specific you would like me to look up?',
  ],
  [
    'Good question.',
    'Our dispatch system tracks every load, every item in the warehouse, and every truck and trailer we operate.',
    'If you tell me which one you mean, I can give you its current status right away.',
    'I can also search our policies and procedures if that helps.',
  ],
  [
    'Happy to help.',
    'I answer questions about loads, inventory, equipment, and company procedures.',
    'Ask me something like: where is load 2314, or how many units of SKU A-100 are in stock.',
    'What would you like to know?',
  ],
];

/** A short greeting-style or help answer, deterministic for a given question and seed. */
function cannedAnswer(question: string, seed: number): string {
  if (/^\s*(hi|hello|hey|good (morning|afternoon|evening))\b/i.test(question)) {
    return 'Hello! I am your operations assistant. I can check loads, inventory, and equipment for you. What do you need?';
  }
  const pick = CANNED[fnv1a(question, seed >>> 0 || 1) % CANNED.length]!;
  return pick.join(' ');
}

/**
 * Decides the fake model's reply to a conversation: tool calls, or a text answer.
 *
 * @example
 * ```ts
 * planFakeReply([{ role: 'user', content: 'Where is load 2314?' }], [{ name: 'get_load_status' }]);
 * // { kind: 'tool-calls', calls: [{ id: 'call_…', name: 'get_load_status', arguments: '{"load_id":"2314"}' }] }
 * ```
 */
export function planFakeReply(
  messages: readonly FakeRulesMessage[],
  tools: readonly FakeRulesTool[] = [],
  options: { seed?: number; toolChoice?: 'auto' | 'none' | 'required' | (string & {}) } = {},
): FakeReplyPlan {
  const seed = options.seed ?? 1;
  // Trailing tool results: answer from them.
  const trailing: FakeRulesMessage[] = [];
  for (let i = messages.length - 1; i >= 0 && messages[i]!.role === 'tool'; i--)
    trailing.unshift(messages[i]!);
  if (trailing.length > 0) {
    const names = new Map<string, string>();
    for (const m of messages) for (const c of m.toolCalls ?? []) names.set(c.id, c.name);
    const sentences = trailing.map((m) =>
      sentenceFor(m.name ?? names.get(m.toolCallId ?? '') ?? 'lookup', m.content),
    );
    return { kind: 'text', text: `${sentences.join(' ')} Is there anything else you need?` };
  }

  let question = '';
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]!.role === 'user') {
      question = messages[i]!.content;
      break;
    }
  }
  if (options.toolChoice !== 'none' && tools.length > 0) {
    const byName = new Map(tools.map((t) => [t.name, t]));
    const calls: { id: string; name: string; arguments: string }[] = [];
    const seen = new Set<string>();
    for (const intent of detectIntents(question)) {
      let tool = byName.get(intent.tool);
      if (!tool && intent.tool === 'get_load_status') tool = byName.get('list_loads');
      if (!tool || seen.has(tool.name)) continue;
      seen.add(tool.name);
      const args = fillArguments({ ...intent, tool: tool.name }, tool, question);
      const id = `call_${fnv1a(`${question}#${calls.length}`, seed >>> 0 || 1)
        .toString(36)
        .padStart(7, '0')}${calls.length}`;
      calls.push({ id, name: tool.name, arguments: JSON.stringify(args) });
    }
    if (calls.length > 0) return { kind: 'tool-calls', calls };
  }
  return { kind: 'text', text: cannedAnswer(question, seed) };
}

/**
 * Splits text into token-like pieces (a word or a piece of a long word, with its leading
 * space), the way a model streams it. Joining the pieces gives the text back.
 */
export function fakeTokens(text: string): string[] {
  return text.match(/\s*\S{1,6}|\s+$/g) ?? [];
}
