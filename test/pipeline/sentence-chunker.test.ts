import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import {
  preResolvedChunkerOptions,
  SentenceChunker,
  sentenceChunkerOptionsSchema,
} from '../../src/pipeline/sentence-chunker.js';

const split = (text: string, options = {}) => SentenceChunker.split(text, options);

/** Feeds `text` in pieces cut at `cuts` (positions), then flushes. */
function streamed(text: string, cuts: number[], options = {}): string[] {
  const c = new SentenceChunker(options);
  const out: string[] = [];
  let from = 0;
  for (const at of [...new Set(cuts)].sort((a, b) => a - b)) {
    out.push(...c.push(text.slice(from, at), 0));
    from = at;
  }
  out.push(...c.push(text.slice(from), 0), ...c.flush());
  return out;
}

const noSpace = (s: string) => s.replace(/\s/g, '');

describe('SentenceChunker examples', () => {
  it('splits plain sentences and keeps the punctuation', () => {
    expect(split('It is late. Are you there? Yes!')).toEqual(['It is late.', 'Are you there?', 'Yes!']);
  });

  it('does not split decimals, versions or amounts', () => {
    expect(split('The load weighs 3.5 tons and costs $1,204.50 today. Version 2.1.3 shipped.')).toEqual([
      'The load weighs 3.5 tons and costs $1,204.50 today.',
      'Version 2.1.3 shipped.',
    ]);
  });

  it('does not split after titles, e.g. or i.e.', () => {
    expect(
      split('Dr. Smith met Mrs. Jones, e.g. at St. Mary. They talked.', { firstChunkMinChars: 0 }),
    ).toEqual(['Dr. Smith met Mrs. Jones, e.g. at St. Mary.', 'They talked.']);
  });

  it('splits after an ambiguous abbreviation only when a sentence starts', () => {
    expect(split('We left at 9 a.m. today. We arrived at 5 p.m. Then we slept.')).toEqual([
      'We left at 9 a.m. today.',
      'We arrived at 5 p.m.',
      'Then we slept.',
    ]);
  });

  it('treats "No." before a number as an abbreviation and otherwise as a word', () => {
    expect(split('See No. 5 on the list. The answer is no. Then stop.')).toEqual([
      'See No. 5 on the list.',
      'The answer is no.',
      'Then stop.',
    ]);
  });

  it('keeps an ellipsis inside a sentence unless a new sentence follows', () => {
    expect(split('Well... maybe not. Wait… Then what?')).toEqual([
      'Well... maybe not.',
      'Wait…',
      'Then what?',
    ]);
  });

  it('keeps closing quotes and brackets with their sentence', () => {
    expect(split('He said "stop." Then he left (quickly.) Done.')).toEqual([
      'He said "stop."',
      'Then he left (quickly.)',
      'Done.',
    ]);
  });

  it('cuts list items at line breaks and does not split list numbers', () => {
    expect(split('Here are the loads:\n1. Load A is late.\n2. Load B is on time.\n- Load C')).toEqual([
      'Here are the loads:',
      '1. Load A is late.',
      '2. Load B is on time.',
      '- Load C',
    ]);
  });

  it('does not split inline list numbers after a colon', () => {
    expect(split('Steps: 1. Open the app. 2. Tap the button.')).toEqual([
      'Steps: 1. Open the app.',
      '2. Tap the button.',
    ]);
  });

  it('splits at full-width CJK punctuation without spaces', () => {
    expect(split('你好。我是助手！今天怎么样？')).toEqual(['你好。', '我是助手！', '今天怎么样？']);
  });

  it('does not split URLs or e-mail addresses', () => {
    expect(split('Visit example.com or mail ops@example.co.uk today. Thanks.')).toEqual([
      'Visit example.com or mail ops@example.co.uk today.',
      'Thanks.',
    ]);
  });

  it('cuts a long first sentence at a clause break once it reaches firstChunkMinChars', () => {
    const text = 'Load 2314 is in transit near Denver, Colorado, and should arrive tomorrow at noon.';
    expect(split(text)).toEqual([
      'Load 2314 is in transit near Denver,',
      'Colorado, and should arrive tomorrow at noon.',
    ]);
  });

  it('applies the first-chunk rule only to the first chunk', () => {
    const text = 'Yes. Load 2314 is in transit near Denver, Colorado, and should arrive tomorrow.';
    expect(split(text)).toEqual([
      'Yes.',
      'Load 2314 is in transit near Denver, Colorado, and should arrive tomorrow.',
    ]);
  });

  it('cuts a long first sentence without clause breaks at a space before firstChunkMaxChars', () => {
    const text =
      'The driver of load 2314 expects to reach the Dallas yard tomorrow around noon today. Then rest.';
    const [first, ...rest] = split(text, { firstChunkMaxChars: 40 });
    expect(first).toBe('The driver of load 2314 expects to');
    expect(rest).toEqual(['reach the Dallas yard tomorrow around noon today.', 'Then rest.']);
  });

  it('does not cut at a clause break before firstChunkMinChars', () => {
    expect(split('Sure, I can check that for you now.')).toEqual(['Sure, I can check that for you now.']);
  });

  it('turns the first-chunk rule off with firstChunkMinChars 0', () => {
    const text = 'Load 2314 is in transit near Denver, Colorado, and should arrive tomorrow at noon.';
    expect(split(text, { firstChunkMinChars: 0 })).toEqual([text]);
  });

  it('cuts a sentence longer than maxChars at a clause break or space', () => {
    const text = `${'word '.repeat(30)}end, ${'more '.repeat(30)}done.`;
    const chunks = split(text, { maxChars: 60, firstChunkMinChars: 0 });
    expect(chunks.length).toBeGreaterThan(2);
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(60);
    expect(noSpace(chunks.join(''))).toBe(noSpace(text));
  });

  it('cuts text without spaces at grapheme boundaries', () => {
    const text = '👩‍👩‍👧‍👦'.repeat(20);
    const chunks = split(text, { maxChars: 16, firstChunkMinChars: 0 });
    expect(chunks.join('')).toBe(text);
    for (const c of chunks) expect(c.length % '👩‍👩‍👧‍👦'.length).toBe(0);
  });

  it('does not hard-cut before the second half of a surrogate pair has arrived', () => {
    const text = '!𐀀𐀀!𐀀𐀀𝅘𝅥𝅮';
    const whole = split(text, { maxChars: 12, firstChunkMinChars: 0 });
    expect(streamed(text, [13], { maxChars: 12, firstChunkMinChars: 0 })).toEqual(whole);
    expect(whole).toEqual(['!𐀀𐀀!𐀀𐀀', '𝅘𝅥𝅮']);
  });

  it('waits for the next character before deciding on a dot', () => {
    const c = new SentenceChunker();
    expect(c.push('It weighs 3.', 0)).toEqual([]);
    expect(c.push('5 tons. Next', 0)).toEqual(['It weighs 3.5 tons.']);
    expect(c.flush()).toEqual(['Next']);
  });

  it('flushes stale text at its last space after maxWaitMs', () => {
    const c = new SentenceChunker({ maxWaitMs: 300 });
    expect(c.push('Let me check the status of', 1000)).toEqual([]);
    expect(c.staleAtMs).toBe(1300);
    expect(c.flushStale(1299)).toEqual([]);
    expect(c.flushStale(1300)).toEqual(['Let me check the status']);
    expect(c.pendingText).toBe('of');
    expect(c.push(' load 2314.', 1400)).toEqual([]);
    expect(c.flush()).toEqual(['of load 2314.']);
  });

  it('does not flush a single growing word when stale', () => {
    const c = new SentenceChunker({ maxWaitMs: 100 });
    c.push('Supercalifragilistic', 0);
    expect(c.flushStale(500)).toEqual([]);
    expect(c.staleAtMs).toBe(600);
  });

  it('rejects invalid options with a ConfigError naming the field', () => {
    expect(() => new SentenceChunker({ maxChars: 2 })).toThrow(ConfigError);
    expect(() => new SentenceChunker({ maxChars: 2 })).toThrow(/maxChars/);
  });
});

describe('SentenceChunker properties', () => {
  const texts = fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 300 }),
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc
      .array(
        fc.oneof(
          fc.constantFrom(
            'Dr.',
            'e.g.',
            'a.m.',
            'No.',
            '3.5',
            '...',
            '…',
            '."',
            '?!',
            ',',
            ';',
            ':',
            '\n',
            '1.',
            '。',
            '”',
            ' ',
            '  ',
            'U.S.',
            '𝅘𝅥𝅮',
            '👩‍👩‍👧‍👦',
            '\u0301',
          ),
          fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 12 }),
        ),
        { maxLength: 60 },
      )
      .map((parts) => parts.join(' ')),
  );
  const options = fc.record({
    firstChunkMinChars: fc.integer({ min: 0, max: 40 }),
    firstChunkMaxChars: fc.integer({ min: 8, max: 120 }),
    maxChars: fc.integer({ min: 8, max: 200 }),
  });

  it('never loses or reorders a non-space character, and chunks are trimmed and non-empty', () => {
    fc.assert(
      fc.property(texts, options, (text, opts) => {
        const chunks = split(text, opts);
        expect(noSpace(chunks.join(''))).toBe(noSpace(text));
        for (const c of chunks) {
          expect(c.length).toBeGreaterThan(0);
          expect(c).toBe(c.trim());
        }
      }),
      { numRuns: 400 },
    );
  });

  it('gives the same chunks however the text is split into deltas', () => {
    fc.assert(
      fc.property(texts, options, fc.array(fc.nat(), { maxLength: 30 }), (text, opts, rawCuts) => {
        const cuts = rawCuts.map((n) => (text.length === 0 ? 0 : n % (text.length + 1)));
        expect(streamed(text, cuts, opts)).toEqual(split(text, opts));
      }),
      { numRuns: 400 },
    );
  });

  it('never makes a chunk longer than maxChars, unless it is one grapheme longer than that', () => {
    const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
    fc.assert(
      fc.property(texts, options, (text, opts) => {
        for (const c of split(text, opts)) {
          if (c.length > opts.maxChars) expect([...graphemes.segment(c)]).toHaveLength(1);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('never cuts inside a grapheme cluster', () => {
    const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
    const clusters = fc
      .array(fc.constantFrom('👩‍👩‍👧‍👦', 'e\u0301', '🇫🇷', '𝅘𝅥𝅮', 'ab', 'x', ' '), { maxLength: 80 })
      .map((p) => p.join(''));
    fc.assert(
      fc.property(clusters, options, fc.array(fc.nat(), { maxLength: 20 }), (text, opts, rawCuts) => {
        const cuts = rawCuts.map((n) => (text.length === 0 ? 0 : n % (text.length + 1)));
        const chunks = streamed(text, cuts, opts);
        const whole = new Set([...graphemes.segment(text)].map((g) => g.segment));
        for (const c of chunks)
          for (const g of graphemes.segment(c))
            expect(whole.has(g.segment) || /\s/.test(g.segment)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('never cuts a surrogate pair', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), options, (text, opts) => {
        for (const c of split(text, opts)) {
          expect(/^[\uDC00-\uDFFF]/.test(c)).toBe(false);
          expect(/[\uD800-\uDBFF]$/.test(c)).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never splits a decimal number', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(999), fc.nat(99)), { minLength: 1, maxLength: 8 }),
        fc.array(fc.constantFrom('The value is', 'and', 'then', 'Next.'), { minLength: 1, maxLength: 8 }),
        (nums, words) => {
          const text = nums.map(([a, b], i) => `${words[i % words.length]} ${a}.${b}`).join(' ');
          const chunks = split(text, { firstChunkMinChars: 0 });
          for (const [a, b] of nums) expect(chunks.some((c) => c.includes(`${a}.${b}`))).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('SentenceChunker rules pinned one by one (issue 13: each change went unnoticed)', () => {
  const noFirst = { firstChunkMinChars: 0 };

  it('the user abbreviations option keeps a sentence whole, with or without its dot, any case', () => {
    const text = 'It weighs approx. two tons. Call Acme Whse. Denver now.';
    expect(split(text, noFirst)).toEqual(['It weighs approx. two tons.', 'Call Acme Whse.', 'Denver now.']);
    expect(split(text, { ...noFirst, abbreviations: ['whse'] })).toEqual([
      'It weighs approx. two tons.',
      'Call Acme Whse. Denver now.',
    ]);
    expect(split(text, { ...noFirst, abbreviations: ['WHSE.'] })).toEqual([
      'It weighs approx. two tons.',
      'Call Acme Whse. Denver now.',
    ]);
  });

  it('the initials rule: a single letter before a dot never ends a sentence', () => {
    expect(split('Call J. Smith now.', noFirst)).toEqual(['Call J. Smith now.']);
    expect(split('Ask J. R. Tolkien. He knows.', noFirst)).toEqual(['Ask J. R. Tolkien.', 'He knows.']);
    expect(split('It was Plan B. Then it failed.', noFirst)).toEqual(['It was Plan B. Then it failed.']);
  });

  it('the etc./Inc. rule: a sentence ends there only when the next word starts like a sentence', () => {
    expect(split('Bring tape, rope, etc. and gloves.', noFirst)).toEqual([
      'Bring tape, rope, etc. and gloves.',
    ]);
    expect(split('Bring tape, rope, etc. Then leave.', noFirst)).toEqual([
      'Bring tape, rope, etc.',
      'Then leave.',
    ]);
    expect(split('Ask Acme Inc. for a quote.', noFirst)).toEqual(['Ask Acme Inc. for a quote.']);
    expect(split('We work with Acme Inc. They pay on time.', noFirst)).toEqual([
      'We work with Acme Inc.',
      'They pay on time.',
    ]);
    expect(split('It left at 9 a.m. "Fine," he said.', noFirst)).toEqual([
      'It left at 9 a.m.',
      '"Fine," he said.',
    ]);
  });

  it('dotted acronyms follow the sentence-start rule; the digit rule keeps "No. 5"', () => {
    expect(split('Ship it to the U.S. next week.', noFirst)).toEqual(['Ship it to the U.S. next week.']);
    expect(split('Ship it to the U.N. Next week we go.', noFirst)).toEqual([
      'Ship it to the U.N.',
      'Next week we go.',
    ]);
    expect(split('Take vol. 3 home. Read no. more.', noFirst)).toEqual([
      'Take vol. 3 home.',
      'Read no.',
      'more.',
    ]);
  });

  it('a title before a dot never ends a sentence, even before a capital', () => {
    expect(split('Ask Dr. Who. Then go.', noFirst)).toEqual(['Ask Dr. Who.', 'Then go.']);
    expect(split('See Fig. Two below.', noFirst)).toEqual(['See Fig. Two below.']);
  });

  it('the CJK clause rule cuts the first chunk at a full-width comma once it is long enough', () => {
    const text = '我们已经收到了您的订单和所有的付款信息，现在正在安排发货的时间。谢谢。';
    const comma = text.indexOf('，');
    expect(comma + 1).toBeGreaterThanOrEqual(5);
    expect(split(text, { firstChunkMinChars: 5 })).toEqual([
      text.slice(0, comma + 1),
      text.slice(comma + 1, text.indexOf('。') + 1),
      '谢谢。',
    ]);
    // the rule is for the first chunk only, and off with firstChunkMinChars 0
    expect(split(`好。${text}`, { firstChunkMinChars: 1 })[1]).toBe(text.slice(0, text.indexOf('。') + 1));
    expect(split(text, noFirst)[0]).toBe(text.slice(0, text.indexOf('。') + 1));
    // not before firstChunkMinChars
    expect(split(text, { firstChunkMinChars: comma + 3 })[0]).toBe(text.slice(0, text.indexOf('。') + 1));
  });

  it('the ASCII clause rule needs a space after the break and the minimum length', () => {
    const text = 'Okay so I checked the schedule, and the load is late; it arrives tomorrow.';
    expect(split(text, { firstChunkMinChars: 10 })).toEqual([
      'Okay so I checked the schedule,',
      'and the load is late; it arrives tomorrow.',
    ]);
    expect(split(text, { firstChunkMinChars: 32 })).toEqual([
      'Okay so I checked the schedule, and the load is late;',
      'it arrives tomorrow.',
    ]);
    expect(
      split('The total is 1,204 dollars and then some more words here.', { firstChunkMinChars: 5 }),
    ).toEqual(['The total is 1,204 dollars and then some more words here.']);
  });

  it('a long sentence is cut at its last clause break before the cap, in preference to a later space', () => {
    const text = 'We checked the load and the truck, the driver and everything looks right to us now.';
    expect(split(text, { maxChars: 60, firstChunkMinChars: 0 })).toEqual([
      'We checked the load and the truck,',
      'the driver and everything looks right to us now.',
    ]);
    // without a clause break: the last space before the cap
    const plain = 'We checked the load the truck and the driver and everything looks right to us now.';
    expect(split(plain, { maxChars: 60, firstChunkMinChars: 0 })).toEqual([
      'We checked the load the truck and the driver and everything',
      'looks right to us now.',
    ]);
    // a clause break only counts in the second half of the window
    expect(
      split('Ok, we checked the load the truck and the driver and everything looks right.', {
        maxChars: 60,
        firstChunkMinChars: 0,
      })[0],
    ).toBe('Ok, we checked the load the truck and the driver and');
  });

  it('the first chunk is capped at firstChunkMaxChars, later ones at maxChars', () => {
    const words = 'one two three four five six seven eight nine ten eleven twelve thirteen fourteen';
    const chunks = split(`${words} ${words}.`, { firstChunkMaxChars: 30, maxChars: 60 });
    expect(chunks[0]!.length).toBeLessThanOrEqual(30);
    expect(chunks[0]).toBe('one two three four five six');
    expect(chunks[1]!.length).toBeGreaterThan(30);
    expect(chunks[1]!.length).toBeLessThanOrEqual(60);
  });

  it('counts chunks, reports pending text and its stale time, and reset re-arms the first-chunk rule', () => {
    const c = new SentenceChunker({ maxWaitMs: 100 });
    expect(c.staleAtMs).toBeUndefined();
    expect(c.push('   ', 0)).toEqual([]);
    expect(c.pendingText).toBe('');
    expect(c.push('  Hello there. How', 10)).toEqual(['Hello there.']);
    expect(c.emittedCount).toBe(1);
    expect(c.pendingText).toBe('How');
    expect(c.staleAtMs).toBe(110);
    expect(c.flushStale(109)).toEqual([]);
    c.reset();
    expect([c.emittedCount, c.pendingText, c.staleAtMs]).toEqual([0, '', undefined]);
    const text = 'Okay so I checked the schedule, and it is late.';
    expect(c.push(text, 0)).toEqual(['Okay so I checked the schedule,']);
    expect(c.flush()).toEqual(['and it is late.']);
    expect(c.push(text, 0)).toEqual([]);
  });

  it('flushStale cuts at the last space, keeps one growing word, and flushes CJK text whole', () => {
    const c = new SentenceChunker({ maxWaitMs: 100 });
    c.push('waiting for the rest of the wor', 0);
    expect(c.flushStale(99)).toEqual([]);
    expect(c.flushStale(100)).toEqual(['waiting for the rest of the']);
    expect(c.pendingText).toBe('wor');
    expect(c.staleAtMs).toBe(200);
    expect(c.flushStale(200)).toEqual([]);
    expect(c.staleAtMs).toBe(300);
    const cjk = new SentenceChunker({ maxWaitMs: 100 });
    cjk.push('我们正在查询', 0);
    // all but the last grapheme, which a combining mark may still extend
    expect(cjk.flushStale(100)).toEqual(['我们正在查']);
    expect(cjk.pendingText).toBe('询');
  });

  it('a line break always ends a chunk; a short number starting a line is a list item, elsewhere it ends', () => {
    expect(split('first\r\nsecond\u2028third', noFirst)).toEqual(['first', 'second', 'third']);
    expect(split('We need 12. Then go.', noFirst)).toEqual(['We need 12.', 'Then go.']);
    expect(split('12. Then go.', noFirst)).toEqual(['12. Then go.']);
    expect(split('We need 1234. Then go.', noFirst)).toEqual(['We need 1234.', 'Then go.']);
  });

  it('mixed and repeated terminals end the sentence; a dot run before lower case does not', () => {
    expect(split('Really?! Yes. No.. maybe. Fine.', noFirst)).toEqual([
      'Really?!',
      'Yes.',
      'No.. maybe.',
      'Fine.',
    ]);
    expect(split('Wait... Then go.', noFirst)).toEqual(['Wait...', 'Then go.']);
    expect(split('He said (“no.”) Then left.', noFirst)).toEqual(['He said (“no.”)', 'Then left.']);
  });
});

describe('SentenceChunker edges pinned by the mutation run (each test fails under a change that survived)', () => {
  const noFirst = { firstChunkMinChars: 0 };

  it('a user abbreviation with inner dots drops only its final dot', () => {
    expect(split('Sign the b.l. Then go.', noFirst)).toEqual(['Sign the b.l.', 'Then go.']);
    expect(split('Sign the b.l. Then go.', { ...noFirst, abbreviations: ['b.l.'] })).toEqual([
      'Sign the b.l. Then go.',
    ]);
  });

  it('names the bad option by its full path and the chunker as the source', () => {
    const err = (() => {
      try {
        return new SentenceChunker({ abbreviations: ['ok', ''] });
      } catch (e) {
        return e;
      }
    })() as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.issues.map((i) => i.path)).toEqual(['abbreviations.1']);
    expect(err.message).toContain('(SentenceChunker options)');
  });

  it('uses options marked as already parsed as given, without validating them again', () => {
    const parsed = { ...sentenceChunkerOptionsSchema.parse({}), maxChars: 4, firstChunkMinChars: 0 };
    // maxChars 4 is below the schema's minimum: a second validation would throw
    expect(split('ab cd ef', preResolvedChunkerOptions(parsed))).toEqual(['ab', 'cd', 'ef']);
  });

  it('nothing pending means no stale time: after whitespace, after a cut that empties it, after flush', () => {
    const c = new SentenceChunker({ maxWaitMs: 100 });
    expect(c.flushStale(500)).toEqual([]);
    expect(c.staleAtMs).toBeUndefined();
    expect(c.push('   ', 0)).toEqual([]);
    expect(c.staleAtMs).toBeUndefined();
    expect(c.push('Done. ', 5)).toEqual(['Done.']);
    expect([c.pendingText, c.staleAtMs, c.emittedCount]).toEqual(['', undefined, 1]);
    expect(c.push('Bye', 7)).toEqual([]);
    expect(c.flush()).toEqual(['Bye']);
    expect([c.pendingText, c.staleAtMs, c.emittedCount]).toEqual(['', undefined, 2]);
  });

  it('cuts at the cap as soon as the text passes it, on push', () => {
    const c = new SentenceChunker({ maxChars: 8, firstChunkMinChars: 0 });
    expect(c.push('abcd efgh', 0)).toEqual(['abcd']);
    expect(c.pendingText).toBe('efgh');
    // a grapheme boundary exactly at the cap is used
    expect(split('abcdefghijkl', { maxChars: 8, firstChunkMinChars: 0 })).toEqual(['abcdefgh', 'ijkl']);
  });

  it('waits for the second half of a surrogate pair at the cap, for every high surrogate', () => {
    const o = { maxChars: 8, firstChunkMinChars: 0 };
    for (const [high, low] of [
      ['\uD800', '\uDC00'],
      ['\uDBFF', '\uDFFF'],
    ] as const) {
      const c = new SentenceChunker(o);
      expect(c.push(`abcdefgh${high}`, 0)).toEqual([]);
      expect(c.push(`${low}ij`, 0)).toEqual(['abcdefgh']);
      expect(c.flush()).toEqual([`${high}${low}ij`]);
    }
    // a complete pair at the cap does not make it wait
    expect(new SentenceChunker(o).push('abcdefgh\uD800\uDC00ij', 0)).toEqual(['abcdefgh']);
    // a stream that ends after half a pair is still cut at the cap
    const c = new SentenceChunker(o);
    expect(c.push('abcdefgh\uD83D', 0)).toEqual([]);
    expect(c.flush()).toEqual(['abcdefgh', '\uD83D']);
  });

  it('a first grapheme longer than the cap is one chunk, and the text after it another', () => {
    const long = `e${'\u0301'.repeat(10)}`;
    expect(split(`${long}abc`, { maxChars: 8, firstChunkMinChars: 0 })).toEqual([long, 'abc']);
  });

  it('flushStale first makes the cuts a growing grapheme deferred', () => {
    const long = `e${'\u0301'.repeat(30)}`;
    const c = new SentenceChunker({ maxWaitMs: 100, maxChars: 8, firstChunkMinChars: 0 });
    expect(c.push(long, 0)).toEqual([]);
    expect(c.push(' more words', 10)).toEqual([]); // deferred until the buffer doubles
    expect(c.flushStale(99)).toEqual([]);
    expect(c.flushStale(100)).toEqual([long, 'more']);
    expect(c.pendingText).toBe('words');
  });

  it('flushStale never cuts a single CJK grapheme (Hangul jamo)', () => {
    const c = new SentenceChunker({ maxWaitMs: 100 });
    expect(c.push('\u1100\u1161\u11A8', 0)).toEqual([]);
    expect(c.flushStale(100)).toEqual([]);
    expect(c.staleAtMs).toBe(200);
    expect(c.pendingText).toBe('\u1100\u1161\u11A8');
  });

  it('a run of ! ? and mixed terminals ends the sentence even before lower case', () => {
    expect(split('Stop!. then go. Wait?!? no way.', noFirst)).toEqual([
      'Stop!.',
      'then go.',
      'Wait?!?',
      'no way.',
    ]);
  });

  it('a single ellipsis character, alone or after ? or !, keeps the sentence before lower case', () => {
    expect(split('Well… maybe not. Fine.', noFirst)).toEqual(['Well… maybe not.', 'Fine.']);
    expect(split('Really?… maybe not. Fine.', noFirst)).toEqual(['Really?… maybe not.', 'Fine.']);
  });

  it('a full-width terminal anywhere in a run ends the sentence without a space', () => {
    expect(split('好!。我们走', noFirst)).toEqual(['好!。', '我们走']);
  });

  it('a dotted acronym not in the list stays inside the sentence before lower case', () => {
    expect(split('Ask the U.N. next week.', noFirst)).toEqual(['Ask the U.N. next week.']);
  });

  it('the digit rule: any digit after "vol." keeps it, anything else ends "no."', () => {
    expect(split('Read vol. 0 first.', noFirst)).toEqual(['Read vol. 0 first.']);
    expect(split('The answer is no. "Fine," he said.', noFirst)).toEqual([
      'The answer is no.',
      '"Fine," he said.',
    ]);
  });

  it('a list number after a colon and a tab is a list item', () => {
    expect(split('Steps:\t1. Open the app.', noFirst)).toEqual(['Steps:\t1. Open the app.']);
  });

  it('emits CJK chunks as soon as the character after the break has arrived', () => {
    const text = '我们已经收到了您的订单和所有的付款信息，现在正在安排发货的时间。谢谢。';
    const comma = text.indexOf('，');
    const c = new SentenceChunker({ firstChunkMinChars: 5 });
    expect(c.push(text.slice(0, comma + 1), 0)).toEqual([]); // the comma is last: wait
    expect(c.push(text.slice(comma + 1), 0)).toEqual([
      text.slice(0, comma + 1),
      text.slice(comma + 1, text.indexOf('。') + 1),
    ]);
    expect(c.flush()).toEqual(['谢谢。']);
    expect(new SentenceChunker(noFirst).push('你好。我', 0)).toEqual(['你好。']);
  });

  it('a mark outside the BMP after a full-width terminal attaches to it, even when it arrives in halves', () => {
    const text = '你好。\u{E0100}我们';
    expect(split(text, noFirst)).toEqual([text]);
    const c = new SentenceChunker(noFirst);
    expect(c.push('你好。\uDB40', 0)).toEqual([]);
    expect(c.push('\uDD00我们', 0)).toEqual([]);
    expect(c.flush()).toEqual([text]);
  });
});
