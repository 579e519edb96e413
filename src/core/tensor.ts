import { arrayCtor, type DataType, elementSize, type NumericArray } from './datatype.js';

/**
 * A tensor as it crosses every seam: name, datatype, shape and data.
 * Numeric data is a typed array (little-endian, row-major); BYTES data is one Uint8Array per element.
 * Ownership: whoever receives a Tensor may transfer its buffer to a worker; the sender must not reuse it.
 */
export interface Tensor {
  name: string;
  datatype: DataType;
  shape: number[];
  data: NumericArray | Uint8Array[];
}

/** Product of the dimensions (1 for a scalar shape []). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** True when the tensor holds BYTES elements. */
export function isBytesData(data: Tensor['data']): data is Uint8Array[] {
  return Array.isArray(data);
}

/** A deep copy (shape and data): the original's buffers may then be transferred to a worker. */
export function copyTensor(t: Tensor): Tensor {
  const data = isBytesData(t.data) ? t.data.map((e) => e.slice()) : t.data.slice();
  return { ...t, shape: [...t.shape], data };
}

/** Size of the tensor's data in the binary wire layout (BYTES: 4-byte length prefix per element). */
export function wireByteSize(t: Tensor): number {
  if (isBytesData(t.data)) {
    let n = 0;
    for (const e of t.data) n += 4 + e.byteLength;
    return n;
  }
  return t.data.byteLength;
}

/** Serialises BYTES elements into the length-prefixed wire layout. */
export function encodeBytesElements(items: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const e of items) size += 4 + e.byteLength;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let off = 0;
  for (const e of items) {
    view.setUint32(off, e.byteLength, true);
    out.set(e, off + 4);
    off += 4 + e.byteLength;
  }
  return out;
}

/**
 * Parses the length-prefixed BYTES layout. Returns an error string (naming the element) when a
 * prefix runs past the end, or when the element count differs from `expected` (if given).
 */
export function decodeBytesElements(buf: Uint8Array, expected?: number): Uint8Array[] | string {
  const out: Uint8Array[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off < buf.byteLength) {
    if (off + 4 > buf.byteLength) return `element ${out.length} has a truncated 4-byte length prefix`;
    const len = view.getUint32(off, true);
    if (off + 4 + len > buf.byteLength)
      return `element ${out.length} declares ${len} bytes but only ${buf.byteLength - off - 4} remain`;
    out.push(buf.subarray(off + 4, off + 4 + len));
    off += 4 + len;
    if (expected !== undefined && out.length > expected)
      return `holds more than the ${expected} elements its shape declares`;
  }
  if (expected !== undefined && out.length !== expected)
    return `holds ${out.length} elements but its shape declares ${expected}`;
  return out;
}

/**
 * Copies little-endian bytes into a fresh, aligned typed array that owns its buffer
 * (so it can be transferred to a worker). Caller has checked the byte length.
 */
export function numericFromBytes(dt: Exclude<DataType, 'BYTES'>, bytes: Uint8Array): NumericArray {
  const Ctor = arrayCtor(dt);
  const buf = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(buf).set(bytes);
  return new Ctor(buf, 0, bytes.byteLength / elementSize(dt));
}

/** True when the view covers its whole, transferable ArrayBuffer (not a slice of a shared one). */
export function ownsBuffer(a: ArrayBufferView): boolean {
  return a.buffer instanceof ArrayBuffer && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength;
}

/** Views a typed array's bytes (no copy). */
export function bytesOf(data: NumericArray): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** The input called `name` among one request's inputs; throws when it is missing. */
export function inputNamed(inputs: readonly Tensor[], name: string): Tensor {
  const t = inputs.find((x) => x.name === name);
  if (!t) throw new Error(`input '${name}' is missing from a request in the batch`);
  return t;
}

/** Shape of tensors joined along dim 0; throws when their datatypes or other dims differ. */
export function joinedShape(parts: readonly Tensor[]): number[] {
  const head = parts[0];
  if (!head) throw new Error('cannot join zero tensors');
  const inner = head.shape.slice(1).join(',');
  let rows = 0;
  for (const p of parts) {
    if (p.datatype !== head.datatype || p.shape.length === 0 || p.shape.slice(1).join(',') !== inner)
      throw new Error(`input '${head.name}' has different datatypes or shapes within one batch`);
    rows += p.shape[0]!;
  }
  return [rows, ...head.shape.slice(1)];
}
