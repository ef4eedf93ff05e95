import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import {
  formatDuration,
  LOAD_PRESETS,
  loadPreset,
  parseDuration,
  parseRate,
} from '../../src/loadtest/index.js';

describe('presets', () => {
  it('are the source design load levels: light 10/2, medium 50/5, heavy 100/10, stress 200/20', () => {
    expect(LOAD_PRESETS).toEqual({
      light: { users: 10, spawnRate: 2 },
      medium: { users: 50, spawnRate: 5 },
      heavy: { users: 100, spawnRate: 10 },
      stress: { users: 200, spawnRate: 20 },
    });
  });

  it('an unknown preset is an InvalidArgumentError that lists the presets', () => {
    expect(() => loadPreset('extreme')).toThrow(InvalidArgumentError);
    expect(() => loadPreset('extreme')).toThrow(/light \(10 users, 2\/s\).*stress \(200 users, 20\/s\)/);
  });
});

describe('parseDuration', () => {
  it('reads Locust-style durations in ms', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('90')).toBe(90_000);
  });

  it.each(['', 'abc', '5x', '-3s', '0s', '1m 5', 's', '5mm'])('rejects %j with an explanation', (text) => {
    expect(() => parseDuration(text)).toThrow(/e\.g\. 500ms, 30s, 5m/);
  });

  it('round-trips whole seconds and minutes through formatDuration', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 59 }), fc.integer({ min: 0, max: 59 }), (m, s) => {
        const ms = m * 60_000 + s * 1000;
        expect(parseDuration(formatDuration(ms))).toBe(ms);
      }),
    );
  });
});

describe('parseRate', () => {
  it('reads per-second and per-minute rates', () => {
    expect(parseRate('20')).toBe(20);
    expect(parseRate('20/s')).toBe(20);
    expect(parseRate('0.5/s')).toBe(0.5);
    expect(parseRate('1200/m')).toBe(20);
    expect(parseRate('3600/h')).toBe(1);
  });

  it.each(['', 'fast', '0/s', '-1/s', '20/d', '20 per s'])('rejects %j', (text) => {
    expect(() => parseRate(text)).toThrow(InvalidArgumentError);
  });
});
