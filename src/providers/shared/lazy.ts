/**
 * Lazily created async resources (an SDK client, an index handle) shared by every call.
 * @module
 */

/**
 * Returns a getter that runs `load` on first use and hands every caller the same promise. A
 * rejection is forgotten, so the next call runs `load` again (a missing package installed
 * meanwhile, a network blip during a lookup).
 *
 * @example
 * ```ts
 * const getClient = lazyAsync(() => loadSdk().then((sdk) => new sdk.Client({ apiKey })));
 * const client = await getClient();
 * ```
 */
export function lazyAsync<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    if (pending) return pending;
    let p: Promise<T>;
    try {
      p = load();
    } catch (err) {
      return Promise.reject(err);
    }
    pending = p;
    p.catch(() => {
      if (pending === p) pending = undefined;
    });
    return p;
  };
}
