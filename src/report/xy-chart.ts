/**
 * The XY chart: lines, steps, areas and bars against a linear or percentile x axis, with an
 * optional right axis, horizontal guides and a legend.
 * @module
 */

import { PALETTE } from './chart-colors.js';
import { extent, minGap, thinPoints } from './chart-data.js';
import { fittedTitle, svgRoot, textWidth } from './chart-frame.js';
import { formatTick, linearScale, niceTicks, percentileTicks, percentileToAxis } from './scales.js';
import { coord, el, esc, polylinePath, stepPath } from './svg.js';

/** One series of an {@link xyChart}, in data coordinates. */
export interface XYSeries {
  name: string;
  points: readonly (readonly [number, number])[];
  color?: string;
  /**
   * `line` (default), `step` (holds each value until the next point), `area` (filled step),
   * `bars`, or `dots` (faint unconnected points: raw values behind a smoothed line).
   */
  style?: 'line' | 'step' | 'area' | 'bars' | 'dots';
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
  const legend = o.series.length > 1 ? legendLayout(o.series, width) : [];
  const legendRows = legend.length === 0 ? 0 : legend[legend.length - 1]!.row + 1;
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
    // Rotated clockwise, the glyphs rise to the right of gx: 12 px keeps them inside.
    const gx = width - 12;
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
  const order = (s: XYSeries) =>
    s.style === 'area' ? 0 : s.style === 'bars' ? 1 : s.style === 'dots' ? 2 : 3;
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
    if (s.style === 'dots') {
      // One path of zero-length segments with round caps: a dot per point, one mark.
      const d = pts.map(([px, py]) => `M${coord(px)} ${coord(py)}h0`).join('');
      marksOut.push(
        el(
          'path',
          {
            class: 'mark',
            d,
            fill: 'none',
            stroke: color,
            'stroke-width': 4,
            'stroke-linecap': 'round',
            'stroke-opacity': 0.35,
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
  // Guides go under the marks: a curve crossing a guide's label stays visible over its halo.
  const guidesOut: string[] = [];
  for (const g of o.guides ?? []) {
    const py = y(g.y);
    const c = g.color ?? '#c00';
    guidesOut.push(
      el('g', { class: 'guide' }, [
        el('line', { x1: m.left, x2: m.left + pw, y1: py, y2: py, stroke: c, 'stroke-dasharray': '3 3' }),
        // Above the line, or below it when the line is at the top of the plot (the label would
        // run into the title); a white halo keeps it legible where a curve crosses it.
        el(
          'text',
          {
            x: m.left + pw - 2,
            y: py - 14 < m.top ? py + 12 : py - 3,
            'text-anchor': 'end',
            fill: c,
            stroke: '#fff',
            'stroke-width': 3,
            'paint-order': 'stroke',
          },
          esc(g.label),
        ),
      ]),
    );
  }
  parts.push(el('g', { class: 'guides' }, guidesOut), el('g', { class: 'marks' }, marksOut));

  if (legendRows) {
    const items: string[] = [];
    o.series.forEach((s, i) => {
      const color = s.color ?? PALETTE[i % PALETTE.length]!;
      const { x: lx, row, label } = legend[i]!;
      const ly = 30 + row * 14;
      const sw =
        s.style === 'bars' || s.style === 'area'
          ? el('rect', {
              x: lx,
              y: ly - 4,
              width: 12,
              height: 8,
              fill: color,
              'fill-opacity': s.style === 'area' ? 0.3 : 0.75,
            })
          : s.style === 'dots'
            ? el('circle', { cx: lx + 6, cy: ly, r: 2.5, fill: color, 'fill-opacity': 0.45 })
            : el('line', {
                x1: lx,
                x2: lx + 12,
                y1: ly,
                y2: ly,
                stroke: color,
                'stroke-width': 2,
                'stroke-dasharray': s.dashed ? '4 2' : undefined,
              });
      items.push(sw, el('text', { x: lx + 16, y: ly + 4, fill: '#333' }, esc(label)));
    });
    parts.push(el('g', { class: 'legend' }, items));
  }
  return svgRoot(o.id, o.title, isPct ? 'percentile' : 'xy', width, height, marks, parts.join(''));
}

/** Legend items left to right, wrapped onto another row when the next would pass the chart's width. */
function legendLayout(
  series: readonly XYSeries[],
  width: number,
): { x: number; row: number; label: string }[] {
  const out: { x: number; row: number; label: string }[] = [];
  const left = 54;
  let x = left;
  let row = 0;
  for (const s of series) {
    const label = `${s.name}${s.axis === 'right' ? ' (right axis)' : ''}`;
    const w = 16 + textWidth(label);
    if (x > left && x + w > width - 4) {
      row++;
      x = left;
    }
    out.push({ x, row, label });
    x += w + 14;
  }
  return out;
}
