/**
 * The turn waterfalls of the HTML report: a saved turn's spans as waterfall rows, in a card.
 * @module
 */
import type { SavedWaterfall } from '../loadtest/run-file.js';
import { type WaterfallRow, waterfallChart } from './charts.js';
import { formatMs } from './format.js';
import { el, esc } from './svg.js';

function waterfallRows(w: SavedWaterfall): WaterfallRow[] {
  const critical = new Set((w.criticalPath ?? []).map((s) => s.spanId).filter((x) => x !== undefined));
  return w.spans.map((s) => {
    const row: WaterfallRow = {
      label:
        s.name +
        (s.sentenceIndex !== undefined ? ` #${s.sentenceIndex}` : '') +
        (s.round !== undefined && s.name === 'llm' ? ` r${s.round}` : '') +
        (s.cached ? ' (cached)' : ''),
      stage: s.name,
      startMs: s.startMs,
      endMs: s.endMs,
      critical: critical.has(s.id),
    };
    if (s.firstOutputMs !== undefined) row.firstOutputMs = s.firstOutputMs;
    if (s.outcome && s.outcome !== 'ok') row.note = s.outcome;
    return row;
  });
}

export function waterfallCard(
  id: string,
  heading: string,
  w: SavedWaterfall | undefined,
  width: number,
): string {
  if (!w) return '';
  const ttfa = w.timeToFirstAudioMs ?? w.marks?.firstAudioMs;
  const markers: { label: string; ms: number; color?: string }[] = [];
  if (ttfa !== undefined) markers.push({ label: 'first audio', ms: ttfa, color: '#b3261e' });
  const last = w.e2eMs ?? w.marks?.lastAudioMs;
  if (last !== undefined && (ttfa === undefined || last - ttfa > 40))
    markers.push({ label: 'last audio', ms: last, color: '#555' });
  const chart = waterfallChart({
    id,
    title: `${heading}${ttfa !== undefined ? `: first audio after ${formatMs(ttfa)} ms` : ''}${w.cached ? ' (cached answer)' : ''}`,
    rows: waterfallRows(w),
    criticalPath: (w.criticalPath ?? []).map((s) => {
      const step: { name: string; startMs: number; endMs: number; detail?: string } = {
        name: s.name,
        startMs: s.startMs,
        endMs: s.endMs,
      };
      if (s.detail !== undefined) step.detail = s.detail;
      return step;
    }),
    markers,
    width,
  });
  const steps = w.criticalPath ?? [];
  const dur = (s: (typeof steps)[number]) => s.durationMs ?? s.endMs - s.startMs;
  // Sub-millisecond hand-overs between stages are real but noise in a sentence: sum them up.
  const small = steps.filter((s) => s.name === 'overhead' && dur(s) < 1);
  const smallMs = small.reduce((a, s) => a + dur(s), 0);
  const words = steps
    .filter((s) => !small.includes(s))
    .map(
      (s) =>
        `${esc(s.name)} ${esc(formatMs(dur(s)))} ms${s.detail ? ` <span class="muted">(${esc(s.detail)})</span>` : ''}`,
    )
    .join(' → ');
  const path = steps.length
    ? el(
        'p',
        { class: 'path' },
        `<b>What the first audio waited on:</b> ${words}${small.length ? ` <span class="muted">(+ ${esc(formatMs(smallMs))} ms of hand-overs between stages)</span>` : ''}`,
      )
    : el('p', { class: 'muted' }, 'No critical path recorded for this turn.');
  return el('div', { class: 'card', style: 'margin-bottom:12px' }, chart + path);
}
