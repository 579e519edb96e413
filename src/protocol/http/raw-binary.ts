/**
 * Raw binary requests (`Inference-Header-Content-Length: 0`, protocol.md §B.1): the whole body is
 * the data of the model's single input; every output comes back binary. The shape comes from the
 * model metadata: a leading -1 in a shape with several variable dims is the batch (set to 1), and
 * the one remaining variable dim (if any) is derived from the body length. A BYTES input of one
 * element takes the whole body as that element; several BYTES elements are length-prefixed.
 */
import { elementCount, elementSize, invalidArg } from '../../core/index.js';
import type { ModelMetadata } from '../../router/types.js';
import { parseDatatype, tensorFromWire } from '../common/tensor-wire.js';
import type { DecodedInfer } from './infer-codec-request.js';

/** Builds the request for a raw binary body from the model's metadata. */
export function decodeRawBinaryRequest(
  body: Uint8Array,
  meta: ModelMetadata,
  model: string,
  version: string | undefined,
): DecodedInfer {
  const input = meta.inputs[0];
  if (meta.inputs.length !== 1 || input === undefined)
    throw invalidArg(
      `raw binary request (Inference-Header-Content-Length: 0) needs a model with exactly one input; ` +
        `model '${model}' has ${meta.inputs.length}`,
    );
  const datatype = parseDatatype(input.datatype, input.name);
  const shape = rawShape(input.shape, datatype === 'BYTES' ? 0 : elementSize(datatype), body.byteLength, input.name);
  // One BYTES element: the whole body is that element, with no length prefix, as Triton reads it.
  const tensor =
    datatype === 'BYTES' && elementCount(shape) === 1
      ? { name: input.name, datatype, shape, data: [Uint8Array.from(body)] }
      : tensorFromWire(input.name, datatype, shape, body);
  const request: DecodedInfer['request'] = { model, inputs: [tensor], parameters: {} };
  if (version !== undefined) request.version = version;
  return { request, binaryOutput: true };
}

/** Resolves variable dims: batch → 1, then at most one dim from the byte count (BYTES: all 1). */
function rawShape(spec: number[], size: number, bytes: number, name: string): number[] {
  const shape = [...spec];
  const variable = shape.filter((d) => d < 0).length;
  if (variable > 1 && (shape[0] ?? 0) < 0) shape[0] = 1;
  if (size === 0) return shape.map((d) => (d < 0 ? 1 : d));
  const left = shape.filter((d) => d < 0).length;
  if (left > 1)
    throw invalidArg(`raw binary request: input '${name}' has more than one variable dimension besides the batch`);
  const fixed = shape.reduce((p, d) => (d < 0 ? p : p * d), 1) * size;
  if (left === 0) return shape;
  if (fixed === 0 || bytes % fixed !== 0)
    throw invalidArg(`raw binary request: ${bytes} bytes is not a whole number of elements for input '${name}'`);
  return shape.map((d) => (d < 0 ? bytes / fixed : d));
}
