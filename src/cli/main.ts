#!/usr/bin/env node
/**
 * The `earshot` executable: wires the process (argv, streams, Ctrl-C) to {@link runCli}.
 * The first Ctrl-C stops the run and still saves and reports the partial results; a second
 * one exits at once.
 * @module
 */
import pkg from '../../package.json' with { type: 'json' };
import { EXIT } from './exit-codes.js';
import { runCli } from './run.js';

const controller = new AbortController();
let signals = 0;
const onSignal = (sig: NodeJS.Signals): void => {
  signals++;
  if (signals > 1) {
    process.stderr.write(`\nearshot: second ${sig}, exiting without waiting.\n`);
    process.exit(EXIT.interrupted);
  }
  process.stderr.write(
    `\nearshot: ${sig} received, stopping; partial results will be saved (Ctrl-C again to quit at once).\n`,
  );
  controller.abort(`interrupted (${sig})`);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
// `earshot load --json | head -c 100`: a closed pipe is not a crash.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

runCli(process.argv.slice(2), {
  streams: { stdout: process.stdout, stderr: process.stderr, env: process.env },
  signal: controller.signal,
  cwd: process.cwd(),
  version: pkg.version,
}).then(
  (code) => {
    // Exit explicitly: a provider socket or timer left open must not keep the CLI alive.
    process.stdout.write('', () => process.exit(code));
  },
  (err: unknown) => {
    process.stderr.write(`earshot: ${String(err)}\n`);
    process.exit(EXIT.internal);
  },
);
