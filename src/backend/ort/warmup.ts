/** Warm-up plans (which tensors of which shapes) built from a version spec, on the event-loop side. */
import type { ModelVersionSpec, TensorSpec } from '../../core/index.js';
import type { WarmupPlan } from './messages.js';

/** Dims the model sees for a spec input: reshape when given, variable dims as 1. */
function fixedDims(t: TensorSpec): number[] {
  return (t.reshape ?? t.dims).map((d) => (d < 0 ? 1 : d));
}

/**
 * The configured warm-up samples (batch size prepended when the model batches), or else one
 * generated zero sample of batch 1. Empty when the spec lists no inputs: the worker then
 * generates the sample from the session's own input metadata.
 */
export function warmupPlans(spec: ModelVersionSpec): WarmupPlan[] {
  const batching = spec.maxBatchSize > 0;
  if (spec.warmup.length > 0) {
    return spec.warmup.map((s) => ({
      name: s.name,
      count: Math.max(1, s.count),
      inputs: s.inputs.map((i) => ({
        name: i.name,
        datatype: i.datatype,
        shape: batching ? [Math.max(1, s.batchSize), ...i.dims] : [...i.dims],
        kind: i.kind,
        ...(i.file === undefined ? {} : { file: i.file }),
      })),
      ...(s.generated ? { generated: true } : {}),
    }));
  }
  if (spec.inputs.length === 0) return [];
  const inputs = spec.inputs
    .filter((t) => !t.optional)
    .map((t) => ({
      name: t.name,
      datatype: t.datatype,
      shape: batching ? [1, ...fixedDims(t)] : fixedDims(t),
      kind: 'zero' as const,
    }));
  return [{ name: 'generated', count: 1, inputs, generated: true }];
}
