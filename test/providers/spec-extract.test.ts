/**
 * The spec extraction script (`test/fixtures/specs/extract.ts`) takes its input directory from
 * an argument or `EARSHOT_SPECS_DIR`, never from a machine-specific default, and says what to
 * pass when it is missing or incomplete.
 */
import { describe, expect, it } from 'vitest';
import { RECIPES, resolveSpecsDir, SPECS_DIR_ENV } from '../fixtures/specs/extract.js';

const all = () => true;

describe('resolveSpecsDir', () => {
  it('takes the first argument, else the environment variable', () => {
    expect(resolveSpecsDir(['/a/specs'], { [SPECS_DIR_ENV]: '/b/specs' }, all)).toBe('/a/specs');
    expect(resolveSpecsDir([], { [SPECS_DIR_ENV]: '/b/specs' }, all)).toBe('/b/specs');
  });

  it.each([
    ['no argument and no variable', [], {}],
    ['an empty argument and an empty variable', [''], { [SPECS_DIR_ENV]: '' }],
  ])('with %s, refuses with a usage naming the argument, the variable and the files', (_, args, env) => {
    expect(() => resolveSpecsDir(args, env, all)).toThrow(/No specs directory given/);
    try {
      resolveSpecsDir(args, env, all);
    } catch (err) {
      const message = (err as Error).message;
      expect(message).toContain('extract.ts <dir>');
      expect(message).toContain(SPECS_DIR_ENV);
      for (const r of RECIPES) expect(message).toContain(r.file);
      expect(message).not.toContain('/work/');
    }
  });

  it('names every file the directory lacks', () => {
    const present = new Set([RECIPES[0]!.file]);
    const missing = RECIPES.slice(1).map((r) => r.file);
    expect(() => resolveSpecsDir(['/x'], {}, (p) => present.has(p.slice('/x/'.length)))).toThrow(
      `/x lacks ${missing.join(', ')}.`,
    );
  });
});
