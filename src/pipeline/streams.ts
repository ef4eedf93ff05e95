/**
 * Reading a stage's async iterable under the turn's signal, and small byte helpers.
 * @module
 */
import { abortReason, noop } from '../internal/abort.js';

/** Closes an iterator we stop reading, ignoring whatever its `return()` does. */
export function closeIterator(iterator: AsyncIterator<unknown>): void {
  try {
    const closing = iterator.return?.();
    if (closing && typeof (closing as Promise<unknown>).then === 'function')
      (closing as Promise<unknown>).then(noop, noop);
  } catch {
    // A stage whose return() throws has nothing left for us to clean up.
  }
}

/**
 * Reads `iterable` item by item, giving up as soon as `signal` aborts (and closing the
 * iterator). One abort listener for the whole stream, not one per item: a turn reads hundreds
 * of tokens and audio chunks.
 */
export async function consume<T>(
  iterable: AsyncIterable<T>,
  signal: AbortSignal,
  onItem: (item: T) => void,
): Promise<void> {
  if (signal.aborted) throw abortReason(signal);
  const iterator = iterable[Symbol.asyncIterator]();
  let finished = false;
  let rejectWait: ((err: unknown) => void) | undefined;
  const onAbort = (): void => rejectWait?.(abortReason(signal));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      const next = iterator.next();
      // A stage that ignores its signal must not hold the turn: race it against the abort.
      const result = await new Promise<IteratorResult<T>>((resolve, reject) => {
        rejectWait = reject;
        next.then(resolve, reject);
      });
      rejectWait = undefined;
      if (result.done) {
        finished = true;
        return;
      }
      onItem(result.value);
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    if (!finished) closeIterator(iterator);
  }
}

/** Joins byte chunks into one array. */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const chunk of chunks) length += chunk.byteLength;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
