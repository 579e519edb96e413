import { notFound } from '../core/index.js';
import type { VersionStatus } from '../repository/types.js';
import type { ModelMetadata } from './types.js';

/**
 * Model metadata by Triton's rules: versions = the one asked for, else every READY version;
 * shapes = config dims with -1 prepended when the model batches. Uses the newest READY version's spec.
 * A version the memory budget evicted counts as READY here (a call loads it), with its last spec.
 */
export function modelMetadata(model: string, version: string | undefined, versions: VersionStatus[]): ModelMetadata {
  const ready = versions.filter((v) => (v.state === 'READY' || v.evicted === true) && v.spec);
  const chosen = ready.sort((a, b) => b.version - a.version)[0];
  if (!chosen?.spec) {
    if (version !== undefined) throw notFound.notReady(model, version);
    throw notFound.noVersions(model);
  }
  const spec = chosen.spec;
  const shape = (dims: number[]) => (spec.maxBatchSize > 0 ? [-1, ...dims] : [...dims]);
  return {
    name: model,
    versions:
      version !== undefined ? [version] : ready.map((v) => String(v.version)).sort((a, b) => Number(a) - Number(b)),
    platform: chosen.platform ?? 'onnxruntime_onnx',
    inputs: spec.inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: shape(i.dims) })),
    outputs: spec.outputs.map((o) => ({ name: o.name, datatype: o.datatype, shape: shape(o.dims) })),
  };
}
