/**
 * Colours of the report's charts: a palette safe for colour-vision deficiencies and a stable
 * colour per pipeline stage.
 * @module
 */

/** Okabe–Ito colours: distinguishable with the common colour-vision deficiencies. */
export const PALETTE = [
  '#0072B2',
  '#E69F00',
  '#009E73',
  '#D55E00',
  '#CC79A7',
  '#56B4E9',
  '#7a6a00',
  '#444444',
];

const STAGE_COLORS: Record<string, string> = {
  stt: '#0072B2',
  llm: '#E69F00',
  llm_ttft: '#E69F00',
  search: '#CC79A7',
  tts: '#D55E00',
  tts_ttfb: '#D55E00',
  tts_queue: '#b59b00',
  overhead: '#9a9a9a',
  company_api: '#009E73',
};

/** A stable colour for a pipeline stage or step name (`tool:*` green, `cache:*` sky blue). */
export function stageColor(name: string): string {
  if (STAGE_COLORS[name]) return STAGE_COLORS[name];
  if (name.startsWith('tool:')) return '#009E73';
  if (name.startsWith('cache')) return '#56B4E9';
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return PALETTE[h % PALETTE.length]!;
}
