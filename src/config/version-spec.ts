import type { ModelVersionSpec, TensorSpec } from '../core/model.js';
import type { ModelConfig, ModelInput, ModelOutput } from '../gen/model_config_pb.js';
import { batchingSpec, latencyObjectiveSpec } from './batching.js';
import { dimsOf, protocolType } from './datatypes.js';
import { loadError } from './errors.js';
import { executionSpec } from './execution.js';
import { pinnedParameter } from './residency.js';
import { resilienceSpec } from './resilience.js';
import { sequenceSpec, withSequenceWarmup } from './sequence.js';
import { warmupSamples } from './warmup.js';

/** Where one version lives and what was read beside it. */
export interface VersionContext {
  version: number;
  /** Absolute path of the model file. */
  path: string;
  /** Absolute path of the model directory (labels, warmup/). */
  modelDir: string;
  /** Output name → class labels (see readLabels). */
  labels?: ReadonlyMap<string, string[]>;
}

function tensorSpec(model: string, t: ModelInput | ModelOutput): TensorSpec {
  const datatype = protocolType(t.dataType);
  if (!datatype) throw loadError(model, `tensor '${t.name}' must specify a valid data_type`);
  const spec: TensorSpec = { name: t.name, datatype, dims: dimsOf(t.dims) };
  if (t.reshape) spec.reshape = dimsOf(t.reshape.shape);
  return spec;
}

/** The plain ModelVersionSpec a backend loads, from a normalized config and one version's location. */
export function toVersionSpec(cfg: ModelConfig, ctx: VersionContext): ModelVersionSpec {
  const model = cfg.name;
  const inputs = cfg.input.map((i) => {
    const spec = tensorSpec(model, i);
    if (i.optional) spec.optional = true;
    return spec;
  });
  const outputs = cfg.output.map((o) => {
    const spec = tensorSpec(model, o);
    const labels = ctx.labels?.get(o.name);
    if (labels) spec.labels = labels;
    return spec;
  });
  const spec: ModelVersionSpec = {
    model,
    version: ctx.version,
    path: ctx.path,
    maxBatchSize: cfg.maxBatchSize,
    inputs,
    outputs,
    instances: cfg.instanceGroup.reduce((n, g) => n + g.count, 0),
    execution: executionSpec(cfg),
    warmup: warmupSamples(cfg, ctx.modelDir),
  };
  const batching = batchingSpec(cfg);
  if (batching && cfg.maxBatchSize > 0) spec.batching = batching;
  const sequence = sequenceSpec(cfg);
  if (sequence) {
    spec.sequence = sequence;
    spec.warmup = withSequenceWarmup(cfg, spec.warmup, sequence);
  }
  const objective = latencyObjectiveSpec(cfg);
  if (objective) spec.latencyObjective = objective;
  const resilience = resilienceSpec(cfg, outputs);
  if (resilience) spec.resilience = resilience;
  if (cfg.responseCache?.enable) spec.responseCache = true;
  if (pinnedParameter(cfg)) spec.pinned = true;
  if (cfg.schedulingChoice.case === 'ensembleScheduling')
    spec.ensemble = cfg.schedulingChoice.value.step.map((s) => ({
      model: s.modelName,
      version: Number(s.modelVersion),
      inputMap: { ...s.inputMap },
      outputMap: { ...s.outputMap },
    }));
  return spec;
}
