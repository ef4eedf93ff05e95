import { describe, expect, it } from 'vitest';
import { AbortedError, TimeoutError } from '../../src/errors.js';
import { abortableSleep, abortReason, raceAbort, throwIfAborted } from '../../src/internal/abort.js';

describe('raceAbort (the one in internal/abort.ts)', () => {
  it('settles like the promise when the signal never fires, and removes its listener', async () => {
    const controller = new AbortController();
    let added = 0;
    let removed = 0;
    const signal = controller.signal;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<typeof add>) => {
      added++;
      add(...args);
    }) as typeof signal.addEventListener;
    signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
      removed++;
      remove(...args);
    }) as typeof signal.removeEventListener;
    await expect(raceAbort(Promise.resolve(3), signal, 'The lookup')).resolves.toBe(3);
    await expect(raceAbort(Promise.reject(new Error('boom')), signal, 'The lookup')).rejects.toThrow('boom');
    expect(added).toBe(2);
    expect(removed).toBe(2);
  });

  it('with a description, rejects with AbortedError "<what> was aborted." carrying the reason', async () => {
    const controller = new AbortController();
    const pending = raceAbort(new Promise<never>(() => {}), controller.signal, 'The company API call');
    controller.abort('user left');
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortedError);
    expect((err as Error).message).toBe('The company API call was aborted.');
    expect((err as Error).cause).toBe('user left');
  });

  it('with a function, rejects with what it makes of the signal (abortReason keeps a TimeoutError)', async () => {
    const controller = new AbortController();
    const timeout = new TimeoutError('too slow', 10);
    controller.abort(timeout);
    await expect(raceAbort(Promise.resolve(1), controller.signal, abortReason)).rejects.toBe(timeout);
    const other = new AbortController();
    other.abort('why');
    const err = await raceAbort(Promise.resolve(1), other.signal, abortReason).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortedError);
    expect((err as Error).cause).toBe('why');
  });

  it('without a signal returns the promise itself; a late rejection of an abandoned promise is handled', async () => {
    const p = Promise.resolve(5);
    expect(raceAbort(p, undefined, 'x')).toBe(p);
    const controller = new AbortController();
    let rejectLate!: (e: unknown) => void;
    const late = new Promise<never>((_, reject) => {
      rejectLate = reject;
    });
    const raced = raceAbort(late, controller.signal, 'The call');
    controller.abort();
    await expect(raced).rejects.toBeInstanceOf(AbortedError);
    rejectLate(new Error('late')); // would be an unhandled rejection without the no-op handler
    await new Promise((r) => setTimeout(r, 5));
  });

  it('abortableSleep and throwIfAborted use the same rejection rules', async () => {
    const controller = new AbortController();
    const sleeping = abortableSleep(60_000, controller.signal, 'The retry wait');
    controller.abort();
    await expect(sleeping).rejects.toThrow('The retry wait was aborted.');
    expect(() => throwIfAborted(controller.signal, 'The page walk')).toThrow('The page walk was aborted.');
    expect(() => throwIfAborted(undefined, 'x')).not.toThrow();
    await expect(abortableSleep(1, undefined, 'x')).resolves.toBeUndefined();
  });
});
