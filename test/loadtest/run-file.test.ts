import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import {
  parseSavedRun,
  RUN_FILE_VERSION,
  readRunFile,
  runClosedModel,
  summarizeRun,
  writeRunFile,
} from '../../src/loadtest/index.js';

async function sampleRun() {
  const result = await runClosedModel({
    users: 2,
    iterations: 20,
    scenarios: [
      {
        name: 'ask',
        run: async (ctx) => {
          ctx.monitor.record('stt', 40 + ctx.random() * 40, { outcome: 'ok' });
          return undefined;
        },
      },
    ],
  });
  return summarizeRun({
    kind: 'load',
    title: 'sample',
    result,
    earshotVersion: '0.0.0-test',
    targets: { stt: 100 },
    config: {
      model: 'closed',
      users: 2,
      iterations: 20,
      target: { kind: 'function', description: 'test' },
      scenarios: [{ name: 'ask', weight: 1 }],
    },
  });
}

describe('saved run files', () => {
  it('round-trip through writeRunFile and readRunFile unchanged', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'earshot-run-'));
    const run = await sampleRun();
    await writeRunFile(join(dir, 'run.json'), run);
    expect(await readRunFile(join(dir, 'run.json'))).toEqual(run);
  });

  it('carry the format version', async () => {
    const run = await sampleRun();
    expect(run.version).toBe(RUN_FILE_VERSION);
    expect(run.tool).toBe('earshot');
  });

  it('from another version are refused with a message that says what to do', async () => {
    const run = { ...(await sampleRun()), version: 99 };
    expect(() => parseSavedRun(run)).toThrow(/version 99, but this earshot reads version 1\. Re-run/);
  });

  it('that are not runs are refused with the bad fields named', () => {
    expect(() => parseSavedRun({ version: 1, tool: 'earshot' })).toThrow(InvalidArgumentError);
    expect(() => parseSavedRun({ version: 1, tool: 'earshot' })).toThrow(/earshotVersion/);
  });

  it('that are missing or not JSON give a clear InvalidArgumentError', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'earshot-run-'));
    await expect(readRunFile(join(dir, 'nope.json'))).rejects.toThrow(/Run file not found/);
    await writeFile(join(dir, 'bad.json'), '{ not json');
    await expect(readRunFile(join(dir, 'bad.json'))).rejects.toThrow(/is not JSON/);
  });

  it('are written atomically as pretty JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'earshot-run-'));
    await writeRunFile(join(dir, 'run.json'), await sampleRun());
    const text = await readFile(join(dir, 'run.json'), 'utf8');
    expect(text.startsWith('{\n  "version": 1,')).toBe(true);
  });
});
