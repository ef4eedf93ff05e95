import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tempDir } from './helpers.js';

const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as {
  version: string;
};

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

// Serial, with timeouts sized for a shared 2-core machine at a load average of 40: each test
// starts a CLI subprocess (node + tsx), which alone can take 20 s there.
describe.sequential('earshot command line', { timeout: 180_000 }, () => {
  it('--help lists the commands and the exit codes', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['demo', 'load', 'check', 'report'])
      expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    expect(r.stdout).toContain('130 interrupted');
  });

  it('without a command prints the usage and exits 2', async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('Usage: earshot <command>');
  });

  it('--version prints the package version', async () => {
    const r = await cli(['--version']);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('load --help documents every flag', async () => {
    const r = await cli(['load', '--help']);
    expect(r.code).toBe(0);
    for (const f of [
      '--preset',
      '--users',
      '--spawn-rate',
      '--run-time',
      '--rate',
      '--url',
      '--scenario',
      '--json',
      '--html',
    ]) {
      expect(r.stdout).toContain(f);
    }
  });

  it('an unknown command exits 2 and names the commands', async () => {
    const r = await cli(['stress-me']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "stress-me". Commands: demo, load, check, report');
  });

  it('an unknown flag exits 2 and says where to find the flags', async () => {
    const r = await cli(['load', '--userz', '5']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--userz/);
    expect(r.stderr).toContain('Run "earshot load --help"');
  });

  it('an unknown preset exits 2 and lists the presets', async () => {
    const r = await cli(['load', '--preset', 'extreme']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'Unknown preset "extreme". Use one of: light (10 users, 2/s), medium (50 users, 5/s)',
    );
  });

  it('a bad duration exits 2 with an example of a good one', async () => {
    const r = await cli(['load', '--run-time', '5x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Invalid --run-time "5x"');
  });

  it('mixing the closed and the open model exits 2', async () => {
    const r = await cli(['load', '--rate', '10/s', '--users', '5']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--users belongs to the closed model; --rate runs the open model');
  });

  it('a bad --target exits 2', async () => {
    const r = await cli(['check', '--target', 'stt']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--target takes operation=<positive number>');
  });

  it('an unknown profile exits 2', async () => {
    const r = await cli(['demo', '--profile', 'warp']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Unknown profile "warp"');
  });

  it('an unknown --providers mode exits 2, and --live cannot be mixed with another mode', async () => {
    const r = await cli(['demo', '--providers', 'cloud']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Unknown --providers "cloud". Use one of: auto, fake, servers, live');
    const mixed = await cli(['demo', '--live', '--providers', 'fake']);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain('--live contradicts --providers fake');
  });

  it('pipeline flags are refused with --url', async () => {
    const r = await cli(['load', '--url', 'http://127.0.0.1:1/', '--profile', 'instant']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--profile applies to the in-process pipeline, not to --url');
  });

  it('an unreachable --url exits 3 with a clear message and runs nothing', async () => {
    const port = await closedPort();
    const dir = await tempDir();
    const r = await cli(['load', '--url', `http://127.0.0.1:${port}/api/turn`], { cwd: dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(
      `Cannot reach http://127.0.0.1:${port}/api/turn (connection refused). Is the app running`,
    );
  });

  it('an unreachable REDIS_URL exits 3 and says how to run without Redis', async () => {
    const port = await closedPort();
    const r = await cli(['demo', '--turns', '1'], { env: { REDIS_URL: `redis://127.0.0.1:${port}` } });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`Redis at 127.0.0.1:${port} is not reachable`);
    expect(r.stderr).toContain('unset it to use the embedded cache');
  });

  it('--live without provider keys exits 2 naming the missing variables', async () => {
    const r = await cli(['demo', '--live', '--turns', '1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/DEEPGRAM_API_KEY.*\n.*OPENAI_API_KEY.*\n.*ELEVENLABS_API_KEY/);
  });

  it('report of a missing or invalid file exits 4', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'bad.json'), '{"version":1}');
    const missing = await cli(['report', 'nope.json'], { cwd: dir });
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('Run file not found');
    const bad = await cli(['report', 'bad.json'], { cwd: dir });
    expect(bad.code).toBe(4);
    expect(bad.stderr).toContain('is not an earshot run');
  });

  it('report without a file exits 2', async () => {
    const r = await cli(['report']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Usage: earshot report <run.json>');
  });
});
