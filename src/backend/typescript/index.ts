export * from './api.js';
export {
  DEFAULT_EXECUTE_TIMEOUT_MS,
  type ModelLogger,
  TypeScriptBackend,
  type TypeScriptBackendOptions,
} from './backend.js';
export type { TsInstance } from './instance.js';
