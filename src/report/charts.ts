/**
 * The report's charts, drawn as static SVG strings in Node: an XY chart (lines, steps, areas,
 * bars; a linear or percentile x axis; an optional right axis), a horizontal bar chart and a
 * turn waterfall. No runtime JavaScript, no fonts to load, no network.
 *
 * Every data mark carries `class="mark"` and each `<svg class="chart">` states how many it
 * drew in `data-marks`, so a browser test can check that everything rendered.
 * @module
 */
import { formatTick, linearScale, niceTicks, percentileTicks, percentileToAxis } from './scales.js';
import { coord, el, esc, polylinePath, stepPath } from './svg.js';

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

/** One series of an {@link xyChart}, in data coordinates. */
export interface XYSeries {
  name: string;
  points: readonly (readonly [number, number])[];
  color?: string;
  /** `line` (default), `step` (holds each value until the next point), `area` (filled step), `bars`. */
  style?: 'line' | 'step' | 'area' | 'bars';
  /** Which y axis the series uses. Default `left`. */
  axis?: 'left' | 'right';
  dashed?: boolean;
}

/** Options of {@link xyChart}. */
export interface XYChartOptions {
  /** Element id (unique in the page). */
  id: string;
  title: string;
  series: readonly XYSeries[];
  width?: number;
  height?: number;
  xLabel?: string;
  yLabel?: string;
  y2Label?: string;
  /** `linear` (default) or `percentile`: x values are percentiles 0–100 on a log-of-rarity axis. */
  xAxis?: 'linear' | 'percentile';
  xFormat?: (v: number) => string;
  yFormat?: (v: number) => string;
  y2Format?: (v: number) => string;
  /** Horizontal reference lines on the left axis (targets). Not counted as marks. */
  guides?: readonly { y: number; label: string; color?: string }[];
}

const FONT = 'font-family="system-ui,-apple-system,Segoe UI,Roboto,sans-serif"';

interface PlacedMarker {
  mk: WaterfallMarker;
  px: number;
  label: string;
  leftward: boolean;
  lane: number;
}

/** Assigns each marker label the lowest lane where it overlaps no label already placed. */
function placeMarkerLabels(
  markers: readonly WaterfallMarker[],
  x: (v: number) => number,
  width: number,
): PlacedMarker[] {
  const lanes: Array<Array<[number, number]>> = [];
  const out: PlacedMarker[] = [];
  for (const mk of [...markers].sort((a, b) => a.ms - b.ms)) {
    const px = x(mk.ms);
    const label = `${mk.label} ${mk.ms.toFixed(0)} ms`;
    const w = textWidth(label) + 6;
    // Labels near the right edge grow leftwards so they stay inside the chart.
    const leftward = px + w > width;
    const span: [number, number] = leftward ? [px - w, px] : [px, px + w];
    let lane = lanes.findIndex((l) => l.every(([a, b]) => span[1] <= a || span[0] >= b));
    if (lane < 0) {
      lane = lanes.length;
      lanes.push([]);
    }
    lanes[lane]!.push(span);
    out.push({ mk, px, label, leftward, lane });
  }
  return out;
}

/**
 * A chart title that fits in `avail` px: long titles ("scenario_from_intended (1,200 samples)")
 * get a smaller font (down to 10 px), then are squeezed to the width rather than clipped.
 */
function fittedTitle(title: string, x: number, avail: number): string {
  const natural = textWidth(title, 13);
  const size = natural <= avail ? 13 : Math.max(10, Math.floor((13 * avail) / natural));
  const squeeze = textWidth(title, size) > avail;
  return el(
    'text',
    {
      x,
      y: 16,
      'font-size': size,
      'font-weight': 600,
      fill: '#222',
      textLength: squeeze ? Math.floor(avail) : undefined,
      lengthAdjust: squeeze ? 'spacingAndGlyphs' : undefined,
    },
    esc(title),
  );
}

function svgRoot(
  id: string,
  title: string,
  kind: string,
  width: number,
  height: number,
  marks: number,
  body: string,
): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="${esc(id)}" data-chart="${esc(kind)}" data-marks="${marks}" ` +
    `viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="${esc(id)}-title" ${FONT} font-size="11">` +
    `<title id="${esc(id)}-title">${esc(title)}</title>${body}</svg>`
  );
}

/**
 * A chart of one or more series against a shared x axis, with an optional right axis.
 *
 * @example
 * ```ts
 * const svg = xyChart({
 *   id: 'lat', title: 'Latency over time', xLabel: 's', yLabel: 'ms',
 *   series: [{ name: 'P90', points: [[0, 120], [1, 140]] }],
 * });
 * ```
 */
export function xyChart(o: XYChartOptions): string {
  const width = o.width ?? 640;
  const height = o.height ?? 240;
  const hasRight = o.series.some((s) => s.axis === 'right');
  const legendRows = o.series.length > 1 ? 1 : 0;
  const m = { top: 28 + legendRows * 14, right: hasRight ? 54 : 16, bottom: 36, left: 54 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const isPct = o.xAxis === 'percentile';
  const tx = (x: number) => (isPct ? percentileToAxis(x) : x);

  // Long series (a 9-hour run has 32,000 intervals) are thinned, and no array is ever spread
  // into Math.min/max, so a long run cannot overflow the stack.
  const series = o.series.map((s) => ({ ...s, points: thinPoints(s.points) }));
  o = { ...o, series };
  const xs: number[] = [];
  for (const s of series) for (const p of s.points) xs.push(tx(p[0]));
  let [xMin, xMax] = extent(xs);
  const hasBars = o.series.some((s) => s.style === 'bars');
  const barStep = hasBars
    ? minGap(o.series.filter((s) => s.style === 'bars').flatMap((s) => s.points.map((p) => p[0])))
    : 0;
  if (hasBars && barStep > 0) {
    xMin -= barStep / 2;
    xMax += barStep / 2;
  }
  if (isPct) {
    xMin = 0;
    xMax = Math.max(1, Math.ceil(xMax - 1e-9));
  }
  if (xMax === xMin) xMax = xMin + 1;
  const x = linearScale([xMin, xMax], [m.left, m.left + pw]);

  const yExtent = (axis: 'left' | 'right') => {
    const vals = o.series
      .filter((s) => (s.axis ?? 'left') === axis)
      .flatMap((s) => s.points.map((p) => p[1]));
    if (axis === 'left') for (const g of o.guides ?? []) vals.push(g.y);
    return niceTicks(0, extent(vals, [0, 1])[1], 4);
  };
  const yTicks = yExtent('left');
  const y = linearScale([yTicks[0]!, yTicks[yTicks.length - 1]!], [m.top + ph, m.top]);
  const y2Ticks = hasRight ? yExtent('right') : [];
  const y2 = hasRight ? linearScale([y2Ticks[0]!, y2Ticks[y2Ticks.length - 1]!], [m.top + ph, m.top]) : y;

  const parts: string[] = [];
  parts.push(fittedTitle(o.title, m.left, width - m.left - 4));
  // grid + axes
  const grid: string[] = [];
  const yf = o.yFormat ?? formatTick;
  for (const t of yTicks) {
    const py = y(t);
    grid.push(el('line', { x1: m.left, x2: m.left + pw, y1: py, y2: py, stroke: '#e5e5e5' }));
    grid.push(el('text', { x: m.left - 6, y: py + 3.5, 'text-anchor': 'end', fill: '#555' }, esc(yf(t))));
  }
  if (hasRight) {
    const f2 = o.y2Format ?? formatTick;
    for (const t of y2Ticks) {
      grid.push(el('text', { x: m.left + pw + 6, y: y2(t) + 3.5, fill: '#555' }, esc(f2(t))));
    }
  }
  const xTickList = isPct
    ? percentileTicks(xMax).map((t) => ({ v: t.value, label: t.label }))
    : niceTicks(xMin, xMax, Math.max(2, Math.floor(pw / 80)))
        .filter((t) => t >= xMin - 1e-9 && t <= xMax + 1e-9)
        .map((t) => ({ v: t, label: (o.xFormat ?? formatTick)(t) }));
  for (const t of xTickList) {
    const px = x(t.v);
    grid.push(el('line', { x1: px, x2: px, y1: m.top + ph, y2: m.top + ph + 4, stroke: '#888' }));
    // Labels at the edges are anchored inwards so they are never clipped ("P99.99").
    const half = textWidth(t.label) / 2;
    const anchor = px + half > width - 2 ? 'end' : px - half < 2 ? 'start' : 'middle';
    const lx =
      anchor === 'end' ? Math.min(px + half, width - 2) : anchor === 'start' ? Math.max(px - half, 2) : px;
    grid.push(el('text', { x: lx, y: m.top + ph + 16, 'text-anchor': anchor, fill: '#555' }, esc(t.label)));
  }
  grid.push(el('line', { x1: m.left, x2: m.left + pw, y1: m.top + ph, y2: m.top + ph, stroke: '#888' }));
  if (o.xLabel) {
    grid.push(
      el('text', { x: m.left + pw / 2, y: height - 4, 'text-anchor': 'middle', fill: '#555' }, esc(o.xLabel)),
    );
  }
  if (o.yLabel) {
    grid.push(
      el(
        'text',
        {
          x: 12,
          y: m.top + ph / 2,
          'text-anchor': 'middle',
          fill: '#555',
          transform: `rotate(-90 12 ${coord(m.top + ph / 2)})`,
        },
        esc(o.yLabel),
      ),
    );
  }
  if (o.y2Label && hasRight) {
    const gx = width - 8;
    grid.push(
      el(
        'text',
        {
          x: gx,
          y: m.top + ph / 2,
          'text-anchor': 'middle',
          fill: '#555',
          transform: `rotate(90 ${gx} ${coord(m.top + ph / 2)})`,
        },
        esc(o.y2Label),
      ),
    );
  }
  parts.push(el('g', { class: 'grid' }, grid));

  // marks: areas and bars first so lines stay on top
  let marks = 0;
  const marksOut: string[] = [];
  const order = (s: XYSeries) => (s.style === 'area' ? 0 : s.style === 'bars' ? 1 : 2);
  const sorted = o.series.map((s, i) => ({ s, i })).sort((a, b) => order(a.s) - order(b.s));
  const barSeries = o.series.filter((s) => s.style === 'bars');
  for (const { s, i } of sorted) {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const ys = s.axis === 'right' ? y2 : y;
    const pts = s.points
      .filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]))
      .map((p) => [x(tx(p[0])), ys(p[1])] as const);
    if (pts.length === 0) continue;
    const name = esc(s.name);
    if (s.style === 'bars') {
      const k = barSeries.indexOf(s);
      const slot = barStep > 0 ? (x(barStep) - x(0)) * 0.8 : Math.min(24, pw / Math.max(1, pts.length));
      const w = Math.max(1, slot / barSeries.length);
      const base = ys(ys.domain[0]);
      for (const [px, py] of pts) {
        const h = Math.max(0.5, base - py);
        marksOut.push(
          el('rect', {
            class: 'mark',
            x: px - slot / 2 + k * w,
            y: base - h,
            width: w,
            height: h,
            fill: color,
            'fill-opacity': 0.75,
            'data-series': s.name,
          }),
        );
        marks++;
      }
      continue;
    }
    if (s.style === 'area') {
      const base = ys(ys.domain[0]);
      const first = pts[0]!;
      const last = pts[pts.length - 1]!;
      const d = `${stepPath(pts)}L${coord(last[0])} ${coord(base)}L${coord(first[0])} ${coord(base)}Z`;
      marksOut.push(
        el(
          'path',
          {
            class: 'mark',
            d,
            fill: color,
            'fill-opacity': 0.13,
            stroke: color,
            'stroke-opacity': 0.5,
            'data-series': s.name,
          },
          el('title', {}, name),
        ),
      );
      marks++;
      continue;
    }
    const d =
      pts.length === 1
        ? `M${coord(pts[0]![0] - 2)} ${coord(pts[0]![1])}L${coord(pts[0]![0] + 2)} ${coord(pts[0]![1])}`
        : s.style === 'step'
          ? stepPath(pts)
          : polylinePath(pts);
    marksOut.push(
      el(
        'path',
        {
          class: 'mark',
          d,
          fill: 'none',
          stroke: color,
          'stroke-width': 2,
          'stroke-linejoin': 'round',
          'stroke-dasharray': s.dashed ? '5 3' : undefined,
          'data-series': s.name,
        },
        el('title', {}, name),
      ),
    );
    marks++;
  }
  for (const g of o.guides ?? []) {
    const py = y(g.y);
    const c = g.color ?? '#c00';
    marksOut.push(
      el('g', { class: 'guide' }, [
        el('line', { x1: m.left, x2: m.left + pw, y1: py, y2: py, stroke: c, 'stroke-dasharray': '3 3' }),
        el('text', { x: m.left + pw - 2, y: py - 3, 'text-anchor': 'end', fill: c }, esc(g.label)),
      ]),
    );
  }
  parts.push(el('g', { class: 'marks' }, marksOut));

  if (legendRows) {
    const items: string[] = [];
    let lx = m.left;
    o.series.forEach((s, i) => {
      const color = s.color ?? PALETTE[i % PALETTE.length]!;
      const label = `${s.name}${s.axis === 'right' ? ' (right axis)' : ''}`;
      const sw =
        s.style === 'bars' || s.style === 'area'
          ? el('rect', {
              x: lx,
              y: 26,
              width: 12,
              height: 8,
              fill: color,
              'fill-opacity': s.style === 'area' ? 0.3 : 0.75,
            })
          : el('line', {
              x1: lx,
              x2: lx + 12,
              y1: 30,
              y2: 30,
              stroke: color,
              'stroke-width': 2,
              'stroke-dasharray': s.dashed ? '4 2' : undefined,
            });
      items.push(sw, el('text', { x: lx + 16, y: 34, fill: '#333' }, esc(label)));
      lx += 16 + label.length * 6 + 14;
    });
    parts.push(el('g', { class: 'legend' }, items));
  }
  return svgRoot(o.id, o.title, isPct ? 'percentile' : 'xy', width, height, marks, parts.join(''));
}

/** Smallest and largest of `values` (a loop: spreading a long array into Math.min overflows the stack). */
export function extent(values: Iterable<number>, empty: [number, number] = [0, 1]): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : empty;
}

/** Series longer than this are thinned before drawing (a chart is ~1000 px wide). */
export const MAX_DRAWN_POINTS = 2000;

/**
 * Thins a long series to at most about `max` points for drawing: the points are cut into
 * `max / 2` runs and each run keeps its lowest and highest point (in x order), so spikes stay
 * visible. Shorter series are returned as they are.
 */
export function thinPoints(
  points: readonly (readonly [number, number])[],
  max = MAX_DRAWN_POINTS,
): readonly (readonly [number, number])[] {
  if (points.length <= max) return points;
  const runs = Math.max(1, Math.floor(max / 2));
  const size = points.length / runs;
  const out: (readonly [number, number])[] = [];
  for (let r = 0; r < runs; r++) {
    const from = Math.floor(r * size);
    const to = Math.min(points.length, Math.floor((r + 1) * size));
    let lo = -1;
    let hi = -1;
    for (let i = from; i < to; i++) {
      const v = points[i]![1];
      if (!Number.isFinite(v)) continue;
      if (lo < 0 || v < points[lo]![1]) lo = i;
      if (hi < 0 || v > points[hi]![1]) hi = i;
    }
    if (lo < 0) continue;
    if (lo === hi) out.push(points[lo]!);
    else if (lo < hi) out.push(points[lo]!, points[hi]!);
    else out.push(points[hi]!, points[lo]!);
  }
  return out;
}

/** Rough width in px of `text` at `fontSize` in the report's sans-serif font. */
export function textWidth(text: string, fontSize = 11): number {
  return text.length * fontSize * 0.6;
}

function minGap(values: number[]): number {
  const v = [...new Set(values)].sort((a, b) => a - b);
  let g = Number.POSITIVE_INFINITY;
  for (let i = 1; i < v.length; i++) g = Math.min(g, v[i]! - v[i - 1]!);
  return Number.isFinite(g) ? g : 1;
}

/** One bar of a {@link barChart}. */
export interface BarDatum {
  label: string;
  value: number;
  color?: string;
  /** Text printed after the bar; default the formatted value. */
  valueLabel?: string;
}

/** Options of {@link barChart}. */
export interface BarChartOptions {
  id: string;
  title: string;
  bars: readonly BarDatum[];
  /** Value of a full-length bar. Default the largest value. */
  max?: number;
  width?: number;
  format?: (v: number) => string;
}

/**
 * Horizontal bars with labels on the left and values on the right (hit rates, error counts).
 *
 * @example
 * ```ts
 * barChart({ id: 'hits', title: 'Cache hit rate', max: 1, bars: [{ label: 'llm', value: 0.8 }] });
 * ```
 */
export function barChart(o: BarChartOptions): string {
  const width = o.width ?? 640;
  const rowH = 22;
  const top = 28;
  let longest = 0;
  for (const b of o.bars) longest = Math.max(longest, b.label.length * 6.6 + 12);
  const labelW = Math.min(220, Math.max(60, longest));
  const valueW = 90;
  const height = top + o.bars.length * rowH + 8;
  const max = o.max ?? Math.max(1e-9, extent(o.bars.map((b) => b.value))[1]);
  const x = linearScale([0, max], [labelW, width - valueW]);
  const fmt = o.format ?? formatTick;
  const rows: string[] = [];
  let marks = 0;
  o.bars.forEach((b, i) => {
    const yTop = top + i * rowH;
    const w = Math.max(1, x(Math.min(b.value, max)) - labelW);
    rows.push(
      el('text', { x: labelW - 8, y: yTop + 14, 'text-anchor': 'end', fill: '#333' }, esc(b.label)),
      el('rect', { x: labelW, y: yTop + 3, width: x(max) - labelW, height: rowH - 8, fill: '#f1f1f1' }),
      el(
        'rect',
        {
          class: 'mark',
          x: labelW,
          y: yTop + 3,
          width: w,
          height: rowH - 8,
          fill: b.color ?? PALETTE[0]!,
          'data-label': b.label,
        },
        el('title', {}, esc(`${b.label}: ${b.valueLabel ?? fmt(b.value)}`)),
      ),
      el('text', { x: x(max) + 6, y: yTop + 14, fill: '#333' }, esc(b.valueLabel ?? fmt(b.value))),
    );
    marks++;
  });
  const title = el('text', { x: 0, y: 16, 'font-size': 13, 'font-weight': 600, fill: '#222' }, esc(o.title));
  return svgRoot(o.id, o.title, 'bar', width, height, marks, title + el('g', { class: 'marks' }, rows));
}

/** One span of a {@link waterfallChart}, in ms from the end of the user's speech. */
export interface WaterfallRow {
  label: string;
  /** Stage name, for the colour (`stt`, `llm`, `tool:x`, `tts`...). */
  stage: string;
  startMs: number;
  endMs: number;
  /** First output (first token, first audio byte): drawn as the end of the solid part. */
  firstOutputMs?: number;
  /** On the path the first audio waited on: drawn with a dark outline. */
  critical?: boolean;
  note?: string;
}

/** One step of the critical path strip under the waterfall. */
export interface WaterfallStep {
  name: string;
  startMs: number;
  endMs: number;
  detail?: string;
}

/** Options of {@link waterfallChart}. */
/** A vertical marker of a {@link waterfallChart} (first audio, last audio...). */
export interface WaterfallMarker {
  label: string;
  ms: number;
  color?: string;
}

export interface WaterfallChartOptions {
  id: string;
  title: string;
  rows: readonly WaterfallRow[];
  /** Steps that tile end-of-speech → first audio. */
  criticalPath?: readonly WaterfallStep[];
  /** Vertical markers (first audio, last audio). */
  markers?: readonly WaterfallMarker[];
  width?: number;
}

/**
 * The waterfall of one turn: a row per stage call (solid up to its first output, lighter to
 * its end; bold outline on the critical path) and, underneath, the critical path to the first
 * audio as one stacked strip.
 */
export function waterfallChart(o: WaterfallChartOptions): string {
  const width = o.width ?? 640;
  const rowH = 18;
  const labelW = 150;
  const steps = o.criticalPath ?? [];
  const stripH = steps.length ? 34 : 0;
  const axisH = 28;
  let end = 1;
  for (const r of o.rows) end = Math.max(end, r.endMs);
  for (const mk of o.markers ?? []) end = Math.max(end, mk.ms);
  for (const st of steps) end = Math.max(end, st.endMs);
  const ticks = niceTicks(0, end, 5);
  // Room on the right for half of the last tick label.
  const x = linearScale([0, ticks[ticks.length - 1]!], [labelW, width - 22]);
  // Marker labels ("first audio 386 ms", "last audio 475 ms") go in stacked lanes so two close
  // markers never print over each other; the chart grows by one line per extra lane.
  const placed = placeMarkerLabels(o.markers ?? [], x, width);
  const laneCount = placed.reduce((n, p) => Math.max(n, p.lane + 1), 1);
  const top = 28 + (laneCount - 1) * 13;
  const height = top + o.rows.length * rowH + stripH + axisH;
  const parts: string[] = [];
  let marks = 0;
  parts.push(el('text', { x: 0, y: 16, 'font-size': 13, 'font-weight': 600, fill: '#222' }, esc(o.title)));
  const bottom = top + o.rows.length * rowH + stripH;
  const grid: string[] = [];
  for (const t of ticks) {
    grid.push(
      el('line', { x1: x(t), x2: x(t), y1: top, y2: bottom, stroke: '#eee' }),
      el('text', { x: x(t), y: bottom + 14, 'text-anchor': 'middle', fill: '#555' }, esc(`${formatTick(t)}`)),
    );
  }
  grid.push(
    el(
      'text',
      { x: width - 12, y: bottom + 26, 'text-anchor': 'end', fill: '#555' },
      'ms after end of speech',
    ),
  );
  parts.push(el('g', { class: 'grid' }, grid));
  const rows: string[] = [];
  o.rows.forEach((r, i) => {
    const yTop = top + i * rowH;
    const color = stageColor(r.stage);
    const x0 = x(r.startMs);
    const x1 = Math.max(x0 + 1.5, x(r.endMs));
    const xf = r.firstOutputMs === undefined ? x1 : Math.min(x1, Math.max(x0, x(r.firstOutputMs)));
    const tip = `${r.label}: ${r.startMs.toFixed(1)} → ${r.endMs.toFixed(1)} ms${r.firstOutputMs === undefined ? '' : `, first output at ${r.firstOutputMs.toFixed(1)} ms`}${r.note ? ` (${r.note})` : ''}`;
    rows.push(
      el(
        'text',
        {
          x: labelW - 6,
          y: yTop + 12.5,
          'text-anchor': 'end',
          fill: r.critical ? '#000' : '#444',
          'font-weight': r.critical ? 600 : undefined,
        },
        esc(r.label),
      ),
    );
    const g: string[] = [el('title', {}, esc(tip))];
    if (xf > x0) g.push(el('rect', { x: x0, y: yTop + 3, width: xf - x0, height: rowH - 6, fill: color }));
    if (x1 > xf)
      g.push(
        el('rect', {
          x: xf,
          y: yTop + 3,
          width: x1 - xf,
          height: rowH - 6,
          fill: color,
          'fill-opacity': 0.35,
        }),
      );
    if (r.critical) {
      g.push(
        el('rect', {
          x: x0,
          y: yTop + 3,
          width: x1 - x0,
          height: rowH - 6,
          fill: 'none',
          stroke: '#000',
          'stroke-width': 1.5,
        }),
      );
    }
    rows.push(el('g', { class: 'mark', 'data-stage': r.stage }, g));
    marks++;
  });
  parts.push(el('g', { class: 'marks' }, rows));
  if (steps.length) {
    const yTop = top + o.rows.length * rowH + 8;
    const strip: string[] = [
      el(
        'text',
        { x: labelW - 6, y: yTop + 13, 'text-anchor': 'end', fill: '#000', 'font-weight': 600 },
        'first audio waited on',
      ),
    ];
    for (const s of steps) {
      const x0 = x(s.startMs);
      const w = Math.max(1, x(s.endMs) - x0);
      strip.push(
        el(
          'rect',
          {
            class: 'mark',
            x: x0,
            y: yTop,
            width: w,
            height: 18,
            fill: stageColor(s.name),
            stroke: '#fff',
            'stroke-width': 1,
            'data-step': s.name,
          },
          el(
            'title',
            {},
            esc(`${s.name}: ${(s.endMs - s.startMs).toFixed(1)} ms${s.detail ? ` (${s.detail})` : ''}`),
          ),
        ),
      );
      marks++;
      if (w > s.name.length * 6 + 6) {
        strip.push(
          el(
            'text',
            { x: x0 + w / 2, y: yTop + 13, 'text-anchor': 'middle', fill: '#fff', 'font-size': 10 },
            esc(s.name),
          ),
        );
      }
    }
    parts.push(el('g', { class: 'critical-path' }, strip));
  }
  for (const { mk, px, label, leftward, lane } of placed) {
    const c = mk.color ?? '#c00';
    parts.push(
      el('g', { class: 'marker', 'data-lane': lane }, [
        el('line', {
          x1: px,
          x2: px,
          y1: top - 4 - lane * 13,
          y2: bottom,
          stroke: c,
          'stroke-dasharray': '4 2',
        }),
        el(
          'text',
          {
            x: leftward ? px - 3 : px + 3,
            y: top - 6 - lane * 13,
            fill: c,
            'text-anchor': leftward ? 'end' : undefined,
          },
          esc(label),
        ),
      ]),
    );
  }
  return svgRoot(o.id, o.title, 'waterfall', width, height, marks, parts.join(''));
}
