/**
 * TensorProto construction: typed arrays become little-endian `raw_data`, strings become
 * `string_data`. Used for graph initializers and TENSOR attributes (e.g. Constant's `value`).
 */
import { create } from '@bufbuild/protobuf';
import { endianness } from 'node:os';
import { arrayCtor, type DataType, elementCount, type NumericArray, toOnnxType } from '../core/index.js';
import { type TensorProto, TensorProtoSchema } from '../gen/onnx-ml_pb.js';

/** A datatype name: the protocol names, plus ONNX's 'STRING' as an alias of 'BYTES'. */
export type ElemType = DataType | 'STRING';

/**
 * Element values for a tensor. Numeric types take their typed array (BOOL: Uint8Array of 0/1,
 * FP16/BF16: Uint16Array of raw bits) or a plain array that is converted; BYTES/STRING take
 * strings (UTF-8 encoded) or byte arrays.
 */
export type TensorValues = NumericArray | readonly number[] | readonly bigint[] | readonly boolean[] | StringValues;

/** BYTES/STRING tensor elements. */
export type StringValues = readonly (string | Uint8Array)[];

/** The protocol datatype an ElemType stands for. */
export function normalizeElemType(t: ElemType): DataType {
  return t === 'STRING' ? 'BYTES' : t;
}

/** The ONNX TensorProto.DataType code for an ElemType. */
export function onnxElemType(t: ElemType): number {
  return toOnnxType(normalizeElemType(t));
}

/** Builds a TensorProto; throws when the element count does not match the dims. */
export function tensorProto(name: string, type: ElemType, dims: readonly number[], values: TensorValues): TensorProto {
  const dt = normalizeElemType(type);
  const want = elementCount(dims);
  if (values.length !== want) {
    throw new Error(`tensor '${name}': ${values.length} values for dims [${dims.join(', ')}] (needs ${want})`);
  }
  const base = { name, dataType: toOnnxType(dt), dims: dims.map((d) => BigInt(d)) };
  if (dt === 'BYTES') return create(TensorProtoSchema, { ...base, stringData: encodeStrings(values as StringValues) });
  return create(TensorProtoSchema, { ...base, rawData: littleEndianBytes(toTypedArray(dt, values, name)) });
}

function encodeStrings(values: StringValues): Uint8Array[] {
  const enc = new TextEncoder();
  return values.map((v) => (typeof v === 'string' ? enc.encode(v) : v));
}

/** Converts plain arrays to the datatype's typed array; typed arrays of the right kind pass through. */
export function toTypedArray(dt: Exclude<DataType, 'BYTES'>, values: TensorValues, label = 'tensor'): NumericArray {
  const Ctor = arrayCtor(dt);
  if (values instanceof Ctor) return values as NumericArray;
  if (ArrayBuffer.isView(values)) {
    throw new Error(`${label}: ${dt} needs ${Ctor.name}, got ${values.constructor.name}`);
  }
  const out = new Ctor(values.length);
  const big = dt === 'INT64' || dt === 'UINT64';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' && typeof v !== 'bigint' && typeof v !== 'boolean') {
      throw new Error(`${label}: element ${i} is not a number`);
    }
    const n = typeof v === 'boolean' ? Number(v) : v;
    out[i] = big ? BigInt(n) : Number(n);
  }
  return out;
}

const HOST_IS_LE = endianness() === 'LE';

/** A fresh little-endian copy of a typed array's bytes (ONNX raw_data is always little-endian). */
export function littleEndianBytes(a: NumericArray): Uint8Array {
  const bytes = new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
  const size = a.BYTES_PER_ELEMENT;
  if (HOST_IS_LE || size === 1) return bytes;
  // Big-endian host: reverse the bytes of every element in place.
  for (let off = 0; off < bytes.length; off += size) bytes.subarray(off, off + size).reverse();
  return bytes;
}
