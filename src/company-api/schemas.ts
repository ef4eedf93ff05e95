/**
 * Zod schemas of the company REST API's resources: loads, inventory items, equipment, the
 * pages that list them, the list filters and the error body. They mirror the OpenAPI 3.1
 * document `docs/company-api.openapi.json` (a contract test keeps the two in step).
 *
 * Resource schemas are *loose*: fields the API adds later are kept, not rejected, so a
 * server that grows does not break older clients. Host apps can reuse them (for example to
 * describe a tool to a language model) or extend them:
 *
 * @example
 * ```ts
 * import { loadSchema } from 'earshot';
 * const myLoadSchema = loadSchema.extend({ customerRef: z.string() });
 * ```
 * @module
 */
import { z } from 'zod';

/** Identifiers in paths: letters, digits, `.`, `_`, `-`; 1–64 characters, starting with a letter or digit. */
export const RESOURCE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A resource identifier (load id, item id or SKU, equipment id). */
export const resourceIdSchema = z
  .string()
  .regex(
    RESOURCE_ID_PATTERN,
    'must be 1–64 letters, digits, ".", "_" or "-", starting with a letter or digit',
  );

/** Largest page size the API serves. */
export const MAX_PAGE_SIZE = 100;
/** Page size used when a list call gives none. */
export const DEFAULT_PAGE_SIZE = 20;

const dateTime = z.iso.datetime({ offset: true });
const nonNegativeInt = z.number().int().min(0);

/** A place: city and two-letter state or region code. */
export const placeSchema = z.looseObject({
  city: z.string().min(1),
  state: z.string().min(1),
});
export type Place = z.infer<typeof placeSchema>;

/** Where a load is in its life. */
export const LOAD_STATUSES = [
  'pending',
  'assigned',
  'in_transit',
  'delayed',
  'delivered',
  'cancelled',
] as const;
export const loadStatusSchema = z.enum(LOAD_STATUSES);
export type LoadStatus = z.infer<typeof loadStatusSchema>;

/** A shipment (a "load"), as `GET /v1/loads/{loadId}` returns it. */
export const loadSchema = z.looseObject({
  id: resourceIdSchema,
  status: loadStatusSchema,
  origin: placeSchema,
  destination: placeSchema,
  commodity: z.string(),
  weightLbs: z.number().min(0),
  carrier: z.string().nullable(),
  driverName: z.string().nullable(),
  equipmentId: z.string().nullable(),
  currentLocation: placeSchema.nullable(),
  pickupAt: dateTime,
  estimatedDeliveryAt: dateTime.nullable(),
  deliveredAt: dateTime.nullable(),
  updatedAt: dateTime,
});
export type Load = z.infer<typeof loadSchema>;

/** Units inventory is counted in. */
export const INVENTORY_UNITS = ['each', 'case', 'pallet'] as const;

/** A stock-keeping unit in one warehouse, as `GET /v1/inventory/{itemIdOrSku}` returns it. */
export const inventoryItemSchema = z.looseObject({
  id: resourceIdSchema,
  sku: resourceIdSchema,
  name: z.string(),
  category: z.string(),
  warehouse: z.string(),
  unit: z.enum(INVENTORY_UNITS),
  quantityOnHand: nonNegativeInt,
  quantityReserved: nonNegativeInt,
  quantityAvailable: z.number().int(),
  reorderPoint: nonNegativeInt,
  updatedAt: dateTime,
});
export type InventoryItem = z.infer<typeof inventoryItemSchema>;

/** Kinds of equipment. */
export const EQUIPMENT_TYPES = ['tractor', 'trailer', 'reefer', 'flatbed', 'forklift'] as const;
export const equipmentTypeSchema = z.enum(EQUIPMENT_TYPES);
export type EquipmentType = z.infer<typeof equipmentTypeSchema>;

/** Whether a piece of equipment can be used. */
export const EQUIPMENT_STATUSES = ['available', 'in_use', 'maintenance', 'out_of_service'] as const;
export const equipmentStatusSchema = z.enum(EQUIPMENT_STATUSES);
export type EquipmentStatus = z.infer<typeof equipmentStatusSchema>;

/** A tractor, trailer or forklift, as `GET /v1/equipment/{equipmentId}` returns it. */
export const equipmentSchema = z.looseObject({
  id: resourceIdSchema,
  type: equipmentTypeSchema,
  status: equipmentStatusSchema,
  location: placeSchema.nullable(),
  assignedLoadId: z.string().nullable(),
  odometerMiles: nonNegativeInt.nullable(),
  lastServiceAt: dateTime,
  nextServiceDueAt: dateTime,
  updatedAt: dateTime,
});
export type Equipment = z.infer<typeof equipmentSchema>;

/** One page of a list: the items, the cursor of the next page (null on the last) and the total matching. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
  total: number;
}

/** Builds the schema of a page of `item`. */
export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item).max(MAX_PAGE_SIZE),
    nextCursor: z.string().min(1).nullable(),
    total: nonNegativeInt,
  });
}

export const loadPageSchema = pageSchema(loadSchema);
export const inventoryPageSchema = pageSchema(inventoryItemSchema);
export const equipmentPageSchema = pageSchema(equipmentSchema);

/** The body of every non-2xx answer. */
export const apiErrorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
  requestId: z.string().optional(),
});
export type ApiErrorBody = z.infer<typeof apiErrorBodySchema>;

const pagination = {
  /** Items per page, 1–100. Default 20. */
  limit: z.number().int().min(1).max(MAX_PAGE_SIZE).optional(),
  /** The `nextCursor` of the previous page. */
  cursor: z.string().min(1).max(512).optional(),
};

const stateCode = z.string().min(1).max(32);

/** Filters of `listLoads`. */
export const loadFilterSchema = z
  .object({
    status: loadStatusSchema.optional(),
    originState: stateCode.optional(),
    destinationState: stateCode.optional(),
    carrier: z.string().min(1).max(128).optional(),
    ...pagination,
  })
  .strict();
export type LoadFilter = z.input<typeof loadFilterSchema>;

/** Filters of `listInventory`. */
export const inventoryFilterSchema = z
  .object({
    warehouse: z.string().min(1).max(128).optional(),
    category: z.string().min(1).max(128).optional(),
    /** Only items whose available quantity is at or below their reorder point. */
    belowReorderPoint: z.boolean().optional(),
    ...pagination,
  })
  .strict();
export type InventoryFilter = z.input<typeof inventoryFilterSchema>;

/** Filters of `listEquipment`. */
export const equipmentFilterSchema = z
  .object({
    type: equipmentTypeSchema.optional(),
    status: equipmentStatusSchema.optional(),
    ...pagination,
  })
  .strict();
export type EquipmentFilter = z.input<typeof equipmentFilterSchema>;
