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
    if (s.reshape) {
      const batched = spec.maxBatchSize > 0;
      const dims = clientDims(s.dims, s.reshape, batched ? t.shape.slice(1) : t.shape);
      const shape = dims && (batched ? [batch, ...dims] : dims);
      if (shape && elementCount(shape) === elementCount(t.shape)) t = { ...t, shape };
    }
    const k = w.classification;
    out.push(k !== undefined && k > 0 ? classify(t, k, spec.maxBatchSize > 0, s.labels) : t);
  }
  return out;
}

/**
 * The shape a client sees for an output with `reshape`: the config's `dims`, each variable (-1)
 * dim taken from the model's actual shape where `reshape` has its variable dims, in order (Triton
 * pairs them so); when they do not pair up, a single variable dim is what the element count leaves.
 * Undefined when no shape fits (the model's own shape is returned then).
 */
export function clientDims(
  dims: readonly number[],
  reshape: readonly number[],
  actual: readonly number[],
): number[] | undefined {
  const free = dims.filter((d) => d < 0).length;
  if (free === 0) return [...dims];
  const values = actual.length === reshape.length ? actual.filter((_, i) => (reshape[i] ?? 0) < 0) : [];
  if (values.length === free) {
    let k = 0;
    return dims.map((d) => (d < 0 ? values[k++]! : d));
  }
  if (free !== 1) return undefined;
  const known = dims.reduce((n, d) => (d < 0 ? n : n * d), 1);
  const total = actual.reduce((n, d) => n * d, 1);
  if (known === 0 || total % known !== 0) return undefined;
  return dims.map((d) => (d < 0 ? total / known : d));
}
