/**
 * The fake providers in a child process, for benches that measure earshot and the SDKs without
 * the fakes' own CPU (as in production, where the providers are remote). The child is the bench
 * file itself started with a flag (`--serve-fakes`): it prints one JSON line saying where the
 * fakes listen, then serves until its stdin closes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

/** A child process serving fakes, with what it announced on its first line. */
export interface ChildFakes<T> {
  /** The child's first stdout line, parsed. */
  ready: T;
  child: ChildProcess;
  /** Closes the child's stdin and waits for it to exit (SIGKILL after 5 s). */
  close(): Promise<void>;
}

/** Starts `script` with `args` under this process's Node flags and waits for its first line. */
export async function startChildFakes<T>(script: string, args: readonly string[]): Promise<ChildFakes<T>> {
  const child = spawn(process.execPath, [...process.execArgv, script, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const [first] = (await Promise.race([
    once(lines, 'line'),
    once(child, 'exit').then(() => {
      throw new Error('the fakes process exited before it was ready');
    }),
  ])) as [string];
  return {
    ready: JSON.parse(first) as T,
    child,
    async close() {
      const exited = once(child, 'exit');
      child.stdin!.end();
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
