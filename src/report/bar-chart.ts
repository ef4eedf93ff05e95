/**
 * The horizontal bar chart: labels on the left, values on the right (hit rates, error counts).
 * @module
 */

import { PALETTE } from './chart-colors.js';
import { extent } from './chart-data.js';
import { svgRoot } from './chart-frame.js';
import { formatTick, linearScale } from './scales.js';
import { el, esc } from './svg.js';

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
