import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// Every example in examples/ must run, not only type-check: a broken example is a broken doc.
const root = join(import.meta.dirname, '..', '..');
const examples = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.ts'));
const tsx = join(root, 'node_modules', '.bin', 'tsx');

function run(file: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(tsx, ['--tsconfig', 'examples/tsconfig.json', join('examples', file)], {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
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

  it.each(examples)(
    'examples/%s runs to completion',
    async (file) => {
      const { code, output } = await run(file);
      expect(output.length, 'an example should print what it shows').toBeGreaterThan(0);
      expect(code, output.slice(-2000)).toBe(0);
    },
    100_000,
  );
});
