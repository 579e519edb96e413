// Model configuration: parse (pbtxt / YAML / JSON) → normalize → Triton JSON and ModelVersionSpec.
export { autoComplete, DEFAULT_MAX_BATCH_SIZE, supportsBatching } from './autocomplete.js';
export { configType, protocolType } from './datatypes.js';
export { applyBaseDefaults, DEFAULT_MODEL_FILENAME, type KnownBackend, ORT_BACKEND, ORT_PLATFORM } from './defaults.js';
export { configError, loadError, messageOf } from './errors.js';
export { configWarnings, DEFAULT_EXECUTION, executionSpec } from './execution.js';
export { readLabels, splitLabels } from './labels.js';
export { BREAKER_DEFAULTS, checkFallbackModels, resilienceSpec } from './resilience.js';
export { normalizeConfig } from './normalize.js';
export { type ConfigFormat, formatOf, parseModelConfig, parsePbtxt, parseYamlOrJson } from './parse-text.js';
export { CONFIG_FILES, parseConfigOverride, type RawConfig, readModelConfig } from './read-config.js';
export { shapesCompatible, validateSignature } from './signature.js';
export { toTritonJson } from './triton-json.js';
export { toVersionSpec, type VersionContext } from './version-spec.js';
export { selectVersions } from './version-policy.js';
export { isContainedRelativePath, warmupSamples } from './warmup.js';
export type { ModelConfig } from '../gen/model_config_pb.js';
