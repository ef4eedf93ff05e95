/**
 * The company API's calls as ready tools for the model: `get_load_status`, `list_loads`,
 * `get_inventory`, `list_inventory`, `get_equipment_status`, `list_equipment`.
 *
 * Written against a structural interface of the client's methods, so earshot's
 * `CompanyApiClient`, its cached wrapper, or any object with the same methods fits.
 * @module
 */
import { z } from 'zod';
import { InvalidArgumentError } from '../errors.js';
import type { Tool, ToolContext, ToolPrefetch } from '../pipeline/contracts.js';
import { defineTool } from '../pipeline/tools.js';

/** Per-call options the company-API methods accept (a subset of the client's). */
export interface CompanyApiToolCallOptions {
  signal?: AbortSignal | undefined;
}

/**
 * What {@link createCompanyApiTools} needs: the six read methods of the company API client.
 * Filters are passed through as the model wrote them (validated by the tool's schema).
 */
export interface CompanyApiLike {
  getLoadStatus(loadId: string, options?: CompanyApiToolCallOptions): Promise<unknown>;
  listLoads(filter?: Record<string, unknown>, options?: CompanyApiToolCallOptions): Promise<unknown>;
  getInventory(itemIdOrSku: string, options?: CompanyApiToolCallOptions): Promise<unknown>;
  listInventory(filter?: Record<string, unknown>, options?: CompanyApiToolCallOptions): Promise<unknown>;
  getEquipmentStatus(equipmentId: string, options?: CompanyApiToolCallOptions): Promise<unknown>;
  listEquipment(filter?: Record<string, unknown>, options?: CompanyApiToolCallOptions): Promise<unknown>;
}

/** Names of the tools {@link createCompanyApiTools} makes. */
export type CompanyApiToolName =
  | 'get_load_status'
  | 'list_loads'
  | 'get_inventory'
  | 'list_inventory'
  | 'get_equipment_status'
  | 'list_equipment';

// These mirror the API's resource ids and filter enums (src/company-api/schemas.ts).
const id = (what: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, `must be a ${what}: letters, digits, ".", "_" or "-"`)
    .describe(`The ${what}, e.g. 2314.`);
const limit = z.number().int().min(1).max(20).optional().describe('Most results to return (default 5).');
const LOAD_STATUSES = ['pending', 'assigned', 'in_transit', 'delayed', 'delivered', 'cancelled'] as const;
const EQUIPMENT_TYPES = ['tractor', 'trailer', 'reefer', 'flatbed', 'forklift'] as const;
const EQUIPMENT_STATUSES = ['available', 'in_use', 'maintenance', 'out_of_service'] as const;

function callOptions(signal: AbortSignal | undefined): CompanyApiToolCallOptions {
  return signal ? { signal } : {};
}

/** Drops undefined fields and renames snake_case arguments to the client's camelCase filter fields. */
function filterOf(args: Record<string, unknown>, names: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) {
    if (v !== undefined) out[names[k] ?? k] = v;
  }
  if (out.limit === undefined) out.limit = 5;
  return out;
}

const ID = String.raw`\s*(?:#|number|no\.?|id)?\s*:?\s*([A-Za-z]{0,4}-?\d[\w.-]*)`;
const LOAD_ID = new RegExp(String.raw`\b(?:loads?|shipments?)` + ID, 'i');
const ITEM_ID = new RegExp(String.raw`\b(?:items?|skus?|parts?)` + ID, 'i');
const EQUIPMENT_ID = new RegExp(
  String.raw`\b(?:equipment|trucks?|trailers?|tractors?|reefers?|flatbeds?|forklifts?|units?)` + ID,
  'i',
);
const LOADS = /\b(?:loads|shipments)\b/i;
const EQUIPMENT_LIST = /\b(?:equipment|trucks|trailers|tractors|reefers|flatbeds|forklifts)\b/i;

/** An id as the user said it, without the sentence's punctuation. */
function idIn(text: string, pattern: RegExp): string | undefined {
  const match = pattern.exec(text)?.[1]?.replace(/[.-]+$/, '');
  return match && /\d/.test(match) ? match : undefined;
}

/** The pattern of each value for {@link named}, compiled once: prefetch runs on every turn. */
const valuePatterns = new Map<string, RegExp>();

/** The first of `values` named in `text` ("in transit" for `in_transit`). */
function named<T extends string>(text: string, values: readonly T[]): T | undefined {
  const lower = text.toLowerCase();
  return values.find((value) => {
    let pattern = valuePatterns.get(value);
    if (!pattern) {
      pattern = new RegExp(String.raw`\b${value.replace(/_/g, '[ _-]?')}s?\b`);
      valuePatterns.set(value, pattern);
    }
    return pattern.test(lower);
  });
}

/** Runs one prefetched call; a failure yields nothing (the model's own call will run it). */
async function ahead(
  args: Record<string, unknown>,
  run: () => Promise<unknown>,
): Promise<readonly ToolPrefetch[]> {
  return [{ arguments: args, result: await run() }];
}

/**
 * Makes the company-API tools. Pass `only` to offer a subset.
 *
 * All six are read-only and offer `prefetch`: the load, item and equipment ids and the status,
 * type and state filters in the user's words are looked up in parallel with the first model
 * call (see `prefetch` in docs/latency.md).
 *
 * @example
 * ```ts
 * const api = createCompanyApiClient({ baseUrl, apiKey });
 * const pipeline = createVoicePipeline({ stt, llm, tts, systemPrompt, tools: createCompanyApiTools(api) });
 * ```
 */
export function createCompanyApiTools(
  api: CompanyApiLike,
  options: { only?: readonly CompanyApiToolName[] } = {},
): Tool[] {
  for (const m of [
    'getLoadStatus',
    'listLoads',
    'getInventory',
    'listInventory',
    'getEquipmentStatus',
    'listEquipment',
  ] as const) {
    if (typeof api?.[m] !== 'function') {
      throw new InvalidArgumentError(
        `createCompanyApiTools needs a company API client with a ${m}() method.`,
      );
    }
  }
  const tools: Tool[] = [
    defineTool({
      name: 'get_load_status',
      description:
        'Status of one load (shipment) by its id: where it is, its carrier, driver and delivery estimate.',
      parameters: z.object({ load_id: id('load id') }),
      readOnly: true,
      async prefetch(text: string, ctx: ToolContext) {
        const loadId = idIn(text, LOAD_ID);
        if (!loadId) return [];
        return ahead({ load_id: loadId }, () => api.getLoadStatus(loadId, callOptions(ctx.signal)));
      },
      execute: (a, ctx) => api.getLoadStatus(a.load_id, callOptions(ctx.signal)),
    }),
    defineTool({
      name: 'list_loads',
      description: 'Lists loads, optionally by status, origin or destination state, or carrier.',
      parameters: z.object({
        status: z.enum(LOAD_STATUSES).optional(),
        origin_state: z.string().min(1).max(32).optional().describe('Two-letter state code, e.g. CO.'),
        destination_state: z.string().min(1).max(32).optional(),
        carrier: z.string().min(1).max(128).optional(),
        limit,
      }),
      readOnly: true,
      async prefetch(text: string, ctx: ToolContext) {
        // The cheap test first: most questions do not ask for a list of loads.
        if (!LOADS.test(text)) return [];
        const status = named(text, LOAD_STATUSES);
        if (!status || idIn(text, LOAD_ID)) return [];
        return ahead({ status }, () => api.listLoads(filterOf({ status }, {}), callOptions(ctx.signal)));
      },
      execute: (a, ctx) =>
        api.listLoads(
          filterOf(a, { origin_state: 'originState', destination_state: 'destinationState' }),
          callOptions(ctx.signal),
        ),
    }),
    defineTool({
      name: 'get_inventory',
      description: 'Stock of one inventory item by item id or SKU: on hand, reserved, available, warehouse.',
      parameters: z.object({ item_id: id('item id or SKU') }),
      readOnly: true,
      async prefetch(text: string, ctx: ToolContext) {
        const itemId = idIn(text, ITEM_ID);
        if (!itemId) return [];
        return ahead({ item_id: itemId }, () => api.getInventory(itemId, callOptions(ctx.signal)));
      },
      execute: (a, ctx) => api.getInventory(a.item_id, callOptions(ctx.signal)),
    }),
    defineTool({
      name: 'list_inventory',
      description:
        'Lists inventory items, optionally by warehouse or category, or only those below their reorder point.',
      parameters: z.object({
        warehouse: z.string().min(1).max(128).optional(),
        category: z.string().min(1).max(128).optional(),
        below_reorder_point: z.boolean().optional(),
        limit,
      }),
      readOnly: true,
      execute: (a, ctx) =>
        api.listInventory(filterOf(a, { below_reorder_point: 'belowReorderPoint' }), callOptions(ctx.signal)),
    }),
    defineTool({
      name: 'get_equipment_status',
      description:
        'Status of one piece of equipment (tractor, trailer, reefer, flatbed, forklift) by its id.',
      parameters: z.object({ equipment_id: id('equipment id') }),
      readOnly: true,
      async prefetch(text: string, ctx: ToolContext) {
        const equipmentId = idIn(text, EQUIPMENT_ID);
        if (!equipmentId) return [];
        return ahead({ equipment_id: equipmentId }, () =>
          api.getEquipmentStatus(equipmentId, callOptions(ctx.signal)),
        );
      },
      execute: (a, ctx) => api.getEquipmentStatus(a.equipment_id, callOptions(ctx.signal)),
    }),
    defineTool({
      name: 'list_equipment',
      description: 'Lists equipment, optionally by type or status.',
      parameters: z.object({
        type: z.enum(EQUIPMENT_TYPES).optional(),
        status: z.enum(EQUIPMENT_STATUSES).optional(),
        limit,
      }),
      readOnly: true,
      async prefetch(text: string, ctx: ToolContext) {
        if (!EQUIPMENT_LIST.test(text) || idIn(text, EQUIPMENT_ID)) return [];
        const type = named(text, EQUIPMENT_TYPES);
        const status = named(text, EQUIPMENT_STATUSES);
        if (!type && !status) return [];
        const args = { ...(type ? { type } : {}), ...(status ? { status } : {}) };
        return ahead(args, () => api.listEquipment(filterOf(args, {}), callOptions(ctx.signal)));
      },
      execute: (a, ctx) => api.listEquipment(filterOf(a, {}), callOptions(ctx.signal)),
    }),
  ] as Tool[];
  if (!options.only) return tools;
  const wanted = new Set<string>(options.only);
  return tools.filter((t) => wanted.has(t.name));
}
