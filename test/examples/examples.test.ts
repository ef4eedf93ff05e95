import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// Every example in examples/ must run, not only type-check: a broken example is a broken doc.
// Each runs with the command in its own header ("Run: npx tsx --tsconfig ..."), before any
// `npm run build` (the tsconfig maps `earshot/*` to src/).
const root = join(import.meta.dirname, '..', '..');
const examples = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.ts'));
const COMMAND = (file: string) => `npx tsx --tsconfig examples/tsconfig.json examples/${file}`;

/** The command in the example's header comment. */
function headerCommand(file: string): string | undefined {
  const m = /^ \* Run: (npx [^\n(]*?)\s*(?:\(|$)/m.exec(readFileSync(join(root, 'examples', file), 'utf8'));
  return m?.[1]?.trim();
}

function run(command: string): Promise<{ code: number | null; output: string }> {
  const [, ...args] = command.split(' '); // "npx" → run the local binary the way npx would
  const bin = join(root, 'node_modules', '.bin', args[0]!);
  return new Promise((resolve) => {
    const child = spawn(bin, args.slice(1), {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 200_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('examples', () => {
  it('there are examples to run', () => {
    expect(examples.length).toBeGreaterThanOrEqual(8);
  });

  it.each(examples)('examples/%s names one command in its header: the one this test runs', (file) => {
    expect(headerCommand(file)).toBe(COMMAND(file));
  });

  it.each(examples)(
    'examples/%s runs to completion with its header command',
    async (file) => {
      const { code, output } = await run(headerCommand(file) ?? COMMAND(file));
      expect(output.length, 'an example should print what it shows').toBeGreaterThan(0);
      expect(code, output.slice(-2000)).toBe(0);
      if (file === 'config.ts') {
        // what its comments say it prints
        expect(output).toContain('"openai":{"apiKey":"[REDACTED]"}');
        expect(output).not.toContain('sk-example-not-a-real-key');
        expect(output).toContain('cache.namespace: unknown key; did you mean "namespaces"?');
      }
    },
    240_000,
  );
});
