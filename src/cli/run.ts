/**
 * The CLI dispatcher: picks the command, parses its flags, runs it and maps every failure to
 * a clear message and a documented exit code. `main.ts` wires it to the process.
 * @module
 */
import {
  ConfigError,
  EarshotError,
  InvalidArgumentError,
  MissingDependencyError,
  redact,
  UpstreamError,
} from '../errors.js';
import { bool, type CommandSpec, commandHelp, type ParsedValues, parseCommand } from './args.js';
import { checkCommand, checkSpec } from './commands/check.js';
import { demoCommand, demoSpec } from './commands/demo.js';
import { fleetCommand, fleetSpec } from './commands/fleet.js';
import { loadCommand, loadSpec } from './commands/load.js';
import { reportCommand, reportSpec } from './commands/report.js';
import type { CliContext } from './common.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { styleFor } from './output.js';

interface Command {
  spec: CommandSpec;
  run(ctx: CliContext, values: ParsedValues, positionals: string[]): Promise<ExitCode>;
}

const COMMANDS: Record<string, Command> = {
  demo: { spec: demoSpec, run: (ctx, v) => demoCommand(ctx, v) },
  load: { spec: loadSpec, run: (ctx, v) => loadCommand(ctx, v) },
  check: { spec: checkSpec, run: (ctx, v) => checkCommand(ctx, v) },
  report: { spec: reportSpec, run: (ctx, v, p) => reportCommand(ctx, v, p) },
  fleet: { spec: fleetSpec, run: (ctx, v) => fleetCommand(ctx, v) },
};

/** The top-level help. */
function mainHelp(version: string): string {
  const w = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return [
    `earshot ${version}: latency-tracked voice pipelines`,
    '',
    'Usage: earshot <command> [options]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(w)}  ${c.spec.summary}`),
    '',
    'Run "earshot <command> --help" for its options. Exit codes: 0 ok, 1 targets missed,',
    '2 usage error, 3 target unreachable, 4 bad run file, 70 internal error, 130 interrupted.',
  ].join('\n');
}

/** The exit code and message for an error that escaped a command. */
function describeFailure(err: unknown): { code: ExitCode; message: string } {
  if (err instanceof ConfigError || err instanceof InvalidArgumentError)
    return { code: EXIT.usage, message: err.message };
  if (err instanceof MissingDependencyError) return { code: EXIT.usage, message: err.message };
  if (err instanceof UpstreamError) return { code: EXIT.unreachable, message: err.message };
  if (err instanceof EarshotError) return { code: EXIT.internal, message: `${err.code}: ${err.message}` };
  const e = err instanceof Error ? err : new Error(String(err));
  return { code: EXIT.internal, message: `Unexpected error: ${redact(e.stack ?? e.message)}` };
}

/**
 * Runs the CLI with `argv` (without `node` and the script). Never throws: returns the exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(process.argv.slice(2), ctx);
 * ```
 */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<ExitCode> {
  const errStyle = styleFor(ctx.streams.stderr, ctx.streams.env);
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    const topic = name === 'help' ? rest[0] : undefined;
    const cmd = topic === undefined ? undefined : COMMANDS[topic];
    ctx.streams.stdout.write(`${cmd ? commandHelp(cmd.spec) : mainHelp(ctx.version)}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    ctx.streams.stdout.write(`${ctx.version}\n`);
    return EXIT.ok;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    ctx.streams.stderr.write(
      `${errStyle('fail', 'error:')} unknown command "${name}". Commands: ${Object.keys(COMMANDS).join(', ')}. Run "earshot --help".\n`,
    );
    return EXIT.usage;
  }
  try {
    const { values, positionals } = parseCommand(cmd.spec, rest);
    if (bool(values, 'help')) {
      ctx.streams.stdout.write(`${commandHelp(cmd.spec)}\n`);
      return EXIT.ok;
    }
    return await cmd.run(ctx, values, positionals);
  } catch (err) {
    const { code, message } = describeFailure(err);
    ctx.streams.stderr.write(`${errStyle('fail', 'error:')} ${message}\n`);
    return code;
  }
}
