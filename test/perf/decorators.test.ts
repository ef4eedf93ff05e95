import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { PerformanceMonitor, type TrackedDecorator, tracked } from '../../src/perf/index.js';

const fixture = join(import.meta.dirname, 'fixtures', 'decorated.ts');
const dir = mkdtempSync(join(tmpdir(), 'earshot-decorators-'));

type Service = new (
  prefix: string,
) => {
  format(id: string): string;
  fetch(id: string): Promise<{ id: string; by: string }>;
  fail(): Promise<never>;
};

const compiled = new Map<boolean, Promise<(t: (name?: string) => TrackedDecorator) => Service>>();
function compile(experimentalDecorators: boolean) {
  let p = compiled.get(experimentalDecorators);
  if (!p) {
    p = compileOnce(experimentalDecorators);
    compiled.set(experimentalDecorators, p);
  }
  return p;
}

/** Type-checks the fixture under the given decorator mode, then compiles and loads it. */
async function compileOnce(
  experimentalDecorators: boolean,
): Promise<(t: (name?: string) => TrackedDecorator) => Service> {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    strict: true,
    experimentalDecorators,
    skipLibCheck: true,
    noEmit: true,
    types: [],
    lib: ['lib.es2023.d.ts', 'lib.esnext.disposable.d.ts', 'lib.dom.d.ts', 'lib.decorators.d.ts'],
  };
  const program = ts.createProgram([fixture], options);
  const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName === fixture);
  expect(diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([]);
  const out = ts.transpileModule(readFileSync(fixture, 'utf8'), {
    compilerOptions: { ...options, noEmit: false },
  }).outputText;
  // Prove each mode really emitted its own decorator runtime.
  expect(out).toContain(experimentalDecorators ? '__decorate(' : '__esDecorate(');
  const file = join(dir, `decorated-${experimentalDecorators ? 'legacy' : 'tc39'}.mjs`);
  writeFileSync(file, out);
  const mod = (await import(pathToFileURL(file).href)) as {
    makeService: (t: (name?: string) => TrackedDecorator) => Service;
  };
  return mod.makeService;
}

describe.each([
  ['TC39 decorators', false],
  ['experimentalDecorators', true],
])('the tracked decorator under %s', (_label, legacy) => {
  it('times a sync method, keeps `this` and its return value', async () => {
    const monitor = new PerformanceMonitor();
    const Service = (await compile(legacy))((name) => monitor.tracked(name));
    const s = new Service('L');
    expect(s.format('7')).toBe('L-7');
    expect(monitor.stats('sync_op')?.count).toBe(1);
  });

  it('times an async method after it settles, keeping `this`', async () => {
    const monitor = new PerformanceMonitor();
    const Service = (await compile(legacy))((name) => monitor.tracked(name));
    const pending = new Service('P').fetch('9');
    expect(monitor.stats('async_op')).toBeUndefined(); // not before it settles
    expect(await pending).toEqual({ id: '9', by: 'P' });
    await new Promise((r) => setImmediate(r));
    expect(monitor.stats('async_op')?.count).toBe(1);
    expect(monitor.stats('async_op')?.errors).toBe(0);
  });

  it('records a rejected method as an error under the method name and rejects unchanged', async () => {
    const monitor = new PerformanceMonitor();
    const Service = (await compile(legacy))((name) => monitor.tracked(name));
    await expect(new Service('E').fail()).rejects.toThrow('failed in E');
    await new Promise((r) => setImmediate(r));
    expect(monitor.stats('fail')?.errors).toBe(1);
  });

  it('the free `tracked` records into the monitor passed to it', async () => {
    const monitor = new PerformanceMonitor();
    const Service = (await compile(legacy))((name) => tracked(name, undefined, monitor));
    new Service('F').format('1');
    expect(monitor.stats('sync_op')?.count).toBe(1);
  });
});
