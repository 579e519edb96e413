/**
 * The one NumPy .npy reader (format 1.0–3.0, little-endian, C order, every numeric dtype): the
 * optimizer's data sets, .npz members, the registry's validation data and `infergate infer` read
 * arrays through it (it imports nothing heavier than core, so `infer` stays light). Errors name
 * the source and the problem.
 */
import { readFileSync } from 'node:fs';
import { type DataType, numericFromBytes, type NumericArray } from '../../core/index.js';
import { fromFloat16Bits } from '../../onnx/float16.js';

const DESCR: Record<string, Exclude<DataType, 'BYTES'>> = {
  '|b1': 'BOOL',
  '|u1': 'UINT8',
  '<u2': 'UINT16',
  '<u4': 'UINT32',
  '<u8': 'UINT64',
  '|i1': 'INT8',
  '<i2': 'INT16',
  '<i4': 'INT32',
  '<i8': 'INT64',
  '<f2': 'FP16',
  '<f4': 'FP32',
  '<f8': 'FP64',
};

/** A parsed .npy array: its values in a fresh typed array of the file's dtype (FP16 as raw bits). */
export interface NpyArray {
  datatype: Exclude<DataType, 'BYTES'>;
  shape: number[];
  data: NumericArray;
}

/** Parse .npy bytes; `source` names them in errors. */
export function parseNpy(buf: Uint8Array, source = '.npy'): NpyArray {
  const magic = String.fromCharCode(...buf.subarray(0, 6));
  if (magic !== '\x93NUMPY' || buf.byteLength < 10) throw new Error(`${source}: not a .npy file (bad magic)`);
  const major = buf[6]!;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder('latin1').decode(buf.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new Error(`${source}: unreadable .npy header`);
  if (fortran === 'True')
    throw new Error(`${source}: Fortran-ordered .npy arrays are not supported; save with C order`);
  const datatype = DESCR[descr === '<u1' ? '|u1' : descr === '<i1' ? '|i1' : descr === '<b1' ? '|b1' : descr];
  if (!datatype) throw new Error(`${source}: unsupported .npy dtype '${descr}' (big-endian, string or object arrays)`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const body = buf.subarray(start + headerLen);
  const count = shape.reduce((a, b) => a * b, 1);
  const size = Number(descr.slice(2)) * count;
  if (body.byteLength < size)
    throw new Error(`${source}: .npy data is truncated (${body.byteLength} bytes for shape [${shape}])`);
  return { datatype, shape, data: numericFromBytes(datatype, body.subarray(0, size)) };
}

/** Read and parse a .npy file. */
export function readNpy(path: string): NpyArray {
  return parseNpy(readFileSync(path), path);
}

/** An array's values as float64 numbers, whatever its dtype (FP16 decoded, 64-bit integers rounded). */
export function npyFloat64(a: NpyArray): Float64Array {
  if (a.data instanceof Float64Array) return a.data;
  const out = new Float64Array(a.data.length);
  const half = a.datatype === 'FP16';
  for (let i = 0; i < out.length; i++) {
    const v = Number(a.data[i]!);
    out[i] = half ? fromFloat16Bits(v) : v;
  }
  return out;
}

/** .npy bytes as their shape and float64 values (the optimizer's rows and labels). */
export function parseNpyFloat64(buf: Uint8Array, source = '.npy'): { shape: number[]; data: Float64Array } {
  const a = parseNpy(buf, source);
  return { shape: a.shape, data: npyFloat64(a) };
}

/** A .npy file's shape and values as float64. */
export function readNpyFloat64(path: string): { shape: number[]; data: Float64Array } {
  return parseNpyFloat64(readFileSync(path), path);
}
