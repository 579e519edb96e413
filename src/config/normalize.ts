import { clone, create } from '@bufbuild/protobuf';
import type { ModelIO } from '../core/model.js';
import {
  type ModelConfig,
  ModelConfigSchema,
  type ModelDynamicBatching,
  type ModelInput,
  type ModelOptimizationPolicy,
  ModelOptimizationPolicy_PinnedMemoryBufferSchema,
  ModelOptimizationPolicySchema,
  type ModelOutput,
} from '../gen/model_config_pb.js';
import { autoComplete } from './autocomplete.js';
import { dimsOf } from './datatypes.js';
import { applyBaseDefaults, type KnownBackend } from './defaults.js';
import { loadError } from './errors.js';
import { normalizeSequenceBatching } from './sequence.js';
import { validateSignature } from './signature.js';

/**
 * The whole normalisation of a parsed config (protocol.md D.9, D.11): base defaults (platform and
 * backend checked against `backends`), ONNX auto-complete and signature validation against `io`
 * (the latest version's signature; skip both by passing undefined), dynamic-batching and
 * optimization defaults. Returns a new message.
 */
export function normalizeConfig(
  raw: ModelConfig,
  model: string,
  io: ModelIO | undefined,
  backends: readonly KnownBackend[],
): ModelConfig {
  let cfg = applyBaseDefaults(raw, model, backends);
  if (io) cfg = autoComplete(cfg, io);
  cfg = clone(ModelConfigSchema, cfg);
  if (cfg.maxBatchSize < 0) throw loadError(model, 'max_batch_size must not be negative');
  if (cfg.schedulingChoice.case === 'dynamicBatching') normalizeDynamicBatching(cfg.schedulingChoice.value, cfg);
  normalizeSequenceBatching(cfg);
  if (cfg.schedulingChoice.case === 'ensembleScheduling' && cfg.platform !== 'ensemble')
    throw loadError(
      model,
      `ensemble_scheduling is only valid with platform 'ensemble' (this config has '${cfg.platform}')`,
    );
  if (cfg.platform === 'ensemble' && cfg.schedulingChoice.case !== 'ensembleScheduling')
    throw loadError(model, "platform 'ensemble' needs an ensemble_scheduling section with its steps");
  cfg.optimization = withPinnedDefaults(cfg.optimization);
  for (const t of [...cfg.input, ...cfg.output]) checkReshape(model, t);
  if (io) validateSignature(cfg, io);
  return cfg;
}

function normalizeDynamicBatching(db: ModelDynamicBatching, cfg: ModelConfig): void {
  const model = cfg.name;
  const max = cfg.maxBatchSize;
  if (db.preferredBatchSize.length === 0 && max > 0) db.preferredBatchSize = [max];
  for (const p of db.preferredBatchSize)
    if (p < 1 || p > max)
      throw loadError(model, `dynamic batching preferred size ${p} must be between 1 and max_batch_size ${max}`);
  const levels = db.priorityLevels;
  if (levels > 0n && (db.defaultPriorityLevel < 1n || db.defaultPriorityLevel > levels))
    throw loadError(model, `dynamic batching default_priority_level must be between 1 and priority_levels ${levels}`);
  for (const key of Object.keys(db.priorityQueuePolicy)) {
    const k = BigInt(key);
    if (k < 1n || k > levels)
      throw loadError(model, `dynamic batching priority_queue_policy key ${key} is outside 1..priority_levels`);
  }
}

/** Triton shows both pinned-memory flags as enabled in the normalized config. */
function withPinnedDefaults(opt: ModelOptimizationPolicy | undefined): ModelOptimizationPolicy {
  const out = opt ?? create(ModelOptimizationPolicySchema);
  out.inputPinnedMemory ??= create(ModelOptimizationPolicy_PinnedMemoryBufferSchema, { enable: true });
  out.outputPinnedMemory ??= create(ModelOptimizationPolicy_PinnedMemoryBufferSchema, { enable: true });
  return out;
}

function checkReshape(model: string, t: ModelInput | ModelOutput): void {
  if (dimsOf(t.dims).some((d) => d < -1 || d === 0))
    throw loadError(model, `tensor '${t.name}' has an invalid dim (use -1 for variable dims)`);
  if (!t.reshape) return;
  const a = dimsOf(t.dims);
  const b = dimsOf(t.reshape.shape);
  if (a.includes(-1) || b.includes(-1)) return;
  const count = (xs: number[]) => xs.reduce((p, x) => p * x, 1);
  if (count(a) !== count(b))
    throw loadError(model, `tensor '${t.name}': reshape [${b.join(',')}] has a different element count than dims`);
}
