/**
 * Splitting a batch's outputs back per request, by each request's batch size along dim 0.
 * Ownership: a request's output tensors are views (subarray) into the batch's output buffers,
 * which the scheduler owns once execute resolves and never touches again. Outputs are read-only
 * to the protocol layer; a consumer that must mutate or transfer one has to copy it first,
 * because the buffer is shared with the other requests of the batch.
 */
import { elementCount, type NumericArray, type Tensor, isBytesData } from '../core/index.js';

/** Splits every output along dim 0 into one list per request; throws when dim 0 does not add up. */
export function splitOutputs(outputs: readonly Tensor[], batchSizes: readonly number[]): Tensor[][] {
  if (batchSizes.length === 1) return [[...outputs]];
  const total = batchSizes.reduce((a, b) => a + b, 0);
  const perRequest: Tensor[][] = batchSizes.map(() => []);
  for (const out of outputs) {
    if (out.shape.length === 0 || out.shape[0] !== total)
      throw new Error(`output '${out.name}' has batch dim ${out.shape[0]} but the batch holds ${total}`);
    const inner = elementCount(out.shape.slice(1));
    if (out.data.length !== total * inner)
      throw new Error(`output '${out.name}' holds ${out.data.length} elements, its shape says ${total * inner}`);
    let row = 0;
    batchSizes.forEach((b, i) => {
      perRequest[i]!.push(sliceRows(out, row, b, inner));
      row += b;
    });
  }
  return perRequest;
}

function sliceRows(t: Tensor, row: number, rows: number, inner: number): Tensor {
  const shape = [rows, ...t.shape.slice(1)];
  const from = row * inner;
  const to = (row + rows) * inner;
  const data = isBytesData(t.data) ? t.data.slice(from, to) : (t.data as NumericArray).subarray(from, to);
  return { name: t.name, datatype: t.datatype, shape, data };
}
