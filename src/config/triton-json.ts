import { type JsonValue, toJson } from '@bufbuild/protobuf';
import { type ModelConfig, ModelConfigSchema } from '../gen/model_config_pb.js';

/**
 * 64-bit fields that Triton turns back from JSON strings into numbers (protocol.md D.9);
 * `*` steps over every array element or map value. Other 64-bit fields stay strings.
 */
const NUMERIC_PATHS = [
  'input.*.dims',
  'input.*.reshape.shape',
  'output.*.dims',
  'output.*.reshape.shape',
  'version_policy.specific.versions',
  'dynamic_batching.max_queue_delay_microseconds',
  'dynamic_batching.priority_levels',
  'dynamic_batching.default_priority_level',
  'dynamic_batching.default_queue_policy.default_timeout_microseconds',
  'dynamic_batching.priority_queue_policy.*.default_timeout_microseconds',
  'sequence_batching.max_sequence_idle_microseconds',
  'sequence_batching.direct.max_queue_delay_microseconds',
  'sequence_batching.oldest.max_queue_delay_microseconds',
  'sequence_batching.state.*.dims',
  'sequence_batching.state.*.initial_state.*.dims',
  'ensemble_scheduling.step.*.model_version',
  'model_warmup.*.inputs.*.dims',
].map((p) => p.split('.'));

/** The config as Triton's GET …/config returns it: proto names, defaults included, enums as names. */
export function toTritonJson(cfg: ModelConfig): Record<string, unknown> {
  const json = toJson(ModelConfigSchema, cfg, { useProtoFieldName: true, alwaysEmitImplicit: true }) as Record<
    string,
    unknown
  >;
  for (const path of NUMERIC_PATHS) convertAt(json, path);
  return json;
}

function toNumber(v: unknown): unknown {
  return typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
}

function convertAt(node: unknown, path: readonly string[]): void {
  if (node === null || typeof node !== 'object') return;
  const [head, ...rest] = path;
  if (head === undefined) return;
  const children = head === '*' ? Object.keys(node) : [head];
  const obj = node as Record<string, unknown>;
  for (const key of children) {
    if (!(key in obj)) continue;
    if (rest.length > 0) convertAt(obj[key], rest);
    else obj[key] = Array.isArray(obj[key]) ? (obj[key] as JsonValue[]).map(toNumber) : toNumber(obj[key]);
  }
}
