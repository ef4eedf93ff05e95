import { describe, expect, it } from 'vitest';
import { AbortedError } from '../../src/errors.js';
import { TextFeed, TextPieceSchedule } from '../../src/pipeline/tts-input.js';

describe('TextFeed', () => {
  it('gives every reader every piece from the first, and ends at end()', async () => {
    const feed = new TextFeed();
    feed.push('Load 2314 ');
    const read = (async () => {
      const out: string[] = [];
      for await (const piece of feed.read(new AbortController().signal)) out.push(piece);
      return out;
    })();
    feed.push('is in Denver.');
    feed.end();
    expect(await read).toEqual(['Load 2314 ', 'is in Denver.']);
    const again: string[] = [];
    for await (const piece of feed.read(new AbortController().signal)) again.push(piece);
    expect(again).toEqual(['Load 2314 ', 'is in Denver.']);
  });

  // An aborted text must not look finished: a streaming TTS that sees the end of its text
  // flushes (ElevenLabs generates the rest), which barge-in must never cause.
  it('throws the abort reason when its signal aborts, instead of ending', async () => {
    const feed = new TextFeed();
    feed.push('The driver left ');
    const controller = new AbortController();
    const it = feed.read(controller.signal);
    expect(await it.next()).toEqual({ value: 'The driver left ', done: false });
    const waiting = it.next();
    controller.abort(new AbortedError('barge-in'));
    await expect(waiting).rejects.toBeInstanceOf(AbortedError);
    const late = feed.read(controller.signal);
    await expect(late.next()).rejects.toBeInstanceOf(AbortedError);
  });
});

describe('TextPieceSchedule', () => {
  it('sends the first piece after three whole words, later pieces at clause breaks, the rest at flush', () => {
    const s = new TextPieceSchedule();
    expect(s.push('The driver')).toEqual([]);
    expect(s.push(' left Denver')).toEqual(['The driver left ']);
    expect(s.push(' this morning')).toEqual([]);
    expect(s.push(', and expects')).toEqual(['Denver this morning, ']);
    expect(s.flush()).toEqual(['and expects']);
    expect(s.flush()).toEqual([]);
  });
});
