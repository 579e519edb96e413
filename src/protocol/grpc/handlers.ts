/**
 * The full inference.GRPCInferenceService implementation, assembled from the per-area handler
 * files; each rpc is a thin mapping onto the InferenceService front door.
 */
import type { InferenceService } from '../../router/types.js';
import { modelHandlers } from './model-handlers.js';
import { repositoryHandlers } from './repository-handlers.js';
import { settingsHandlers } from './settings-handlers.js';
import { sharedMemoryHandlers } from './shared-memory-handlers.js';
import { type StreamOptions, streamInferHandler } from './stream.js';
import type { InferenceImpl } from './types.js';

/** Every rpc of the inference service, bound to one InferenceService. */
export function inferenceHandlers(service: InferenceService, stream: StreamOptions): InferenceImpl {
  return {
    ...modelHandlers(service),
    modelStreamInfer: streamInferHandler(service, stream),
    ...repositoryHandlers(service),
    ...sharedMemoryHandlers(),
    ...settingsHandlers(service),
  };
}
