/** Public surface of the gRPC front end. */
export { decodeInferRequest } from './infer-decode.js';
export { encodeInferResponse } from './infer-encode.js';
export { createGrpcServer, type GrpcServer, type GrpcServerOptions } from './server.js';
export { bindService, type ServiceImpl, serviceDefinition, type UnaryContext } from './service-definition.js';
