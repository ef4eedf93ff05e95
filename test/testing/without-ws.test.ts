/**
 * Issue 17 item 12, as a clean install sees it: without the optional peer `ws`,
 * `earshot/testing` still imports, its HTTP fakes run, and the WebSocket fakes fail with a
 * MissingDependencyError naming the install (not Node's raw ERR_MODULE_NOT_FOUND). A child
 * process hides `ws` with a module resolve hook, so a static `import 'ws'` anywhere in the
 * entry's graph would fail the import itself.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(root, 'test', 'testing', '.without-ws-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HOOKS = `
export async function resolve(specifier, context, next) {
  if (specifier === 'ws' || specifier.startsWith('ws/')) {
    throw Object.assign(new Error("Cannot find package 'ws' (hidden by the test)"), { code: 'ERR_MODULE_NOT_FOUND' });
  }
  return next(specifier, context);
}
`;

const REGISTER = (hooks: string) => `
import { register } from 'node:module';
register(${JSON.stringify(hooks)});
`;

const SCRIPT = (entry: string) => `
const out = {};
const t = await import(${JSON.stringify(entry)});
out.imported = typeof t.startFakeElevenLabs === 'function';
const api = await t.startFakeCompanyApi();
out.http = typeof api.url === 'string';
await api.close();
for (const name of ['startFakeElevenLabs', 'startFakeDeepgram']) {
  try {
    const s = await t[name]();
    await s.close();
    out[name] = 'started';
  } catch (e) {
    out[name] = { name: e.constructor.name, code: e.code, message: e.message };
  }
}
console.log(JSON.stringify(out));
`;

describe('earshot/testing without ws', () => {
  it('imports, runs its HTTP fakes, and a WebSocket fake is a MissingDependencyError', async () => {
    const hooks = join(dir, 'hide-ws.mjs');
    const register = join(dir, 'register.mjs');
    const script = join(dir, 'script.mjs');
    writeFileSync(hooks, HOOKS);
    writeFileSync(register, REGISTER(pathToFileURL(hooks).href));
    writeFileSync(script, SCRIPT(pathToFileURL(join(root, 'src', 'testing', 'index.ts')).href));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--import', pathToFileURL(register).href, script],
      { cwd: root, timeout: 90_000 },
    );
    const out = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(out.imported).toBe(true);
    expect(out.http).toBe(true);
    for (const name of ['startFakeElevenLabs', 'startFakeDeepgram']) {
      expect(out[name]).toMatchObject({ name: 'MissingDependencyError', code: 'EARSHOT_MISSING_DEPENDENCY' });
      expect(out[name].message).toContain('npm install ws');
      expect(out[name].message).toContain('earshot/testing');
    }
  }, 120_000);

  it('the CLI: --providers servers exits 2 naming ws and the flag; auto falls back to the fakes', async () => {
    const register = join(dir, 'register.mjs');
    const main = join(root, 'src', 'cli', 'main.ts');
    const cli = (args: string[]) =>
      promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', '--import', pathToFileURL(register).href, main, ...args],
        {
          cwd: dir,
          timeout: 90_000,
          env: { PATH: process.env.PATH ?? '', NO_COLOR: '1' },
        },
      ).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => ({
          code: e.code,
          stdout: e.stdout,
          stderr: e.stderr,
        }),
      );
    const servers = await cli(['check', '--providers', 'servers', '--turns', '1', '--calls', '1']);
    expect(servers.code).toBe(2);
    expect(servers.stderr).toContain('--providers servers');
    expect(servers.stderr).toContain('npm install ws');
    expect(servers.stderr).not.toContain('earshot/testing');
    const auto = await cli(['check', '--turns', '1', '--calls', '1', '--profile', 'instant', '--json']);
    expect(auto.stderr).toContain('ws missing): using the in-process fake stages');
    expect(JSON.parse(auto.stdout).summary.turns).toBe(1);
  }, 180_000);
});
