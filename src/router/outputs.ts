/** The outputs a client gets: the ones it asked for, in its order, reshaped and classified. Pure. */
import {
  elementCount,
  type InferRequest,
  type ModelVersionSpec,
  type RequestedOutput,
  type Tensor,
} from '../core/index.js';
import { classify } from './classification.js';

/** Orders, reshapes (config `reshape`) and classifies the model's outputs for one request. */
export function shapeOutputs(spec: ModelVersionSpec, req: InferRequest, outputs: Tensor[], batch: number): Tensor[] {
  const byName = new Map(outputs.map((t) => [t.name, t]));
  const wanted: RequestedOutput[] = req.outputs ?? spec.outputs.map((o) => ({ name: o.name }));
  const out: Tensor[] = [];
  for (const w of wanted) {
    let t = byName.get(w.name);
    const s = spec.outputs.find((o) => o.name === w.name);
    if (!t || !s) continue;
    if (s.reshape && !s.dims.includes(-1)) {
      const shape = spec.maxBatchSize > 0 ? [batch, ...s.dims] : [...s.dims];
      if (elementCount(shape) === elementCount(t.shape)) t = { ...t, shape };
    }
    const k = w.classification;
    out.push(k !== undefined && k > 0 ? classify(t, k, spec.maxBatchSize > 0, s.labels) : t);
  }
  return out;
}
