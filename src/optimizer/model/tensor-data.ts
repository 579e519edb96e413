/**
 * Reading and making ONNX TensorProto payloads: element sizes per ONNX type code, float views of
 * initializers whatever field holds them (raw_data, float_data, external file), typed constructors.
 */
import { readSync, openSync, closeSync } from 'node:fs';
import { isAbsolute, join, normalize } from 'node:path';
import { create } from '@bufbuild/protobuf';
import {
  type TensorProto,
  TensorProto_DataLocation,
  TensorProto_DataType as DT,
  TensorProtoSchema,
} from '../../gen/onnx-ml_pb.js';

// Bytes per element by ONNX type code; 4-bit types count as 0.5, strings as 0 (variable).
const BYTES: Record<number, number> = {
  1: 4,
  2: 1,
  3: 1,
  4: 2,
  5: 2,
  6: 4,
  7: 8,
  8: 0,
  9: 1,
  10: 2,
  11: 8,
  12: 4,
  13: 8,
  14: 8,
  15: 16,
  16: 2,
  17: 1,
  18: 1,
  19: 1,
  20: 1,
  21: 0.5,
  22: 0.5,
  23: 0.5,
};
const NAMES: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  14: 'complex64',
  15: 'complex128',
  16: 'bfloat16',
  17: 'float8e4m3fn',
  18: 'float8e4m3fnuz',
  19: 'float8e5m2',
  20: 'float8e5m2fnuz',
  21: 'uint4',
  22: 'int4',
  23: 'float4e2m1',
};

/** Bytes per element of an ONNX type code (0 for strings and unknown codes). */
export function onnxTypeBytes(code: number): number {
  return BYTES[code] ?? 0;
}

/** Readable name of an ONNX type code ("float32", "int8", ...), or "type<N>" when unknown. */
export function onnxTypeName(code: number): string {
  return NAMES[code] ?? `type${code}`;
}

/** Element count of a tensor from its dims (1 for a scalar). */
export function tensorNumel(t: TensorProto): number {
  let n = 1;
  for (const d of t.dims) n *= Number(d);
  return n;
}

/** The external_data key/value entries of a tensor as a record. */
export function externalInfo(t: TensorProto): { location: string; offset: number; length: number | undefined } {
  const kv = new Map(t.externalData.map((e) => [e.key, e.value]));
  const location = kv.get('location') ?? '';
  const length = kv.has('length') ? Number(kv.get('length')) : undefined;
  return { location, offset: Number(kv.get('offset') ?? 0), length };
}

/** True when the tensor's payload lives in a file beside the model. */
export function isExternal(t: TensorProto): boolean {
  return t.dataLocation === TensorProto_DataLocation.EXTERNAL;
}

/** Absolute path of an external data file, refusing locations that escape the model folder. */
export function externalPath(baseDir: string, location: string): string {
  const rel = normalize(location);
  if (!location || isAbsolute(location) || rel.startsWith('..')) {
    throw new Error(`external data location "${location}" must be a relative path inside the model folder`);
  }
  return join(baseDir, rel);
}

/** Raw little-endian bytes of a tensor held in raw_data or in an external file (baseDir needed then). */
export function tensorRawBytes(t: TensorProto, baseDir?: string): Uint8Array | undefined {
  if (!isExternal(t)) return t.rawData.length > 0 ? t.rawData : undefined;
  if (baseDir === undefined) throw new Error(`tensor "${t.name}" has external data but no model folder is known`);
  const info = externalInfo(t);
  const length = info.length ?? tensorNumel(t) * onnxTypeBytes(t.dataType);
  const out = new Uint8Array(length);
  const fd = openSync(externalPath(baseDir, info.location), 'r');
  try {
    let done = 0;
    while (done < length) {
      const n = readSync(fd, out, done, length - done, info.offset + done);
      if (n === 0) throw new Error(`external data for "${t.name}" is truncated in ${info.location}`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/** IEEE half bits to a JS number (used for float16 initializers). */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Tensor values as float64 numbers for any numeric type (a fresh array; bigints become numbers). */
export function tensorToNumbers(t: TensorProto, baseDir?: string): Float64Array {
  const n = tensorNumel(t);
  const raw = tensorRawBytes(t, baseDir);
  const out = new Float64Array(n);
  if (raw) {
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const read = rawReader(t.dataType, dv);
    for (let i = 0; i < n; i++) out[i] = read(i);
    return out;
  }
  const src: ArrayLike<number | bigint> =
    t.dataType === DT.FLOAT || t.dataType === DT.COMPLEX64
      ? t.floatData
      : t.dataType === DT.DOUBLE
        ? t.doubleData
        : t.dataType === DT.INT64
          ? t.int64Data
          : t.dataType === DT.UINT32 || t.dataType === DT.UINT64
            ? t.uint64Data
            : t.int32Data;
  for (let i = 0; i < n && i < src.length; i++) {
    const v = src[i] as number | bigint;
    out[i] = t.dataType === DT.FLOAT16 ? halfToFloat(Number(v)) : Number(v);
  }
  return out;
}

function rawReader(code: number, dv: DataView): (i: number) => number {
  switch (code) {
    case DT.FLOAT:
      return (i) => dv.getFloat32(i * 4, true);
    case DT.DOUBLE:
      return (i) => dv.getFloat64(i * 8, true);
    case DT.FLOAT16:
      return (i) => halfToFloat(dv.getUint16(i * 2, true));
    case DT.INT8:
      return (i) => dv.getInt8(i);
    case DT.UINT8:
    case DT.BOOL:
      return (i) => dv.getUint8(i);
    case DT.INT16:
      return (i) => dv.getInt16(i * 2, true);
    case DT.UINT16:
      return (i) => dv.getUint16(i * 2, true);
    case DT.INT32:
      return (i) => dv.getInt32(i * 4, true);
    case DT.UINT32:
      return (i) => dv.getUint32(i * 4, true);
    case DT.INT64:
      return (i) => Number(dv.getBigInt64(i * 8, true));
    case DT.UINT64:
      return (i) => Number(dv.getBigUint64(i * 8, true));
    default:
      throw new Error(`cannot read tensor values of type ${onnxTypeName(code)}`);
  }
}

/** Float32 copy of a float tensor's values (float32/float16/float64 sources). */
export function tensorToFloat32(t: TensorProto, baseDir?: string): Float32Array {
  if (t.dataType === DT.FLOAT && !isExternal(t) && t.rawData.length > 0) {
    // Copy: raw_data is a view into the decoded file and may be unaligned (and Buffer.slice does not copy).
    const copy = new Uint8Array(t.rawData.byteLength);
    copy.set(t.rawData);
    return new Float32Array(copy.buffer);
  }
  return Float32Array.from(tensorToNumbers(t, baseDir));
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  const out = new Uint8Array(a.byteLength);
  out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return out;
}

/** A tensor with raw_data from a typed array (the array's bytes are copied). */
export function makeTensor(
  name: string,
  dataType: number,
  dims: readonly number[],
  data: ArrayBufferView,
): TensorProto {
  return create(TensorProtoSchema, { name, dataType, dims: dims.map((d) => BigInt(d)), rawData: bytesOf(data) });
}

/** A float32 tensor. */
export function floatTensor(name: string, dims: readonly number[], data: Float32Array): TensorProto {
  return makeTensor(name, DT.FLOAT, dims, data);
}

/** An int64 tensor (shapes, axes). */
export function int64Tensor(name: string, dims: readonly number[], data: readonly number[]): TensorProto {
  return makeTensor(name, DT.INT64, dims, BigInt64Array.from(data.map((v) => BigInt(v))));
}
