/**
 * The seeded data of the fake company API: the tables it draws from (cities, commodities,
 * carriers, names, warehouses, categories, equipment kinds) and the generator that turns a seed
 * into loads, inventory items and equipment. Split from `fake-company-api.ts` (the server).
 * @module
 */
import type { Equipment, InventoryItem, Load, Place } from '../company-api/schemas.js';
import { createRng, type Rng } from './latency.js';

const CITIES: readonly Place[] = [
  ['Dallas', 'TX'],
  ['Houston', 'TX'],
  ['Laredo', 'TX'],
  ['Atlanta', 'GA'],
  ['Chicago', 'IL'],
  ['Memphis', 'TN'],
  ['Nashville', 'TN'],
  ['Denver', 'CO'],
  ['Phoenix', 'AZ'],
  ['Los Angeles', 'CA'],
  ['Oakland', 'CA'],
  ['Seattle', 'WA'],
  ['Portland', 'OR'],
  ['Kansas City', 'MO'],
  ['St. Louis', 'MO'],
  ['Columbus', 'OH'],
  ['Indianapolis', 'IN'],
  ['Charlotte', 'NC'],
  ['Jacksonville', 'FL'],
  ['Miami', 'FL'],
  ['Newark', 'NJ'],
  ['Salt Lake City', 'UT'],
  ['Reno', 'NV'],
  ['Albuquerque', 'NM'],
].map(([city, state]) => ({ city: city!, state: state! }));

const COMMODITIES = [
  'frozen food',
  'fresh produce',
  'electronics',
  'auto parts',
  'paper goods',
  'building materials',
  'beverages',
  'pharmaceuticals',
  'furniture',
  'steel coils',
] as const;
const CARRIERS = [
  'Blue Ridge Freight',
  'Lone Star Logistics',
  'Northwind Transport',
  'Red River Carriers',
  'Summit Haulers',
  'Coastal Express',
] as const;
const FIRST = [
  'Ana',
  'Ben',
  'Carla',
  'Dev',
  'Elena',
  'Frank',
  'Grace',
  'Hiro',
  'Ivan',
  'Jade',
  'Kofi',
  'Lena',
] as const;
const LAST = [
  'Alvarez',
  'Brooks',
  'Chen',
  'Diaz',
  'Evans',
  'Fischer',
  'Garcia',
  'Hughes',
  'Ito',
  'Jensen',
] as const;
const WAREHOUSES = ['DAL-1', 'ATL-1', 'CHI-2', 'LAX-1', 'EWR-3'] as const;
const CATEGORIES = [
  {
    code: 'PAL',
    name: 'pallets',
    unit: 'each',
    names: ['GMA pallet 48x40', 'Euro pallet', 'Plastic pallet'],
  },
  {
    code: 'WRP',
    name: 'packaging',
    unit: 'case',
    names: ['Stretch wrap 18in', 'Shrink film', 'Corner boards'],
  },
  { code: 'STR', name: 'straps', unit: 'each', names: ['Ratchet strap 2in', 'Load bar', 'E-track strap'] },
  { code: 'TIR', name: 'tires', unit: 'each', names: ['Steer tire 295/75R22.5', 'Drive tire 11R22.5'] },
  { code: 'FLT', name: 'filters', unit: 'case', names: ['Oil filter', 'Fuel filter', 'Air filter'] },
  {
    code: 'DEF',
    name: 'fluids',
    unit: 'pallet',
    names: ['DEF 2.5 gal', 'Coolant 1 gal', 'Engine oil 15W-40'],
  },
] as const;
const EQUIPMENT_KINDS = [
  { type: 'tractor', prefix: 'TRK', weight: 35 },
  { type: 'trailer', prefix: 'TRL', weight: 30 },
  { type: 'reefer', prefix: 'RFR', weight: 15 },
  { type: 'flatbed', prefix: 'FLB', weight: 10 },
  { type: 'forklift', prefix: 'FRK', weight: 10 },
] as const;

// Fixed instant the data is built around, so every run serves the same bytes.
export const BASE_MS = Date.UTC(2025, 0, 6, 12, 0, 0);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
export const iso = (ms: number): string => new Date(Math.round(ms / 1000) * 1000).toISOString();

function weighted<T extends string>(rng: Rng, table: readonly (readonly [T, number])[]): T {
  const total = table.reduce((s, [, w]) => s + w, 0);
  let roll = rng.next() * total;
  for (const [v, w] of table) {
    if (roll < w) return v;
    roll -= w;
  }
  return table[table.length - 1]![0];
}

/** The seeded loads, inventory and equipment of a fake company API (same seed, same data). */
export function generateCompanyData(
  seed: number | string,
  size: { loads: number; inventory: number; equipment: number },
) {
  const rng = createRng(seed);
  const equipment: Equipment[] = [];
  for (let i = 0; i < size.equipment; i++) {
    const kind = weighted(
      rng,
      EQUIPMENT_KINDS.map((k) => [k.type, k.weight] as const),
    );
    const prefix = EQUIPMENT_KINDS.find((k) => k.type === kind)!.prefix;
    const status = weighted(rng, [
      ['available', 40],
      ['in_use', 45],
      ['maintenance', 10],
      ['out_of_service', 5],
    ] as const);
    const lastService = BASE_MS - (5 + rng.int(170)) * DAY;
    equipment.push({
      id: `${prefix}-${String(i + 1).padStart(4, '0')}`,
      type: kind,
      status,
      location: status === 'out_of_service' && rng.next() < 0.5 ? null : rng.pick(CITIES),
      assignedLoadId: null,
      odometerMiles: kind === 'tractor' ? 20_000 + rng.int(680_000) : null,
      lastServiceAt: iso(lastService),
      nextServiceDueAt: iso(lastService + 180 * DAY),
      updatedAt: iso(BASE_MS - rng.int(72) * HOUR),
    });
  }
  const tractors = equipment.filter((e) => e.type !== 'forklift');

  const loads: Load[] = [];
  for (let i = 0; i < size.loads; i++) {
    const status = weighted(rng, [
      ['delivered', 35],
      ['in_transit', 25],
      ['assigned', 12],
      ['pending', 12],
      ['delayed', 10],
      ['cancelled', 6],
    ] as const);
    const origin = rng.pick(CITIES);
    let destination = rng.pick(CITIES);
    if (destination === origin) destination = CITIES[(CITIES.indexOf(origin) + 7) % CITIES.length]!;
    const pickup = BASE_MS + (rng.int(20 * 24) - 10 * 24) * HOUR;
    const transit = (12 + rng.int(84)) * HOUR;
    const hasCrew = status !== 'pending' && status !== 'cancelled';
    const rig = hasCrew && tractors.length > 0 ? rng.pick(tractors) : undefined;
    if (rig && (status === 'in_transit' || status === 'delayed') && rig.assignedLoadId === null) {
      rig.assignedLoadId = String(1000 + i);
      rig.status = 'in_use';
      rig.location = rig.location ?? origin;
    }
    const current =
      status === 'delivered'
        ? destination
        : status === 'in_transit' || status === 'delayed'
          ? rng.pick(CITIES)
          : status === 'assigned'
            ? origin
            : null;
    loads.push({
      id: String(1000 + i),
      status,
      origin,
      destination,
      commodity: rng.pick(COMMODITIES),
      weightLbs: 1000 + rng.int(43_000),
      carrier: hasCrew ? rng.pick(CARRIERS) : null,
      driverName: hasCrew ? `${rng.pick(FIRST)} ${rng.pick(LAST)}` : null,
      equipmentId: rig ? rig.id : null,
      currentLocation: current,
      pickupAt: iso(pickup),
      estimatedDeliveryAt:
        status === 'cancelled'
          ? null
          : iso(pickup + transit + (status === 'delayed' ? (6 + rng.int(30)) * HOUR : 0)),
      deliveredAt: status === 'delivered' ? iso(pickup + transit + (rng.int(8) - 4) * HOUR) : null,
      updatedAt: iso(BASE_MS - rng.int(48 * 60) * 60_000),
    });
  }

  const inventory: InventoryItem[] = [];
  for (let i = 0; i < size.inventory; i++) {
    const cat = rng.pick(CATEGORIES);
    const onHand = rng.next() < 0.08 ? 0 : rng.int(2000);
    const reserved = rng.int(Math.max(1, Math.floor(onHand / 2) + 1));
    inventory.push({
      id: `ITM-${String(i + 1).padStart(5, '0')}`,
      sku: `${cat.code}-${10_000 + i}`,
      name: rng.pick(cat.names),
      category: cat.name,
      warehouse: rng.pick(WAREHOUSES),
      unit: cat.unit,
      quantityOnHand: onHand,
      quantityReserved: reserved,
      quantityAvailable: onHand - reserved,
      reorderPoint: 10 + rng.int(290),
      updatedAt: iso(BASE_MS - rng.int(14 * 24) * HOUR),
    });
  }
  return { loads, inventory, equipment };
}
