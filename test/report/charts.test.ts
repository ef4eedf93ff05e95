import { describe, expect, it } from 'vitest';
import { barChart, stageColor, waterfallChart, xyChart } from '../../src/report/index.js';

const marks = (svg: string) => (svg.match(/class="mark"/g) ?? []).length;
const declared = (svg: string) => Number(/data-marks="(\d+)"/.exec(svg)?.[1]);

describe('xyChart', () => {
  it('draws one mark per line and one per bar, and says how many', () => {
    const svg = xyChart({
      id: 'c',
      title: 'latency',
      series: [
        {
          name: 'P50',
          points: [
            [0, 1],
            [1, 2],
            [2, 3],
          ],
        },
        {
          name: 'done/s',
          style: 'bars',
          points: [
            [0, 5],
            [1, 6],
            [2, 7],
          ],
        },
        {
          name: 'users',
          style: 'area',
          axis: 'right',
          points: [
            [0, 1],
            [2, 4],
          ],
        },
      ],
    });
    expect(marks(svg)).toBe(1 + 3 + 1);
    expect(declared(svg)).toBe(5);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" class="chart"/);
  });

  it('escapes titles and series names', () => {
    const svg = xyChart({
      id: 'x',
      title: '<script>alert(1)</script>',
      series: [
        {
          name: 'a"&b',
          points: [
            [0, 1],
            [1, 1],
          ],
        },
        { name: 'c', points: [[0, 2]] },
      ],
    });
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;script&gt;');
    expect(svg).toContain('a&quot;&amp;b');
  });

  it('puts percentile ticks on a percentile axis and draws the target guide without counting it', () => {
    const svg = xyChart({
      id: 'p',
      title: 'stt',
      xAxis: 'percentile',
      series: [
        {
          name: 'stt',
          points: [
            [0, 10],
            [50, 20],
            [90, 40],
            [99, 80],
          ],
        },
      ],
      guides: [{ y: 100, label: 'target' }],
    });
    expect(svg).toContain('>P90<');
    expect(svg).toContain('>P99<');
    expect(svg).toContain('class="guide"');
    expect(declared(svg)).toBe(1);
  });

  it('skips points that are not finite', () => {
    const svg = xyChart({
      id: 'n',
      title: 't',
      series: [
        {
          name: 'a',
          points: [
            [0, Number.NaN],
            [1, 2],
            [2, 3],
          ],
        },
      ],
    });
    expect(svg).not.toContain('NaN');
  });
});

describe('barChart', () => {
  it('draws a bar per datum with its label and value', () => {
    const svg = barChart({
      id: 'b',
      title: 'hits',
      max: 1,
      format: (v) => `${v * 100}%`,
      bars: [
        { label: 'llm', value: 0.5 },
        { label: 'tts', value: 1 },
      ],
    });
    expect(declared(svg)).toBe(2);
    expect(marks(svg)).toBe(2);
    expect(svg).toContain('>50%<');
    expect(svg).toContain('data-label="tts"');
  });
});

describe('waterfallChart', () => {
  it('draws a row per span and a block per critical-path step', () => {
    const svg = waterfallChart({
      id: 'w',
      title: 'turn',
      rows: [
        { label: 'stt', stage: 'stt', startMs: 0, endMs: 80, critical: true },
        { label: 'llm', stage: 'llm', startMs: 80, endMs: 400, firstOutputMs: 200, critical: true },
        { label: 'tts #0', stage: 'tts', startMs: 250, endMs: 600, firstOutputMs: 330 },
      ],
      criticalPath: [
        { name: 'stt', startMs: 0, endMs: 80 },
        { name: 'llm_ttft', startMs: 80, endMs: 200 },
        { name: 'llm', startMs: 200, endMs: 250, detail: 'until sentence 0 complete' },
        { name: 'tts_ttfb', startMs: 250, endMs: 330 },
      ],
      markers: [{ label: 'first audio', ms: 330 }],
    });
    expect(declared(svg)).toBe(3 + 4);
    expect(marks(svg)).toBe(7);
    expect(svg).toContain('first audio 330 ms');
    expect(svg).toContain('until sentence 0 complete');
  });
});

describe('stageColor', () => {
  it('is stable and groups tools and cache steps', () => {
    expect(stageColor('tool:get_load_status')).toBe(stageColor('tool:list_loads'));
    expect(stageColor('cache:tts')).toBe(stageColor('cache:llm'));
    expect(stageColor('something')).toBe(stageColor('something'));
  });
});
