/**
 * Batch assembly: one fresh buffer per input tensor holding every request's rows in batch order,
 * for backends that cannot join the rows where they run (BackendInstance.executeBatch).
 * Ownership: the result owns its buffers and is handed to BackendInstance.execute, which transfers
 * them to the worker. The requests' own input tensors are only read (for a batch of one they are
 * passed through untouched, so that no copy is made at all and the request's buffers move instead).
 */
import { arrayCtor, inputNamed, isBytesData, joinedShape, type NumericArray, type Tensor } from '../core/index.js';

/** Concatenates each named input across the requests along dim 0; throws when they disagree. */
export function assembleInputs(requests: ReadonlyArray<readonly Tensor[]>): Tensor[] {
  const first = requests[0];
  if (!first) throw new Error('cannot assemble an empty batch');
  if (requests.length === 1) return [...first];
  return first.map((t) => concatTensor(requests.map((r) => inputNamed(r, t.name))));
}

/** Concatenates tensors of one input along dim 0 into a fresh buffer (BYTES: one element list). */
export function concatTensor(parts: readonly Tensor[]): Tensor {
  const shape = joinedShape(parts);
  const head = parts[0]!;
  if (isBytesData(head.data)) {
    const data: Uint8Array[] = [];
    for (const p of parts) for (const e of p.data as Uint8Array[]) data.push(e);
    return { name: head.name, datatype: head.datatype, shape, data };
  }
  return { name: head.name, datatype: head.datatype, shape, data: concatNumeric(parts, head) };
}

function concatNumeric(parts: readonly Tensor[], head: Tensor): NumericArray {
  if (head.datatype === 'BYTES') throw new Error('BYTES tensor without element list');
  let length = 0;
  for (const p of parts) {
    if (isBytesData(p.data)) throw new Error(`input '${head.name}' mixes BYTES and numeric data`);
    length += p.data.length;
  }
  const out = new (arrayCtor(head.datatype))(length);
  let off = 0;
  for (const p of parts) {
    const d = p.data as NumericArray;
    // Same constructor for every part (same datatype), so set() is a plain memcpy.
    (out as Uint8Array).set(d as Uint8Array, off);
    off += d.length;
  }
  return out;
}
