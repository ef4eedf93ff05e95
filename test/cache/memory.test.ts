import { createCacheManager } from '../../src/cache/index.js';
import { describeCacheBehaviour } from './behaviour-suite.js';

describeCacheBehaviour('memory tier', () => (extra) => createCacheManager({ ...extra }));
