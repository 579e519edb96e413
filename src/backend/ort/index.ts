/** onnxruntime-node backend: sessions in worker threads. */
export { OrtBackend, type OrtBackendOptions } from './backend.js';
export { CRASH_INPUT, SLEEP_INPUT, testHooksEnabled } from './hooks.js';
export { OrtInstance } from './instance.js';
