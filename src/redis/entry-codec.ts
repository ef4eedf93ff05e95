import type { Serializer } from '../cache/serializer.js';
import type { CacheEntry } from '../cache/tier.js';
import { CacheError } from '../errors.js';

/** Version tag of the stored format; bump it when the layout changes. */
const TAG = 'E1|';

/**
 * Encodes an entry as `E1|<freshUntil>|<staleUntil>|<payload>`: the times stay outside the
 * payload so a custom serializer only ever sees the value, and decoding needs no second parse.
 */
export function encodeEntry(entry: CacheEntry, serializer: Serializer): string {
  return `${TAG}${entry.freshUntil}|${entry.staleUntil}|${serializer.serialize(entry.value)}`;
}

/** Decodes what {@link encodeEntry} wrote; throws `CacheError(EARSHOT_CACHE_SERIALIZATION)` on anything else. */
export function decodeEntry(raw: string, serializer: Serializer): CacheEntry {
  const a = raw.startsWith(TAG) ? raw.indexOf('|', TAG.length) : -1;
  const b = a < 0 ? -1 : raw.indexOf('|', a + 1);
  if (b < 0) {
    throw new CacheError(
      'EARSHOT_CACHE_SERIALIZATION',
      'Stored entry is not in earshot format (missing E1 header); it was deleted.',
    );
  }
  const freshUntil = Number(raw.slice(TAG.length, a));
  const staleUntil = Number(raw.slice(a + 1, b));
  if (!Number.isFinite(freshUntil) || !Number.isFinite(staleUntil)) {
    throw new CacheError(
      'EARSHOT_CACHE_SERIALIZATION',
      'Stored entry has a malformed header; it was deleted.',
    );
  }
  const value = serializer.deserialize(raw.slice(b + 1));
  // Two bytes per character is what the memory tier would count for the parsed strings.
  return { value, freshUntil, staleUntil, size: 2 * (raw.length - b) };
}
