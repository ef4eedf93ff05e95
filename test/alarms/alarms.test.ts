import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, InvalidArgumentError } from '../../src/errors.js';
import { type AlarmTransition, createLatencyAlarm } from '../../src/perf/alarms.js';
import { PerformanceMonitor } from '../../src/perf/index.js';

function recordPeriod(
  m: PerformanceMonitor,
  op: string,
  ms: number,
  n = 20,
  labels?: Record<string, string>,
): void {
  for (let i = 0; i < n; i++) m.record(op, ms, labels);
}

afterEach(() => {
  vi.useRealTimers();
});

describe('latency alarms', () => {
  it('goes to ALARM when P90 stays above 500 ms for 2 periods, and back to OK after (the source design)', () => {
    const m = new PerformanceMonitor();
    const changes: AlarmTransition[] = [];
    const alarm = createLatencyAlarm(m, {
      operation: 'e2e',
      percentile: 90,
      thresholdMs: 500,
      evaluationPeriods: 2,
      periodSeconds: 60,
      onChange: (t) => changes.push(t),
    });
    expect(alarm.state).toBe('INSUFFICIENT_DATA');
    recordPeriod(m, 'e2e', 700);
    alarm.evaluate();
    expect(alarm.state).toBe('OK'); // one breaching period is not two
    recordPeriod(m, 'e2e', 650);
    const dp = alarm.evaluate();
    expect(dp.breaching).toBe(true);
    expect(alarm.state).toBe('ALARM');
    recordPeriod(m, 'e2e', 300);
    alarm.evaluate();
    expect(alarm.state).toBe('OK');
    expect(changes.map((c) => `${c.previousState}→${c.state}`)).toEqual([
      'INSUFFICIENT_DATA→OK',
      'OK→ALARM',
      'ALARM→OK',
    ]);
    expect(changes[1]?.reason).toContain('P90 of e2e above 500 ms in 2 of the last 2 period(s)');
    expect(changes[1]?.datapoint.valueMs).toBeCloseTo(650, 0);
  });

  it('emits alarm and ok events only on the transitions that matter for paging', () => {
    const m = new PerformanceMonitor();
    const alarm = createLatencyAlarm(m, { operation: 'llm', thresholdMs: 300 });
    const events: string[] = [];
    alarm.on('alarm', () => events.push('alarm'));
    alarm.on('ok', () => events.push('ok'));
    recordPeriod(m, 'llm', 100);
    alarm.evaluate(); // INSUFFICIENT_DATA → OK: not a recovery
    recordPeriod(m, 'llm', 400);
    alarm.evaluate();
    recordPeriod(m, 'llm', 450);
    alarm.evaluate(); // still ALARM: no second event
    recordPeriod(m, 'llm', 100);
    alarm.evaluate();
    expect(events).toEqual(['alarm', 'ok']);
  });

  it('does not judge a period with fewer samples than minSamples', () => {
    const m = new PerformanceMonitor();
    const alarm = createLatencyAlarm(m, { operation: 'tts', thresholdMs: 100, minSamples: 5 });
    recordPeriod(m, 'tts', 2000, 4);
    const dp = alarm.evaluate();
    expect(dp).toMatchObject({ count: 4, valueMs: null, breaching: null });
    expect(alarm.state).toBe('INSUFFICIENT_DATA');
    recordPeriod(m, 'tts', 2000, 5);
    alarm.evaluate();
    expect(alarm.state).toBe('ALARM');
    alarm.evaluate(); // an empty period keeps the state by default
    expect(alarm.state).toBe('ALARM');
  });

  it('can treat a quiet period as not breaching', () => {
    const m = new PerformanceMonitor();
    const alarm = createLatencyAlarm(m, {
      operation: 'tts',
      thresholdMs: 100,
      treatMissingData: 'notBreaching',
    });
    recordPeriod(m, 'tts', 2000);
    alarm.evaluate();
    expect(alarm.state).toBe('ALARM');
    alarm.evaluate();
    expect(alarm.state).toBe('OK');
  });

  it('raises on M of N breaching datapoints', () => {
    const m = new PerformanceMonitor();
    const alarm = createLatencyAlarm(m, {
      operation: 'stt',
      thresholdMs: 100,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
    });
    for (const [ms, state] of [
      [200, 'OK'],
      [50, 'OK'],
      [200, 'ALARM'], // 200 50 200
      [200, 'ALARM'], // 50 200 200
      [50, 'ALARM'], // 200 200 50
      [50, 'OK'], // 200 50 50
    ] as const) {
      recordPeriod(m, 'stt', ms);
      alarm.evaluate();
      expect(alarm.state, `after ${ms}`).toBe(state);
    }
  });

  it('only looks at series whose labels match', () => {
    const m = new PerformanceMonitor();
    const alarm = createLatencyAlarm(m, {
      operation: 'llm',
      thresholdMs: 300,
      labels: { provider: 'openai' },
    });
    recordPeriod(m, 'llm', 100, 20, { provider: 'openai' });
    recordPeriod(m, 'llm', 5000, 20, { provider: 'other' });
    expect(alarm.evaluate()).toMatchObject({ count: 20, breaching: false });
  });

  it('ignores what was recorded before the alarm was created', () => {
    const m = new PerformanceMonitor();
    recordPeriod(m, 'e2e', 9000);
    const alarm = createLatencyAlarm(m, { operation: 'e2e', thresholdMs: 500 });
    recordPeriod(m, 'e2e', 100);
    expect(alarm.evaluate()).toMatchObject({ count: 20, breaching: false });
  });

  it('keeps calling other listeners when one throws, and warns', () => {
    const m = new PerformanceMonitor();
    const alarm = createLatencyAlarm(m, { operation: 'e2e', thresholdMs: 500 });
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const seen: string[] = [];
    alarm.on('change', () => {
      throw new Error('pager down');
    });
    alarm.on('change', (t) => seen.push(t.state));
    recordPeriod(m, 'e2e', 900);
    alarm.evaluate();
    expect(seen).toEqual(['ALARM']);
    expect(String(warn.mock.calls[0]?.[0])).toContain('pager down');
    warn.mockRestore();
  });

  it('evaluates once per period on a timer after start()', () => {
    vi.useFakeTimers();
    const m = new PerformanceMonitor();
    const alarm = createLatencyAlarm(m, { operation: 'e2e', thresholdMs: 500, periodSeconds: 60 }).start();
    recordPeriod(m, 'e2e', 900);
    vi.advanceTimersByTime(59_000);
    expect(alarm.state).toBe('INSUFFICIENT_DATA');
    vi.advanceTimersByTime(1_000);
    expect(alarm.state).toBe('ALARM');
    alarm.stop();
    recordPeriod(m, 'e2e', 100);
    vi.advanceTimersByTime(120_000);
    expect(alarm.state).toBe('ALARM');
  });

  it('rejects inconsistent options with a ConfigError listing each field', () => {
    try {
      createLatencyAlarm(new PerformanceMonitor(), {
        operation: 'e2e',
        thresholdMs: -1,
        evaluationPeriods: 2,
        datapointsToAlarm: 3,
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues.map((i) => i.path).sort()).toEqual([
        'datapointsToAlarm',
        'thresholdMs',
      ]);
    }
    expect(() => createLatencyAlarm({} as PerformanceMonitor, { operation: 'x', thresholdMs: 1 })).toThrow(
      InvalidArgumentError,
    );
  });
});
