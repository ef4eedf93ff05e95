/**
 * Text that comes from outside and ends up on a terminal must not drive it (issue 15, item 22):
 * company-API error bodies carrying ESC/BEL/CR, and the `earshot/testing` entry importing `ws`
 * only where a WebSocket fake needs it (issue 17, item 12).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCompanyApiClient } from '../../src/index.js';

/** True when `text` holds a C0 (but tab/newline) or C1 control character, or DEL. */
function hasControl(text: string): boolean {
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 0;
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a) || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}
const HOSTILE = [
  '\u001b]0;pwned\u0007',
  '\u001b[2J\u001b[H',
  'row\r\nforged | PASS',
  '\u009b31m',
  'bell\u0007',
];

let server: Server;
let base: string;
let next = 0;
beforeAll(async () => {
  server = createServer((_req, res) => {
    const payload = HOSTILE[next++ % HOSTILE.length];
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: `bad${payload}`, message: `server says ${payload} end` } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('terminal escapes from outside', () => {
  it('company-API errors never carry control characters from the server body', async () => {
    const client = createCompanyApiClient({ baseUrl: base, apiKey: 'k-terminal-test-123456', retries: 0 });
    for (let i = 0; i < HOSTILE.length; i++) {
      const err = (await client.getLoadStatus('L-1').catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(Error);
      expect(err.message).toContain('server says');
      for (const text of [err.message, String(err), JSON.stringify(err)])
        expect(hasControl(text)).toBe(false);
    }
  });

  it('earshot/testing imports ws only on first use (a clean install without ws can import it)', () => {
    const dir = join(import.meta.dirname, '../../src/testing');
    const valueImports = readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .filter((f) => /^import\s+(?!type\b)[^;]*from\s+'ws';/m.test(readFileSync(join(dir, f), 'utf8')));
    expect(valueImports).toEqual([]);
  });
});
