/**
 * The README's TypeScript blocks (and docs/cli.md's library section) type-check as written
 * (issue 17 #17): each block is extracted, prefixed with the `<!-- typecheck-prelude: ... -->`
 * comment above it (declarations of the reader's own functions), and compiled against src/
 * with the examples' compiler options.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(root, 'test', 'examples', '.blocks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Block {
  name: string;
  code: string;
}

/** ```ts blocks of a Markdown file, with their prelude comments. */
function tsBlocks(file: string, only?: (heading: string) => boolean): Block[] {
  const text = readFileSync(join(root, file), 'utf8');
  const out: Block[] = [];
  const re = /(?:<!-- typecheck-prelude: ([\s\S]*?) -->\n)?```ts\n([\s\S]*?)```/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const before = text.slice(0, m.index);
    const heading = /(?:^|\n)#+ ([^\n]*)[^#]*$/.exec(before)?.[1] ?? '';
    if (only && !only(heading)) continue;
    const line = before.split('\n').length;
    out.push({ name: `${file}:${line}`, code: `${m[1] ?? ''}\n${m[2]}\nexport {};\n` });
  }
  return out;
}

function typeErrors(blocks: Block[]): string[] {
  const cfgPath = join(root, 'examples', 'tsconfig.json');
  const cfg = ts.readConfigFile(cfgPath, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(cfg.config, ts.sys, join(root, 'examples'));
  mkdirSync(dir, { recursive: true });
  const files = blocks.map((b, i) => {
    const f = join(dir, `block${i}.ts`);
    writeFileSync(f, b.code);
    return f;
  });
  const program = ts.createProgram(files, { ...parsed.options, noEmit: true });
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file && files.includes(d.file.fileName))
    .map((d) => {
      const i = files.indexOf(d.file!.fileName);
      return `${blocks[i]!.name}: TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
}

describe('documentation code blocks', () => {
  const readme = tsBlocks('README.md');
  const cli = tsBlocks('docs/cli.md', (h) => h.startsWith('Using the load engine from code'));
  // Self-contained: it passed `p.tts.ttfb` where FakeTextToSpeech takes the whole TTS profile.
  const testing = tsBlocks('docs/testing.md', (h) => h.startsWith('Fake stages'));

  it('finds the blocks', () => {
    expect(readme.length).toBeGreaterThanOrEqual(2);
    expect(cli.length).toBeGreaterThanOrEqual(1);
    expect(testing.length).toBe(1);
  });

  it('README.md, docs/cli.md library and docs/testing.md fake-stage blocks type-check as written', () => {
    expect(typeErrors([...readme, ...cli, ...testing])).toEqual([]);
  }, 240_000);

  it('the check catches an undeclared name (what TS2304 "reply" was)', () => {
    expect(typeErrors([{ name: 'probe', code: 'reply = 1;\nexport {};\n' }]).join('\n')).toContain('TS2304');
  }, 240_000);
});
