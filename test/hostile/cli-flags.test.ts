/**
 * Hostile command lines through the CLI's own dispatcher (`runCli`, in process): unknown and
 * repeated flags, bad values of every kind, odd positionals, for every command. Required: a
 * documented exit code (never 70, "a bug"), a message instead of a stack trace, no hang, no
 * prototype change. The run is already interrupted (aborted signal), so a valid command line
 * builds its target and stops at once instead of running a load test.
 *
 * Paths stay inside a temporary directory (the suite may run as root): no value lets the CLI
 * write outside it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bool, duration, int, num, pairs, parseCommand, rate, thinkTime } from '../../src/cli/args.js';
import { checkSpec } from '../../src/cli/commands/check.js';
import { demoSpec } from '../../src/cli/commands/demo.js';
import { loadSpec } from '../../src/cli/commands/load.js';
import { reportSpec } from '../../src/cli/commands/report.js';
import { runCli } from '../../src/cli/run.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { writeRunFile } from '../../src/loadtest/index.js';
import { closedFixture } from '../report/fixtures.js';
import { assertNoPollution, runs, timeoutFor, typedOutcomeSync, withinMs } from './helpers.js';

afterEach(() => assertNoPollution());

const DOCUMENTED_EXIT_CODES = [0, 1, 2, 3, 4, 130];
let dir: string;
let runJson: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'earshot-hostile-cli-'));
  runJson = JSON.stringify(await closedFixture());
});
beforeEach(async () => {
  // A valid run file for `report`, rewritten each time (a hostile --html may overwrite it).
  await writeRunFile(join(dir, 'run.json'), JSON.parse(runJson));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const SPECS = [demoSpec, loadSpec, checkSpec, reportSpec];
const ALL_FLAGS = [...new Set(SPECS.flatMap((s) => Object.keys(s.flags)))];

/** Values that stress the parsers (numbers, durations, rates, pairs, headers, URLs, paths). */
const hostileValue = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '-1',
    '0',
    '1',
    '3',
    '1e309',
    '-0',
    'NaN',
    'Infinity',
    '0x10',
    '1_000',
    '9'.repeat(40),
    '1.5',
    '.5',
    '10s',
    '5m',
    '1h30m',
    '500ms',
    '1.5s',
    '-5s',
    '1s-3s',
    '3s-1s',
    '1s-',
    '-',
    '--',
    '20/s',
    '1200/m',
    '0/s',
    '1e9/s',
    '/s',
    'abc',
    '\u0000',
    '\ud800',
    '\u202e',
    '=',
    'stt=',
    '=5',
    'stt=0',
    'stt=1e400',
    'stt=100',
    'loads=3',
    'nope=1',
    '__proto__=5',
    'constructor=1',
    'http://127.0.0.1:1/x',
    'http://user:pw@127.0.0.1:1/',
    'not a url',
    'ftp://127.0.0.1/',
    'http://[::1',
    'K: V',
    ':',
    'Authorization: Bearer sk-hostile',
    '__proto__',
    'constructor',
    'toString',
    'fake',
    'servers',
    'live',
    'auto',
    'instant',
    'sourceDesignAfter',
    'light',
    'stress',
    'poisson',
    'constant',
    'GET',
    'DELETE',
    'out.html',
    'sub/dir/out.json',
    '.',
    'run.json',
    '/dev/null',
  ),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
);

/** A command line: a command, then flags (with or without values), positionals and junk. */
const argv = fc
  .tuple(
    fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom('demo', 'load', 'check', 'report') },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          'help',
          '--help',
          '-h',
          '--version',
          'version',
          '-v',
          '',
          'nope',
          '--json',
        ),
      },
    ),
    fc.array(
      fc.oneof(
        {
          weight: 6,
          arbitrary: fc.tuple(fc.constantFrom(...ALL_FLAGS), hostileValue).map(([f, v]) => [`--${f}`, v]),
        },
        { weight: 2, arbitrary: fc.constantFrom(...ALL_FLAGS).map((f) => [`--${f}`]) },
        {
          weight: 1,
          arbitrary: fc.tuple(fc.constantFrom(...ALL_FLAGS), hostileValue).map(([f, v]) => [`--${f}=${v}`]),
        },
        {
          weight: 1,
          arbitrary: fc.constantFrom(
            ['-q'],
            ['-h'],
            ['-x'],
            ['--'],
            ['---'],
            ['--no-such-flag', '1'],
            ['-qq'],
            ['run.json'],
            ['missing.json'],
            ['/dev/zero'],
            ['.'],
          ),
        },
        { weight: 1, arbitrary: hostileValue.map((v) => [v]) },
      ),
      { maxLength: 6 },
    ),
    // Most valid lines would otherwise start the fake provider servers: keep that occasional.
    fc.constantFrom(['--providers', 'fake'], ['--providers', 'fake'], ['--providers', 'fake'], []),
  )
  .map(([cmd, parts, providers]) => {
    const tail = parts.flat();
    const line = cmd === '' ? tail : [cmd, ...tail];
    return cmd === 'report' ? line : [...line, ...providers];
  });

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => {
    text += d.toString();
  });
  return { stream, text: () => text };
}

describe('hostile command lines', () => {
  it('every command line ends with a documented exit code and a message, never a crash or a hang', {
    timeout: timeoutFor(180_000), // CLI subprocesses on a machine at load 40
  }, async () => {
    await fc.assert(
      fc.asyncProperty(argv, async (args) => {
        const out = sink();
        const err = sink();
        const controller = new AbortController();
        controller.abort('hostile test: do not run');
        const code = await withinMs(
          runCli(args, {
            streams: { stdout: out.stream, stderr: err.stream, env: { PATH: process.env.PATH } },
            signal: controller.signal,
            cwd: dir,
            version: '0.0.0-test',
          }),
          20_000,
          `earshot ${args.join(' ')}`,
        );
        const text = `${out.text()}\n${err.text()}`;
        expect(
          DOCUMENTED_EXIT_CODES,
          `exit ${code} for ${JSON.stringify(args)}:\n${text.slice(0, 2000)}`,
        ).toContain(code);
        expect(text).not.toMatch(/Unexpected error|\n\s+at .+:\d+:\d+/);
        assertNoPollution();
      }),
      runs(200),
    );
  });

  it('an output path that cannot be written is a usage error naming it, not a crash', {
    timeout: timeoutFor(20_000),
  }, async () => {
    const run = async (args: string[]) => {
      const out = sink();
      const err = sink();
      const code = await withinMs(
        runCli(args, {
          streams: { stdout: out.stream, stderr: err.stream, env: { PATH: process.env.PATH } },
          signal: new AbortController().signal,
          cwd: dir,
          version: '0.0.0-test',
        }),
        20_000,
        args.join(' '),
      );
      return { code, text: `${out.text()}${err.text()}` };
    };
    for (const bad of ['.', 'run.json/inside.html']) {
      const r = await run(['report', 'run.json', '--html', bad]);
      expect(r.code, r.text).toBe(2);
      expect(r.text).toContain('Cannot write the HTML report');
    }
    const demo = await run([
      'demo',
      '--providers',
      'fake',
      '--profile',
      'instant',
      '--turns',
      '1',
      '--quiet',
      '--out',
      'x.json',
      '--html',
      '.',
    ]);
    expect(demo.code, demo.text).toBe(2);
    expect(demo.text).toContain('Cannot write the HTML report');
    expect(demo.text).not.toMatch(/Unexpected error/);
  });

  it('the flag parser and value parsers accept or throw InvalidArgumentError, for every command', {
    timeout: timeoutFor(20_000),
  }, () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SPECS),
        fc.array(
          fc.oneof(
            hostileValue,
            fc.constantFrom(...ALL_FLAGS).map((f) => `--${f}`),
          ),
          { maxLength: 8 },
        ),
        (spec, args) => {
          const parsed = typedOutcomeSync(() => parseCommand(spec, args), 'parseCommand');
          if (!parsed.ok) {
            expect(parsed.error).toBeInstanceOf(InvalidArgumentError);
            return;
          }
          const { values } = parsed.value;
          expect(
            Object.getPrototypeOf(values) === Object.prototype || Object.getPrototypeOf(values) === null,
          ).toBe(true);
          for (const name of Object.keys(spec.flags)) {
            const parsers: (() => unknown)[] = [
              () => int(values, name, { min: 1, max: 100_000 }),
              () => num(values, name, { min: 0, max: 1, exclusiveMin: true }),
              () => duration(values, name),
              () => rate(values, name),
              () => thinkTime(values, name),
              () => pairs(values, name, 'operation'),
              () => bool(values, name),
            ];
            for (const parse of parsers) {
              const r = typedOutcomeSync(parse, `parse --${name}`);
              if (!r.ok) expect(r.error).toBeInstanceOf(InvalidArgumentError);
              else if (typeof r.value === 'number') expect(Number.isFinite(r.value)).toBe(true);
            }
          }
          assertNoPollution();
        },
      ),
      runs(800),
    );
  });
});
