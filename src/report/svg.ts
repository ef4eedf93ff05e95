/**
 * A very small SVG/HTML string builder: escaping and attribute rendering, nothing more.
 * Charts are strings so that the report is one static file that needs no runtime JS.
 * @module
 */

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for use in HTML/SVG content and attribute values. */
export function esc(text: string | number): string {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** Attribute values; `undefined`/`false` attributes are omitted, `true` renders the bare name. */
type Attrs = Record<string, string | number | boolean | undefined>;

/** Rounds a coordinate to 2 decimals: keeps files small and output deterministic. */
export function coord(n: number): string {
  if (!Number.isFinite(n)) return '0';
  const r = Math.round(n * 100) / 100;
  return Object.is(r, -0) ? '0' : String(r);
}

function attrs(a: Attrs): string {
  let out = '';
  for (const [k, v] of Object.entries(a)) {
    if (v === undefined || v === false) continue;
    if (v === true) out += ` ${k}`;
    else out += ` ${k}="${esc(typeof v === 'number' ? coord(v) : v)}"`;
  }
  return out;
}

/**
 * Renders an element. `children` is trusted markup (already built with `el`/`esc`); pass
 * `undefined` for a self-closing element.
 */
export function el(tag: string, a: Attrs = {}, children?: string | readonly string[]): string {
  if (children === undefined) return `<${tag}${attrs(a)}/>`;
  const body = typeof children === 'string' ? children : children.join('');
  return `<${tag}${attrs(a)}>${body}</${tag}>`;
}

/** An SVG path `d` for a polyline through `points` (already in pixel space). */
export function polylinePath(points: readonly (readonly [number, number])[]): string {
  return points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${coord(x)} ${coord(y)}`).join('');
}

/** An SVG path `d` for a step line (horizontal then vertical) through `points`. */
export function stepPath(points: readonly (readonly [number, number])[]): string {
  let d = '';
  let prevY = 0;
  points.forEach(([x, y], i) => {
    if (i === 0) d += `M${coord(x)} ${coord(y)}`;
    else d += `L${coord(x)} ${coord(prevY)}L${coord(x)} ${coord(y)}`;
    prevY = y;
  });
  return d;
}
