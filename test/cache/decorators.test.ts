import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type CacheManager,
  cached,
  createCacheManager,
  getDefaultCacheManager,
  setDefaultCacheManager,
} from '../../src/cache/index.js';

const fixture = join(import.meta.dirname, 'fixtures', 'cached-service.ts');
const dir = mkdtempSync(join(tmpdir(), 'earshot-cached-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface ServiceClass {
  new (
    region: string,
  ): {
    calls: number;
    getLoad(id: string): Promise<{ id: string; region: string; call: number }>;
    answer(q: string, o: { temperature: number }): Promise<string>;
  };
  versionCalls: number;
  version(): Promise<string>;
}
type MakeService = (c: typeof cached, cache: CacheManager) => ServiceClass;

const compiled = new Map<boolean, Promise<MakeService>>();
function compile(experimentalDecorators: boolean): Promise<MakeService> {
  let p = compiled.get(experimentalDecorators);
  if (!p) {
    p = compileOnce(experimentalDecorators);
    compiled.set(experimentalDecorators, p);
  }
  return p;
}

/** Type-checks the fixture under the given decorator mode, then compiles and loads it. */
async function compileOnce(experimentalDecorators: boolean): Promise<MakeService> {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    strict: true,
    exactOptionalPropertyTypes: true,
    experimentalDecorators,
    skipLibCheck: true,
    noEmit: true,
    types: ['node'],
    lib: ['lib.es2023.d.ts', 'lib.esnext.disposable.d.ts', 'lib.dom.d.ts', 'lib.decorators.d.ts'],
  };
  const program = ts.createProgram([fixture], options);
  const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName === fixture);
  expect(diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([]);
  const out = ts.transpileModule(readFileSync(fixture, 'utf8'), {
    compilerOptions: { ...options, noEmit: false },
  }).outputText;
  expect(out).toContain(experimentalDecorators ? '__decorate(' : '__esDecorate(');
  const file = join(dir, `cached-${experimentalDecorators ? 'legacy' : 'tc39'}.mjs`);
  writeFileSync(file, out);
  return ((await import(pathToFileURL(file).href)) as { makeService: MakeService }).makeService;
}

describe.each([
  ['TC39 decorators', false],
  ['experimentalDecorators', true],
  // The first test of each mode type-checks the fixture with the TypeScript compiler: 10-20 s
  // on a loaded 2-core machine, hence the generous timeout (behaviour is asserted, not speed).
])('the cached decorator under %s', { timeout: 180_000 }, (_label, legacy) => {
  it('caches by the key function, keeping `this`', async () => {
    const cache = createCacheManager({ monitor: false });
    const Service = (await compile(legacy))(cached, cache);
    const s = new Service('west');
    expect(await s.getLoad('7')).toEqual({ id: '7', region: 'west', call: 1 });
    expect(await s.getLoad('7')).toEqual({ id: '7', region: 'west', call: 1 });
    expect(s.calls).toBe(1);
    expect(await cache.get('load:7', 'company_api:load')).toEqual({ id: '7', region: 'west', call: 1 });
  });

  it('builds a stable default key from the class, method and deep-equal arguments', async () => {
    const cache = createCacheManager({ monitor: false });
    const Service = (await compile(legacy))(cached, cache);
    const s = new Service('east');
    await s.answer('hi', { temperature: 0 });
    await s.answer('hi', { temperature: 0 });
    await s.answer('hi', { temperature: 1 });
    expect(s.calls).toBe(2);
    expect(await cache.get('LoadService.answer("hi",{"temperature":0})', 'llm')).toBe('hi@0');
  });

  it('shares one loader run between concurrent calls and works on static methods', async () => {
    const cache = createCacheManager({ monitor: false });
    const Service = (await compile(legacy))(cached, cache);
    const results = await Promise.all([Service.version(), Service.version(), Service.version()]);
    expect(results).toEqual(['v1', 'v1', 'v1']);
    expect(Service.versionCalls).toBe(1);
  });

  it('uses the default cache manager when none is given', async () => {
    const previous = getDefaultCacheManager();
    const cache = createCacheManager({ monitor: false });
    setDefaultCacheManager(cache);
    try {
      const make = await compile(legacy);
      // `cache: undefined` in the fixture's options means: the default.
      const Service = make((ns, opts) => cached(ns, { ...opts, cache: undefined as never }), cache);
      await new Service('n').getLoad('9');
      expect(await cache.get('load:9', 'company_api:load')).toBeDefined();
    } finally {
      setDefaultCacheManager(previous);
    }
  });
});
