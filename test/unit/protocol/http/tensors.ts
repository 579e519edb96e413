/** Random tensors of every datatype for round-trip tests. */
import fc from 'fast-check';
import {
  bytesOf,
  DATATYPES,
  type DataType,
  elementCount,
  elementSize,
  isBytesData,
  numericFromBytes,
  type Tensor,
} from '../../../../src/core/index.js';

/** A tensor of the datatype with the given shape, data from `bytes` (BOOL normalized to 0/1). */
export function tensorOf(name: string, datatype: DataType, shape: number[], seed: Uint8Array | Uint8Array[]): Tensor {
  if (datatype === 'BYTES') return { name, datatype, shape, data: seed as Uint8Array[] };
  const bytes = (seed as Uint8Array).map((b) => (datatype === 'BOOL' ? b & 1 : b));
  return { name, datatype, shape, data: numericFromBytes(datatype, bytes) };
}

/** fast-check arbitrary: any datatype, rank 0–3, dims 0–4, random contents. */
export const arbTensor: fc.Arbitrary<Tensor> = fc
  .record({
    datatype: fc.constantFrom(...DATATYPES),
    shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
    name: fc.string({ minLength: 1, maxLength: 8 }),
  })
  .chain(({ datatype, shape, name }) => {
    const n = elementCount(shape);
    const seed: fc.Arbitrary<Uint8Array | Uint8Array[]> =
      datatype === 'BYTES'
        ? fc.array(fc.uint8Array({ maxLength: 6 }), { minLength: n, maxLength: n })
        : fc.uint8Array({ minLength: n * elementSize(datatype), maxLength: n * elementSize(datatype) });
    return seed.map((s) => tensorOf(name, datatype, shape, s));
  });

/** Comparable form of a tensor's data (byte arrays). */
export function dataBytes(t: Tensor): number[][] {
  return isBytesData(t.data) ? t.data.map((e) => [...e]) : [[...bytesOf(t.data)]];
}

/** A deterministic sample tensor of shape [2, 3] for each datatype. */
export function sampleTensor(datatype: DataType, name = 'INPUT0'): Tensor {
  const shape = [2, 3];
  if (datatype === 'BYTES') {
    const enc = new TextEncoder();
    return tensorOf(
      name,
      datatype,
      shape,
      ['a', '', 'héllo', '\u0000', 'xyz', '🙂'].map((s) => enc.encode(s)),
    );
  }
  const bytes = new Uint8Array(6 * elementSize(datatype)).map((_, i) => (i * 37 + 11) & 0xff);
  return tensorOf(name, datatype, shape, bytes);
}
