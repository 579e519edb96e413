import type { ModelConfig } from '../gen/model_config_pb.js';
import { loadError } from './errors.js';

const PINNED = 'pinned';
// The spellings onnxruntime's boolean parameters accept (backend/ort/execution-settings.ts), so one
// config reads the same way throughout.
const TRUE = ['true', '1', 'yes', 'on'];
const FALSE = ['false', '0', 'no', 'off'];

/**
 * infergate's `pinned` parameter: a version the model memory budget never evicts (docs/memory.md).
 * A malformed value refuses the load, naming the parameter, rather than silently leaving a model
 * its operator meant to keep warm evictable.
 */
export function pinnedParameter(cfg: ModelConfig): boolean {
  const v = cfg.parameters[PINNED]?.stringValue.trim().toLowerCase() ?? '';
  if (v === '' || FALSE.includes(v)) return false;
  if (TRUE.includes(v)) return true;
  throw loadError(cfg.name, `parameter '${PINNED}' must be 'true' or 'false', got '${v.slice(0, 40)}'`);
}
