/**
 * What the demo and the default load scenarios ask: questions a dispatcher asks a voice
 * assistant of a logistics company (loads, inventory, equipment, the document base), and a
 * small document base for the search stage.
 * @module
 */

/** The system prompt of the demo pipeline. */
export const DEMO_SYSTEM_PROMPT =
  'You are the voice assistant of a logistics company. Answer dispatchers in one or two short sentences. ' +
  'Use the tools to look up loads, inventory and equipment, and search the documents for policies and procedures.';

/** The document base the search stage ranks (policies and procedures). */
export const DEMO_DOCUMENTS: readonly { id: string; text: string }[] = [
  {
    id: 'pol-damaged-freight',
    text: 'Damaged cargo policy: photograph the damage, note it on the bill of lading, and report it to dispatch within one hour of delivery.',
  },
  {
    id: 'pol-hours-of-service',
    text: 'Hours of service: drivers may drive at most 11 hours after 10 consecutive hours off duty, and must take a 30 minute break after 8 hours of driving.',
  },
  {
    id: 'pol-safety-incident',
    text: 'Safety incident procedure: make the scene safe, call emergency services if anyone is hurt, then report the incident to the safety manager the same day.',
  },
  {
    id: 'pol-cold-chain',
    text: 'Cold chain temperature procedure: pre-cool the trailer to the set point before loading and log the temperature every four hours.',
  },
  {
    id: 'pol-detention',
    text: 'Detention policy: after two hours of free time at a shipper or receiver, detention is billed at 75 dollars per hour.',
  },
  {
    id: 'pol-fuel-card',
    text: 'Fuel card rules: fuel only company equipment, keep every receipt, and report a lost card to accounting immediately.',
  },
  {
    id: 'pol-pre-trip',
    text: 'Pre-trip inspection: check tires, brakes, lights, coupling devices and emergency equipment before every trip and record it in the log.',
  },
  {
    id: 'pol-hazmat',
    text: 'Hazardous materials: only drivers with a hazmat endorsement may haul placarded loads, and the shipping papers must be within reach.',
  },
  {
    id: 'pol-forklift',
    text: 'Forklift safety: only certified operators may drive forklifts; inspect the forks and the horn at the start of each shift.',
  },
  {
    id: 'pol-weather',
    text: 'Severe weather guideline: drivers may stop when conditions are unsafe; notify dispatch with your location and expected delay.',
  },
];

/** Ids the questions refer to, taken from the company API the run talks to. */
export interface DemoIds {
  loads: readonly string[];
  items: readonly string[];
  skus: readonly string[];
  equipment: readonly string[];
}

/** Question kinds, the default scenarios of `earshot load` (weight in parentheses). */
export const QUESTION_KINDS = ['loads', 'inventory', 'equipment', 'documents', 'smalltalk'] as const;
export type QuestionKind = (typeof QUESTION_KINDS)[number];

/** Default scenario weights: mostly lookups, like a dispatch desk. */
export const DEFAULT_QUESTION_WEIGHTS: Readonly<Record<QuestionKind, number>> = {
  loads: 4,
  inventory: 2,
  equipment: 2,
  documents: 2,
  smalltalk: 1,
};

const pickFrom = <T>(list: readonly T[], random: () => number): T =>
  list[Math.floor(random() * list.length) % list.length]!;

/**
 * A question of `kind`. Ids come from a small hot set (most callers ask about the same few
 * loads), so the cache sees the repetition it would see in production.
 */
export function demoQuestion(kind: QuestionKind, ids: DemoIds, random: () => number): string {
  const hot = <T>(list: readonly T[]): T =>
    pickFrom(list.slice(0, random() < 0.85 ? 3 : list.length), random);
  switch (kind) {
    case 'loads': {
      const id = hot(ids.loads);
      return pickFrom(
        [
          `Where is load ${id}?`,
          `What's the status of load ${id}?`,
          `Is load ${id} going to deliver on time?`,
          'Which loads are in transit right now?',
        ],
        random,
      );
    }
    case 'inventory': {
      const id = random() < 0.5 ? hot(ids.items) : hot(ids.skus);
      return pickFrom(
        [`How many units of ${id} do we have in stock?`, `Check the inventory for item ${id}.`],
        random,
      );
    }
    case 'equipment': {
      const id = hot(ids.equipment);
      return pickFrom([`Is equipment ${id} available?`, `What's the status of equipment ${id}?`], random);
    }
    case 'documents':
      return pickFrom(
        [
          'What is our policy for damaged cargo?',
          'What are the hours of service rules?',
          'How do I report a safety incident?',
          'What is the procedure for cold chain temperature logs?',
          'What are the rules for the fuel card?',
        ],
        random,
      );
    case 'smalltalk':
      return pickFrom(['Hello, what can you do?', 'Hi there, can you help me?'], random);
  }
}
