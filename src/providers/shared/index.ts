/**
 * Helpers shared by the provider adapters (`providers/<name>/`): one copy of the async queue,
 * the deadline/abort control, API-key lookup, optional-peer loading, error-mapping blocks and
 * the `outcome` label convention. Internal: not a public subpath. Provider folders may import
 * it; they still never import each other.
 * @module
 */
export { resolveApiKey } from './api-key.js';
export { AsyncQueue } from './async-queue.js';
export { CallControl, raceControl, type StopReason } from './call-control.js';
export {
  createProviderErrors,
  type HeadersLike,
  isRetryableHttpStatus,
  mapStoppedCall,
  networkCode,
  providerError,
} from './error-mapping.js';
export { mapFernSdkError } from './fern-errors.js';
export { lazyAsync } from './lazy.js';
export { optionalPeerLoader } from './optional-import.js';
export { type CallOutcome, type LatencyRecorder, NO_RECORDING, outcomeOf, recorderOf } from './outcome.js';
export { finiteNumber } from './wire.js';
