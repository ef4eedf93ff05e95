import { describe, expect, it } from 'vitest';
import { alignedText } from '../../src/providers/elevenlabs/stream-clock.js';

describe('ElevenLabs alignment → AudioChunk.text', () => {
  it('reads chars from alignment, else normalizedAlignment, in either spelling of the timings', () => {
    const chars = [...'Hi there'];
    expect(
      alignedText({ audio: 'AA', alignment: { chars, charStartTimesMs: [], charsDurationsMs: [] } }),
    ).toBe('Hi there');
    expect(alignedText({ audio: 'AA', alignment: { chars, char_start_times_ms: [] } })).toBe('Hi there');
    expect(alignedText({ audio: 'AA', normalizedAlignment: { chars: [...'two'] } })).toBe('two');
    expect(alignedText({ audio: 'AA', normalized_alignment: { chars: [...'two'] } })).toBe('two');
    // The original text wins over the normalized one (numbers spelled out would count wrong).
    expect(alignedText({ alignment: { chars: [...'2'] }, normalizedAlignment: { chars: [...'two'] } })).toBe(
      '2',
    );
  });

  it('says nothing for a message without usable alignment', () => {
    for (const msg of [
      { audio: 'AA' },
      { audio: 'AA', alignment: null },
      { audio: 'AA', alignment: 'abc' },
      { audio: 'AA', alignment: { chars: 'abc' } },
      { audio: 'AA', alignment: { chars: ['a', 1] } },
      { audio: 'AA', alignment: 7 },
    ])
      expect(alignedText(msg)).toBeUndefined();
  });
});
