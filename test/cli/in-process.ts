/** Runs a CLI command in this process (cheap: no child, no tsx start-up) with captured output. */
import { Writable } from 'node:stream';
import { runCli } from '../../src/cli/run.js';
import { cleanEnv, tempDir } from './helpers.js';

export interface InProcessResult {
  code: number;
  stdout: string;
  stderr: string;
  cwd: string;
}

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { stream, text: () => text };
}

/** `earshot <argv>` in-process, in a fresh temporary directory, with a clean environment. */
export async function runInProcess(
  argv: readonly string[],
  opts: { env?: Record<string, string>; cwd?: string; signal?: AbortSignal } = {},
): Promise<InProcessResult> {
  const cwd = opts.cwd ?? (await tempDir());
  const out = sink();
  const err = sink();
  const code = await runCli(argv, {
    streams: { stdout: out.stream, stderr: err.stream, env: cleanEnv(opts.env) },
    signal: opts.signal ?? new AbortController().signal,
    cwd,
    version: '0.0.0-test',
  });
  return { code, stdout: out.text(), stderr: err.text(), cwd };
}
