/** Protocol-independent pieces shared by protocol/http and protocol/grpc. */
export * from './reserved-params.js';
export * from './shared-memory.js';
export * from './shm-call.js';
export * from './shm-regions.js';
export * from './tensor-wire.js';
