/** onnxruntime-node backend: sessions in worker threads. */
export { DEFAULT_SHARED_MAX_BYTES, OrtBackend, type OrtBackendOptions } from './backend.js';
export { CRASH_INPUT, SLEEP_INPUT, testHooksEnabled } from './hooks.js';
export { OrtInstance } from './instance.js';
