import {
  elementCount,
  type InferRequest,
  invalidArg,
  isBytesData,
  type ModelVersionSpec,
  type Tensor,
} from '../core/index.js';
import { checkTextElements } from './text-bytes.js';

/** The request's inputs checked against the model's signature and converted to model shapes. */
export interface ValidatedInputs {
  batchSize: number;
  inputs: Tensor[];
}

/**
 * Checks names, datatypes, ranks, fixed dims and the batch size against the model config
 * (Triton's rules and texts, protocol.md §D.4), BYTES elements against a text-only runtime, and
 * applies `reshape`. Throws IG_ERR_INVALID_ARG.
 * Runs before anything reaches the scheduler or a worker.
 */
export function validateInputs(spec: ModelVersionSpec, req: InferRequest): ValidatedInputs {
  const m = spec.model;
  const byName = new Map(spec.inputs.map((i) => [i.name, i]));
  const seen = new Set<string>();
  for (const t of req.inputs) {
    if (!byName.has(t.name)) throw invalidArg(`unexpected inference input '${t.name}' for model '${m}'`);
    if (seen.has(t.name)) throw invalidArg(`input '${t.name}' is specified more than once for model '${m}'`);
    seen.add(t.name);
  }
  const missing = spec.inputs.filter((i) => !i.optional && !seen.has(i.name)).map((i) => i.name);
  if (missing.length > 0) {
    const required = spec.inputs.filter((i) => !i.optional).length;
    throw invalidArg(
      `expected ${required} inputs but got ${req.inputs.length} inputs for model '${m}'. ` +
        `Got input(s) [${req.inputs.map((t) => `'${t.name}'`).join(', ')}], but missing required input(s) [${missing
          .map((n) => `'${n}'`)
          .join(', ')}]. Please provide all required input(s).`,
    );
  }
  let batchSize = spec.maxBatchSize > 0 ? -1 : 1;
  const inputs = req.inputs.map((t) => {
    const s = byName.get(t.name)!;
    if (t.datatype !== s.datatype)
      throw invalidArg(
        `inference input '${t.name}' data-type is '${t.datatype}', but model '${m}' expects '${s.datatype}'`,
      );
    let dims = t.shape;
    if (spec.maxBatchSize > 0) {
      if (t.shape.length === 0) throw invalidArg(`input '${t.name}' for model '${m}' has no batch dimension`);
      const b = t.shape[0]!;
      if (b < 1) throw invalidArg(`inference request batch-size must be >= 1 for '${m}', input '${t.name}' has ${b}`);
      if (b > spec.maxBatchSize)
        throw invalidArg(`inference request batch-size must be <= ${spec.maxBatchSize} for '${m}'`);
      if (batchSize !== -1 && b !== batchSize)
        throw invalidArg(`input '${t.name}' batch size ${b} does not match the other inputs' ${batchSize} for '${m}'`);
      batchSize = b;
      dims = t.shape.slice(1);
    }
    checkDims(m, t.name, dims, s.dims, spec.maxBatchSize > 0);
    if (spec.bytesAsText && isBytesData(t.data)) checkTextElements(m, t.name, t.data);
    if (!s.reshape) return t;
    const shape = spec.maxBatchSize > 0 ? [batchSize, ...resolveReshape(s.reshape, elementCount(dims))] : s.reshape;
    return { ...t, shape: resolveReshape(shape, elementCount(t.shape)) };
  });
  return { batchSize: batchSize === -1 ? 1 : batchSize, inputs };
}

function checkDims(model: string, name: string, got: number[], want: number[], batching: boolean): void {
  const ok = got.length === want.length && want.every((d, i) => d === -1 || d === got[i]);
  if (ok) return;
  const shown = batching ? [-1, ...want] : want;
  throw invalidArg(
    `unexpected shape for input '${name}' for model '${model}'. Expected [${shown.join(',')}], got [${(
      batching ? ['?', ...got] : got
    ).join(',')}]`,
  );
}

/** Fills one -1 in a reshape target so the element count is preserved. */
function resolveReshape(shape: number[], count: number): number[] {
  const known = shape.reduce((a, d) => (d === -1 ? a : a * d), 1);
  return shape.map((d) => (d === -1 ? (known === 0 ? 0 : count / known) : d));
}

/** Checks requested output names exist (Triton's text). */
export function validateOutputs(spec: ModelVersionSpec, req: InferRequest): void {
  if (!req.outputs) return;
  const names = new Set(spec.outputs.map((o) => o.name));
  const seen = new Set<string>();
  for (const o of req.outputs) {
    if (!names.has(o.name)) throw invalidArg(`unexpected inference output '${o.name}' for model '${spec.model}'`);
    if (seen.has(o.name)) throw invalidArg(`output '${o.name}' is requested more than once for model '${spec.model}'`);
    seen.add(o.name);
    // The one check of the count, whatever the protocol (decoders only check the wire type); 0 = none.
    if (o.classification !== undefined && (!Number.isSafeInteger(o.classification) || o.classification < 0))
      throw invalidArg(`classification count for output '${o.name}' must be a non-negative integer`);
  }
}
