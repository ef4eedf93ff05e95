import { afterEach, describe, expect, it, vi } from 'vitest';
import { MetricSink } from '../../src/pipeline/timeline.js';

afterEach(() => vi.restoreAllMocks());

describe('MetricSink (issue 15, item 21)', () => {
  it('never throws when the monitor refuses a sample, counts it, and warns once', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const sink = new MetricSink({
      record() {
        throw new Error('cardinality limit');
      },
    });
    expect(() => sink.record('stt', 12, { provider: 'fake' })).not.toThrow();
    expect(() => sink.record('tts', 3, { provider: 'fake' })).not.toThrow();
    expect(sink.dropped).toBe(2);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toContain('cardinality limit');
    expect(warn.mock.calls[0]?.[1]).toMatchObject({ code: 'EARSHOT_METRIC_DROPPED' });
  });

  it('records into a monitor that accepts, with no warning', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const seen: [string, number][] = [];
    const sink = new MetricSink({ record: (name: string, ms: number) => void seen.push([name, ms]) });
    sink.record('stt', 12, { provider: 'fake' });
    expect(seen).toEqual([['stt', 12]]);
    expect(sink.dropped).toBe(0);
    expect(warn).not.toHaveBeenCalled();
  });
});
