/**
 * The full inference.GRPCInferenceService implementation, assembled from the per-area handler
 * files; each rpc is a thin mapping onto the InferenceService front door.
 */
import type { Tracing } from '../../observability/tracing.js';
import type { InferenceService } from '../../router/types.js';
import { tracedModelInfer } from './infer-traced.js';
import { modelHandlers } from './model-handlers.js';
import { repositoryHandlers } from './repository-handlers.js';
import { settingsHandlers } from './settings-handlers.js';
import { sharedMemoryHandlers } from './shared-memory-handlers.js';
import { type StreamOptions, streamInferHandler } from './stream.js';
import type { InferenceImpl } from './types.js';

/** Every rpc of the inference service, bound to one InferenceService (traced when `tracing` is given). */
export function inferenceHandlers(service: InferenceService, stream: StreamOptions, tracing?: Tracing): InferenceImpl {
  const models = modelHandlers(service);
  if (tracing) models.modelInfer = tracedModelInfer(service, tracing, models.modelInfer);
  return {
    ...models,
    modelStreamInfer: streamInferHandler(service, tracing ? { ...stream, tracing } : stream),
    ...repositoryHandlers(service),
    ...sharedMemoryHandlers(),
    ...settingsHandlers(service, tracing?.control),
  };
}
