/**
 * The turn waterfall: a row per stage call, the critical path to the first audio as a strip
 * underneath, and vertical markers whose labels stack in lanes so they never overlap.
 * @module
 */
import { stageColor } from './chart-colors.js';
import { fittedTitle, svgRoot, textWidth } from './chart-frame.js';
import { formatTick, linearScale, niceTicks } from './scales.js';
import { el, esc } from './svg.js';

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

/** A vertical marker of a {@link waterfallChart} (first audio, last audio...). */
interface WaterfallMarker {
  label: string;
  ms: number;
  color?: string;
}

/** Options of {@link waterfallChart}. */
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
 * The waterfall of one turn: a row per stage call (solid up to its first output, lighter to
 * its end; bold outline on the critical path) and, underneath, the critical path to the first
 * audio as one stacked strip.
 */
export function waterfallChart(o: WaterfallChartOptions): string {
  const width = o.width ?? 640;
  const rowH = 18;
  const steps = o.criticalPath ?? [];
  // The label column fits the longest row label (bold ones are ~8 % wider), up to 40 % of the
  // chart; a label still too long is cut with an ellipsis (the full name is in the tooltip).
  const boldW = (t: string) => textWidth(t) * 1.08;
  let longest = steps.length ? boldW('first audio waited on') : 0;
  for (const r of o.rows) longest = Math.max(longest, r.critical ? boldW(r.label) : textWidth(r.label));
  const labelW = Math.round(Math.min(width * 0.4, Math.max(150, longest + 12)));
  const fitLabel = (t: string, bold: boolean) => {
    const per = bold ? 11 * 0.6 * 1.08 : 11 * 0.6;
    const room = Math.floor((labelW - 10) / per);
    return t.length <= room ? t : `${t.slice(0, Math.max(1, room - 1))}…`;
  };
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
  // Lane 0 sits below the title (its glyphs would touch the title's descenders at 28).
  const top = 34 + (laneCount - 1) * 13;
  const height = top + o.rows.length * rowH + stripH + axisH;
  const parts: string[] = [];
  let marks = 0;
  parts.push(fittedTitle(o.title, 0, width - 4));
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
        esc(fitLabel(r.label, r.critical === true)),
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
