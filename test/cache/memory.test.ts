import { afterEach, describe, it } from 'vitest';
import { createCacheManager } from '../../src/cache/index.js';
import { describeCacheBehaviour } from '../../src/cache/tier-kit/index.js';

describeCacheBehaviour('memory tier', () => (extra) => createCacheManager({ ...extra }), {
  describe,
  it,
  afterEach,
});
