/**
 * The full inference.GRPCInferenceService implementation, assembled from the per-area handler
 * files; each rpc is a thin mapping onto the InferenceService front door.
 */
import type { Gatekeeper } from '../../auth/types.js';
import type { Tracing } from '../../observability/tracing.js';
import type { Services } from '../../router/types.js';
import type { SystemSharedMemory } from '../common/index.js';
import { inferPath } from './infer-call.js';
import type { GrpcDecodeLimits } from './infer-decode.js';
import { modelHandlers } from './model-handlers.js';
import { repositoryHandlers } from './repository-handlers.js';
import { settingsHandlers } from './settings-handlers.js';
import { sharedMemoryHandlers } from './shared-memory-handlers.js';
import { type StreamOptions, streamInferHandler } from './stream.js';
import type { InferenceImpl } from './types.js';

/**
 * Every rpc of the inference service over the services and the shared-memory regions; inference
 * traced when `tracing` is given.
 */
export function inferenceHandlers(
  services: Services,
  regions: SystemSharedMemory,
  auth: Pick<Gatekeeper, 'visible'>,
  stream: StreamOptions,
  tracing?: Tracing,
  limits?: GrpcDecodeLimits,
): InferenceImpl {
  const { inference, admin } = services;
  const infer = inferPath(inference, regions, limits, tracing);
  return {
    ...modelHandlers(inference, admin, infer, auth),
    modelStreamInfer: streamInferHandler(infer, stream),
    ...repositoryHandlers(admin, auth),
    ...sharedMemoryHandlers(regions),
    ...settingsHandlers(admin),
  };
}
