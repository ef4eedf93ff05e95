/**
 * Deterministic text embeddings with no model: a hashed bag of words (plus character
 * trigrams, so `load` and `loads` stay close), normalized to unit length. Texts that share
 * words get a high cosine similarity; unrelated texts are near 0. The fake OpenAI server
 * answers `/v1/embeddings` with it, and tests can call it directly to seed a vector index.
 * @module
 */
import { InvalidArgumentError } from '../errors.js';

const STOPWORDS = new Set(
  'a an and are as at be but by can do does for from has have how i in is it its me my of on or our so that the their them there these this to was we what when where which who why will with you your'.split(
    ' ',
  ),
);

/** FNV-1a 32-bit hash: stable across runs and platforms. */
function fnv1a(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function words(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    if (STOPWORDS.has(raw)) continue;
    // A crude stemmer: enough to make plurals and -ing forms meet.
    let w = raw;
    if (w.length > 4 && w.endsWith('ing')) w = w.slice(0, -3);
    else if (w.length > 3 && w.endsWith('es')) w = w.slice(0, -2);
    else if (w.length > 3 && w.endsWith('s')) w = w.slice(0, -1);
    out.push(w);
  }
  return out;
}

/**
 * Embeds `text` into a unit vector of `dimensions` numbers, deterministically.
 *
 * @example
 * ```ts
 * const a = fakeEmbed('How do I report a damaged trailer?', 256);
 * const b = fakeEmbed('Procedure for a damaged trailer', 256);
 * cosineSimilarity(a, b); // clearly > 0.3; unrelated texts stay near 0
 * ```
 */
export function fakeEmbed(text: string, dimensions = 1536): number[] {
  if (!Number.isInteger(dimensions) || dimensions < 2 || dimensions > 16_384) {
    throw new InvalidArgumentError(
      `Embedding dimensions must be an integer between 2 and 16384, got ${dimensions}.`,
    );
  }
  const v = new Float64Array(dimensions);
  const add = (feature: string, weight: number) => {
    const h = fnv1a(feature);
    const sign = fnv1a(feature, 0x9e3779b9) & 1 ? 1 : -1;
    v[h % dimensions] = (v[h % dimensions] ?? 0) + sign * weight;
  };
  const ws = words(text);
  for (const w of ws) {
    add(`w:${w}`, 1);
    if (w.length >= 4) for (let i = 0; i + 3 <= w.length; i++) add(`t:${w.slice(i, i + 3)}`, 0.25);
  }
  for (let i = 0; i + 1 < ws.length; i++) add(`b:${ws[i]} ${ws[i + 1]}`, 0.5);
  let norm = 0;
  for (const x of v) norm += x * x;
  if (norm === 0) {
    // Empty or all-stopword text: a fixed unit vector, so cosine stays defined.
    v[0] = 1;
    norm = 1;
  }
  const scale = 1 / Math.sqrt(norm);
  return Array.from(v, (x) => x * scale);
}

/** Cosine similarity of two vectors of the same length (0 when either is all zeros). */
export function cosineSimilarity(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) {
    throw new InvalidArgumentError(`Vectors differ in length (${a.length} vs ${b.length}).`);
  }
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
