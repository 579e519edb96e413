/**
 * WireTensor ⇄ onnxruntime Tensor, inside the worker thread only (it imports onnxruntime-node).
 * BYTES: ORT string tensors hold JS strings, so elements are UTF-8 decoded/encoded here.
 * FP16 stays Uint16Array raw bits, BOOL Uint8Array 0/1, INT64/UINT64 bigint arrays.
 */
import * as ort from 'onnxruntime-node';
import { arrayCtor, type DataType, fromOrtType, type NumericArray, toOrtType } from '../../core/index.js';
import type { PackedBytes, WireRows, WireTensor } from './messages.js';
import { isPacked, transferable } from './wire.js';

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Decodes packed BYTES elements to strings (invalid UTF-8 becomes U+FFFD: ORT strings are text). */
export function packedToStrings(p: PackedBytes): string[] {
  const n = p.offsets.length - 1;
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = decoder.decode(p.bytes.subarray(p.offsets[i], p.offsets[i + 1]));
  return out;
}

/** Encodes strings as packed UTF-8 BYTES elements. */
export function stringsToPacked(items: readonly string[]): PackedBytes {
  const parts = items.map((s) => encoder.encode(s));
  const offsets = new Uint32Array(parts.length + 1);
  let size = 0;
  for (let i = 0; i < parts.length; i++) {
    size += parts[i]!.byteLength;
    offsets[i + 1] = size;
  }
  const bytes = new Uint8Array(size);
  for (let i = 0; i < parts.length; i++) bytes.set(parts[i]!, offsets[i]);
  return { bytes, offsets };
}

/** Joins a batch sent as rows into one wire tensor (the batch's one copy, made in the worker). */
export function joinRows(w: WireRows): WireTensor {
  const { name, datatype, shape } = w;
  const first = w.rows[0];
  if (w.rows.length === 1 && first !== undefined) return { name, datatype, shape, data: first };
  if (datatype === 'BYTES') return { name, datatype, shape, data: joinPacked(w.rows as PackedBytes[]) };
  const parts = w.rows as NumericArray[];
  const out = new (arrayCtor(datatype))(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    // Same constructor for every part (same datatype), so set() is a plain memcpy.
    (out as Uint8Array).set(p as Uint8Array, off);
    off += p.length;
  }
  return { name, datatype, shape, data: out };
}

function joinPacked(parts: readonly PackedBytes[]): PackedBytes {
  const count = parts.reduce((n, p) => n + p.offsets.length - 1, 0);
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.bytes.byteLength, 0));
  const offsets = new Uint32Array(count + 1);
  let e = 0;
  let at = 0;
  for (const p of parts) {
    bytes.set(p.bytes, at);
    for (let i = 1; i < p.offsets.length; i++) offsets[++e] = at + p.offsets[i]!;
    at += p.bytes.byteLength;
  }
  return { bytes, offsets };
}

/** Builds the ORT tensor for a wire tensor (numeric data is used in place). */
export function wireToOrt(w: WireTensor): ort.Tensor {
  const type = toOrtType(w.datatype) as ort.Tensor.Type;
  if (isPacked(w.data)) return new ort.Tensor('string', packedToStrings(w.data), w.shape);
  return new ort.Tensor(type as 'float32', w.data as Float32Array, w.shape);
}

/** Converts an ORT output to a wire tensor whose buffers can be transferred. */
export function ortToWire(name: string, t: ort.Tensor): WireTensor {
  const datatype: DataType | undefined = fromOrtType(t.type);
  if (datatype === undefined) throw new Error(`output '${name}' has unsupported type ${t.type}`);
  const shape = t.dims.map(Number);
  if (datatype === 'BYTES') return { name, datatype, shape, data: stringsToPacked(t.data as string[]) };
  return { name, datatype, shape, data: transferable(t.data as NumericArray) };
}
