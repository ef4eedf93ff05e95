/**
 * `earshot report <run.json>`: renders a saved run (from `demo`, `load` or `check`) to HTML
 * and prints its summary.
 * @module
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { InvalidArgumentError } from '../../errors.js';
import { stripControl } from '../../internal/terminal.js';
import { readRunFile, type SavedRun } from '../../loadtest/run-file.js';
import { renderHtmlReport } from '../../report/html-report.js';
import { formatTextReport } from '../../report/text-report.js';
import { bool, type CommandSpec, type ParsedValues, str } from '../args.js';
import { type CliContext, outPath, writeOutput } from '../common.js';
import { EXIT, type ExitCode } from '../exit-codes.js';
import { styleFor } from '../output.js';

export const reportSpec: CommandSpec = {
  name: 'report',
  summary: 'render a saved run (JSON) as a self-contained HTML report',
  usage: 'earshot report <run.json> [--html FILE] [--check]',
  positionals: ['run.json'],
  flags: {
    html: {
      type: 'string',
      value: 'FILE',
      description: 'where to write the HTML (default: the run file with .html)',
    },
    json: { type: 'boolean', description: 'print the validated run as JSON instead of the text summary' },
    check: { type: 'boolean', description: 'exit 1 when the run missed a target (a CI gate on a saved run)' },
    quiet: { type: 'boolean', short: 'q', description: 'print nothing but errors' },
    help: { type: 'boolean', short: 'h', description: 'show this help' },
  },
  examples: ['earshot report earshot-run.json --html report.html', 'earshot report nightly.json --check'],
};

export async function reportCommand(
  ctx: CliContext,
  values: ParsedValues,
  positionals: string[],
): Promise<ExitCode> {
  const file = positionals[0];
  if (!file) throw new InvalidArgumentError('Which run? Usage: earshot report <run.json> [--html FILE].');
  let run: SavedRun;
  try {
    run = await readRunFile(outPath(ctx, file));
  } catch (err) {
    const style = styleFor(ctx.streams.stderr, ctx.streams.env);
    ctx.streams.stderr.write(`${style('fail', 'error:')} ${stripControl((err as Error).message)}\n`);
    return EXIT.badRunFile;
  }
  const html = outPath(ctx, str(values, 'html') ?? file.replace(/\.json$/i, '') + '.html');
  await writeOutput('the HTML report', html, async () => {
    await mkdir(dirname(html), { recursive: true });
    await writeFile(html, renderHtmlReport(run), 'utf8');
  });
  if (bool(values, 'json')) ctx.streams.stdout.write(`${JSON.stringify(run)}\n`);
  else if (!bool(values, 'quiet')) {
    ctx.streams.stdout.write(
      `${formatTextReport(run, styleFor(ctx.streams.stdout, ctx.streams.env))}\nHTML report written to ${html}\n`,
    );
  }
  return bool(values, 'check') && !run.verdict.pass ? EXIT.targetsMissed : EXIT.ok;
}
