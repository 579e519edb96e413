/**
 * grpc.health.v1.Health/Check, which Triton also serves: SERVING iff the server is ready.
 */
import { HealthCheckResponse_ServingStatus } from '../../gen/health_pb.js';
import type { InferenceService } from '../../router/types.js';
import type { ServiceImpl } from './service-definition.js';
import type { MethodsOf } from './types.js';
import type { Health } from '../../gen/health_pb.js';

/** The Health service implementation (the requested service name is not distinguished). */
export function healthHandlers(service: InferenceService): ServiceImpl<MethodsOf<typeof Health>> {
  return {
    check: () => ({
      status: service.ready()
        ? HealthCheckResponse_ServingStatus.SERVING
        : HealthCheckResponse_ServingStatus.NOT_SERVING,
    }),
  };
}
