/**
 * The implementation type of inference.GRPCInferenceService, shared by the handler files that
 * each provide a slice of it.
 */
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import type { GRPCInferenceService } from '../../gen/grpc_service_pb.js';
import type { ServiceImpl } from './service-definition.js';

/** The method table a generated service descriptor declares. */
export type MethodsOf<S> = S extends GenService<infer M extends GenServiceMethods> ? M : never;

/** Every rpc of inference.GRPCInferenceService, by protobuf-es localName. */
export type InferenceImpl = ServiceImpl<MethodsOf<typeof GRPCInferenceService>>;
