import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { headers, pairs, parseCommand, thinkTime } from '../../src/cli/args.js';
import { demoSpec } from '../../src/cli/commands/demo.js';
import { ProgressLine, styleFor, wantsColor } from '../../src/cli/output.js';
import { InvalidArgumentError } from '../../src/errors.js';

function fakeStream(tty: boolean, colors = true) {
  const s = new PassThrough() as PassThrough & {
    isTTY?: boolean;
    columns?: number;
    hasColors?: () => boolean;
  };
  let out = '';
  s.on('data', (d: Buffer) => {
    out += d.toString();
  });
  if (tty) {
    s.isTTY = true;
    s.columns = 60;
    s.hasColors = () => colors;
  }
  return { stream: s, text: () => out };
}

describe('colour', () => {
  it('is used on a TTY that has colours, and never with NO_COLOR or off a TTY', () => {
    expect(wantsColor(fakeStream(true).stream, {})).toBe(true);
    expect(wantsColor(fakeStream(true, false).stream, {})).toBe(false);
    expect(wantsColor(fakeStream(true).stream, { NO_COLOR: '1' })).toBe(false);
    expect(wantsColor(fakeStream(false).stream, {})).toBe(false);
    expect(wantsColor(fakeStream(false).stream, { FORCE_COLOR: '1' })).toBe(true);
    expect(wantsColor(fakeStream(false).stream, { FORCE_COLOR: '0' })).toBe(false);
  });

  it('styleFor leaves text alone when colour is off', () => {
    expect(styleFor(fakeStream(false).stream, {})('fail', 'FAIL')).toBe('FAIL');
    expect(styleFor(fakeStream(true).stream, {})('fail', 'FAIL')).not.toBe('FAIL');
  });
});

describe('ProgressLine', () => {
  it('rewrites one status line in place on a TTY, cut to the terminal width', async () => {
    const { stream, text } = fakeStream(true);
    const p = new ProgressLine(stream);
    p.update('x'.repeat(100), 0);
    p.update('second', 100);
    p.clear();
    await new Promise((r) => setImmediate(r));
    expect(text()).not.toContain('\n');
    expect(text()).toContain('x'.repeat(59));
    expect(text()).not.toContain('x'.repeat(60));
    expect(text()).toContain('second');
  });

  it('prints plain lines no more often than asked off a TTY', async () => {
    const { stream, text } = fakeStream(false);
    const p = new ProgressLine(stream, { plainEveryMs: 1000 });
    p.update('a', 0);
    p.update('b', 500);
    p.update('c', 1000);
    await new Promise((r) => setImmediate(r));
    expect(text()).toBe('a\nc\n');
  });

  it('prints nothing with quiet', async () => {
    const { stream, text } = fakeStream(true);
    const p = new ProgressLine(stream, { quiet: true });
    p.update('a', 0);
    p.update('b', 10_000);
    await new Promise((r) => setImmediate(r));
    expect(text()).toBe('');
  });
});

describe('argument parsing', () => {
  it('parses a command with util.parseArgs and rejects extra positionals', () => {
    expect(parseCommand(demoSpec, ['--turns', '5', '--json']).values).toMatchObject({
      turns: '5',
      json: true,
    });
    expect(() => parseCommand(demoSpec, ['extra'])).toThrow(/Unexpected argument "extra"/);
    expect(() => parseCommand(demoSpec, ['--turns'])).toThrow(InvalidArgumentError);
  });

  it('reads name=value pairs, headers and think times', () => {
    expect(pairs({ target: ['stt=100', 'tool:get_load_status=40.5'] }, 'target', 'operation')).toEqual({
      stt: 100,
      'tool:get_load_status': 40.5,
    });
    expect(() => pairs({ target: ['stt=-1'] }, 'target', 'operation')).toThrow(InvalidArgumentError);
    expect(headers({ header: ['Authorization: Bearer x:y'] }, 'header')).toEqual({
      Authorization: 'Bearer x:y',
    });
    expect(thinkTime({ t: '1s-3s' }, 't')).toEqual([1000, 3000]);
    expect(thinkTime({ t: '0' }, 't')).toBe(0);
    expect(() => thinkTime({ t: '3s-1s' }, 't')).toThrow(/low to high/);
  });
});
